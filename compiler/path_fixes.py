"""What `fix-permissions` must change on one managed path, planned from a listing of it: the
same list drives the dry run, the real run and its log; pure."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Literal

from specctl.compiler.merge_plan import Entry, Listing, Tree, join, plan_merge
from specctl.schemas.desired import DesiredPath
from specctl.schemas.plan import Action
from specctl.schemas.units import seconds

FixOp = Literal["mkdir", "move", "rmdir", "remove", "chown", "chmod"]
OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


@dataclass(frozen=True)
class Fix:
    """One change, with paths relative to the managed path ("" is the path itself)."""

    op: FixOp
    rel: str
    uid: int = 0
    gid: int = 0
    mode: int = 0
    target: str = ""  # move: where to
    before: str = ""  # chown/chmod: what it was
    clash: str | None = None  # move: the entry kept in place under the natural name
    note: str = ""

    def line(self, base: str) -> str:
        """The action line printed by the dry run and the real run alike."""

        def shown(rel: str) -> str:
            return posixpath.join(base, rel) if rel else base

        where = shown(self.rel)
        if self.op == "mkdir":
            return f"{Action.CREATE} mkdir {where} ({self.uid}:{self.gid} {self.mode:04o})"
        if self.op == "chown":
            return f"{Action.UPDATE} chown {where} {self.before} → {self.uid}:{self.gid}"
        if self.op == "chmod":
            return f"{Action.UPDATE} chmod {where} {self.before} → {self.mode:04o}"
        if self.op == "move":
            text = f"{Action.UPDATE} move {where} → {shown(self.target)}"
            if self.clash is not None:
                text += f" (name conflict: kept both, {shown(self.clash)} stays)"
            return text
        if self.op == "rmdir":
            return f"{Action.DELETE} rmdir {where} (empty after the merge)"
        return f"{Action.DELETE} remove {where} ({self.note})"


@dataclass
class PathFixes:
    fixes: list[Fix] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing; nothing to fix
    problems: list[str] = field(default_factory=list)  # left alone; a person must look

    @property
    def conflicts(self) -> int:
        return sum(1 for f in self.fixes if f.op == "move" and f.clash is not None)


def is_folder(desired: DesiredPath) -> bool:
    return desired.kind in ("directory", "certificate")


def stale(tree: Tree, folder: str, *, older_than: str, now: float) -> list[str]:
    """Regular files directly in `folder` older than the age (as observe.stale_files counts)."""
    limit = now - seconds(older_than)
    listing = Listing(tree)
    return [
        join(folder, name)
        for name in listing.children(folder)
        if tree[join(folder, name)].kind == "file" and tree[join(folder, name)].mtime < limit
    ]


def plan_path_fixes(
    desired: DesiredPath,
    tree: Tree | None,
    *,
    now: float,
    foreign: frozenset[str] = frozenset(),
) -> PathFixes:
    """`tree` is the listing of the path (None when it does not exist); `foreign` holds the
    relative paths of other managed paths inside this one, left to their own entries."""
    out = PathFixes()
    base, uid, gid, mode = desired.path, desired.uid, desired.gid, int(desired.mode, 8)
    if tree is None or "" not in tree:
        if not is_folder(desired):
            out.notes.append(f"{base} is missing; specctl does not create {desired.kind} files")
            return out
        out.fixes.append(Fix("mkdir", "", uid, gid, mode))
        tree = {"": Entry("dir", uid, gid, mode, now)}
    root = tree[""]
    wanted = "dir" if is_folder(desired) else "file"
    if root.kind != wanted:
        expected = "a directory" if wanted == "dir" else "a regular file"
        out.problems.append(f"{base} is a {_kind_name(root)}, expected {expected}; left alone")
        return out
    if wanted == "file":
        out.fixes += _owner("", root, uid, gid, mode)
        return out
    listing = Listing(dict(tree))
    if desired.color:
        nested = tree.get(desired.color)
        if nested is not None and nested.kind == "dir":
            merge = plan_merge(tree, desired.color)
            out.fixes += [
                Fix("move", m.source, target=m.target, clash=m.clash) for m in merge.moves
            ]
            out.fixes += [Fix("rmdir", rel) for rel in merge.emptied]
            listing = Listing(dict(merge.tree))
        elif nested is not None and nested.kind == "link":
            out.notes.append(f"{join(base, desired.color)} is a symlink: not merged, not followed")
    managed = {""}
    for sub in desired.subdirs:
        parts = sub.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            entry = listing.tree.get(rel)
            if entry is None:
                out.fixes.append(Fix("mkdir", rel, uid, gid, mode))
                listing.add(rel, Entry("dir", uid, gid, mode, now))
            elif entry.kind != "dir":
                out.problems.append(f"{join(base, rel)} is a {_kind_name(entry)}, not a directory")
                break
            managed.add(rel)
    if desired.cleanup is not None:
        older_than = str(desired.cleanup["older_than"])
        folder = str(desired.cleanup["subdir"]).strip("/")
        cleaned = listing.tree.get(folder)
        if cleaned is not None and cleaned.kind == "dir":
            for rel in stale(listing.tree, folder, older_than=older_than, now=now):
                out.fixes.append(Fix("remove", rel, note=f"temp file older than {older_than}"))
                listing.remove(rel)
    owner_only = desired.kind == "certificate"
    for rel in sorted(listing.tree):
        if any(rel == f or rel.startswith(f + "/") for f in foreign):
            continue
        entry = listing.tree[rel]
        want: int | None = None
        if rel in managed:
            want = mode
        elif owner_only and entry.kind == "dir":
            want = OWNER_ONLY_DIR
        elif owner_only and entry.kind == "file":
            want = OWNER_ONLY_FILE
        out.fixes += _owner(rel, entry, uid, gid, want)
    return out


def _owner(rel: str, entry: Entry, uid: int, gid: int, mode: int | None) -> list[Fix]:
    fixes = []
    if (entry.uid, entry.gid) != (uid, gid):
        fixes.append(Fix("chown", rel, uid, gid, before=f"{entry.uid}:{entry.gid}"))
    if mode is not None and entry.kind != "link" and entry.mode != mode:
        fixes.append(Fix("chmod", rel, mode=mode, before=f"{entry.mode:04o}"))
    return fixes


def _kind_name(entry: Entry) -> str:
    return {"dir": "directory", "file": "regular file", "link": "symlink"}.get(
        entry.kind, "special file"
    )
