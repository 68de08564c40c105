"""Files that hold secrets (env files, the fingerprint key): who can read them, and the repair
`fix-permissions` makes (side effects: stat, chmod, chown; never reads a secret's value)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from specctl.appliers.envfiles import key_path
from specctl.appliers.project import Project
from specctl.schemas.spec import COLORS

SECRET_MODE = 0o600


@dataclass(frozen=True)
class Exposure:
    rel: str  # as the spec names it
    path: Path
    mode: int
    uid: int

    @property
    def open_mode(self) -> bool:
        return bool(self.mode & 0o077)

    @property
    def foreign(self) -> bool:
        """Owned by a user other than the one specctl runs as (root's files are fine)."""
        return self.uid not in (os.geteuid(), 0)

    def problem(self) -> str:
        parts = []
        if self.open_mode:
            parts.append(f"other users have access (mode {self.mode:04o})")
        if self.foreign:
            parts.append(f"it is owned by uid {self.uid}, not uid {os.geteuid()} (specctl's)")
        return f"{self.rel}: holds secrets, but " + " and ".join(parts)

    def fixes(self) -> list[str]:
        out = []
        if self.foreign and os.geteuid() == 0:
            out.append(f"chown {self.uid} -> {os.geteuid()}")
        if self.open_mode:
            out.append(f"chmod {self.mode:04o} -> {SECRET_MODE:04o}")
        return out


def secret_files(project: Project) -> dict[str, Path]:
    """The env files of both colours and the shared services, and the fingerprint key."""
    out = {f"{project.spec.state_dir}/fingerprint.key": key_path(project)}
    for color in COLORS:
        desired = project.expanded(color)
        for svc in (*desired.services, *desired.shared):
            for rel in svc.env_files:
                out[rel] = project.path(rel)
    return dict(sorted(out.items()))


def exposures(project: Project) -> list[Exposure]:
    """The secret files that others can read, or another user owns (missing ones are not)."""
    out = []
    for rel, path in secret_files(project).items():
        try:
            st = path.stat()
        except OSError:
            continue
        found = Exposure(rel, path, st.st_mode & 0o777, st.st_uid)
        if found.open_mode or found.foreign:
            out.append(found)
    return out


def fix_secrets(project: Project, *, dry_run: bool) -> list[tuple[str, str]]:
    """(file, action line) for each repair: owner to the user specctl runs as (as root), mode
    0600. A file another user owns is left to a person when specctl is not root."""
    done = []
    for found in exposures(project):
        for line in found.fixes():
            done.append((found.rel, line))
            if dry_run:
                continue
            if line.startswith("chown"):
                os.chown(found.path, os.geteuid(), os.getegid())
            else:
                found.path.chmod(SECRET_MODE)
    return done
