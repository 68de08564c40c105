"""Observe and diff in one call; save and reload plans (side effects: Docker, files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from specctl.appliers.envfiles import env_prints
from specctl.appliers.observe import observe, observe_paths
from specctl.appliers.project import Project
from specctl.compiler.active import detect_active
from specctl.compiler.diff import choose_target, diff, live_fingerprint
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Active, Live
from specctl.schemas.plan import Plan
from specctl.schemas.spec import COLORS


@dataclass(frozen=True)
class Planned:
    plan: Plan
    desired: Desired
    live: Live
    active: Active


def make_plan(project: Project, target: str | None) -> Planned:
    if target is not None and target not in COLORS:
        raise SpecctlError(f"--target: must be blue or green (got {target!r})")
    probe = project.desired(target or COLORS[0])
    live = observe(project, probe)
    active = detect_active(probe, live)
    if target is None and active.state in ("mixed", "unknown"):
        raise SpecctlError(
            f"cannot choose a target: {active.detail}",
            hint="name it: specctl plan --target blue|green",
        )
    color = choose_target(target, probe, live)
    desired = probe if color == probe.color else project.desired(color)
    if desired is not probe:  # only the managed paths differ between colours
        live = live.model_copy(update={"paths": observe_paths(project, desired)})
    plan = diff(project.spec, desired, live, env_prints=env_prints(project, desired))
    return Planned(plan=plan, desired=desired, live=live, active=active)


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
