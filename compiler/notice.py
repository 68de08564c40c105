"""What a notification says: the events an audit record raises, and its message as Slack text, a
versioned JSON document, a Grafana annotation and an e-mail; pure (times come from the record)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from specctl.compiler.bake import Figures
from specctl.compiler.show.plan import show_value
from specctl.schemas.notify import EVENTS

FORMAT_VERSION = 1  # of the webhook document
ERROR_LIMIT = 1500  # characters of an error a message carries; the audit record keeps it all
CHANGES_SHOWN = 8  # plan lines a message lists before "(N more)"

_AT_START = ("id", "kind", "started", "target", "previous", "user", "host", "lock_taken_over")
_RESULT_WORDS = {
    "ok": "succeeded",
    "failed": "failed",
    "noop": "changed nothing",
    "unknown": "ended without a result",
}


@dataclass(frozen=True)
class Notice:
    """One message about one run: `events` are the names it is sent for (empty: nothing to
    tell), `title` one line, `text` a few lines; the rest is what the renderers need."""

    events: tuple[str, ...]
    title: str
    text: str
    project: str
    kind: str
    result: str  # ok | failed | noop | started | unknown
    target: str | None = None
    previous: str | None = None
    active: str | None = None  # what serves when the run ended, where the record says
    user: str | None = None
    host: str | None = None
    started: float | None = None  # seconds since the epoch
    finished: float | None = None
    seconds: float | None = None
    summary: str = ""  # `Plan: 1 to add, …`
    failed_step: str | None = None
    error: str | None = None  # cut to ERROR_LIMIT
    rolled_back: str | None = None
    bake: Mapping[str, Any] | None = None
    lock_taken_over: str | None = None
    backup_id: str | None = None
    run_id: str | None = None

    @property
    def event(self) -> str | None:
        """The main event: the first of `events` (they are in the order of EVENTS)."""
        return self.events[0] if self.events else None


def events_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The events a finished run raises, in the order of EVENTS. A run that changed nothing
    raises none, except that a lock taken over is always told."""
    kind, result = record.get("kind"), record.get("result")
    step = _failed_step(record)
    found: set[str] = set()
    if kind == "apply" and result == "ok":
        found.add("apply.succeeded")
    elif kind == "apply" and result == "failed":
        found.add("apply.failed")
        if record.get("switched"):
            found.add("apply.rolled_back")
        if step == "bake" or _breach(record):
            found.add("bake.breach")
        if step == "backup":
            found.add("backup.failed")
    elif kind == "rollback" and result in ("ok", "failed"):
        found.add("rollback.succeeded" if result == "ok" else "rollback.failed")
    elif kind == "backup" and result == "failed":
        found.add("backup.failed")
    if record.get("lock_taken_over"):
        found.add("lock.taken_over")
    return tuple(e for e in EVENTS if e in found)


def finished_notice(record: Mapping[str, Any], *, project: str) -> Notice:
    """The notice of a run that has ended, from its audit record (with its `result`: a record
    without one raises no events)."""
    return _notice(record, project=project, result=str(record.get("result") or "unknown"))


def started_notice(record: Mapping[str, Any], *, project: str) -> Notice:
    """The notice of an apply about to change things, from its audit record as it stands then
    (kind, target, previous, who, the plan). Only an apply raises `apply.started`; for any other
    kind the notice has no events."""
    return _notice(record, project=project, result="started")


def _notice(record: Mapping[str, Any], *, project: str, result: str) -> Notice:
    kind = _text(record.get("kind")) or "run"
    if result == "started":
        events: tuple[str, ...] = ("apply.started",) if kind == "apply" else ()
    else:
        events = events_of(record)
    plan = record.get("plan")
    if result == "started":  # only what is known before anything changed
        record = {k: record[k] for k in _AT_START if k in record}
    final = record.get("final")
    bake = record.get("bake")
    notice = Notice(
        events=events,
        title="",
        text="",
        project=project,
        kind=kind,
        result=result,
        target=_text(record.get("target")),
        previous=_text(record.get("previous")),
        active=_text(final.get("active")) if isinstance(final, Mapping) else None,
        user=_text(record.get("user")),
        host=_text(record.get("host")),
        started=_number(record.get("started")),
        finished=_number(record.get("finished")),
        seconds=_number(record.get("seconds")),
        summary=summary_text(plan) if isinstance(plan, Mapping) else "",
        failed_step=_failed_step(record),
        error=cut(_text(record.get("error"))),
        rolled_back=_text(record.get("rolled_back")),
        bake=bake if isinstance(bake, Mapping) else None,
        lock_taken_over=_text(record.get("lock_taken_over")),
        backup_id=_text(record.get("backup_id")),
        run_id=_text(record.get("id")),
    )
    lines = _lines(notice, plan if isinstance(plan, Mapping) else {})
    return replace(notice, title=_title(notice), text="\n".join(lines))


