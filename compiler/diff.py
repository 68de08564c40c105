"""Desired x Live -> Plan: services, traffic and file fixes, field by field; pure."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from specctl.compiler.active import default_target, other_color, server_color
from specctl.compiler.exposure import planned_exposure
from specctl.compiler.steps import apply_steps, is_current
from specctl.schemas.desired import Desired, DesiredPath, DesiredService, DesiredUpstream
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Active, Live, LiveContainer, LivePath
from specctl.schemas.plan import Action, Change, FieldChange, Kind, Plan, Step, StepName
from specctl.schemas.spec import Spec

EnvPrints = dict[str, dict[str, str]]  # service -> env key -> fingerprint


def live_fingerprint(live: Live) -> str:
    """What a saved plan was computed from; volatile fields (uptime, health) left out."""
    doc = {
        "containers": sorted(
            (c.id, c.state, c.image, c.config_hash, sorted(c.env_fingerprints.items()))
            for c in live.containers
        ),
        "nginx": [live.nginx.running, live.nginx.config_sha256, live.nginx.pending_reload],
        "paths": [p.model_dump() for p in live.paths],
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_apply(
    spec: Spec,
    desired: dict[str, Desired],
    live: Live,
    *,
    active: Active,
    env_prints: dict[str, EnvPrints],
    requested: str | None = None,
    recreate_shared: bool = False,
) -> Plan:
    """The plan of `apply`. With no requested colour: when the serving colour already runs exactly
    the spec and traffic is on it, that colour (so a second apply is a no-op); otherwise the
    colour that is not serving."""

    def for_color(color: str) -> Plan:
        return diff(
            spec,
            desired[color],
            live,
            env_prints=env_prints[color],
            active=active,
            recreate_shared=recreate_shared,
        )

    if requested is not None:
        return for_color(requested)
    if active.state in ("mixed", "unknown"):
        raise SpecctlError(
            f"cannot choose a target: {active.detail}",
            hint="name it: --target blue|green",
        )
    if active.state in ("blue", "green"):
        assert active.color is not None
        current = for_color(active.color)
        if is_current(current):
            return current
        return for_color(other_color(active.color))
    return for_color(default_target(active))


def diff(
    spec: Spec,
    desired: Desired,
    live: Live,
    *,
    env_prints: EnvPrints,
    active: Active,
    recreate_shared: bool = False,
) -> Plan:
    changes: list[Change] = []
    unchanged = 0
    warnings: list[str] = []

    by_project: dict[tuple[str | None, str | None], LiveContainer] = {}
    for container in live.containers:
        if not container.leftover:
            by_project.setdefault((container.project, container.service), container)

    def service_changes(services: list[DesiredService], kind: Kind) -> None:
        nonlocal unchanged
        for svc in services:
            current = by_project.get((svc.project, svc.name))
            change = diff_service(svc, current, env_prints.get(svc.name, {}), kind=kind)
            if change is None:
                unchanged += 1
                if current is not None and current.health == "unhealthy":
                    warnings.append(f"{svc.address} is running but unhealthy")
            else:
                changes.append(change)

    service_changes(desired.shared, "shared")
    service_changes(desired.services, "service")
    wanted = {s.name for s in desired.services}
    for container in live.of_project(desired.color_project):
        if container.service not in wanted and not container.leftover:
            changes.append(
                Change(
                    address=f"{desired.color}.service.{container.service}",
                    action=Action.DELETE,
                    kind="service",
                    before={"image": container.image},
                    reason="no longer in the spec",
                )
            )
    changes += leftover_changes(desired, live)
    proxy = by_project.get((desired.shared_project, desired.proxy.name))
    proxy_change = diff_service(desired.proxy, proxy, {}, kind="proxy")
    if proxy_change is None:
        unchanged += 1
    else:
        changes.append(proxy_change)
        if proxy_change.action is Action.REPLACE and (proxy is None or proxy.adopted is None):
            warnings.append("replacing proxy.nginx interrupts traffic for a moment")
    warnings += takeover_warnings(spec, desired, live, recreate_shared=recreate_shared)

    for upstream in desired.upstreams:
        target = desired.service(upstream.service)
        if target.healthcheck is None and target.host_port is None:
            warnings.append(
                f"{target.address} has no health check and no host port: nothing tells when it "
                "is ready, so the switch may send it requests before it listens (give it a "
                "healthcheck)"
            )
        switch = switch_change(upstream, live)
        if switch is None:
            unchanged += 1
        else:
            changes.append(switch)

    live_paths = {p.address: p for p in live.paths}
    for path in desired.paths:
        change, notes = diff_path(path, live_paths.get(path.address))
        warnings += notes
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    if spec.deploy.retire == "stop":
        changes += retire_changes(desired, live)

    steps = apply_steps(
        spec, desired, changes, active=active, live=live, recreate_shared=recreate_shared
    )
    if any(s.name is StepName.MAINTENANCE for s in steps) or (
        spec.hooks.migrate is not None
        and spec.hooks.migrate.contract
        and any(s.name is StepName.MIGRATE for s in steps)
    ):
        warnings.append(
            "hooks.migrate is a contract migration: the colour serving now cannot run on the "
            "migrated schema, so the maintenance page is up from the migration to the switch, "
            "and once it has run neither a failed step nor rollback switches back"
        )
    return Plan(
        project=desired.project,
        target=desired.color,
        active=active.color,
        active_state=active.state,
        spec_hash=desired.spec_hash[:16],
        live_fingerprint=live_fingerprint(live),
        changes=changes,
        unchanged=unchanged,
        warnings=[
            *([active.detail] if active.state in ("mixed", "dangling") else []),
            *warnings,
            *planned_exposure(desired),
        ],
        notes=[
            *takeover_notes(live),
            *per_color_notes(spec, desired.color),
            *maintenance_notes(live, steps),
        ],
        steps=steps,
    )


def takeover_warnings(
    spec: Spec, desired: Desired, live: Live, *, recreate_shared: bool
) -> list[str]:
    """What changes while containers of a system taken over serve: no bake through the user's
    nginx; replacing theirs (on request) interrupts."""
    out = []
    for c in live.containers:
        if c.adopted is None or c.project != desired.shared_project:
            continue
        if c.service == desired.proxy.name:
            if spec.deploy.bake is not None:
                out.append(
                    f"no bake while nginx is {c.adopted}, taken over: it does not write the "
                    "access log a bake reads (apply --recreate-shared gives specctl's proxy)"
                )
            if recreate_shared:
                out.append(
                    f"replacing {c.adopted} (taken over) by specctl's proxy.nginx: requests "
                    "fail from its stop until specctl's answers on the same ports (apply "
                    "measures it)"
                )
        elif recreate_shared:
            out.append(
                f"replacing {c.adopted} (taken over) by specctl's shared.service.{c.service}: "
                "it stops before specctl's starts on the same volumes"
            )
    return out


def takeover_notes(live: Live) -> list[str]:
    """The containers specctl did not create that serve as the spec's services."""
    out = []
    for t in live.takeovers:
        if t.config:
            how = f"switches rewrite the server lines of {t.config} and reload it"
        elif t.aliases:
            verb = "joined" if t.joined else "joins"
            how = f"{verb} the project's network as {', '.join(t.aliases)}"
        else:
            how = "left as it runs"
        out.append(
            f"unmanaged, serving: {t.container} ({t.why}) is {t.address}, taken over in place "
            f"({how}); never recreated unless asked"
        )
    return out


