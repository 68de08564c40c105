"""Make managed paths match the manifest: create, chown, chmod, merge a nested duplicate colour
folder, clean old temp files (side effects: the filesystem; never deletes user data).

Every change is made relative to an open folder descriptor opened without following symlinks,
so nothing is ever changed through a link, let alone outside the project root."""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from specctl.appliers.project import Project
from specctl.compiler.merge_plan import Entry, EntryKind, Tree, join
from specctl.compiler.path_fixes import Fix, PathFixes, is_folder, plan_path_fixes
from specctl.schemas.desired import DesiredPath
from specctl.schemas.errors import ApplyError
from specctl.schemas.spec import COLORS

TARGETS = (*COLORS, "all")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class PathResult:
    """What was (or, in a dry run, would be) done to one managed path."""

    address: str
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    conflicts: int = 0


def managed_paths(project: Project, target: str) -> list[DesiredPath]:
    """The paths of one colour plus the shared ones, or of both colours (`all`)."""
    if target not in TARGETS:
        raise ApplyError(f"--target: must be blue, green or all (got {target!r})")
    colors = COLORS if target == "all" else (target,)
    seen: dict[str, DesiredPath] = {}
    for color in colors:
        for path in project.desired(color).paths:
            seen.setdefault(path.address, path)
    return list(seen.values())


def real_location(project: Project, desired: DesiredPath) -> tuple[Path, str | None]:
    """Where the path really is once symlinks are resolved, or a problem when a link leads out
    of the project root. A path written as absolute in the spec is where the user chose."""
    path = project.path(desired.path)
    real = Path(os.path.realpath(path))
    if desired.path.startswith("/"):
        return real, None
    root = Path(os.path.realpath(project.root))
    if real != root and root not in real.parents:
        return real, (
            f"{desired.path} resolves to {real}, outside the project root {root} "
            "(a symlink leads out); left alone"
        )
    return real, None


def _entry(st: os.stat_result) -> Entry:
    mode = st.st_mode
    kind: EntryKind
    if stat.S_ISLNK(mode):
        kind = "link"
    elif stat.S_ISDIR(mode):
        kind = "dir"
    elif stat.S_ISREG(mode):
        kind = "file"
    else:
        kind = "other"
    return Entry(kind, st.st_uid, st.st_gid, stat.S_IMODE(mode), st.st_mtime)


def scan(path: Path, *, foreign: frozenset[str] = frozenset()) -> Tree | None:
    """lstat everything under `path` without following a symlink; None when it is missing.
    A foreign entry (another managed path) is listed but not entered."""
    try:
        tree: Tree = {"": _entry(path.lstat())}
    except FileNotFoundError:
        return None
    if tree[""].kind != "dir":
        return tree
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(path / rel if rel else path) as entries:
                for item in entries:
                    child = join(rel, item.name)
                    try:
                        tree[child] = _entry(item.stat(follow_symlinks=False))
                    except FileNotFoundError:
                        continue  # gone while we looked
                    if tree[child].kind == "dir" and child not in foreign:
                        stack.append(child)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return tree


def locations(project: Project) -> dict[str, Path]:
    """Every managed path of both colours, and specctl's own folders (backups hold database
    dumps: never handed to the app's user), resolved: {address: real path}."""
    spec = project.spec
    own = {"backups.dir": spec.backups.dir, "state_dir": spec.state_dir, "logs.dir": spec.logs.dir}
    found = {name: Path(os.path.realpath(project.path(rel))) for name, rel in own.items()}
    for color in COLORS:
        for p in project.desired(color).paths:
            found[p.address] = Path(os.path.realpath(project.path(p.path)))
    return found


def plan_path(
    project: Project,
    desired: DesiredPath,
    *,
    now: float,
    others: dict[str, Path] | None = None,
) -> tuple[Path, PathFixes]:
    """Read one managed path and plan its fixes (no changes). Other managed paths inside it
    (`others`, from locations()) are left to their own entries."""
    real, problem = real_location(project, desired)
    if problem is not None:
        return real, PathFixes(problems=[problem])
    foreign = frozenset(
        str(where.relative_to(real))
        for address, where in (locations(project) if others is None else others).items()
        if address != desired.address and real in where.parents
    )
    return real, plan_path_fixes(desired, scan(real, foreign=foreign), now=now, foreign=foreign)


@contextmanager
def _folder(base: int, rel: str) -> Iterator[int]:
    """An open descriptor of `rel` under `base`, each component opened without following."""
    fd = os.dup(base)
    try:
        for part in [p for p in rel.split("/") if p]:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _split(rel: str) -> tuple[str, str]:
    head, _, tail = rel.rpartition("/")
    return head, tail


