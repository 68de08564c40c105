"""`specctl import` of Compose files, the shell around importers/compose.py (side effects: runs
`docker compose config`, which reads the files and touches no engine; stats bind-mount sources)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

from specctl.importers.compose import import_compose
from specctl.importers.compose_model import Group, Mounted, Nginx
from specctl.importers.legacy import ImportResult
from specctl.schemas.errors import SpecctlError
from specctl.schemas.spec import COLORS


def import_files(
    files: list[Path], *, nginx: Path | None, project_name: str | None, output: Path | None
) -> ImportResult:
    """Group the files by colour (a file named for blue or green is that colour's; the others
    are the base of every group), normalise each group with Compose, and import."""
    folder = files[0].absolute().parent
    by_color = {c: [f for f in files if color_of(f) == c] for c in COLORS}
    base = [f for f in files if color_of(f) is None]
    for color, found in by_color.items():
        if len(found) > 1:
            raise SpecctlError(
                f"{', '.join(map(str, found))}: two files for {color}",
                hint="pass one Compose file per colour (plus any files both colours share)",
            )
    groups: list[Group] = []
    for color in COLORS:
        if by_color[color]:
            group_files = [*base, *by_color[color]]
            groups.append(Group(color, config(group_files, project_name), texts(group_files)))
    if not groups:
        groups.append(Group(None, config(base, project_name), texts(base)))
    spec_dir = output.absolute().parent if output is not None else Path.cwd()
    mounted = {
        source: at(folder, source)
        for group in groups
        for svc in group.config.get("services", {}).values()
        for volume in svc.get("volumes") or []
        if volume.get("type") == "bind" and (source := str(volume.get("source") or ""))
    }
    from specctl.import_cmd import read

    mounted_by = None
    if nginx is None:
        nginx, mounted_by = mounted_nginx_conf(groups, folder)
    nginx_input = None
    if nginx is not None:
        nginx_input = Nginx(
            str(nginx),
            read(nginx, what="nginx config"),
            Path(os.path.relpath(nginx.absolute(), spec_dir)).as_posix(),
            mounted_by,
        )
    project = project_name or str(groups[0].config.get("name") or folder.name)
    return import_compose(
        groups,
        nginx=nginx_input,
        mounted=mounted,
        root=Path(os.path.relpath(folder, spec_dir)).as_posix(),
        project=_project(project, groups),
        output_name=str(output) if output is not None else "spec.yaml",
    )


def mounted_nginx_conf(groups: list[Group], folder: Path) -> tuple[Path | None, str | None]:
    """The nginx.conf a Compose nginx service bind-mounts, when it is on disk: (its path, the
    service that mounts it)."""
    for group in groups:
        for name, svc in group.config.get("services", {}).items():
            for volume in svc.get("volumes") or []:
                if volume.get("type") == "bind" and volume.get("target") == "/etc/nginx/nginx.conf":
                    source = Path(str(volume.get("source")))
                    path = source if source.is_absolute() else folder / source
                    if path.is_file():
                        shown = (
                            Path(os.path.relpath(path)) if path.is_relative_to(Path.cwd()) else path
                        )
                        return shown, f"{name} (its volumes)"
    return None, None


def color_of(path: Path) -> str | None:
    words = set(re.split(r"[^a-z]+", path.name.lower()))
    found = [c for c in COLORS if c in words]
    return found[0] if len(found) == 1 else None


def _project(name: str, groups: list[Group]) -> str:
    """A colour file's project name without the colour (`app-blue` -> `app`)."""
    if any(g.color for g in groups):
        for color in COLORS:
            name = re.sub(rf"[-_]?{color}$|^{color}[-_]?", "", name)
    return re.sub(r"[^a-z0-9_-]", "-", name.lower()).strip("-_") or "app"


def config(files: list[Path], project_name: str | None) -> dict[str, object]:
    """`docker compose config` of these files as JSON, `${VAR}` and relative paths as written."""
    argv = ["docker", "compose"]
    for file in files:
        argv += ["-f", str(file)]
    if project_name:
        argv += ["-p", project_name]
    argv += ["config", "--no-interpolate", "--no-path-resolution", "--format", "json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise SpecctlError(
            "docker: not found; specctl reads Compose files through `docker compose config`",
            hint="install the docker CLI and Compose v2 (bash testbed/engine.sh sets them up)",
        ) from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if "level=warning" not in ln]
        raise SpecctlError(
            f"docker compose config: {' '.join(map(str, files))}: "
            f"{' '.join(lines).strip() or 'exit ' + str(done.returncode)}",
            hint="`docker compose -f FILE config` shows the same; fix the file, then import again",
        )
    try:
        parsed = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SpecctlError("docker compose config printed no JSON (Compose v2 is needed)") from None
    return parsed if isinstance(parsed, dict) else {}


def texts(files: list[Path]) -> list[tuple[str, str]]:
    from specctl.import_cmd import read

    return [(str(f), read(f, what="Compose file")) for f in files]


def at(folder: Path, source: str) -> Mounted:
    """What is on disk at a bind mount's source (relative to the Compose files' folder)."""
    path = Path(source) if source.startswith("/") else folder / source
    absolute = os.path.normpath(path)
    try:
        info = path.stat()
    except OSError:
        return Mounted("missing", absolute=absolute)
    kind = "file" if stat.S_ISREG(info.st_mode) else "directory"
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    return Mounted(kind, info.st_uid, info.st_gid, mode, absolute)
