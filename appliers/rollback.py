"""`specctl rollback`: traffic back to the previous colour, instantly when it is still warm
(side effects: containers, nginx, logs)."""

from __future__ import annotations

import time
from typing import Any

from specctl.appliers import compose, nginx
from specctl.appliers.apply import timed_step
from specctl.appliers.health import wait_healthy
from specctl.appliers.lock import project_lock
from specctl.appliers.observe import live_config_path, observe
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.switch import switch_to
from specctl.compiler.active import detect_active
from specctl.schemas.errors import ApplyError, SpecctlError


def rollback(project: Project, *, out: Any) -> int:
    """Switch traffic back to the other colour: instantly when it is warm, else start it first."""
    rec = Recorder(project, "rollback", out=out)
    with (
        audited(project, "rollback", rec=rec) as record,
        project_lock(project.lock_file, command="specctl rollback", warn=rec.line),
    ):
        return _rollback_locked(project, rec, record)


def _rollback_locked(project: Project, rec: Recorder, record: dict[str, Any]) -> int:
    start = time.monotonic()
    probe = project.desired("blue")
    live = observe(project, probe)
    active = detect_active(probe, live)
    if active.color is None:
        raise SpecctlError(f"nothing to roll back: {active.detail}")
    target = "green" if active.color == "blue" else "blue"
    desired = project.desired(target)
    existing = [c for c in live.of_project(desired.color_project)]
    if not existing:
        raise SpecctlError(f"cannot roll back to {target}: it was never deployed on this host")
    record.update(target=target, previous=active.color)
    rec.step(
        StepResult(
            "detect",
            "ok",
            time.monotonic() - start,
            f"active {active.color}; rolling back to {target}",
        )
    )
    stopped = sorted(c.service for c in existing if not c.running and c.service)
    if stopped:

        def start_it() -> str:
            docker = compose.client(project, desired, target)
            compose.start(docker, stopped, what=f"start {target}")
            return f"started {', '.join(stopped)}"

        timed_step(rec, "start", start_it)

    def health() -> str:
        wait_healthy(
            project.spec.project,
            desired.color_project,
            desired.services,
            deploy=project.spec.deploy,
            progress=rec.line,
            bound=project.spec.deploy.rollback_timeout,
        )
        return f"{len(desired.services)} services healthy"

    timed_step(rec, "health", health)

    live_file = live_config_path(project)
    serving_text = live_file.read_text(encoding="utf-8") if live_file.is_file() else None

    def do_switch() -> str:
        try:
            proven = switch_to(
                project, desired, progress=rec.line, text=nginx.config_for(project, desired)
            )
        except SpecctlError as exc:
            if serving_text is None:
                raise
            # Not proven: put back exactly what served before, then fail.
            back = project.desired(active.color or "blue")
            switch_to(project, back, progress=rec.line, text=serving_text, prove=False)
            raise ApplyError(
                f"{exc.message}\nrolled back: the config that served {active.color} is back",
                hint=exc.hint,
            ) from None
        return f"traffic on {target}, proven in {max(proven.values()):.2f}s"

    timed_step(rec, "switch", do_switch)
    record.update(final={"active": target})
    rec.line(f"done: rolled back to {target} ({time.monotonic() - start:.2f}s)")
    return 0
