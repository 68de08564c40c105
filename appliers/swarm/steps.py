"""What the steps of a plan do on a Swarm, where they differ from Compose: images loaded into the
nodes, stacks deployed, convergence waited for, the migration run as a job, the colour checked
from inside the edge proxy, a colour retired or undone by scaling it to zero (side effects:
Docker API, the docker CLI through python-on-whales). The nginx switch, backups, checks and the
bake are the Compose ones: the edge proxy runs on the manager, its config on the manager's disk.
"""

from __future__ import annotations

import functools
import time
import uuid

from specctl.appliers import steps as compose_steps
from specctl.appliers.engine import api
from specctl.appliers.execute import Action, Run
from specctl.appliers.observe import live_config_path
from specctl.appliers.steps import Job
from specctl.appliers.swarm import jobs
from specctl.appliers.swarm.deploy import (
    deploy_spec_stack,
    distribute_images,
    ensure_edge_network,
    pull_image,
    scale,
    wait_converged,
)
from specctl.appliers.switch import proxy_id
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError
from specctl.schemas.plan import Step, StepName
from specctl.schemas.units import seconds


def images(run: Run, step: Step) -> str:
    """Pull on the manager what the spec pulls (by its pull policy), then load into every node
    what it lacks (images: load). A Swarm spec builds nothing (a spec error)."""
    from specctl.appliers.images import needs
    from specctl.compiler.images import describe

    todo = needs(run.desired)
    for need in todo:
        run.rec.line(f"  pulling {need.image} on the manager ({need.why})")
        pull_image(need.image)
    done = describe(todo) if todo else ""
    engine = run.project.spec.engine
    if engine.kind != "swarm" or engine.images != "load":
        return done or "the nodes pull what they lack"
    loaded = distribute_images(run.desired, progress=run.rec.line)
    return f"{done}; {loaded}" if done else loaded


def deploy(run: Run, step: Step) -> str:
    """The shared stack when one of its services is missing or --recreate-shared asks, then
    the colour's stack (removing services the spec dropped)."""
    project, desired = run.project, run.desired
    live_config_path(project).parent.mkdir(parents=True, exist_ok=True)  # the proxy's bind mount
    ensure_edge_network(api(), desired.network, project=project.spec.project)
    if step.recreate or _missing_shared(desired):
        # Only then: a stack deploy applies every change to the shared services, and a changed
        # database is recreated only when asked (apply --recreate-shared), as with Compose.
        deploy_spec_stack(project, desired, "shared")
    deploy_spec_stack(project, desired, desired.color)
    changed = len(step.services)
    return f"stack {desired.color_project}: {len(desired.services)} services, {changed} changed"


def _missing_shared(desired: Desired) -> bool:
    """A service of the shared stack (the proxy included) does not exist yet (one API call)."""
    wanted = {f"{desired.shared_project}_{s.name}" for s in (*desired.shared, desired.proxy)}
    rows = api().services(  # type: ignore[no-untyped-call]
        filters={"label": f"com.docker.stack.namespace={desired.shared_project}"}
    )
    return not wanted <= {row.get("Spec", {}).get("Name") for row in rows}


def stop_target(run: Run, step: Step) -> str:
    desired = run.desired
    if run.contract_ran and run.switched:
        return f"{desired.color} not scaled down: it serves, and a contract migration has run"
    scale({_name(desired, s.name): 0 for s in desired.services})
    return f"{desired.color} scaled to 0"


def start(run: Run, step: Step) -> str:
    """A retired colour back to its replicas (its service specs were kept)."""
    desired = run.desired
    wanted = {s.name: 1 if s.replicas is None else s.replicas for s in desired.services}
    scale({_name(desired, n): wanted.get(n, 1) for n in step.services})
    return f"scaled up {', '.join(step.services)}"