def _title(n: Notice) -> str:
    what = f"{n.kind} to {n.target}" if n.target and n.kind in ("apply", "rollback") else n.kind
    word = _RESULT_WORDS.get(n.result, n.result)
    if "bake.breach" in n.events:
        word += " (bake breach)"
    elif n.events == ("lock.taken_over",):  # a start raises apply.started or nothing
        word += " (lock taken over)"
    return _one_line(f"specctl: {what} {word} on {n.project}")


def _lines(n: Notice, plan: Mapping[str, Any]) -> list[str]:
    # A start knows no duration and no failed step: its line is `result: started`.
    took = f" after {duration(n.seconds)}" if n.seconds is not None else ""
    step = f" (step {n.failed_step})" if n.failed_step else ""
    lines = [f"result: {n.result}{took}{step}"]
    if n.target or n.previous:
        colour = f"colour: {n.target or '?'} (before: {n.previous or 'none'})"
        if n.active:
            colour += f"; serving now: {n.active}"
        lines.append(colour)
    lines.append(f"by: {who(n.user, n.host)}")
    if n.error:
        lines.append(_block("error", n.error))
    if n.rolled_back:
        lines.append(_block("rolled back", n.rolled_back))
    if n.summary:
        lines.append(f"plan: {n.summary}")
        lines.extend(change_lines(plan))
    if n.result == "started":
        names = [str(s.get("name")) for s in _dicts(plan.get("steps"))]
        if names:
            lines.append(f"steps: {', '.join(names)}")
    lines.extend(bake_lines(n.bake))
    if n.lock_taken_over:
        lines.append(f"lock: taken over from {_one_line(n.lock_taken_over)}")
    if n.backup_id:
        lines.append(f"backup: {n.backup_id}")
    if n.run_id:
        lines.append(f"run: {n.run_id} (specctl history)")
    return lines


def who(user: str | None, host: str | None) -> str:
    """`alice@build-1`."""
    if not user and not host:
        return "unknown"
    return f"{user or '?'}@{host or '?'}"


def duration(value: float) -> str:
    """`4.2s`, `3m05s`, `1h02m`."""
    if value < 60:
        return f"{value:.1f}s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def cut(text: str | None, *, limit: int = ERROR_LIMIT) -> str | None:
    """A long error cut to `limit` characters, saying so; newlines are kept."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}\n… ({len(text) - limit} more characters in specctl history)"


def summary_text(plan: Mapping[str, Any]) -> str:
    """The plan's one-line summary, from its JSON document: `Plan: 1 to add, …`."""
    s = plan.get("summary")
    if isinstance(s, str):
        return _one_line(s)
    if not isinstance(s, Mapping):
        return ""

    def n(key: str) -> int:
        value = s.get(key)
        return value if isinstance(value, int) else 0

    parts = [f"{n('add')} to add", f"{n('change')} to change", f"{n('destroy')} to destroy"]
    parts.append(f"{n('switch')} traffic switch{'es' if n('switch') != 1 else ''}")
    fixes = n("permission_fix")
    parts.append(f"{fixes} permission fix{'es' if fixes != 1 else ''}")
    if n("retire"):
        parts.append(f"{n('retire')} to retire")
    return "Plan: " + ", ".join(parts) + "."


def change_lines(plan: Mapping[str, Any], *, limit: int = CHANGES_SHOWN) -> list[str]:
    """`  ~ green.service.backend  image: app:1.4 → app:1.5`, at most `limit` of them."""
    changes = _dicts(plan.get("changes"))
    out = []
    for change in changes[:limit]:
        parts = [
            f"{f.get('key')}: {show_value(f.get('before'), limit=40)} → "
            f"{show_value(f.get('after'), limit=40)}"
            for f in _dicts(change.get("fields"))
        ]
        if not parts and change.get("action") == "⇄":
            parts = [f"{show_value(change.get('before'))} → {show_value(change.get('after'))}"]
        head = _one_line(f"{change.get('action', '?')} {change.get('address', '?')}")
        detail = _one_line(", ".join(parts))
        out.append(f"  {head}  {detail}" if detail else f"  {head}")
    if len(changes) > limit:
        out.append(f"  ({len(changes) - limit} more)")
    return out


