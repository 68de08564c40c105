"""The operator's everyday commands: find a service's containers in the colour that serves,
run a command in one (side effects: Docker API, a `docker exec` process)."""

from __future__ import annotations

import subprocess
import sys

from specctl.appliers.observe import observe_containers, observe_nginx
from specctl.appliers.project import Project
from specctl.appliers.swarm.observe import STACK_LABEL
from specctl.compiler.active import detect_active
from specctl.compiler.pick import exec_argv, pick, shared_names
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Live, LiveContainer
from specctl.schemas.spec import COLORS


def find(
    project: Project, *, service: str | None, color: str | None
) -> tuple[list[LiveContainer], str]:
    """The containers meant, and the colour they were taken from (default: the one serving)."""
    containers = _containers(project)
    desired = project.expanded(COLORS[0])
    proxy = desired.proxy.name
    if color is None and service not in shared_names(project.spec, proxy):
        nginx = observe_nginx(project, desired, containers)
        live = Live(project=project.spec.project, containers=containers, nginx=nginx)
        active = detect_active(desired, live)
        if active.color is None:
            raise SpecctlError(
                f"no colour serves traffic ({active.detail}), so there is no default colour",
                hint="name one: --color blue or --color green",
            )
        color = active.color
    chosen = color or COLORS[0]
    return pick(containers, spec=project.spec, proxy=proxy, service=service, color=chosen), chosen


def _containers(project: Project) -> list[LiveContainer]:
    """The project's containers; on a Swarm its stack services (three API calls)."""
    if project.spec.engine.kind != "swarm":
        return observe_containers(project)
    from specctl.appliers.swarm.live import swarm_containers

    return swarm_containers(project.spec.project)


def run_in(
    container: LiveContainer,
    command: list[str],
    *,
    user: str | None = None,
    workdir: str | None = None,
) -> int:
    """`docker exec` in the container, attached to this terminal; its exit code."""
    if container.state != "running":
        raise SpecctlError(
            f"{container.name} is not running ({container.state}); nothing to run a command in",
            hint="specctl status shows the colours; specctl logs shows why it stopped",
        )
    target, env = container.name or container.id, None
    if STACK_LABEL in container.labels:  # a stack service: one of its tasks' containers
        target, env = _task(container)
    argv = exec_argv(
        target,
        command,
        interactive=True,  # a pipe into specctl exec reaches the command (psql < dump.sql)
        tty=sys.stdin.isatty() and sys.stdout.isatty(),
        user=user,
        workdir=workdir,
    )
    try:
        return subprocess.call(argv, env=env)
    except FileNotFoundError:
        raise SpecctlError(
            "docker: command not found", hint="specctl exec runs the Docker CLI: install it"
        ) from None


def _task(container: LiveContainer) -> tuple[str, dict[str, str]]:
    """The container of a running task of a stack service, and the environment that points the
    docker CLI at the engine that runs it (the manager, or the node's own address)."""
    import os

    from specctl.appliers import engine

    stack = container.project or ""
    service = container.service or ""
    found = engine.running_container(stack, service)
    if found is None:
        raise SpecctlError(
            f"{stack}.{service} has no running task", hint="specctl status shows its tasks"
        )
    address = engine.address_for(found)
    return found, {**os.environ, "DOCKER_HOST": address} if address else dict(os.environ)
