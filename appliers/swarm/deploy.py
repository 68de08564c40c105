"""Deploy a colour's (or the shared) stack on a Swarm and wait until it converged, or say
clearly why it did not (side effects: Docker API, the docker CLI through python-on-whales)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException as CliError

from specctl.appliers import engine
from specctl.appliers.counting import CountingAPIClient
from specctl.appliers.swarm.observe import observe_cluster
from specctl.compiler.cluster import stack_problems
from specctl.schemas.cluster import Cluster
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


def deploy_stack(host: str | None, stack: str, file: Path) -> None:
    """`docker stack deploy` of one stack file; images are never resolved against a registry
    (they were loaded into the nodes, or the nodes pull them by tag)."""
    docker = DockerClient(host=host) if host else DockerClient()
    try:
        docker.stack.deploy(stack, compose_files=[file], resolve_image="never", prune=True)
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
