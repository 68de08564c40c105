"""Structured events: each step of a run as one JSON-ready log record with OpenTelemetry
attribute names (event.name, service.name, host.name, user.name, process.pid, error.message),
so a log shipper takes events.jsonl as it is; pure (time arrives as a parameter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

SEVERITY = {
    "ok": ("INFO", 9),
    "skipped": ("INFO", 9),
    "warn": ("WARN", 13),
    "failed": ("ERROR", 17),
}


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def trace_id(run_id: str) -> str:
    """A W3C trace id (32 hex digits) from a run id: every line of one run shares it."""
    digits = "".join(ch for ch in run_id.lower() if ch in "0123456789abcdef")
    return (digits + "0" * 32)[:32]


def resource(*, project: str, version: str, user: str, host: str, pid: int) -> dict[str, Any]:
    return {
        "service.name": "specctl",
        "service.version": version,
        "service.namespace": project,
        "host.name": host,
        "user.name": user,
        "process.pid": pid,
    }


def step_event(
    *,
    at: float,
    run_id: str,
    command: str,
    step: str,
    status: str,
    seconds: float,
    detail: str,
    index: int,
    context: dict[str, Any],
    res: dict[str, Any],
) -> dict[str, Any]:
    """One step's record: `specctl.step` with its name, status and duration."""
    text, number = SEVERITY.get(status, ("INFO", 9))
    attributes: dict[str, Any] = {
        "event.name": "specctl.step",
        "specctl.command": command,
        "specctl.step.name": step,
        "specctl.step.status": status,
        "specctl.step.duration_s": round(seconds, 3),
        **context,
    }
    if status == "failed":
        attributes["error.message"] = detail
    return {
        "timestamp": _stamp(at),
        "severity_text": text,
        "severity_number": number,
        "body": f"{step}: {detail}" if detail else step,
        "trace_id": trace_id(run_id),
        "span_id": f"{index + 2:016x}",  # 1 is the run's own
        "attributes": attributes,
        "resource": res,
    }


def run_event(*, at: float, record: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    """The end of a run: `specctl.run` with its result and duration (no plan, no secrets)."""
    result = str(record.get("result", "ok"))
    text, number = ("ERROR", 17) if result == "failed" else ("INFO", 9)
    attributes: dict[str, Any] = {
        "event.name": "specctl.run",
        "specctl.command": record.get("kind"),
        "specctl.run.result": result,
        "specctl.run.duration_s": record.get("seconds"),
    }
    for key, name in (
        ("target", "specctl.target.color"),
        ("previous", "specctl.previous.color"),
        ("backup_id", "specctl.backup.id"),
    ):
        if record.get(key):
            attributes[name] = record[key]
    if record.get("error"):
        attributes["error.message"] = str(record["error"])
    summary = (record.get("plan") or {}).get("summary")
    if summary:
        attributes["specctl.plan.summary"] = summary
    return {
        "timestamp": _stamp(at),
        "severity_text": text,
        "severity_number": number,
        "body": f"{record.get('kind')} {result}",
        "trace_id": trace_id(str(record.get("id", ""))),
        "span_id": "0" * 15 + "1",
        "attributes": attributes,
        "resource": res,
    }