def bake_lines(bake: Mapping[str, Any] | None) -> list[str]:
    """The bake's figures as apply recorded them (appliers/bake.py `Watch.report`)."""
    if not bake:
        return []
    out = []
    color = bake.get("color") or "the new colour"
    if isinstance(bake.get("requests"), int):
        errors = bake.get("errors", 0)
        out.append(
            f"bake: {bake['requests']} requests on {color} since the switch, {errors} with 5xx"
        )
    for key, label in (("last_window", "last window"), ("before", "old colour before")):
        figures = _figures(bake.get(key))
        if figures is not None:
            out.append(f"bake {label}: {figures.describe()}")
    breach = bake.get("breach")
    if isinstance(breach, list | tuple) and breach:
        out.append(_one_line(f"bake breach: {'; '.join(str(b) for b in breach)}"))
    return out


def _figures(doc: object) -> Figures | None:
    if not isinstance(doc, Mapping):
        return None
    try:
        return Figures(
            requests=int(doc["requests"]),
            errors=int(doc["errors"]),
            p95=float(doc["p95_seconds"]),
            p99=float(doc["p99_seconds"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


# Renderers ------------------------------------------------------------------------------------


def slack_body(notice: Notice) -> dict[str, str]:
    """A Slack-compatible incoming webhook's body; `&`, `<` and `>` escaped as Slack asks."""
    text = f"{notice.title}\n{notice.text}"
    return {"text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}


def webhook_document(notice: Notice) -> dict[str, Any]:
    """The generic webhook's JSON document: versioned, stable keys (None when unknown)."""
    return {
        "format_version": FORMAT_VERSION,
        "event": notice.event,
        "events": list(notice.events),
        "project": notice.project,
        "kind": notice.kind,
        "result": notice.result,
        "target": notice.target,
        "previous": notice.previous,
        "active": notice.active,
        "user": notice.user,
        "host": notice.host,
        "started": iso(notice.started),
        "finished": iso(notice.finished),
        "seconds": notice.seconds,
        "summary": notice.summary or None,
        "failed_step": notice.failed_step,
        "error": notice.error,
        "rolled_back": notice.rolled_back,
        "bake": dict(notice.bake) if notice.bake is not None else None,
        "lock_taken_over": notice.lock_taken_over,
        "backup_id": notice.backup_id,
        "run_id": notice.run_id,
        "title": notice.title,
        "text": notice.text,
    }


def grafana_body(
    notice: Notice, *, tags: Sequence[str] = (), dashboard_uid: str | None = None
) -> dict[str, Any]:
    """The body of POST /api/annotations: a region from start to end (a point for a start)."""
    body: dict[str, Any] = {}
    if notice.started is not None:
        body["time"] = round(notice.started * 1000)
        if notice.finished is not None:
            body["timeEnd"] = round(notice.finished * 1000)
    wanted = ["specctl", notice.project, notice.kind, notice.result, *tags]
    body["tags"] = list(dict.fromkeys(t for t in wanted if t))
    body["text"] = f"{notice.title}\n{notice.text}"
    if dashboard_uid:
        body["dashboardUID"] = dashboard_uid
    return body


def email_message(notice: Notice, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """The e-mail: plain text; its Date is the record's time, its Message-ID made from the run's
    id (so the same run's notice has the same id, however often it is rendered)."""
    message = EmailMessage()
    message["Subject"] = notice.title
    message["From"] = sender
    message["To"] = ", ".join(to)
    when = notice.started if notice.result == "started" else (notice.finished or notice.started)
    if when is not None:
        message["Date"] = formatdate(when, usegmt=True)
    if notice.run_id:
        phase = "started" if notice.result == "started" else "finished"
        domain = re.sub(r"[^A-Za-z0-9.-]", "", notice.host or "") or "specctl.invalid"
        run = re.sub(r"[^A-Za-z0-9]", "", notice.run_id)
        message["Message-ID"] = f"<specctl.{run}.{phase}@{domain}>"
    message.set_content(f"{notice.title}\n\n{notice.text}\n\n-- \nsent by specctl\n")
    return message


def iso(when: float | None) -> str | None:
    """`2026-03-01T12:00:00.250Z`, or None."""
    if when is None:
        return None
    stamp = datetime.fromtimestamp(when, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


# Reading a record defensively: any field may be missing or of an older shape -------------------


def _failed_step(record: Mapping[str, Any]) -> str | None:
    for step in _dicts(record.get("steps")):
        if step.get("status") == "failed":
            return _text(step.get("name"))
    return None


def _breach(record: Mapping[str, Any]) -> bool:
    bake = record.get("bake")
    return isinstance(bake, Mapping) and bool(bake.get("breach"))


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _block(label: str, text: str) -> str:
    """`label: first line`, later lines indented under it."""
    first, *rest = text.splitlines() or [""]
    return "\n".join([f"{label}: {first}", *(f"  {line}" for line in rest)])
