"""`specctl apply`: make a plan, confirm it, execute its steps, undo on failure (side effects:
containers, nginx, files, logs)."""

from __future__ import annotations

import time
from typing import Any

from specctl.appliers.execute import Options, Run, StepFailed, execute
from specctl.appliers.lock import project_lock
from specctl.appliers.planning import Planned, check_saved_plan, load_saved_plan, make_plan
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.steps import step_actions
from specctl.compiler.diff import held_back
from specctl.compiler.show.plan import NO_CHANGES, render_text
from specctl.compiler.steps import preview_steps
from specctl.schemas.errors import ApplyError, SpecctlError
from specctl.schemas.plan import Action, StepName

__all__ = ["Options", "apply"]


def apply(project: Project, opts: Options, *, out: Any) -> int:
    rec = Recorder(project, "deployment", out=out)
    with (
        audited(project, "apply", rec=rec) as record,
        project_lock(project.lock_file, command="specctl apply", warn=rec.line, record=record),
    ):
        return _apply_locked(project, opts, rec, record)


def _apply_locked(project: Project, opts: Options, rec: Recorder, record: dict[str, Any]) -> int:
    start = time.monotonic()
    saved = load_saved_plan(opts.plan_file) if opts.plan_file is not None else None
    # A saved plan names its target: apply carries out that plan, as Terraform does.
    target = opts.target or (str(saved["target"]) if saved and saved.get("target") else None)
    planned = make_plan(project, target, recreate_shared=opts.recreate_shared)
    if saved is not None:
        check_saved_plan(saved, project, planned)
    plan = planned.plan
    if opts.preview:
        plan = plan.model_copy(update={"steps": preview_steps(plan)})
    rec.step(
        StepResult(
            "detect",
            "ok",
            time.monotonic() - start,
            f"active {plan.active or 'none'} ({planned.active.detail}); target {plan.target}",
        )
    )
    record.update(
        target=plan.target,
        previous=plan.active,
        spec_hash=plan.spec_hash,
        plan=plan.document(),
        **({"preview": True} if opts.preview else {}),
    )
    if not plan.steps:
        rec.line(NO_CHANGES + " Nothing to do." if plan.empty else "Nothing to do for the colour.")
        for change in held_back(plan):
            taken = (
                change.fields[0] if change.fields and change.fields[0].key == "container" else None
            )
            rec.line(
                f"warning: {change.address} is {taken.before}, kept as it runs (apply "
                "--recreate-shared replaces it with specctl's)"
                if taken is not None
                else f"warning: {change.address} differs from the spec; not recreated "
                "(apply --recreate-shared recreates it, interrupting both colours)"
            )
        record.update(result="noop")
        return 0
    _refuse_live_recreate(planned, opts)
    out = rec.out
    out.write(render_text(plan, color=out.isatty()))
    if not opts.yes:
        ask = opts.confirm
        if ask is None or not ask(f"Apply this plan to {plan.target}?"):
            raise SpecctlError(
                "apply cancelled; nothing was changed", hint="pass --yes to skip the question"
            )
    rec.context.update(
        {"specctl.target.color": plan.target, "specctl.previous.color": plan.active or ""}
    )
    rec.started_notice(record)
    run = Run(
        project=project,
        rec=rec,
        opts=opts,
        plan=plan,
        desired=planned.desired,
        previous=plan.active,
    )
    if opts.force:
        run.forced.append("--force")
    try:
        execute(run, *step_actions(project))
    except StepFailed as exc:
        record.update(
            result="failed",
            error=exc.message,
            rolled_back=exc.undone,
            switched=run.switched,
            backup_id=run.backup_id,
            forced=run.forced,
            **run.extra,
        )
        stays = (
            f"\ntraffic stays on {plan.target}: a contract migration has run, and switching "
            "back would not roll the schema back"
            if run.contract_ran and run.switched
            else ""
        )
        raise ApplyError(
            f"apply to {plan.target} failed: {exc.message}\nrolled back: {exc.undone}{stays}",
            hint=exc.hint or "specctl status shows what serves now; specctl history lists this run",
        ) from None
    record.update(
        result="ok",
        backup_id=run.backup_id,
        forced=run.forced,
        final={"active": plan.active if opts.preview else plan.target},
        **run.extra,
    )
    if opts.preview:
        rec.line(
            f"done: preview of {plan.target} ({time.monotonic() - start:.1f}s); "
            f"`specctl promote` switches everyone to it, `specctl abort` ends it"
        )
        return 0
    rec.line(f"done: {plan.target} is live ({time.monotonic() - start:.1f}s)")
    return 0


def _refuse_live_recreate(planned: Planned, opts: Options) -> None:
    plan = planned.plan
    deploy = plan.step(StepName.DEPLOY)
    if plan.active != plan.target or opts.force or deploy is None:
        return
    risky = [c.address for c in plan.of_kind("service") if c.action is Action.REPLACE]
    risky += [f"{plan.target}.service.{name}" for name in deploy.remove]
    if risky:
        raise SpecctlError(
            f"{plan.target} serves traffic now; recreating {', '.join(risky)} in place would drop "
            "requests",
            hint=f"deploy to the other colour: specctl apply --target "
            f"{'green' if plan.target == 'blue' else 'blue'} (or --force to do it anyway)",
        )
