"""Read a Swarm project into the same Live value a Compose host gives: the cluster in three API
calls, the manager's images in one, the nginx config and managed paths on disk (side effects:
Docker API, files)."""

from __future__ import annotations

from specctl.appliers.bake import read_state
from specctl.appliers.engine import api
from specctl.appliers.images import present_tags
from specctl.appliers.project import Project
from specctl.appliers.swarm.observe import observe_cluster
from specctl.compiler.cluster import as_containers
from specctl.compiler.images import wanted_images
from specctl.schemas.cluster import Cluster
from specctl.schemas.live import Live, LiveContainer
from specctl.schemas.spec import COLORS


def swarm_containers(project: str) -> list[LiveContainer]:
    """The project's stack services as LiveContainers (three API calls)."""
    return as_containers(observe_cluster(api(), project))


def observe_swarm(project: Project, *, now: float | None = None) -> tuple[Live, Cluster]:
    from specctl.appliers.observe import observe_nginx, observe_paths

    client = api()
    before = client.calls
    desired = [project.desired(color) for color in COLORS]
    cluster = observe_cluster(client, project.spec.project)
    containers = as_containers(cluster)
    paths = {p.address: p for d in desired for p in d.paths}
    live = Live(
        project=project.spec.project,
        containers=containers,
        nginx=observe_nginx(project, desired[0], containers),
        paths=observe_paths(project, list(paths.values()), now=now),
        images=sorted(present_tags(wanted_images(desired))),
        bake=read_state(project),
        api_calls=client.calls - before,
    )
    return live, cluster
