"""Make managed paths match the manifest: create, chown, chmod, merge a nested duplicate colour
folder, clean old temp files (side effects: the filesystem; never deletes user data)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from specctl.appliers.observe import stale_files
from specctl.appliers.project import Project
from specctl.schemas.desired import DesiredPath


def _owner(path: Path, uid: int, gid: int, mode: int, actions: list[str], dry: bool) -> None:
    st = path.lstat()
    if (st.st_uid, st.st_gid) != (uid, gid):
        actions.append(f"chown {st.st_uid}:{st.st_gid} → {uid}:{gid} {path}")
        if not dry:
            os.lchown(path, uid, gid)
    current = st.st_mode & 0o7777
    if current != mode and not path.is_symlink():
        actions.append(f"chmod {current:04o} → {mode:04o} {path}")
        if not dry:
            path.chmod(mode)


def _merge_nested(nested: Path, into: Path, actions: list[str], dry: bool) -> None:
    """Move everything from uploads/blue/blue into uploads/blue; on a name clash keep both."""
    for entry in sorted(nested.iterdir()):
        target = into / entry.name
        if target.exists():
            if entry.is_dir() and target.is_dir():
                _merge_nested(entry, target, actions, dry)
                continue
            keep = into / f"{entry.name}.from-{nested.name}"
            n = 1
            while keep.exists():
                n += 1
                keep = into / f"{entry.name}.from-{nested.name}.{n}"
            actions.append(f"conflict: kept both {target} and {entry} (moved to {keep.name})")
            target = keep
        else:
            actions.append(f"move {entry} → {target}")
        if not dry:
            shutil.move(str(entry), str(target))
    if not dry:
        try:
            nested.rmdir()
            actions.append(f"remove empty {nested}")
        except OSError:
            actions.append(f"kept {nested}: not empty after the merge")


def fix_path(
    project: Project, desired: DesiredPath, *, dry_run: bool, now: float | None = None
) -> list[str]:
    """What was (or, with dry_run, would be) changed for one managed path."""
    path = project.path(desired.path)
    mode = int(desired.mode, 8)
    actions: list[str] = []
    is_dir = desired.kind in ("directory", "certificate")
    if is_dir and not path.exists():
        actions.append(f"mkdir {path}")
        if not dry_run:
            path.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        if not is_dir:
            actions.append(f"missing file {path}: specctl does not create {desired.kind} files")
        return actions if not dry_run else [a for a in actions]
    if is_dir:
        nested = path / str(desired.color) if desired.color else None
        if nested is not None and nested.is_dir():
            _merge_nested(nested, path, actions, dry_run)
        for sub in desired.subdirs:
            child = path / sub
            if not child.is_dir():
                actions.append(f"mkdir {child}")
                if not dry_run:
                    child.mkdir(parents=True, exist_ok=True)
    if path.exists() or not dry_run:
        _owner(path, desired.uid, desired.gid, mode, actions, dry_run)
    if is_dir:
        for sub in desired.subdirs:
            child = path / sub
            if child.is_dir():
                _owner(child, desired.uid, desired.gid, mode, actions, dry_run)
    if desired.kind in ("certificate",) and path.is_dir():
        for entry in sorted(path.iterdir()):
            if entry.is_file() and not entry.is_symlink():
                _owner(entry, desired.uid, desired.gid, 0o600, actions, dry_run)
    if desired.cleanup is not None and is_dir:
        old = stale_files(
            path / desired.cleanup["subdir"],
            desired.cleanup["older_than"],
            time.time() if now is None else now,
        )
        for entry in old:
            actions.append(f"remove temp file {entry} (older than {desired.cleanup['older_than']})")
            if not dry_run:
                entry.unlink(missing_ok=True)
    return actions


def fix_permissions(
    project: Project, paths: list[DesiredPath], *, dry_run: bool
) -> dict[str, list[str]]:
    return {p.address: fix_path(project, p, dry_run=dry_run) for p in paths}
