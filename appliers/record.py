"""Progress lines, the deployment log and the audit trail (side effects: terminal, files)."""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from specctl.appliers.project import Project
from specctl.compiler.events import resource, run_event, step_event
from specctl.schemas.errors import SpecctlError

LOG_MODE = 0o640  # deployment logs and the audit log: owner and group read them

if TYPE_CHECKING:
    from specctl.appliers.notify import Notifier

AUDIT_FILE = "audit.jsonl"
EVENTS_FILE = "events.jsonl"


def log_dir(project: Project) -> Path:
    return project.path(project.spec.logs.dir)


def stamp(now: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


@dataclass
class StepResult:
    name: str
    status: str  # ok | failed | skipped | warn
    seconds: float
    detail: str = ""


@dataclass
class Recorder:
    """Prints one line per step and writes the same lines to logs/deployment/<kind>-<time>.log."""

    project: Project
    kind: str  # deployment | rollback | pre-deployment | fix-permissions | post-deployment-verify
    out: TextIO = sys.stdout
    started: float = field(default_factory=time.time)
    steps: list[StepResult] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    context: dict[str, Any] = field(default_factory=dict)  # event attributes known so far
    notifier: Notifier | None = None  # set by audited() when the spec has channels
    _log: TextIO | None = None

    def __post_init__(self) -> None:
        folder = log_dir(self.project)
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / f"{self.kind}-{stamp(self.started)}.log"
        # Logs name hosts, containers and what changed (secrets are masked): not for every
        # local user, so owner and group only, like /var/log.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
        self._log = os.fdopen(fd, "a", encoding="utf-8")

    def started_notice(self, record: dict[str, Any]) -> None:
        """Tell the channels that listen for apply.started (in the background)."""
        if self.notifier is not None:
            self.notifier.started(record)

    def line(self, text: str) -> None:
        elapsed = time.time() - self.started
        self.out.write(f"[{elapsed:6.1f}s] {text}\n")
        self.out.flush()
        if self._log is not None:
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
            self._log.write(f"{now} {text}\n")
            self._log.flush()

    def step(self, result: StepResult) -> None:
        self.steps.append(result)
        mark = {"ok": "✓", "failed": "✗", "skipped": "-", "warn": "!"}.get(result.status, "?")
        detail = f": {result.detail}" if result.detail else ""
        self.line(f"{mark} {result.name:<14}{detail} ({result.seconds:.1f}s)")
        if self.project.spec.logs.events:
            append_event(
                self.project,
                step_event(
                    at=time.time(),
                    run_id=self.run_id,
                    command=self.kind,
                    step=result.name,
                    status=result.status,
                    seconds=result.seconds,
                    detail=result.detail,
                    index=len(self.steps) - 1,
                    context=self.context,
                    res=event_resource(self.project),
                ),
            )

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def who() -> dict[str, Any]:
    return {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid()}


def event_resource(project: Project) -> dict[str, Any]:
    from specctl import __version__

    me = who()
    return resource(
        project=project.spec.project,
        version=__version__,
        user=me["user"],
        host=me["host"],
        pid=me["pid"],
    )


def _append_line(path: Path, doc: dict[str, Any]) -> None:
    """One JSON line, appended with O_APPEND so writers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def append_audit(project: Project, record: dict[str, Any]) -> None:
    """One JSON line per apply or rollback."""
    _append_line(log_dir(project) / AUDIT_FILE, record)


def append_event(project: Project, event: dict[str, Any]) -> None:
    _append_line(log_dir(project) / EVENTS_FILE, event)


@contextmanager
def audited(
    project: Project, kind: str, *, rec: Recorder | None = None, **fields: object
) -> Iterator[dict[str, Any]]:
    """One audit record for the block: who, when, how long, the result and the error; the
    block adds what it knows (target, plan, backup id). The notification channels hear of the
    end (the command waits for them at most notify.timeout; outcomes go into the record)."""
    record: dict[str, Any] = {
        "id": rec.run_id if rec is not None else uuid.uuid4().hex[:12],
        "kind": kind,
        "started": time.time(),
        **fields,
        **who(),
    }
    notifier = _notifier(project)
    if rec is not None:
        rec.notifier = notifier
    try:
        yield record
    except SpecctlError as exc:
        record.update(result="failed", error=exc.message)
        raise
    except BaseException as exc:  # Ctrl-C or a bug: never recorded (nor told) as ok
        interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
        error = "interrupted" if interrupted else f"internal error: {type(exc).__name__}: {exc}"
        record.update(result="failed", error=error)
        raise
    finally:
        record.setdefault("result", "ok")
        record["finished"] = time.time()
        record["seconds"] = round(record["finished"] - record["started"], 2)
        if rec is not None:
            record["steps"] = [s.__dict__ for s in rec.steps]
            record["log"] = str(rec.log_path)
        if notifier is not None:
            notifier.finished(record)
            record["notifications"] = outcomes = notifier.wait()
            for outcome in outcomes:
                if rec is not None and outcome.get("result") != "delivered":
                    why = f": {outcome['error']}" if outcome.get("error") else ""
                    rec.line(
                        f"warning: notification to {outcome['channel']} {outcome['result']}{why}"
                    )
        if rec is not None:
            rec.close()
        append_audit(project, record)
        if project.spec.logs.events:
            append_event(
                project, run_event(at=time.time(), record=record, res=event_resource(project))
            )


def _notifier(project: Project) -> Notifier | None:
    notify = project.spec.notify
    if not notify.channels:
        return None
    from specctl.appliers.notify import Notifier

    return Notifier(notify, root=project.root, project=project.spec.project)


def read_audit(project: Project) -> list[dict[str, Any]]:
    path = log_dir(project) / AUDIT_FILE
    if not path.is_file():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(raw)
        except ValueError:
            continue  # a line cut by a crash: skip it, keep the rest
        if isinstance(doc, dict):
            out.append(doc)
    return out
