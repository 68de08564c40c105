"""`specctl rollback`: a plan that puts traffic back on the previous colour (started first when
it is stopped), executed like apply's (side effects: containers, nginx, logs)."""

from __future__ import annotations

import time
from typing import Any

from specctl.appliers.execute import Options, Run, StepFailed, execute
from specctl.appliers.lock import project_lock
from specctl.appliers.planning import make_plan
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.steps import step_actions
from specctl.schemas.errors import ApplyError, SpecctlError


def rollback(project: Project, *, out: Any, force: bool = False) -> int:
    """Switch traffic back to the other colour: instantly when it is warm, else start it first."""
    rec = Recorder(project, "rollback", out=out)
    with (
        audited(project, "rollback", rec=rec) as record,
        project_lock(project.lock_file, command="specctl rollback", warn=rec.line, record=record),
    ):
        return _rollback_locked(project, rec, record, force=force)


def _rollback_locked(
    project: Project, rec: Recorder, record: dict[str, Any], *, force: bool
) -> int:
    start = time.monotonic()
    planned = make_plan(project, None, rollback=True)
    plan = planned.plan
    record.update(target=plan.target, previous=plan.active, plan=plan.document())
    rec.context.update(
        {"specctl.target.color": plan.target, "specctl.previous.color": plan.active or ""}
    )
    rec.step(
        StepResult(
            "detect",
            "ok",
            time.monotonic() - start,
            f"active {plan.active}; rolling back to {plan.target}",
        )
    )
    if planned.live.nginx.preview is not None:
        raise SpecctlError(
            f"a preview of {planned.live.nginx.preview} is in progress: {plan.active} still "
            "serves everyone else, so there is nothing to roll back",
            hint="specctl abort ends the preview",
        )
    _refuse_past_contract(project, plan.active, plan.target, force=force)
    run = Run(
        project=project,
        rec=rec,
        opts=Options(yes=True),
        plan=plan,
        desired=planned.desired,
        previous=plan.active,
    )
    try:
        execute(run, *step_actions(project))
    except StepFailed as exc:
        raise ApplyError(f"{exc.message}\nrolled back: {exc.undone}", hint=exc.hint) from None
    record.update(final={"active": plan.target})
    for warning in plan.warnings:
        rec.line(f"warning: {warning}")
    rec.line(f"done: rolled back to {plan.target} ({time.monotonic() - start:.2f}s)")
    return 0


def _refuse_past_contract(
    project: Project, active: str | None, target: str, *, force: bool
) -> None:
    from specctl.appliers.contract import read_mark

    mark = read_mark(project)
    if mark is None or mark["color"] != active or force:
        return
    backup = f" (backup {mark['backup_id']} was taken before it)" if mark.get("backup_id") else ""
    raise SpecctlError(
        f"{active} ran a contract migration{backup}: {target} cannot run on the migrated schema, "
        "and rolling the app back would not roll the schema back",
        hint="restore the database first (specctl backup restore ID), then specctl rollback "
        "--force; or fix forward: specctl apply",
    )
