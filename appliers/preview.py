"""Preview before promotion: lay the preview routes over the serving config (the `preview` step of
`apply --preview`), prove that the cookie reaches the new colour and everyone else the serving
one, and end it again (`specctl abort`, or the undo of the step); promotion is an apply of the
previewed colour (side effects: the live nginx config, nginx, containers, the audit log)."""

from __future__ import annotations

import time
from typing import Any

from specctl.appliers import compose
from specctl.appliers.lock import project_lock
from specctl.appliers.nginx import BEFORE_OVERLAY
from specctl.appliers.observe import live_config_path
from specctl.appliers.planning import observe_active
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.switch import stage_config, switch_staged
from specctl.compiler.maintenance import FLAG as MAINTENANCE_FLAG
from specctl.compiler.preview import (
    COOKIE,
    HEADER,
    router_ports,
    with_preview,
    with_routers_to,
)
from specctl.schemas.errors import CompileError, SpecctlError


def how(color: str) -> str:
    return f"cookie {COOKIE}={color} or header {HEADER}: {color}"


def begin(project: Project, color: str, serving: str | None, rec: Recorder) -> str:
    """Requests that ask for `color` reach it; everyone else stays on `serving`."""
    live = live_config_path(project)
    if serving is None or serving == color or not live.is_file():
        raise SpecctlError(
            f"a preview needs another colour serving ({color} would be previewed to nobody)",
            hint=f"specctl apply --target {color} deploys and switches without a preview",
        )
    text = live.read_text(encoding="utf-8")
    if MAINTENANCE_FLAG in text:
        raise SpecctlError(
            "maintenance mode is on: a preview would show the page to everyone else",
            hint="specctl maintenance off first",
        )
    old, new = project.desired(serving), project.desired(color)
    try:
        edited = with_preview(
            text, color, old.upstreams, new.upstreams, filename="the live nginx config"
        )
    except CompileError as exc:
        raise SpecctlError(exc.message, hint="specctl promote or specctl abort ends it") from None
    (live.parent / BEFORE_OVERLAY).write_text(text, encoding="utf-8")
    _, ready = stage_config(project, new, text=edited)
    switch_staged(project, new, ready, progress=rec.line, prove=False, remember=False)
    prove_preview(project, color, serving)
    return f"{how(color)} reach {color}; everyone else {serving} (proven)"


def prove_preview(project: Project, color: str, serving: str) -> None:
    """Both routes answer: with the header from the previewed colour, without from the other."""
    from specctl.appliers.proof import Reload, prove_switch
    from specctl.appliers.switch import proxy_id
    from specctl.schemas.units import seconds

    timeout = seconds(project.spec.deploy.switch_timeout)
    desired = project.desired(color)
    reload = Reload(proxy_id(desired), None)
    prove_switch(project, desired, timeout=timeout, reload=reload, headers={HEADER: color})
    prove_switch(project, project.desired(serving), timeout=timeout, reload=reload)


def end(project: Project, rec: Recorder) -> str:
    """Put back the config from before the preview (proven); the previewed colour keeps
    running: `abort` stops it."""
    live = live_config_path(project)
    before = live.parent / BEFORE_OVERLAY
    _, active = observe_active(project)
    if active.color is None or not before.is_file():
        raise SpecctlError("no preview to end: the config from before it is not there")
    desired = project.desired(active.color)
    text = before.read_text(encoding="utf-8")
    first = router_ports(live.read_text(encoding="utf-8"))
    if first is not None:  # old workers may still reach for the routers: keep them a while
        text = with_routers_to(text, desired.upstreams, first, filename="the nginx config")
    _, ready = stage_config(project, desired, text=text)
    switch_staged(project, desired, ready, progress=rec.line, remember=False)
    return f"preview routes removed; {active.color} serves everyone (proven)"


def previewed(project: Project) -> tuple[str | None, str | None]:
    """The colour being previewed and the one serving everyone else, or (None, serving)."""
    live, active = observe_active(project)
    return live.nginx.preview, active.color


def abort(project: Project, *, out: Any) -> int:
    rec = Recorder(project, "abort", out=out)
    with (
        audited(project, "abort", rec=rec) as record,
        project_lock(project.lock_file, command="specctl abort", warn=rec.line, record=record),
    ):
        start = time.monotonic()
        color, serving = previewed(project)
        if color is None:
            rec.line("no preview in progress; nothing to do")
            record.update(result="noop")
            return 0
        detail = end(project, rec)
        rec.step(StepResult("end-preview", "ok", time.monotonic() - start, detail))
        desired = project.desired(color)
        engine = project.spec.engine
        if engine.kind == "swarm":  # its service specs stay, as a retired colour's
            from specctl.appliers.swarm.deploy import scale

            scale({f"{desired.color_project}_{s.name}": 0 for s in desired.services})
            stopped = f"{color} scaled to 0"
        else:
            docker = compose.client(project, desired, color)
            compose.stop(docker, None, what=f"stop {color}")
            stopped = f"{color} stopped"
        rec.step(StepResult("stop", "ok", time.monotonic() - start, stopped))
        record.update(result="ok", target=serving, previous=serving, preview=color)
    return 0
