"""The ordered, typed steps that carry out a plan, each with its undo; pure."""

from __future__ import annotations

from datetime import UTC, datetime

from specctl.compiler.active import other_color
from specctl.compiler.bake import rules_text
from specctl.compiler.images import built_repositories, describe, image_needs
from specctl.schemas.desired import Desired
from specctl.schemas.live import Active, Live
from specctl.schemas.plan import Action, Change, Plan, Step, StepName
from specctl.schemas.spec import Spec


def _names(changes: list[Change], desired: Desired) -> list[str]:
    """The Compose service names of the changes: the proxy's address (`proxy.nginx`) does not end
    in its service name; the other addresses were built as `<scope>.service.<name>`."""
    known = {s.address: s.name for s in (*desired.services, *desired.shared, desired.proxy)}
    return sorted({known.get(c.address) or c.address.rsplit(".", 1)[-1] for c in changes})


def apply_steps(
    spec: Spec,
    desired: Desired,
    changes: list[Change],
    *,
    active: Active,
    live: Live,
    recreate_shared: bool = False,
) -> list[Step]:
    """What `apply` executes for these changes, in order. A colour that traffic is about to
    reach is always health-checked, migrated and verified first, even when its containers are
    already up to date (a re-run after a crash between deploy and switch)."""
    color = desired.color
    leftovers = [
        c for c in changes if c.action is Action.DELETE and c.before and "container" in c.before
    ]
    mine = [c for c in changes if c.kind == "service" and c not in leftovers]
    shared_up = [
        c for c in changes if c.kind == "shared" and c.action in (Action.CREATE, Action.UPDATE)
    ]
    recreate = [
        c
        for c in changes
        if recreate_shared and c.kind in ("shared", "proxy") and c.action is Action.REPLACE
    ]
    taken = [c for c in recreate if c.fields and c.fields[0].key == "container"]
    serving_taken = sorted(
        c.adopted for c in live.containers if c.adopted and c.color and c.running
    )
    if taken and serving_taken:
        from specctl.schemas.errors import SpecctlError

        raise SpecctlError(
            f"cannot replace {', '.join(c.address for c in taken)} (taken over) while "
            f"{', '.join(serving_taken)}, taken over too, still runs: it reaches them the way "
            "it always did, not through specctl's network",
            hint="deploy both colours with specctl first (`specctl apply`, then `specctl apply "
            "--target` the other colour), then `specctl apply --recreate-shared`",
        )
    if recreate and not live.nginx.running:  # a stopped proxy is started by the switch anyway
        recreate = [c for c in recreate if c.kind != "proxy"]
    switch = [c for c in changes if c.kind == "upstream"] or [
        c for c in changes if c.kind == "proxy" and c.action in (Action.CREATE, Action.UPDATE)
    ]
    retire = [c for c in changes if c.kind == "retire"]
    paths = [c for c in changes if c.kind == "path"]
    deploy = bool(mine or shared_up or recreate or leftovers)
    moving = deploy or bool(switch)  # containers or traffic change

    joining = [t for t in live.takeovers if t.aliases and not t.joined]
    steps: list[Step] = []
    if moving:
        steps.append(Step(name=StepName.PRE_CHECKS, color=color, detail="pre-deployment checks"))
    if moving and joining:
        names = ", ".join(t.container for t in joining)
        steps.append(
            Step(
                name=StepName.ADOPT,
                detail=f"take over {names} in place: join {desired.network}",
                undo=f"leave {desired.network}",
            )
        )
    todo = image_needs(desired, set(live.images)) if deploy else []
    engine = spec.engine
    swarm = engine.kind == "swarm"
    load = deploy and engine.kind == "swarm" and engine.images == "load"
    if todo or load:
        # Before anything changes: a build that fails leaves the host as it was.
        detail = describe(todo) if todo else ""
        if load:  # which node lacks which image is not observed: three calls whatever the size
            detail += ("; " if detail else "") + "load into the nodes what they lack"
        steps.append(Step(name=StepName.IMAGES, color=color, detail=detail))
    if paths:
        steps.append(Step(name=StepName.PERMISSIONS, detail=f"fix {len(paths)} managed paths"))
    if moving and spec.backups.enabled:
        steps.append(Step(name=StepName.BACKUP, detail="database, uploads and nginx config"))
    if deploy:
        removed = [c for c in mine if c.action is Action.DELETE]
        started = [c for c in mine if c.action is not Action.DELETE]
        verbs = {Action.CREATE: "create", Action.REPLACE: "recreate", Action.UPDATE: "start"}
        parts = [
            f"{verb} {', '.join(_names([c for c in started if c.action is action], desired))}"
            for action, verb in verbs.items()
            if any(c.action is action for c in started)
        ]
        if removed:
            parts.append(f"remove {', '.join(_names(removed, desired))}")
        if leftovers:
            n = len(leftovers)
            parts.append(f"clean up {n} leftover container{'' if n == 1 else 's'}")
        if recreate:
            parts.append(f"recreate {', '.join(_names(recreate, desired))}")
        serving = active.color == color
        # Containers of a system taken over: the shared ones stay until recreated; those of
        # the target colour give way to specctl's (traffic is not on them).
        adopted = {
            c.service: c.adopted
            for c in live.containers
            if c.adopted and c.service and c.project == desired.shared_project
        }
        # Only while another colour provably serves: their container may be what serves.
        other_serves = active.state in ("blue", "green") and active.color != color
        giving_way = sorted(
            c.adopted
            for c in live.containers
            if c.adopted and c.project == desired.color_project and other_serves
        )
        if giving_way:
            parts.append(f"replace {', '.join(giving_way)} (taken over)")
        steps.append(
            Step(
                name=StepName.DEPLOY,
                color=color,
                detail=f"{color}: " + ("; ".join(parts) or "up to date"),
                undo=None if serving else f"scale {color} to 0" if swarm else f"stop {color}",
                services=_names(started, desired),
                remove=_names(removed, desired),
                leftovers=sorted(
                    [*(str(c.before["container"]) for c in leftovers if c.before), *giving_way]
                ),
                recreate=_names(recreate, desired),
                adopted=adopted,
            )
        )
    if moving:
        steps.append(Step(name=StepName.HEALTH, color=color, detail=f"{color} healthy"))
        if spec.hooks.migrate is not None:
            hook = spec.hooks.migrate
            before = active.color if active.color != color else None
            if hook.contract and switch and before is not None:
                if live.nginx.adopted is not None:
                    from specctl.schemas.errors import SpecctlError

                    raise SpecctlError(
                        f"a contract migration puts up the maintenance page, which needs "
                        f"specctl's own proxy; nginx is {live.nginx.adopted}, taken over",
                        hint="replace it first (specctl apply --recreate-shared, once specctl "
                        "runs both colours), or make hooks.migrate not a contract migration",
                    )
                steps.append(
                    Step(
                        name=StepName.MAINTENANCE,
                        color=before,
                        detail=f"maintenance page instead of {before} until the switch "
                        "(a contract migration follows)",
                        undo="maintenance off, unless the migration has run",
                    )
                )
            steps.append(
                Step(name=StepName.MIGRATE, color=color, detail=f"{hook.service}: migrate")
            )
        steps.append(
            Step(name=StepName.VERIFY_DIRECT, color=color, detail=f"{color} answers directly")
        )
    if switch:
        before = active.color if active.color != color else None
        if any(s.name is StepName.MIGRATE for s in steps) and _contract(spec):
            before = None  # past a contract migration nothing switches back
        steps.append(
            Step(
                name=StepName.STAGE,
                color=color,
                detail=f"{color}'s nginx config, checked by `nginx -t` inside the running proxy",
            )
        )
        steps.append(
            Step(
                name=StepName.SWITCH,
                color=color,
                detail=f"nginx → {color}: install, reload, prove",
                undo=f"switch back to {before}" if before else None,
            )
        )
    if switch or retire:
        steps.append(
            Step(name=StepName.VERIFY_PROXY, color=color, detail=f"{color} answers through nginx")
        )
    bake = bake_step(spec, color, switch=bool(switch), active=active, live=live)
    if bake is not None:
        steps.append(bake)
    if retire:
        other = other_color(color)
        steps.append(
            Step(
                name=StepName.RETIRE,
                color=other,
                detail=f"scale {other} to 0 after {spec.deploy.drain} drain (service specs kept)"
                if swarm
                else f"stop {other} after {spec.deploy.drain} drain (containers and data kept)",
                services=_names(retire, desired),
            )
        )
    repositories = built_repositories(desired)
    if deploy and repositories:
        keep = spec.deploy.keep_builds
        steps.append(
            Step(
                name=StepName.PRUNE_BUILDS,
                detail=f"remove builds of {', '.join(repositories)} beyond the newest {keep} "
                "that no container uses",
            )
        )
    return steps