def _chmod(folder: int, name: str, mode: int) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(name, flags, dir_fd=folder) if name else os.dup(folder)
    try:
        if stat.S_ISLNK(os.fstat(fd).st_mode):  # pragma: no cover - O_NOFOLLOW refuses links
            return
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _carry_out(base: int, fix: Fix) -> None:
    head, name = _split(fix.rel)
    with _folder(base, head) as folder:
        if fix.op == "mkdir":
            os.mkdir(name, 0o700, dir_fd=folder)
            os.chown(name, fix.uid, fix.gid, dir_fd=folder, follow_symlinks=False)
            _chmod(folder, name, fix.mode)
        elif fix.op == "chown":
            if name:
                os.chown(name, fix.uid, fix.gid, dir_fd=folder, follow_symlinks=False)
            else:
                os.fchown(folder, fix.uid, fix.gid)
        elif fix.op == "chmod":
            _chmod(folder, name, fix.mode)
        elif fix.op == "rmdir":
            os.rmdir(name, dir_fd=folder)  # fails unless empty: never deletes data
        elif fix.op == "remove":
            with suppress(FileNotFoundError):  # already gone is what we wanted
                if stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                    os.unlink(name, dir_fd=folder)
        elif fix.op == "move":
            to_head, to_name = _split(fix.target)
            with _folder(base, to_head) as into:
                try:
                    os.stat(to_name, dir_fd=into, follow_symlinks=False)
                except FileNotFoundError:
                    os.rename(name, to_name, src_dir_fd=folder, dst_dir_fd=into)
                else:  # appeared since the listing: never overwrite
                    raise FileExistsError(f"{fix.target} appeared since the listing; run again")


def _open_base(real: Path, desired: DesiredPath, fixes: list[Fix]) -> int:
    """The managed path's descriptor; creates it (and plain parents) when the plan says so."""
    if fixes and fixes[0].op == "mkdir" and fixes[0].rel == "":
        real.parent.mkdir(parents=True, exist_ok=True)
        parent = os.open(real.parent, _DIR_FLAGS)
        try:
            _carry_out(parent, replace(fixes[0], rel=real.name))
        finally:
            os.close(parent)
    if is_folder(desired):
        return os.open(real, _DIR_FLAGS)
    return os.open(real.parent, _DIR_FLAGS)


def fix_path(
    project: Project,
    desired: DesiredPath,
    *,
    dry_run: bool,
    now: float | None = None,
    progress: Callable[[str, str], None] | None = None,
    others: dict[str, Path] | None = None,
) -> PathResult:
    """Plan one managed path, then (unless dry_run) carry the plan out in order. `progress`
    hears (address, line) for each fix as it is done, or planned in a dry run."""
    at = time.time() if now is None else now
    real, planned = plan_path(project, desired, now=at, others=others)
    result = PathResult(
        desired.address,
        notes=list(planned.notes),
        problems=list(planned.problems),
        conflicts=planned.conflicts,
    )
    if not planned.fixes:
        return result
    base_fd = -1
    try:
        if not dry_run:
            base_fd = _open_base(real, desired, planned.fixes)
        for fix in planned.fixes:
            line = fix.line(desired.path)
            if not dry_run and not (fix.op == "mkdir" and fix.rel == ""):
                if is_folder(desired):
                    _carry_out(base_fd, fix)
                else:
                    _carry_out(base_fd, replace(fix, rel=real.name))
            result.lines.append(line)
            if progress is not None:
                progress(desired.address, line)
    except OSError as exc:
        done = len(result.lines)
        denied = exc.errno in (errno.EPERM, errno.EACCES)
        raise ApplyError(
            f"{desired.address}: {planned.fixes[done].line(desired.path)[2:]}: "
            f"{exc.strerror or exc} ({done} of {len(planned.fixes)} fixes done)",
            hint="run it as root: only root may give files to another owner"
            if denied
            else "run specctl fix-permissions --dry-run to see what is left",
        ) from None
    finally:
        if base_fd >= 0:
            os.close(base_fd)
    return result


def fix_paths(
    project: Project,
    paths: list[DesiredPath],
    *,
    dry_run: bool,
    now: float | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> list[PathResult]:
    at = time.time() if now is None else now
    others = locations(project)
    return [
        fix_path(project, p, dry_run=dry_run, now=at, progress=progress, others=others)
        for p in paths
    ]


def fix_permissions(
    project: Project, paths: list[DesiredPath], *, dry_run: bool, now: float | None = None
) -> dict[str, list[str]]:
    """{address: action lines}; raises ApplyError, after fixing the rest, when a path had to be
    left alone (a symlink out of the root, a file where a folder belongs)."""
    results = fix_paths(project, paths, dry_run=dry_run, now=now)
    problems = [f"{r.address}: {p}" for r in results for p in r.problems]
    if problems:
        raise ApplyError(
            "managed paths left alone: " + "; ".join(problems),
            hint="look at them, then run specctl fix-permissions --dry-run",
        )
    return {r.address: r.lines for r in results}
