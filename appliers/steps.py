"""What each step of a plan does, and the undo of those that have one: pre-checks, permissions,
backup, deploy, start, health, migrate, verify, switch, retire (side effects)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from specctl.appliers import compose, nginx, takeover, web
from specctl.appliers.engine import api
from specctl.appliers.errors import api_error, being_removed, not_found
from specctl.appliers.execute import Action, Run
from specctl.appliers.health import wait_healthy
from specctl.appliers.nginx import proxy_host, public_url
from specctl.appliers.observe import live_config_path
from specctl.appliers.permissions import fix_permissions
from specctl.appliers.project import Project
from specctl.appliers.proof import NotProven
from specctl.appliers.switch import (
    proxy_id,
    serving_config,
    stage_config,
    switch_staged,
    switch_to,
)
from specctl.compiler.images import built_repositories, describe
from specctl.compiler.probe_rules import direct_url
from specctl.schemas.errors import ApplyError
from specctl.schemas.plan import Step, StepName
from specctl.schemas.units import seconds


def pre_checks(run: Run, step: Step) -> str:
    from specctl.appliers.checks.run import run_pre_checks

    results = run_pre_checks(run.project, run.desired)
    failed = [r for r in results if r.status == "fail"]
    warned = [r for r in results if r.status == "warn"]
    for r in failed + warned:
        run.rec.line(f"  {r.status}: {r.name}: {r.detail}")
    if failed and not run.opts.force:
        names = ", ".join(r.name for r in failed)
        raise ApplyError(
            f"pre-deployment checks failed: {names}",
            hint="fix them (specctl check pre shows details), or pass --force (recorded)",
        )
    if failed:
        run.forced.append("--force: " + ", ".join(r.name for r in failed))
    passed = len(results) - len(failed) - len(warned)
    return f"{passed} passed, {len(warned)} warnings, {len(failed)} failed"


def images(run: Run, step: Step) -> str:
    """Build and pull what the deploy needs, found again now (a re-run after a crash, or
    another apply, may have built some of it meanwhile)."""
    from specctl.appliers.images import needs, provide

    desired = run.desired
    todo = needs(desired)
    if todo:
        run.rec.line(f"  {describe(todo)}")
        provide(run.project, desired, todo)
    return describe(todo)


def permissions(run: Run, step: Step) -> str:
    done = fix_permissions(run.project, run.desired.paths, dry_run=False)
    count = sum(len(v) for v in done.values())
    return f"{count} fixes on {len(done)} paths" if count else f"{len(done)} paths already right"


def backup(run: Run, step: Step) -> str | None:
    if run.opts.skip_backup:
        run.forced.append("--skip-backup")
        return "skipped: --skip-backup (recorded)"
    from specctl.appliers.backups.store import create_backup

    project, desired = run.project, run.desired
    made = create_backup(project, desired, reason=f"apply {desired.color}")
    run.backup_id = made.id
    run.rec.line(f"  backup {made.id}: {made.summary}")
    if not project.spec.backups.verify:
        return made.id
    from specctl.appliers.backups.verify import verify_backup

    # backups.verify: no switch unless this backup restores; a failure here stops the apply.
    return f"{made.id}, verified: {verify_backup(project, made.id)}"


def deploy(run: Run, step: Step) -> str:
    project, desired = run.project, run.desired
    remove_leftovers(step.leftovers)
    if desired.shared:
        docker = compose.client(project, desired, "shared")
        # A shared service served by a container taken over is never started beside it.
        mine = [s.name for s in desired.shared if s.name not in step.adopted]
        if mine:  # never their dependencies: one of them may be a container taken over
            compose.up(
                docker, mine, what="deploy shared", recreate=False, no_deps=bool(step.adopted)
            )
        again = [s.name for s in desired.shared if s.name in step.recreate]
        if again:
            run.rec.line(f"recreating shared services: {', '.join(again)}")
            for name in again:
                if name in step.adopted:  # its data volume is kept for specctl's container
                    run.rec.line(f"  {step.adopted[name]} (taken over) stops for good")
                    takeover.retire(step.adopted[name])
            compose.up(docker, again, what="recreate shared services")
    if desired.proxy.name in step.recreate and desired.proxy.name in step.adopted:
        gap = takeover.replace_proxy(
            project,
            desired,
            step.adopted[desired.proxy.name],
            serving=run.previous or desired.color,
            line=run.rec.line,
        )
        run.extra["proxy_outage_seconds"] = round(gap, 3)
        run.rec.line(f"  proxy.nginx answered again after {gap:.2f}s (measured)")
    elif desired.proxy.name in step.recreate:
        run.rec.line("recreating proxy.nginx (requests are interrupted for a moment)")
        docker = compose.client(project, desired, "shared")
        compose.up(docker, [desired.proxy.name], what="recreate proxy.nginx")
    docker = compose.client(project, desired, desired.color)
    compose.remove_services(docker, step.remove, what=f"remove {desired.color} services")
    compose.up(docker, None, what=f"deploy {desired.color}")
    if desired.proxy.name in step.adopted and desired.proxy.name not in step.recreate:
        for line in takeover.reach(project, desired):
            run.rec.line(f"  {line}")
    changed = len(step.services)
    return f"{desired.color_project}: {len(desired.services)} services up, {changed} changed"


def adopt(run: Run, step: Step) -> str:
    """The containers of a system taken over join the project's network (see takeover)."""
    joined = takeover.join(run.project, run.desired)
    run.extra["joined"] = joined
    return f"{len(joined)} containers joined {run.desired.network}"