def _contract(spec: Spec) -> bool:
    return spec.hooks.migrate is not None and spec.hooks.migrate.contract


def bake_step(spec: Spec, color: str, *, switch: bool, active: Active, live: Live) -> Step | None:
    """The bake after this plan's switch (when another colour served before: something to switch
    back to); or the bake a crash interrupted, when its colour still serves with the config its
    switch installed (resumed, or concluded when its time is up)."""
    rules = spec.deploy.bake
    if rules is None or live.nginx.adopted is not None:  # the user's nginx: no specctl log
        return None
    what = f"switch back on a breach: {rules_text(rules)}"
    if switch:
        if active.color is None or active.color == color:
            return None  # nothing to switch back to: a breach could only take the site down
        return Step(
            name=StepName.BAKE,
            color=color,
            detail=f"watch {color}'s requests in nginx's access log for {rules.duration}; {what}",
        )
    bake = live.bake
    if (
        bake is None
        or bake.color != color
        or active.color != color
        or live.nginx.pending_reload
        or bake.config_sha256 != live.nginx.config_sha256
    ):
        return None
    until = datetime.fromtimestamp(bake.until, UTC).strftime("%H:%M:%S")
    found = f"; found before: {bake.verdict}" if bake.verdict else ""
    return Step(
        name=StepName.BAKE,
        color=color,
        detail=f"resume {color}'s interrupted bake (until {until} UTC){found}; {what}",
        undo=f"switch back to {bake.previous}" if bake.previous else None,
    )