def maintenance_notes(live: Live, steps: list[Step]) -> list[str]:
    """Maintenance mode or a preview laid over the serving config."""
    if live.nginx.preview is not None:
        color = live.nginx.preview
        return [
            f"a preview of {color} is in progress (cookie specctl_preview={color}): specctl "
            "promote switches everyone to it, specctl abort ends it"
        ]
    if not live.nginx.maintenance:
        return []
    if any(s.name in (StepName.SWITCH, StepName.SWITCH_BACK) for s in steps):
        return ["maintenance mode is on: the switch ends it (the colour switched to serves all)"]
    return ["maintenance mode is on (specctl maintenance off ends it)"]


def per_color_notes(spec: Spec, color: str) -> list[str]:
    """Where the spec makes the target colour differ from the other one."""
    other = other_color(color)
    out = []
    for name, svc in sorted(spec.services.items()):
        overrides = {str(k): v for k, v in svc.per_color.items()}
        keys = sorted({*overrides.get(color, {}), *overrides.get(other, {})})
        if keys and svc.scope == "color":
            out.append(
                f"{color}.service.{name} differs from {other} by per_color: {', '.join(keys)}"
            )
    return out


def switch_change(upstream: DesiredUpstream, live: Live, *, back: bool = False) -> Change | None:
    """The upstream's traffic moving to `upstream.server`; None when it is there already (a
    rollback always switches)."""
    servers = live.nginx.upstreams.get(upstream.name, [])
    # A base config may list more servers (a backup, a maintenance page): the colour's is it.
    there = [s for s in servers if server_color(s) is not None] == [upstream.server]
    if there and not live.nginx.pending_reload and not back:
        return None
    if back:
        reason = "switch traffic back"
    elif there:
        reason = "the config on disk was never loaded by nginx"
    else:
        reason = "switch traffic"
    return Change(
        address=upstream.address,
        action=Action.SWITCH,
        kind="upstream",
        before=", ".join(servers) or None,
        after=upstream.server,
        reason=reason,
    )


