"""Prometheus metrics from the audit trail, written for node_exporter's textfile collector
(side effects: reads the audit log, the backups' manifests and the last plan; writes the .prom
file)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specctl import __version__
from specctl.appliers.project import Project
from specctl.appliers.record import read_audit
from specctl.compiler.metrics import Facts, exposition, registry

LAST_PLAN = "last-plan.json"
MODE = 0o644  # node_exporter usually runs as another user


def last_plan_path(project: Project) -> Path:
    return project.path(project.spec.state_dir) / LAST_PLAN


def textfile_path(project: Project) -> Path | None:
    textfile = project.spec.metrics.textfile
    return None if textfile is None else project.path(textfile)


def _newest_backup(project: Project) -> dict[str, Any] | None:
    # Checked first so that a project without backups never imports the store (and with it the
    # Docker SDK): this runs after every command.
    if not project.path(project.spec.backups.dir).is_dir():
        return None
    from specctl.appliers.backups.store import list_backups

    backups = list_backups(project)
    return backups[-1] if backups else None


def _last_plan(project: Project) -> dict[str, Any] | None:
    """The document `specctl plan` leaves; None when missing or unreadable (a plan is
    optional)."""
    try:
        doc = json.loads(last_plan_path(project).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def gather(project: Project) -> Facts:
    """Everything the metrics are computed from; no Docker call."""
    return Facts(
        project=project.spec.project,
        records=read_audit(project),
        newest_backup=_newest_backup(project),
        last_plan=_last_plan(project),
        version=__version__,
        python=platform.python_version(),
    )


def render(project: Project) -> str:
    """The metrics as Prometheus text exposition (what `specctl metrics` prints)."""
    return exposition(gather(project))


def write_textfile(project: Project, path: Path) -> None:
    """Write the metrics to `path` atomically (a temporary file in the same folder, renamed):
    node_exporter never reads half a file."""
    from prometheus_client.exposition import write_to_textfile

    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry(gather(project)))
    # The temporary file was created under the umask; readable by node_exporter's user.
    os.chmod(path, MODE)


def after_command(project: Project, *, warn: Callable[[str], object]) -> None:
    """Write project.spec.metrics.textfile atomically; never raises (a problem is one warning)."""
    path = textfile_path(project)
    if path is None:
        return
    try:
        write_textfile(project, path)
    except Exception as exc:  # the command has already done its work: never fail it here
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warn(f"metrics.textfile: could not write {path}: {reason or type(exc).__name__}")