def unadopt(run: Run, step: Step) -> str:
    joined = run.extra.get("joined") or []
    takeover.leave(run.desired, joined)
    return f"{len(joined)} containers left {run.desired.network}"


def remove_leftovers(names: list[str]) -> None:
    """Containers an interrupted Compose recreate renamed and never removed (data volumes are
    kept): Compose itself would have removed them a moment later."""
    from docker.errors import DockerException

    for name in names:
        try:
            api().remove_container(name, force=True, v=False)
        except DockerException as exc:
            if not_found(exc):  # already gone is what we wanted
                continue
            if not being_removed(exc):
                raise api_error(f"remove leftover container {name}", exc) from None
            # A one-off container with auto-remove, exiting: the engine is removing it.
            wait_gone(name, timeout=30)


def wait_gone(name: str, *, timeout: float) -> None:
    from docker.errors import DockerException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            api().inspect_container(name)
        except DockerException as exc:
            if not_found(exc):
                return
            raise api_error(f"leftover container {name}", exc) from None
        time.sleep(0.2)
    raise ApplyError(f"leftover container {name}: still being removed after {timeout:.0f}s")


def stop_target(run: Run, step: Step) -> str:
    desired = run.desired
    if run.contract_ran and run.switched:
        return f"{desired.color} not stopped: it serves, and a contract migration has run"
    docker = compose.client(run.project, desired, desired.color)
    compose.stop(docker, None, what=f"stop {desired.color}")
    return f"{desired.color} stopped"


def start(run: Run, step: Step) -> str:
    desired = run.desired
    docker = compose.client(run.project, desired, desired.color)
    compose.start(docker, step.services, what=f"start {desired.color}")
    return f"started {', '.join(step.services)}"


def health(run: Run, step: Step) -> str:
    desired, spec = run.desired, run.project.spec
    bound = spec.deploy.rollback_timeout if run.plan.rollback else None
    shared_waited = [s for s in desired.shared if s.healthcheck is not None]
    if shared_waited and not run.plan.rollback:
        wait_healthy(
            run.project,
            desired.shared_project,
            shared_waited,
            deploy=spec.deploy,
            progress=run.rec.line,
        )
    healthy = wait_healthy(
        run.project,
        desired.color_project,
        desired.services,
        deploy=spec.deploy,
        progress=run.rec.line,
        bound=bound,
    )
    compose.full_cpu_weight(healthy)
    return f"{len(desired.services)} services healthy"


