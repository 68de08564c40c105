"""`specctl apply` and `specctl rollback`: the blue/green procedure with automatic rollback
(side effects: containers, nginx, files, logs)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specctl.appliers import compose, nginx
from specctl.appliers.health import wait_healthy
from specctl.appliers.lock import project_lock
from specctl.appliers.planning import Planned, check_saved_plan, load_saved_plan, make_plan
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.steps import (
    backup_step,
    migrate_step,
    permissions_step,
    pre_checks_step,
    verify_step,
)
from specctl.appliers.switch import switch_to
from specctl.compiler.diff import held_back
from specctl.compiler.show.plan import NO_CHANGES, render_text
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError, SpecctlError
from specctl.schemas.plan import Action
from specctl.schemas.units import seconds


@dataclass
class Options:
    target: str | None = None
    yes: bool = False
    force: bool = False
    skip_backup: bool = False
    plan_file: Path | None = None
    recreate_shared: bool = False
    confirm: Callable[[str], bool] | None = None


@dataclass
class Run:
    """The state of one apply, so a failure knows what to undo."""

    project: Project
    rec: Recorder
    opts: Options
    desired: Desired
    previous: str | None  # the colour serving before this apply
    deployed: bool = False
    switched: bool = False
    backup_id: str | None = None
    forced: list[str] = field(default_factory=list)

    def timed(self, name: str, action: Callable[[], str | None]) -> str | None:
        return timed_step(self.rec, name, action)


KILL_AT = "SPECCTL_TEST_KILL_AT"
PAUSE_AT = "SPECCTL_TEST_PAUSE_AT"
PAUSE_FILE = "SPECCTL_TEST_PAUSE_FILE"


def crash_point(step: str) -> None:
    """Test seams for the fault suite. SPECCTL_TEST_KILL_AT=<step> makes this process kill
    itself with SIGKILL just before that step, exactly as `kill -9` from outside would.
    SPECCTL_TEST_PAUSE_AT=<step> with SPECCTL_TEST_PAUSE_FILE=<path> stops before the step,
    writes <path>.paused, and goes on once <path> exists (at most 120 s), so a test can break
    something at that exact moment."""
    if os.environ.get(KILL_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT) == step and os.environ.get(PAUSE_FILE):
        gate = Path(os.environ[PAUSE_FILE])
        gate.with_name(gate.name + ".paused").touch()
        deadline = time.monotonic() + 120
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def apply(project: Project, opts: Options, *, out: Any) -> int:
    rec = Recorder(project, "deployment", out=out)
    with (
        audited(project, "apply", rec=rec) as record,
        project_lock(project.lock_file, command="specctl apply", warn=rec.line),
    ):
        return _apply_locked(project, opts, rec, record)


def _apply_locked(project: Project, opts: Options, rec: Recorder, record: dict[str, Any]) -> int:
    start = time.monotonic()
    planned = make_plan(project, opts.target)
    if opts.plan_file is not None:
        check_saved_plan(load_saved_plan(opts.plan_file), project, planned)
    plan = planned.plan
    rec.step(
        StepResult(
            "detect",
            "ok",
            time.monotonic() - start,
            f"active {plan.active or 'none'} ({planned.active.detail}); target {plan.target}",
        )
    )
    record.update(
        target=plan.target, previous=plan.active, spec_hash=plan.spec_hash, plan=plan.document()
    )
    held = [] if opts.recreate_shared else held_back(plan)
    if plan.empty or len(held) == len(plan.changes):
        rec.line(NO_CHANGES + " Nothing to do." if plan.empty else "Nothing to do for the colour.")
        for change in held:
            rec.line(
                f"warning: {change.address} differs from the spec; not recreated "
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
    run = Run(project=project, rec=rec, opts=opts, desired=planned.desired, previous=plan.active)
    if opts.force:
        run.forced.append("--force")
    try:
        _steps(run, planned)
    except SpecctlError as exc:
        undone = _roll_back(run)
        record.update(
            result="failed",
            error=exc.message,
            rolled_back=undone,
            backup_id=run.backup_id,
            forced=run.forced,
        )
        raise ApplyError(
            f"apply to {plan.target} failed: {exc.message}\nrolled back: {undone}",
            hint=exc.hint or "specctl status shows what serves now; specctl history lists this run",
        ) from None
    record.update(
        result="ok", backup_id=run.backup_id, forced=run.forced, final={"active": plan.target}
    )
    rec.line(f"done: {plan.target} is live ({time.monotonic() - start:.1f}s)")
    return 0


def _refuse_live_recreate(planned: Planned, opts: Options) -> None:
    plan = planned.plan
    if plan.active != plan.target or opts.force:
        return
    risky = [
        c.address for c in plan.of_kind("service") if c.action in (Action.REPLACE, Action.DELETE)
    ]
    if risky:
        raise SpecctlError(
            f"{plan.target} serves traffic now; recreating {', '.join(risky)} in place would drop "
            "requests",
            hint=f"deploy to the other colour: specctl apply --target "
            f"{'green' if plan.target == 'blue' else 'blue'} (or --force to do it anyway)",
        )


def _steps(run: Run, planned: Planned) -> None:
    project, desired, spec = run.project, run.desired, run.project.spec
    run.timed("pre-checks", lambda: pre_checks_step(project, desired, run))
    run.timed("permissions", lambda: permissions_step(project, desired))
    if spec.backups.enabled:
        if run.opts.skip_backup:
            run.rec.step(StepResult("backup", "skipped", 0.0, "--skip-backup (recorded)"))
            run.forced.append("--skip-backup")
        else:
            run.timed("backup", lambda: backup_step(project, desired, run))
    run.deployed = True
    run.timed("deploy", lambda: _deploy(run, planned))
    run.timed("health", lambda: _health(run))
    if spec.hooks.migrate is not None:
        run.timed("migrate", lambda: migrate_step(project, desired, run))
    run.timed("verify-direct", lambda: verify_step(project, desired, through_proxy=False))
    run.timed("switch", lambda: _switch(run, planned))
    run.timed("verify-proxy", lambda: verify_step(project, desired, through_proxy=True))
    run.timed("retire", lambda: _retire(run))


def _deploy(run: Run, planned: Planned) -> str:
    project, desired = run.project, run.desired
    shared = [s.name for s in desired.shared]
    replace = {c.address for c in held_back(planned.plan)} if run.opts.recreate_shared else set()
    if shared:
        docker = compose.client(project, desired, "shared")
        compose.up(docker, shared, what="deploy shared services", recreate=False)
        again = [s.name for s in desired.shared if s.address in replace]
        if again:
            run.rec.line(f"recreating shared services: {', '.join(again)}")
            compose.up(docker, again, what="recreate shared services")
    if desired.proxy.address in replace and planned.live.nginx.running:
        run.rec.line("recreating proxy.nginx (requests are interrupted for a moment)")
        compose.up(
            compose.client(project, desired, "shared"),
            [desired.proxy.name],
            what="recreate proxy.nginx",
        )
    docker = compose.client(project, desired, desired.color)
    deleted = [
        c.address.rsplit(".", 1)[-1]
        for c in planned.plan.of_kind("service")
        if c.action is Action.DELETE
    ]
    compose.remove_services(docker, deleted, what=f"remove {desired.color} services")
    compose.up(docker, None, what=f"deploy {desired.color}")
    changed = [
        c for c in planned.plan.of_kind("service", "shared") if c.action is not Action.DELETE
    ]
    return f"{desired.color_project}: {len(desired.services)} services up, {len(changed)} changed"


def _health(run: Run) -> str:
    desired, spec = run.desired, run.project.spec
    shared_waited = [s for s in desired.shared if s.healthcheck is not None]
    if shared_waited:
        wait_healthy(
            spec.project,
            desired.shared_project,
            shared_waited,
            deploy=spec.deploy,
            progress=run.rec.line,
        )
    wait_healthy(
        spec.project,
        desired.color_project,
        desired.services,
        deploy=spec.deploy,
        progress=run.rec.line,
    )
    return f"{len(desired.services) + len(shared_waited)} services healthy"


def _switch(run: Run, planned: Planned) -> str:
    if not planned.plan.of_kind("upstream") and planned.live.nginx.running:
        return f"traffic already on {run.desired.color}"
    run.switched = True
    proven = switch_to(run.project, run.desired, progress=run.rec.line)
    slowest = max(proven.values()) if proven else 0.0
    return f"traffic on {run.desired.color}, proven in {slowest:.2f}s"


def _retire(run: Run) -> str:
    project, spec = run.project, run.project.spec
    old = run.previous
    if old is None or old == run.desired.color:
        return "nothing to retire"
    drain = seconds(spec.deploy.drain)
    if spec.deploy.retire == "keep":
        return f"{old} kept running for instant rollback"
    time.sleep(drain)
    old_desired = project.desired(old)
    compose.stop(compose.client(project, old_desired, old), None, what=f"stop {old}")
    return f"{old} stopped after {drain:.0f}s drain (containers and data kept)"


def _roll_back(run: Run) -> str:
    """Put traffic back where it was and stop the half-deployed target. Deletes nothing."""
    project, desired = run.project, run.desired
    if not run.deployed:
        serving = run.previous or "nothing"
        return f"nothing to undo: no container was touched, traffic stays on {serving}"
    notes: list[str] = []
    if run.switched:
        if run.previous and run.previous != desired.color:
            back = project.desired(run.previous)
            try:
                text = nginx.config_for(project, back)
                switch_to(project, back, progress=run.rec.line, text=text, prove=False)
            except SpecctlError as exc:
                notes.append(f"could NOT switch back to {run.previous}: {exc.message}")
            else:
                try:
                    nginx.prove(project, back, timeout=seconds(project.spec.deploy.switch_timeout))
                    notes.append(f"traffic back on {run.previous} (proven)")
                except SpecctlError as exc:
                    first = exc.message.splitlines()[0]
                    notes.append(f"restored {run.previous}'s nginx config; not proven: {first}")
        else:
            notes.append("no previous colour to switch back to")
    else:
        notes.append(f"traffic stayed on {run.previous or 'nothing'}")
    if run.deployed and desired.color != run.previous:
        try:
            compose.stop(
                compose.client(project, desired, desired.color), None, what=f"stop {desired.color}"
            )
            notes.append(f"{desired.color} stopped")
        except SpecctlError as exc:
            notes.append(f"could not stop {desired.color}: {exc.message}")
    for note in notes:
        run.rec.line(f"rollback: {note}")
    return "; ".join(notes)


def timed_step(rec: Recorder, name: str, action: Callable[[], str | None]) -> str | None:
    """Run one step: a progress line with its duration, and the crash seam before it."""
    crash_point(name)
    start = time.monotonic()
    try:
        detail = action()
    except SpecctlError as exc:
        rec.step(StepResult(name, "failed", time.monotonic() - start, exc.message.splitlines()[0]))
        raise
    rec.step(StepResult(name, "ok", time.monotonic() - start, detail or ""))
    return detail