def is_current(plan: Plan) -> bool:
    """The plan's colour runs the spec and serves traffic: only path fixes, retiring the other
    colour and held-back shared replacements remain."""
    step = plan.step(StepName.DEPLOY)
    return plan.step(StepName.SWITCH) is None and (step is None or step.services == [])


BEFORE_TRAFFIC = (
    StepName.PRE_CHECKS,
    StepName.IMAGES,
    StepName.PERMISSIONS,
    StepName.BACKUP,
    StepName.DEPLOY,
    StepName.HEALTH,
    StepName.MIGRATE,
    StepName.VERIFY_DIRECT,
)


def preview_steps(plan: Plan) -> list[Step]:
    """`apply --preview`: the plan's steps up to the direct verification, then the preview
    routes instead of the switch (no bake, no retire: `specctl promote` runs those)."""
    from specctl.compiler.preview import COOKIE, HEADER
    from specctl.schemas.errors import SpecctlError

    color, serving = plan.target, plan.active
    if serving is None or serving == color or plan.step(StepName.SWITCH) is None:
        raise SpecctlError(
            f"nothing to preview: {color} would not be switched to"
            + (f" ({serving} serves already)" if serving == color else ""),
            hint="a preview needs the other colour serving; plain `specctl apply` deploys",
        )
    if plan.step(StepName.MAINTENANCE) is not None:
        raise SpecctlError(
            "a contract migration cannot be previewed: the serving colour could not run on the "
            "migrated schema meanwhile",
            hint="apply without --preview (the maintenance page covers the migration)",
        )
    kept = [s for s in plan.steps if s.name in BEFORE_TRAFFIC]
    return [
        *kept,
        Step(
            name=StepName.PREVIEW,
            color=color,
            detail=f"cookie {COOKIE}={color} or header {HEADER}: {color} reach {color}; everyone "
            f"else stays on {serving} (an nginx map, checked by `nginx -t`, proven)",
            undo="remove the preview routes",
        ),
    ]
