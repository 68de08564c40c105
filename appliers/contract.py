"""The mark a contract migration leaves: which colour's release migrated the database in a way the
other colour cannot run on (`<state_dir>/contract.json`); rollback refuses to go past it (side
effects: one file)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from specctl.appliers.project import Project

MARK = "contract.json"


def mark_path(project: Project) -> Path:
    return project.path(project.spec.state_dir) / MARK


def read_mark(project: Project) -> dict[str, Any] | None:
    try:
        doc = json.loads(mark_path(project).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("color"), str) else None


def write_mark(project: Project, *, color: str, backup_id: str | None) -> None:
    path = mark_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"color": color, "at": time.time(), "backup_id": backup_id}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def passed(project: Project, target: str) -> None:
    """Traffic reached `target`: a mark of the other colour no longer stands between it and a
    rollback (the colour it would go back to runs on the migrated schema)."""
    mark = read_mark(project)
    if mark is not None and mark["color"] != target:
        mark_path(project).unlink(missing_ok=True)
