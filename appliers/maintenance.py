"""`specctl maintenance on|off`: put the serving config into maintenance mode (every managed
location answers a 503 page with Retry-After; allowed addresses still reach the application)
and back, through the same staged, `nginx -t`-checked, proven switch as a deploy (side effects:
the live nginx config, nginx, the audit log).

Whether maintenance is on is read from the live config itself (it holds the maintenance flag),
so a deploy's switch, which installs a generated config, ends it, and an undo that puts back
the config that served puts back maintenance too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from specctl.appliers.lock import project_lock
from specctl.appliers.nginx import BEFORE_OVERLAY
from specctl.appliers.observe import live_config_path
from specctl.appliers.planning import observe_active
from specctl.appliers.project import Project
from specctl.appliers.proof import NotProven
from specctl.appliers.record import Recorder, StepResult, audited
from specctl.appliers.switch import stage_config, switch_staged
from specctl.compiler.maintenance import FLAG, Settings, with_maintenance
from specctl.compiler.preview import FLAG as PREVIEW_FLAG
from specctl.schemas.errors import ApplyError, CompileError, SpecctlError

SETTINGS = "maintenance.json"


def settings_path(project: Project) -> Path:
    return live_config_path(project).parent / SETTINGS


def read_settings(project: Project) -> dict[str, Any] | None:
    """What `maintenance on` recorded, when the live config is in maintenance mode."""
    live = live_config_path(project)
    if not live.is_file() or FLAG not in live.read_text(encoding="utf-8"):
        return None
    try:
        doc = json.loads(settings_path(project).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def maintenance(project: Project, on: bool, settings: Settings, *, out: Any) -> int:
    kind = "maintenance on" if on else "maintenance off"
    rec = Recorder(project, "maintenance", out=out)
    with (
        audited(project, kind, rec=rec) as record,
        project_lock(project.lock_file, command=f"specctl {kind}", warn=rec.line, record=record),
    ):
        start = time.monotonic()
        detail = turn_on(project, settings, rec) if on else turn_off(project, rec)
        rec.step(StepResult(kind, "ok", time.monotonic() - start, detail))
        record.update(result="ok", detail=detail)
        if on:
            record.update(
                retry_after=settings.retry_after, allow=list(settings.allow), message_set=True
            )
    return 0


def _serving(project: Project) -> tuple[str, str]:
    """The live config and the colour it serves; maintenance needs something serving."""
    live = live_config_path(project)
    _, active = observe_active(project)
    if active.color is None or not live.is_file():
        raise SpecctlError(
            f"nothing to put in maintenance: {active.detail}",
            hint="deploy first: specctl apply",
        )
    return live.read_text(encoding="utf-8"), active.color


def turn_on(project: Project, settings: Settings, rec: Recorder) -> str:
    text, color = _serving(project)
    before = live_config_path(project).parent / BEFORE_OVERLAY
    if PREVIEW_FLAG in text:
        raise SpecctlError(
            "a preview is in progress: maintenance would hide it",
            hint="specctl promote or specctl abort first",
        )
    if FLAG in text:  # on again with other settings: start from what served before
        if not before.is_file():
            raise SpecctlError(
                f"the live config is in maintenance mode but {before} is missing",
                hint="specctl apply installs a generated config (and ends maintenance)",
            )
        text = before.read_text(encoding="utf-8")
    desired = project.desired(color)
    try:
        edited, count = with_maintenance(
            text, settings, {u.name for u in desired.upstreams}, filename="the live nginx config"
        )
    except CompileError as exc:
        raise SpecctlError(exc.message, hint=exc.hint) from None
    before.write_text(text, encoding="utf-8")
    _, ready = stage_config(project, desired, text=edited)
    try:
        switch_staged(
            project,
            desired,
            ready,
            progress=rec.line,
            remember=False,
            maintenance=True,
            allowed=bool(settings.allow),
        )
    except NotProven as exc:
        _, back = stage_config(project, desired, text=text)
        switch_staged(project, desired, back, progress=rec.line, remember=False)
        raise ApplyError(
            f"maintenance page not proven; {color}'s config is back: {exc.message}",
            hint=exc.hint,
        ) from None
    settings_path(project).write_text(
        json.dumps(
            {
                "since": time.time(),
                "retry_after": settings.retry_after,
                "allow": list(settings.allow),
                "message": settings.message,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    allowed = f"; {', '.join(settings.allow)} still reach {color}" if settings.allow else ""
    return (
        f"{count} locations answer 503 with Retry-After: {settings.retry_after}{allowed} "
        "(proven through nginx)"
    )


def turn_off(project: Project, rec: Recorder) -> str:
    text, color = _serving(project)
    if FLAG not in text:
        return "maintenance mode is not on; nothing to do"
    before = live_config_path(project).parent / BEFORE_OVERLAY
    if not before.is_file():
        raise SpecctlError(
            f"{before} is missing: cannot tell what served before maintenance",
            hint=f"specctl apply --target {color} installs {color}'s generated config",
        )
    desired = project.desired(color)
    _, ready = stage_config(project, desired, text=before.read_text(encoding="utf-8"))
    switch_staged(project, desired, ready, progress=rec.line, remember=False)
    settings_path(project).unlink(missing_ok=True)
    return f"traffic on {color} again (proven)"