def migrate(run: Run, step: Step, *, runner: Runner | None = None) -> str:
    """The migration hook, by `runner` (the engine's way to run a one-off command: a Compose
    run by default); a failure restores the database when the hook asks for it."""
    project = run.project
    hook = project.spec.hooks.migrate
    assert hook is not None
    command = hook.command if isinstance(hook.command, list) else ["sh", "-c", hook.command]
    try:
        job = Job(hook.service, command, seconds(hook.timeout), f"{run.desired.color}.hook.migrate")
        where = (runner or _compose_run)(run, job)
    except ApplyError as exc:
        if hook.restore_on_failure and run.backup_id:
            from specctl.appliers.backups.store import restore_database

            restore_database(project, run.backup_id, run.desired)
            run.rec.line(f"  restored the database from backup {run.backup_id}")
            raise ApplyError(
                exc.message + f"\n  database restored from backup {run.backup_id}"
            ) from None
        raise
    if hook.contract:
        from specctl.appliers.contract import write_mark

        run.contract_ran = True
        write_mark(project, color=run.desired.color, backup_id=run.backup_id)
    return f"{' '.join(command)} {where}"


@dataclass(frozen=True)
class Job:
    """A one-off command of a service (the migration), for the engine's runner."""

    service: str
    command: list[str]
    timeout: float  # seconds
    what: str  # its address in messages


Runner = Callable[[Run, Job], str]  # runs the job; says where ("in backend")


def _compose_run(run: Run, job: Job) -> str:
    desired = run.desired
    compose.run_once(
        compose.client(run.project, desired, desired.color),
        job.service,
        job.command,
        name=f"{desired.color_project}-migrate-{uuid.uuid4().hex[:6]}",
        timeout=job.timeout,
        what=job.what,
    )
    return f"in {job.service}"


def preview(run: Run, step: Step) -> str:
    from specctl.appliers.preview import begin

    return begin(run.project, run.desired.color, run.previous, run.rec)


def unpreview(run: Run, step: Step) -> str:
    from specctl.appliers.preview import end

    return end(run.project, run.rec)


def maintenance_on(run: Run, step: Step) -> str:
    """Before a contract migration: the colour serving now cannot run on the migrated schema."""
    from specctl.appliers.maintenance import turn_on
    from specctl.compiler.maintenance import Settings

    return turn_on(run.project, Settings(), run.rec)


def maintenance_off(run: Run, step: Step) -> str:
    from specctl.appliers.maintenance import turn_off

    if run.switched:
        return "maintenance ended with the switch"
    if run.contract_ran:
        return (
            "the maintenance page stays up: the contract migration has run, and "
            f"{step.color} cannot serve the migrated schema (fix {run.desired.color} and apply "
            "again, or restore the database and run specctl maintenance off)"
        )
    return turn_off(run.project, run.rec)


def verify_direct(run: Run, step: Step) -> str:
    return verify(run, through_proxy=False)


def verify_proxy(run: Run, step: Step) -> str:
    return verify(run, through_proxy=True)


