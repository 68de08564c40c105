"""Plan the merge of a duplicated nested colour folder (`uploads/blue/blue` into `uploads/blue`)
from a listing: moves, kept-both renames on a name clash, folders left empty; pure."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Literal

EntryKind = Literal["dir", "file", "link", "other"]
CLASH_TAG = "from-nested"


@dataclass(frozen=True)
class Entry:
    """One thing in a listing, as lstat saw it (a symlink is never followed)."""

    kind: EntryKind
    uid: int
    gid: int
    mode: int  # permission bits only (st_mode & 0o7777)
    mtime: float = 0.0


# Path relative to the listed folder ("" is the folder itself) -> what is there.
Tree = dict[str, Entry]


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    clash: str | None = None  # the entry already at the natural target, kept where it is


@dataclass(frozen=True)
class Merge:
    moves: list[Move]
    emptied: list[str]  # folders left empty by the moves, deepest first
    tree: Tree  # the listing as it will be after the moves and removals


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def parent(rel: str) -> str:
    return posixpath.dirname(rel)


@dataclass
class Listing:
    """A tree with a parent -> children index, so moves stay cheap on big folders."""

    tree: Tree
    kids: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rel in self.tree:
            if rel:
                self.kids.setdefault(parent(rel), set()).add(posixpath.basename(rel))

    def children(self, folder: str) -> list[str]:
        return sorted(self.kids.get(folder, ()))

    def subtree(self, rel: str) -> list[str]:
        out, stack = [], [rel]
        while stack:
            here = stack.pop()
            out.append(here)
            stack += [join(here, name) for name in self.kids.get(here, ())]
        return out

    def move(self, source: str, target: str) -> None:
        for old in self.subtree(source):
            new = target + old[len(source) :]
            self.tree[new] = self.tree.pop(old)
            if old in self.kids:
                self.kids[new] = {*self.kids.pop(old)}
        self.kids[parent(source)].discard(posixpath.basename(source))
        self.kids.setdefault(parent(target), set()).add(posixpath.basename(target))

    def remove(self, rel: str) -> None:
        del self.tree[rel]
        self.kids.pop(rel, None)
        self.kids.get(parent(rel), set()).discard(posixpath.basename(rel))

    def add(self, rel: str, entry: Entry) -> None:
        self.tree[rel] = entry
        self.kids.setdefault(parent(rel), set()).add(posixpath.basename(rel))


def clash_name(name: str, n: int, *, is_dir: bool) -> str:
    """`notes.txt` -> `notes.from-nested.txt`, then `notes.from-nested-2.txt`, ..."""
    stem, suffix = (name, "") if is_dir else posixpath.splitext(name)
    tag = CLASH_TAG if n == 1 else f"{CLASH_TAG}-{n}"
    return f"{stem}.{tag}{suffix}"


def plan_merge(tree: Tree, nested: str) -> Merge:
    """Move everything in the folder `nested` (a direct child of the listed folder) up into the
    listed folder. A deeper duplicate (`blue/blue/blue`) is collapsed first. A folder meeting a
    folder is merged; any other clash keeps both, the moved one under a `.from-nested` name."""
    listing = Listing(dict(tree))
    moves: list[Move] = []
    emptied: list[str] = []

    def free_name(folder: str, source_folder: str, name: str, is_dir: bool) -> str:
        n = 1
        while True:
            candidate = clash_name(name, n, is_dir=is_dir)
            taken = join(folder, candidate) in listing.tree
            if not taken and join(source_folder, candidate) not in listing.tree:
                return candidate
            n += 1

    def merge(source: str, into: str) -> None:
        for name in listing.children(source):
            src, dst = join(source, name), join(into, name)
            here, there = listing.tree[src], listing.tree.get(dst)
            if there is None:
                listing.move(src, dst)
                moves.append(Move(src, dst))
            elif here.kind == "dir" and there.kind == "dir" and dst != source:
                merge(src, dst)
                listing.remove(src)
                emptied.append(src)
            else:
                kept = join(into, free_name(into, source, name, here.kind == "dir"))
                listing.move(src, kept)
                moves.append(Move(src, kept, clash=dst))

    def collapse(folder: str, name: str) -> None:
        dup = join(folder, name)
        entry = listing.tree.get(dup)
        if entry is None or entry.kind != "dir":
            return
        collapse(dup, name)
        merge(dup, folder)
        listing.remove(dup)
        emptied.append(dup)

    collapse("", nested)
    return Merge(moves=moves, emptied=emptied, tree=listing.tree)