def health(run: Run, step: Step) -> str:
    """Every service runs as many tasks as it wants, each healthy and on the wanted image, and
    Swarm has neither paused nor rolled back an update: the shared stack (not on a rollback),
    then the colour."""
    project, desired = run.project, run.desired
    spec = project.spec
    timeout = seconds(
        spec.deploy.rollback_timeout if run.plan.rollback else spec.deploy.health_timeout
    )
    if not run.plan.rollback:
        wait_converged(
            api(),
            project=spec.project,
            stack=desired.shared_project,
            expected=[*(s.name for s in desired.shared), desired.proxy.name],
            timeout=timeout,
        )
    cluster = wait_converged(
        api(),
        project=spec.project,
        stack=desired.color_project,
        expected=[s.name for s in desired.services],
        timeout=timeout,
    )
    tasks = sum(
        1
        for svc in cluster.of_stack(desired.color_project)
        for t in cluster.tasks_of(svc)
        if t.state == "running" and t.desired_state == "running"
    )
    return f"{len(desired.services)} services converged, {tasks} tasks healthy"


def run_job(run: Run, job: Job) -> str:
    """The migration as a one-off Swarm job of the hook's service (its image, environment, env
    files and mounts), on the colour's and the edge network."""
    desired = run.desired
    jobs.run_job(
        run.project,
        desired,
        desired.service(job.service),
        job.command,
        name=f"{desired.color_project}_migrate-{uuid.uuid4().hex[:6]}",
        timeout=job.timeout,
        what=job.what,
    )
    return f"as a job of {job.service}"


def verify_direct(run: Run, step: Step) -> str:
    """Each upstream's probe from inside the running edge proxy, to the colour's service name on
    the overlay network: the way nginx will reach it, before nginx does."""
    from specctl.appliers.nginx import exec_in

    desired = run.desired
    proxy = proxy_id(desired)
    if proxy is None:
        raise ApplyError(
            "proxy.nginx has no running task on this manager: nothing to verify the colour from",
            hint="specctl status shows the services; docker service ps shows why",
        )
    checked = 0
    for upstream in desired.upstreams:
        svc = desired.service(upstream.service)
        url = f"http://{upstream.server}{svc.health_url_path or upstream.probe}"
        code, output = exec_in(proxy, fetch_argv(url))
        if code == 3:
            return (
                "the proxy image has neither curl nor wget: the tasks' health checks stand for "
                "the direct check"
            )
        status = output.strip().splitlines()[-1] if output.strip() else ""
        if code != 0 or not status.isdigit() or int(status) >= 500:
            raise ApplyError(f"{upstream.address}: GET {url} from proxy.nginx: {output or code}")
        checked += 1
    return f"{checked} upstreams answered from inside proxy.nginx"


def fetch_argv(url: str) -> list[str]:
    """A GET from inside a container: prints the HTTP status; exit 3 when it has no client."""
    script = (
        'if command -v curl >/dev/null 2>&1; then curl -sS -o /dev/null -m 5 -w "%{http_code}" '
        '"$1"; elif command -v wget >/dev/null 2>&1; then wget -q -T 5 -O /dev/null "$1" && '
        "echo 200; else exit 3; fi"
    )
    return ["sh", "-c", script, "sh", url]


def retire(run: Run, step: Step) -> str:
    project, spec = run.project, run.project.spec
    old = step.color
    assert old is not None
    drain = seconds(spec.deploy.drain)
    time.sleep(drain)
    old_desired = project.desired(old)
    scale({_name(old_desired, n): 0 for n in step.services})
    return f"{old} scaled to 0 after {drain:.0f}s drain (service specs kept for a rollback)"


def _name(desired: Desired, service: str) -> str:
    return f"{desired.color_project}_{service}"


ACTIONS: dict[StepName, Action] = {
    **compose_steps.ACTIONS,
    StepName.IMAGES: images,
    StepName.DEPLOY: deploy,
    StepName.START: start,
    StepName.HEALTH: health,
    StepName.MIGRATE: functools.partial(compose_steps.migrate, runner=run_job),
    StepName.VERIFY_DIRECT: verify_direct,
    StepName.RETIRE: retire,
}

UNDOS: dict[StepName, Action] = {
    **compose_steps.UNDOS,
    StepName.DEPLOY: stop_target,
    StepName.BAKE: functools.partial(compose_steps.unbake, stop=stop_target),
}