def leftover_changes(desired: Desired, live: Live) -> list[Change]:
    """Containers that Compose renamed to `<id>_<name>` while recreating and never removed,
    because the run was killed: they block the next `compose up` of that service."""
    out = []
    for container in live.containers:
        if not container.leftover:
            continue
        if container.project == desired.color_project:
            address = f"{desired.color}.service.{container.service}"
            kind: Kind = "service"
        elif container.project == desired.shared_project:
            address = f"shared.service.{container.service}"
            kind = "shared"
        else:
            continue
        out.append(
            Change(
                address=address,
                action=Action.DELETE,
                kind=kind,
                before={"container": container.name},
                reason="left behind by an interrupted Compose run",
            )
        )
    return out


def retire_changes(desired: Desired, live: Live) -> list[Change]:
    """With `deploy.retire: stop`, the colour that will not serve is stopped once traffic is on
    the target, including what an interrupted apply left running."""
    other = other_color(desired.color)
    return [
        Change(
            address=f"{other}.service.{c.service}",
            action=Action.UPDATE,
            kind="retire",
            fields=[FieldChange(key="state", before=c.state, after="exited")],
            reason=f"retire once traffic is on {desired.color}",
        )
        for c in live.of_project(f"{desired.project}-{other}")
        if c.running and not c.leftover and c.service and c.adopted is None
    ]


def _summary_of(svc: DesiredService) -> dict[str, Any]:
    out: dict[str, Any] = {"image": svc.image}
    if svc.host_port is not None:
        out["port"] = f"{svc.host_port}→{svc.port}"
    return out


def diff_service(
    svc: DesiredService, current: LiveContainer | None, prints: dict[str, str], *, kind: Kind
) -> Change | None:
    if current is None:
        return Change(
            address=svc.address,
            action=Action.CREATE,
            kind=kind,
            after=_summary_of(svc),
            reason="create",
        )
    if current.adopted is not None:  # a container of a system taken over
        return Change(
            address=svc.address,
            action=Action.REPLACE,
            kind=kind,
            fields=[
                FieldChange(
                    key="container",
                    before=f"{current.adopted} (not created by specctl)",
                    after="specctl's",
                )
            ],
            reason="replace the container taken over"
            if kind == "service"
            else "taken over as it runs; apply --recreate-shared replaces it",
        )
    fields = _view_changes(svc.view, current) + _env_changes(prints, current.env_fingerprints)
    if fields:
        return Change(
            address=svc.address,
            action=Action.REPLACE,
            kind=kind,
            fields=fields,
            reason="recreate" if kind == "service" else "recreate with apply --recreate-shared",
        )
    if not current.running:
        return Change(
            address=svc.address,
            action=Action.UPDATE,
            kind=kind,
            fields=[FieldChange(key="state", before=current.state, after="running")],
            reason="start",
        )
    return None


def held_back(plan: Plan) -> list[Change]:
    """Replacements of shared services and the proxy: a colour deploy never does them, because
    they interrupt both colours; `apply --recreate-shared` does."""
    return [c for c in plan.of_kind("shared", "proxy") if c.action is Action.REPLACE]


def live_view(current: LiveContainer) -> dict[str, Any] | None:
    raw = current.labels.get("specctl.config")
    try:
        view = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(view, dict):
        return None
    if current.image:  # what Docker says beats what the label says
        view["image"] = current.image
    return view


def _view_changes(desired: dict[str, Any], current: LiveContainer) -> list[FieldChange]:
    before = live_view(current)
    if before is None:
        return [FieldChange(key="config", before="(not created by specctl)", after="(spec)")]
    return field_changes(before, desired)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """deepdiff's tree view flattened to `key: before → after`; a list changes as a whole."""
    if json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True):
        return []  # the usual case, an unchanged service: plain JSON on both sides, same types
    from deepdiff import DeepDiff  # slow to import, so only when something did change

    tree = DeepDiff(before, after, view="tree", ignore_order=False)
    keys: dict[str, tuple[Any, Any]] = {}
    for report in tree.values():
        for item in report:
            path = item.path(output_format="list")
            cut = next((i for i, part in enumerate(path) if isinstance(part, int)), len(path))
            path = path[:cut]
            key = ".".join(str(p) for p in path)
            keys[key] = (_get(before, path), _get(after, path))
    return [FieldChange(key=k, before=b, after=a) for k, (b, a) in sorted(keys.items())]


