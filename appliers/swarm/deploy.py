"""Deploy a colour's (or the shared) stack on a Swarm and wait until it converged, or say
clearly why it did not; load images into the nodes; scale services (side effects: Docker API,
the docker CLI through python-on-whales)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException as CliError

from specctl.appliers import engine
from specctl.appliers.counting import CountingAPIClient
from specctl.appliers.images import present_tags
from specctl.appliers.project import Project
from specctl.appliers.swarm.observe import observe_cluster
from specctl.compiler.cluster import stack_problems
from specctl.compiler.images import normalized, wanted_images
from specctl.schemas.cluster import Cluster
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError


def ensure_edge_network(client: CountingAPIClient, name: str, *, project: str) -> None:
    """The overlay network nginx and every colour share; attachable, so one-off tasks and
    checks can join it."""
    try:
        if client.networks(names=[name]):
            return
        client.create_network(
            name,
            driver="overlay",
            attachable=True,
            labels={"specctl.project": project},
        )
    except engine.DockerException as exc:
        raise ApplyError(
            f"network {name}: cannot create the overlay network ({str(exc).splitlines()[0][:200]})",
            hint="is this engine a Swarm manager? `docker node ls` says",
        ) from None


def deploy_stack(host: str | None, stack: str, file: Path, *, extra: Path | None = None) -> None:
    """`docker stack deploy` of one stack file (and `extra` over it); images are never resolved
    against a registry (they were loaded into the nodes, or the nodes pull them by tag)."""
    docker = DockerClient(host=host) if host else DockerClient()
    files: list[str | Path] = [file] if extra is None else [file, extra]
    try:
        docker.stack.deploy(stack, compose_files=files, resolve_image="never", prune=True)
    except CliError as exc:
        stderr = (exc.stderr or "").strip().splitlines()
        raise ApplyError(
            f"{stack}: docker stack deploy failed (exit {exc.return_code}): "
            f"{stderr[-1] if stderr else 'no message'}",
            hint=f"the stack file is {file}; docker stack config -c {file.name} checks it",
        ) from None


def wait_converged(
    client: CountingAPIClient,
    *,
    project: str,
    stack: str,
    expected: list[str],
    timeout: float,
    interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Cluster:
    """Observe until every expected service of `stack` runs all its tasks healthy; the last
    observation. Past `timeout`, an error that says which service is short and why."""
    deadline = time.monotonic() + timeout
    while True:
        cluster = observe_cluster(client, project)
        problems = stack_problems(cluster, stack, expected=expected)
        if not problems:
            return cluster
        if time.monotonic() > deadline:
            raise ApplyError(
                f"{stack}: not converged after {timeout:.0f}s: " + "; ".join(problems),
                hint="docker service ps --no-trunc <service> shows each task's error",
            )
        sleep(interval)


def distribute_images(desired: Desired, *, progress: Callable[[str], None]) -> str:
    """Load into every ready node other than the manager the images of `desired` (its colour,
    the shared services, the proxy) that it lacks, streamed from the manager: no registry."""
    client = engine.api()
    refs = wanted_images([desired])
    try:
        me = client.info().get("Swarm", {}).get("NodeID")
        nodes = client.nodes()
    except engine.DockerException as exc:
        raise ApplyError(f"images: cannot list the Swarm's nodes ({engine.short(exc)})") from None
    loaded, skipped = 0, []
    for node in nodes:
        hostname = (node.get("Description") or {}).get("Hostname") or node["ID"][:12]
        if node["ID"] == me:
            continue
        if (node.get("Status") or {}).get("State") != "ready":
            skipped.append(hostname)
            continue
        other = engine.node_api(hostname, "images: load (or use images: registry)")
        missing = sorted({normalized(r) for r in refs} - present_tags(refs, client=other))
        for ref in missing:
            progress(f"  loading {ref} into {hostname}")
            try:
                other.load_image(client.get_image(ref))  # type: ignore[no-untyped-call]
            except engine.DockerException as exc:
                raise ApplyError(
                    f"images: load {ref} into {hostname}: {engine.short(exc)}"
                ) from None
            loaded += 1
    gone = f" ({', '.join(skipped)} not ready: skipped)" if skipped else ""
    if not loaded:
        return f"every ready node has the images{gone}"
    return f"{loaded} image loads into the nodes{gone}"


def scale(replicas: dict[str, int]) -> None:
    """Set services' replicas (a colour retired to 0 keeps its specs: scaling back is instant);
    services that do not exist (a deploy that failed before creating them) are left out."""
    try:
        rows = engine.api().services(  # type: ignore[no-untyped-call]
            filters={"name": sorted(replicas)}
        )
    except engine.DockerException as exc:
        raise ApplyError(f"cannot list services to scale ({engine.short(exc)})") from None
    exist = {row.get("Spec", {}).get("Name") for row in rows}
    replicas = {name: n for name, n in replicas.items() if name in exist}
    if not replicas:
        return
    host = engine.manager_host()
    docker = DockerClient(host=host) if host else DockerClient()
    try:
        docker.service.scale(dict(replicas.items()), detach=True)
    except CliError as exc:
        stderr = (exc.stderr or "").strip().splitlines()
        raise ApplyError(
            f"docker service scale {' '.join(f'{k}={v}' for k, v in replicas.items())} failed: "
            f"{stderr[-1] if stderr else exc.return_code}"
        ) from None


def start_proxy(project: Project, desired: Desired) -> None:
    """The shared stack deployed again (its proxy had no running task) and its proxy waited for."""
    from specctl.appliers.observe import live_config_path
    from specctl.schemas.units import seconds

    live_config_path(project).parent.mkdir(parents=True, exist_ok=True)
    ensure_edge_network(engine.api(), desired.network, project=project.spec.project)
    deploy_spec_stack(project, desired, "shared")
    wait_converged(
        engine.api(),
        project=project.spec.project,
        stack=desired.shared_project,
        expected=[desired.proxy.name],
        timeout=seconds(project.spec.deploy.health_timeout),
    )


def deploy_spec_stack(project: Project, desired: Desired, which: str) -> None:
    """The generated stack file of `which` (a colour, or shared) with the labels apply adds
    (env-file fingerprints, built tags): deployed the same way every time, so an unchanged
    service is left alone."""
    from specctl.appliers.compose import env_label_override

    stack = desired.shared_project if which == "shared" else desired.color_project
    labels = env_label_override(project, desired, which, swarm=True)
    deploy_stack(engine.manager_host(), stack, project.out_dir / f"stack.{which}.yml", extra=labels)


def pull_image(ref: str) -> None:
    """`docker pull` on the manager (the source images: load copies from)."""
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    try:
        engine.api().pull(name, tag=tag)
    except engine.DockerException as exc:
        raise ApplyError(
            f"pull of {ref} on the manager failed; nothing was changed: {engine.short(exc)}",
            hint="is the registry reachable from the manager and the name right? For an image "
            "you load yourself, set pull: never on the service",
        ) from None
