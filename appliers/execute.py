"""Carry out a plan's steps in order and undo the started ones when a step fails; shared by
apply and rollback (side effects: whatever the steps do)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult
from specctl.appliers.seams import crash_point
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecctlError
from specctl.schemas.plan import Plan, Step, StepName

if TYPE_CHECKING:  # nginx imports the Docker SDK
    from specctl.appliers.nginx import Ready


@dataclass
class Options:
    target: str | None = None
    yes: bool = False
    force: bool = False
    skip_backup: bool = False
    plan_file: Path | None = None
    recreate_shared: bool = False
    preview: bool = False
    confirm: Callable[[str], bool] | None = None


@dataclass
class Run:
    """One apply or rollback as it goes: what the steps learn that a later step or an undo
    needs."""

    project: Project
    rec: Recorder
    opts: Options
    plan: Plan
    desired: Desired  # the target colour
    previous: str | None  # the colour serving before this run
    backup_id: str | None = None
    serving_text: str | None = None  # the nginx config that served before the switch
    ready: Ready | None = None  # what staging the nginx config learnt, for the switch
    forced: list[str] = field(default_factory=list)
    breach_at: float | None = None  # when a bake found a breach (monotonic)
    switched: bool = False  # the switch step began: traffic may be on the target
    contract_ran: bool = False  # a contract migration ran: nothing switches back past it
    extra: dict[str, Any] = field(default_factory=dict)  # for the history record


Action = Callable[[Run, Step], str | None]


class StepFailed(SpecctlError):
    """A step failed; `undone` says what its undo put back."""

    def __init__(self, error: SpecctlError, undone: str) -> None:
        super().__init__(error.message, hint=error.hint)
        self.undone = undone


def execute(run: Run, actions: dict[StepName, Action], undos: dict[StepName, Action]) -> None:
    """Each step of the plan in order; on a failure, the undos of the started steps (the failed
    one included: it may have half happened), newest first."""
    started: list[Step] = []
    try:
        for step in run.plan.steps:
            started.append(step)
            action = actions[step.name]
            timed_step(run.rec, step.name, functools.partial(action, run, step))
    except SpecctlError as exc:
        raise StepFailed(exc, undo(run, started, undos)) from None
    except Exception as exc:  # a library's error or a bug: what started is undone all the same
        raise StepFailed(unexpected(exc), undo(run, started, undos)) from exc


def unexpected(exc: Exception) -> SpecctlError:
    return SpecctlError(
        f"internal error: {type(exc).__name__}: {exc}",
        hint="run with --debug for the traceback, and report it",
    )


def undo(run: Run, started: list[Step], undos: dict[StepName, Action]) -> str:
    notes = []
    for step in reversed(started):
        if step.undo is None or step.name not in undos:
            continue
        try:
            notes.append(undos[step.name](run, step) or step.undo)
        except Exception as exc:  # one undo failing never stops the next
            error = exc if isinstance(exc, SpecctlError) else unexpected(exc)
            notes.append(f"could NOT {step.undo}: {error.message.splitlines()[0]}")
    if not notes:
        notes.append(f"nothing to undo; traffic stays on {run.previous or 'nothing'}")
    for note in notes:
        run.rec.line(f"rollback: {note}")
    return "; ".join(notes)


def timed_step(rec: Recorder, name: str, action: Callable[[], str | None]) -> str | None:
    """Run one step: a progress line with its duration, and the crash seam before it."""
    crash_point(name)
    start = time.monotonic()
    try:
        detail = action()
    except Exception as exc:
        message = exc.message if isinstance(exc, SpecctlError) else unexpected(exc).message
        rec.step(StepResult(name, "failed", time.monotonic() - start, message.splitlines()[0]))
        raise
    rec.step(StepResult(name, "ok", time.monotonic() - start, detail or ""))
    return detail
