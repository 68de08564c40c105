"""Observe and diff in one call; save and reload plans (side effects: Docker, files)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from specctl.appliers.envfiles import env_prints
from specctl.appliers.images import build_warnings
from specctl.appliers.observe import observe
from specctl.appliers.project import Project
from specctl.compiler.active import detect_active, other_color
from specctl.compiler.diff import live_fingerprint, plan_apply, plan_rollback
from specctl.compiler.nginx import colour_lines
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Active, Live
from specctl.schemas.plan import Action, Plan
from specctl.schemas.spec import COLORS


@dataclass(frozen=True)
class Planned:
    plan: Plan
    desired: Desired  # the plan's target colour
    live: Live
    active: Active


def observe_active(project: Project) -> tuple[Live, Active]:
    """Live state and the serving colour, once (the upstream names are the same for both
    colours, so either colour's expansion tells which servers belong to which)."""
    live = observe(project)
    return live, detect_active(project.desired(COLORS[0]), live)


def make_plan(
    project: Project,
    target: str | None,
    *,
    rollback: bool = False,
    recreate_shared: bool = False,
) -> Planned:
    """One observation of both colours, the serving colour worked out once, then the plan of
    apply (or of rollback)."""
    if target is not None and target not in COLORS:
        raise SpecctlError(f"--target: must be blue or green (got {target!r})")
    desired = {color: project.desired(color) for color in COLORS}
    live, active = observe_active(project)
    prints = {color: env_prints(project, desired[color]) for color in COLORS}
    if rollback:
        if active.color is None:
            raise SpecctlError(f"nothing to roll back: {active.detail}")
        back = other_color(active.color)
        base = plan_apply(
            project.spec, desired, live, active=active, env_prints=prints, requested=back
        )
        plan = plan_rollback(desired[back], live, active=active, base=base)
    else:
        plan = plan_apply(
            project.spec,
            desired,
            live,
            active=active,
            env_prints=prints,
            requested=target,
            recreate_shared=recreate_shared,
        )
    lines = base_warnings(project) + build_warnings(project.root, desired[plan.target])
    if lines:
        plan = plan.model_copy(update={"warnings": [*plan.warnings, *lines]})
    return Planned(plan=plan, desired=desired[plan.target], live=live, active=active)


def base_warnings(project: Project) -> list[str]:
    """Lines of proxy.base that name one colour outside the managed upstreams."""
    base = project.inputs.base_nginx
    if base is None:
        return []
    return colour_lines(
        base,
        project.spec,
        base_name=project.spec.proxy.base or "base",
        origin=project.inputs.base_origin,
    )


def save_plan(plan: Plan, path: Path) -> None:
    doc = {"kind": "specctl-plan", **plan.document()}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)


def load_saved_plan(path: Path) -> dict[str, object]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecctlError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "specctl-plan":
        raise SpecctlError(f"{path}: not a plan saved by `specctl plan -o`")
    return doc


def check_saved_plan(doc: dict[str, object], project: Project, planned: Planned) -> None:
    """Refuse a saved plan made against another spec or a live state that has moved since."""
    if doc.get("spec_hash") != planned.plan.spec_hash:
        raise SpecctlError(
            "saved plan: the spec changed since the plan was made",
            hint="make a new plan: specctl plan -o FILE",
        )
    if doc.get("target") != planned.plan.target:
        raise SpecctlError(f"saved plan: it targets {doc.get('target')}, not {planned.plan.target}")
    if doc.get("live_fingerprint") != live_fingerprint(planned.live):
        raise SpecctlError(
            "saved plan: live state has moved since the plan was made "
            f"({doc.get('live_fingerprint')} → {live_fingerprint(planned.live)})",
            hint="review a fresh plan: specctl plan -o FILE, then apply that file",
        )


LAST_PLAN = "last-plan.json"


def remember_plan(project: Project, plan: Plan) -> None:
    """What the last `specctl plan` found, for the drift metric: when, how many changes, and
    whether traffic would move (written atomically; a failure to write is not the plan's)."""
    folder = project.path(project.spec.state_dir)
    doc = {
        "time": time.time(),
        "changes": len(plan.changes),
        "switch": any(c.action is Action.SWITCH for c in plan.changes),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{LAST_PLAN}.{os.getpid()}"
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, folder / LAST_PLAN)
    except OSError:
        pass