def _get(doc: Any, path: list[Any]) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _env_changes(wanted: dict[str, str], have: dict[str, str]) -> list[FieldChange]:
    out = []
    for key in sorted(set(wanted) | set(have)):
        if key not in have:
            out.append(FieldChange(key=f"env.{key}", before=None, after="(set)"))
        elif key not in wanted:
            out.append(FieldChange(key=f"env.{key}", before="(set)", after=None))
        elif wanted[key] != have[key]:
            out.append(FieldChange(key=f"env.{key}", before="(value)", after="(new value)"))
    return out


def diff_path(path: DesiredPath, current: LivePath | None) -> tuple[Change | None, list[str]]:
    """What fix-permissions will do to one managed path (its own planner decided, in observe)."""
    notes = [
        f"{path.address}: required file {f.name} is missing"
        for f in (current.files if current else [])
        if not f.exists
    ]
    notes += [f"{path.address}: {problem}" for problem in (current.problems if current else [])]
    if current is None or not current.exists:
        if path.kind in ("file", "secret"):
            return None, [*notes, f"{path.address}: {path.path} is missing; put it in place"]
        after = {"path": path.path, "owner": f"{path.uid}:{path.gid}", "mode": path.mode}
        change = Change(
            address=path.address, action=Action.CREATE, kind="path", after=after, reason="create"
        )
        return change, notes
    if not current.pending:
        return None, notes
    fields = []
    if (current.uid, current.gid) != (path.uid, path.gid):
        owner = f"{path.uid}:{path.gid}"
        fields.append(FieldChange(key="owner", before=f"{current.uid}:{current.gid}", after=owner))
    if current.mode != path.mode:
        fields.append(FieldChange(key="mode", before=current.mode, after=path.mode))
    if current.missing_subdirs:
        subdirs = ", ".join(current.missing_subdirs)
        fields.append(FieldChange(key="subdirs", before=None, after=subdirs))
    if current.nested_duplicate:
        nested = f"{path.path}/{path.color}"
        fields.append(FieldChange(key="nested", before=nested, after=f"merged into {path.path}"))
    if current.stale_temp_files:
        fields.append(FieldChange(key="stale temp files", before=current.stale_temp_files, after=0))
    count = len(current.pending)
    fields.append(
        FieldChange(key="actions", before=None, after=f"{count} (fix-permissions --dry-run)")
    )
    change = Change(
        address=path.address, action=Action.UPDATE, kind="path", fields=fields, reason="fix"
    )
    return change, notes


def plan_rollback(desired: Desired, live: Live, *, active: Active, base: Plan) -> Plan:
    """`specctl rollback`: traffic back to the other colour, started first when it is stopped.
    `base` is the apply plan for that colour: it gives the plan's identity (hashes) and tells
    whether the colour runs the spec."""
    if active.color is None:
        raise SpecctlError(f"nothing to roll back: {active.detail}")
    color = desired.color
    existing = [c for c in live.of_project(desired.color_project) if not c.leftover]
    if not existing:
        raise SpecctlError(f"cannot roll back to {color}: it was never deployed on this host")
    down = sorted((c for c in existing if not c.running and c.service), key=lambda c: c.name or "")
    stopped = sorted(str(c.service) for c in down)
    changes = [
        Change(
            address=f"{color}.service.{c.service}",
            action=Action.UPDATE,
            kind="service",
            fields=[FieldChange(key="state", before=c.state, after="running")],
            reason="start",
        )
        for c in down
    ]
    changes += [c for u in desired.upstreams if (c := switch_change(u, live, back=True))]
    steps: list[Step] = []
    if stopped:
        steps.append(
            Step(
                name=StepName.START,
                color=color,
                detail=f"start {', '.join(stopped)} as they were (no recreate)",
                services=stopped,
            )
        )
    steps += [
        Step(name=StepName.HEALTH, color=color, detail=f"{color} healthy"),
        Step(
            name=StepName.STAGE,
            color=color,
            detail=f"the config that last served {color}, checked by `nginx -t` in the proxy",
        ),
        Step(
            name=StepName.SWITCH_BACK,
            color=color,
            detail=f"nginx → {color}: install, reload, prove",
            undo=f"restore the config that serves {active.color} now",
        ),
    ]
    return base.model_copy(
        update={
            "target": color,
            "changes": changes,
            "unchanged": 0,
            "steps": steps,
            "notes": [
                *(n for n in base.notes if not n.startswith(("maintenance mode", "a preview"))),
                *maintenance_notes(live, steps),
            ],
            "rollback": True,
            "warnings": []
            if not any(
                c.kind == "service" and c.action in (Action.CREATE, Action.REPLACE, Action.DELETE)
                for c in base.changes
            )
            else [
                f"{color} does not run what the spec says now: the next `specctl apply` "
                f"deploys the spec again (change the spec first to stay on {color}'s release)"
            ],
        }
    )