def verify(run: Run, *, through_proxy: bool) -> str:
    """Every upstream answers: directly on its host port, or through nginx from this colour."""
    project, desired = run.project, run.desired
    checked = 0
    for upstream in desired.upstreams:
        svc = desired.service(upstream.service)
        if through_proxy:
            url = public_url(project) + upstream.probe
        elif svc.host_port:
            path = svc.health_url_path or upstream.probe
            url = direct_url(svc.host_port, path, ip=svc.host_ip)
        else:
            continue
        try:
            response = web.get(
                url, timeout=5.0, host=proxy_host(project) if through_proxy else None
            )
        except httpx.HTTPError as exc:
            raise ApplyError(f"{upstream.address}: GET {url}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ApplyError(f"{upstream.address}: GET {url}: HTTP {response.status_code}")
        header = project.spec.proxy.color_header
        if through_proxy and response.headers.get(header) not in (None, desired.color):
            raise ApplyError(
                f"{upstream.address}: GET {url} answered from {response.headers.get(header)}"
            )
        checked += 1
    from specctl.appliers.probes.run import run_probes

    results = run_probes(project, desired, through_proxy=through_proxy, since=run.rec.started)
    bad = [r for r in results if not r.ok]
    if bad:
        first = bad[0]
        raise ApplyError(f"post-deployment probe {first.name} failed: {first.detail}")
    where = "through nginx" if through_proxy else "directly"
    return f"{checked} upstreams and {len(results)} probes answered {where}"


def _serving(run: Run) -> None:
    live = serving_config(run.project, run.desired)
    run.serving_text = live.read_text(encoding="utf-8") if live.is_file() else None


def stage(run: Run, step: Step) -> str:
    """The config to switch to, validated inside the running nginx before anything changes: for
    a rollback the exact config that last served the colour (when it is still there), else the
    colour's generated config."""
    text = nginx.config_for(run.project, run.desired) if run.plan.rollback else None
    detail, run.ready = stage_config(run.project, run.desired, text=ending_preview(run, text))
    return detail


def ending_preview(run: Run, text: str | None) -> str | None:
    """Over a preview (a promote), the new config keeps the preview's router ports one more
    generation, passing on to the target (see compiler/preview.with_routers_to)."""
    from specctl.compiler.preview import router_ports, with_routers_to

    live = live_config_path(run.project)
    first = router_ports(live.read_text(encoding="utf-8")) if live.is_file() else None
    if first is None:
        return text
    base = text if text is not None else run.project.nginx_file(run.desired.color).read_text()
    return with_routers_to(base, run.desired.upstreams, first, filename="the new nginx config")


def switch(run: Run, step: Step) -> str:
    """Traffic to the target: install the staged config, reload, prove. A switch ends any
    earlier bake; with a bake to follow, its record is written before nginx reloads."""
    from specctl.appliers import bake
    from specctl.appliers.contract import passed

    _serving(run)
    run.switched = True
    ready, run.ready = run.ready, None
    bake.clear_state(run.project)
    if run.plan.step(StepName.BAKE) is not None:
        staged = nginx.staged_text(run.project)
        bake.begin(run.project, color=run.desired.color, previous=run.previous, config_text=staged)
    proven = switch_staged(run.project, run.desired, ready, progress=run.rec.line)
    passed(run.project, run.desired.color)
    slowest = max(proven.values(), default=0.0)
    return f"traffic on {run.desired.color}, proven in {slowest:.2f}s"


def unswitch(run: Run, step: Step) -> str:
    """Undo of a switch: put back exactly the config that served before, then prove it."""
    previous = run.previous
    if run.serving_text is None or previous is None:
        return "no config served before; nothing to switch back to"
    return switch_back(run, previous, run.serving_text)


def switch_back(run: Run, previous: str, text: str) -> str:
    """Put back the config that served `previous` and prove it; ends any bake."""
    from specctl.appliers import bake

    back = run.project.desired(previous)
    try:
        switch_to(run.project, back, progress=run.rec.line, text=text)
    except NotProven as exc:
        first = exc.message.splitlines()[0]
        return f"restored {previous}'s nginx config; not proven: {first}"
    finally:
        if run.breach_at is not None:
            run.extra["switch_back_seconds"] = round(time.monotonic() - run.breach_at, 3)
    bake.clear_state(run.project)
    return f"traffic back on {previous} (proven)"


def bake(run: Run, step: Step) -> str:
    """Watch the new colour's real traffic until the bake's end; a breach raises, and the undos
    switch traffic back."""
    from specctl.appliers import bake

    project, desired = run.project, run.desired
    state = bake.read_state(project)
    if state is None or state.color != desired.color:  # nginx started with this config
        text = live_config_path(project).read_text(encoding="utf-8")
        state = bake.begin(project, color=desired.color, previous=run.previous, config_text=text)
    if state.verdict:  # found before a crash: act on it now
        run.breach_at = time.monotonic()
        raise bake.Breach(state.verdict, at=run.breach_at, report={"breach": [state.verdict]})
    proxy = proxy_id(desired)
    if proxy is None:
        raise ApplyError("bake: proxy.nginx is not running", hint="specctl status shows it")
    try:
        detail, report = bake.run_bake(
            project,
            state,
            proxy=proxy,
            upstreams={u.name for u in desired.upstreams},
            progress=run.rec.line,
        )
    except bake.Breach as exc:
        run.breach_at = exc.at
        run.extra["bake"] = exc.report
        raise
    run.extra["bake"] = report
    bake.clear_state(project)
    return detail


def unbake(run: Run, step: Step, *, stop: Action | None = None) -> str:
    """Undo of a resumed bake (its switch was made by an earlier run): back to the colour that
    served before that switch, with the config it served with; then stop the baked colour
    (`stop`: the engine's undo of a deploy)."""
    from specctl.appliers import bake
    from specctl.appliers.contract import read_mark

    state = bake.read_state(run.project)
    if state is None or state.previous is None:
        return "no colour to switch back to"
    mark = read_mark(run.project)
    if mark is not None and mark["color"] == state.color:
        return (
            f"not switched back to {state.previous}: {state.color} ran a contract migration "
            "(the schema would not go back)"
        )
    back = run.project.desired(state.previous)
    done = switch_back(run, state.previous, nginx.config_for(run.project, back))
    (stop or stop_target)(run, step)
    return f"{done}; {run.desired.color} stopped"


def retire(run: Run, step: Step) -> str:
    project, spec = run.project, run.project.spec
    old = step.color
    assert old is not None
    drain = seconds(spec.deploy.drain)
    time.sleep(drain)
    old_desired = project.desired(old)
    docker = compose.client(project, old_desired, old)
    compose.stop(docker, step.services, what=f"stop {old}")
    return f"{old} stopped after {drain:.0f}s drain (containers and data kept)"


def prune_builds(run: Run, step: Step) -> str:
    from specctl.appliers.images import prune_builds as prune

    return prune(built_repositories(run.desired), run.project.spec.deploy.keep_builds)


ACTIONS: dict[StepName, Action] = {
    StepName.PRE_CHECKS: pre_checks,
    StepName.ADOPT: adopt,
    StepName.IMAGES: images,
    StepName.PERMISSIONS: permissions,
    StepName.BACKUP: backup,
    StepName.DEPLOY: deploy,
    StepName.START: start,
    StepName.HEALTH: health,
    StepName.MAINTENANCE: maintenance_on,
    StepName.MIGRATE: migrate,
    StepName.VERIFY_DIRECT: verify_direct,
    StepName.PREVIEW: preview,
    StepName.STAGE: stage,
    StepName.SWITCH: switch,
    StepName.SWITCH_BACK: switch,
    StepName.VERIFY_PROXY: verify_proxy,
    StepName.BAKE: bake,
    StepName.RETIRE: retire,
    StepName.PRUNE_BUILDS: prune_builds,
}

UNDOS: dict[StepName, Action] = {
    StepName.ADOPT: unadopt,
    StepName.DEPLOY: stop_target,
    StepName.SWITCH: unswitch,
    StepName.SWITCH_BACK: unswitch,
    StepName.BAKE: unbake,
    StepName.MAINTENANCE: maintenance_off,
    StepName.PREVIEW: unpreview,
}


def step_actions(project: Project) -> tuple[dict[StepName, Action], dict[StepName, Action]]:
    """The actions and undos for the spec's engine."""
    if project.spec.engine.kind == "swarm":
        from specctl.appliers.swarm import steps as swarm_steps

        return swarm_steps.ACTIONS, swarm_steps.UNDOS
    return ACTIONS, UNDOS
