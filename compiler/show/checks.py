"""Check and probe results -> text for people or versioned JSON for scripts; pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

FORMAT_VERSION = 1
STATUSES = ("pass", "warn", "fail")
_SYMBOL = {"pass": "✓", "warn": "!", "fail": "✗"}
_ANSI = {"pass": "\033[32m", "warn": "\033[33m", "fail": "\033[31m"}
_RESET = "\033[0m"


class Row(Protocol):
    """A check result (appliers.checks.run.CheckResult) or anything shaped like it."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def seconds(self) -> float: ...


def summary(rows: Sequence[Row]) -> dict[str, int]:
    counts = {status: sum(1 for r in rows if r.status == status) for status in STATUSES}
    return {**counts, "total": len(rows)}


def summary_line(rows: Sequence[Row], *, noun: str = "checks") -> str:
    s = summary(rows)
    warnings = f"{s['warn']} warning{'s' if s['warn'] != 1 else ''}"
    return f"{noun.capitalize()}: {s['pass']} passed, {warnings}, {s['fail']} failed."


def failed(rows: Sequence[Row]) -> list[str]:
    return [r.name for r in rows if r.status == "fail"]


def document(rows: Sequence[Row], *, kind: str, project: str, target: str) -> dict[str, Any]:
    """The versioned JSON form (stable keys)."""
    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "project": project,
        "target": target,
        "checks": [
            {
                "name": r.name,
                "status": r.status,
                "detail": r.detail,
                "seconds": round(r.seconds, 3),
            }
            for r in rows
        ],
        "summary": summary(rows),
    }


def render_json(rows: Sequence[Row], *, kind: str, project: str, target: str) -> str:
    doc = document(rows, kind=kind, project=project, target=target)
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_text(
    rows: Sequence[Row], *, title: str, noun: str = "checks", color: bool = False
) -> str:
    """One line per result; a detail listing several problems (`; `-separated) gets one line
    for each, so a long list stays readable."""
    lines = [title, ""]
    if not rows:
        lines.append(f"No {noun} to run.")
        return "\n".join(lines) + "\n"
    width = max(len(r.name) for r in rows) + 2
    for r in rows:
        symbol = _SYMBOL.get(r.status, "?")
        if color:
            symbol = f"{_ANSI.get(r.status, '')}{symbol}{_RESET}"
        parts = r.detail.split("; ") if r.detail else [""]
        lines.append(f"  {symbol} {r.name.ljust(width)}{parts[0]}  ({r.seconds:.2f}s)")
        lines += [f"    {' ' * width}{part}" for part in parts[1:]]
    lines += ["", summary_line(rows, noun=noun)]
    return "\n".join(lines) + "\n"


def render(
    rows: Sequence[Row],
    fmt: str,
    *,
    kind: str,
    project: str,
    target: str,
    title: str,
    noun: str = "checks",
    color: bool = False,
) -> str:
    if fmt == "json":
        return render_json(rows, kind=kind, project=project, target=target)
    return render_text(rows, title=title, noun=noun, color=color)
