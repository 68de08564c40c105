"""Checks of meaning that depend on the engine: what only a Swarm cluster can do, and what it
cannot (fixed container names, loopback-only ports, data on one node's disk); pure."""

from __future__ import annotations

from collections.abc import Iterator

from specctl.schemas.engine import SwarmEngine
from specctl.schemas.spec import Service, Spec

Where = tuple[str | int, ...]
Finding = tuple[Where, str]

# Compose keys `docker stack deploy` ignores (it warns, and the service runs without them).
SWARM_IGNORED = (
    "build",
    "cgroup_parent",
    "container_name",
    "depends_on",
    "devices",
    "links",
    "network_mode",
    "privileged",
    "restart",
    "runtime",
    "security_opt",
    "userns_mode",
)


def engine_findings(spec: Spec) -> list[Finding]:
    if isinstance(spec.engine, SwarmEngine):
        return list(_swarm(spec))
    return list(_compose(spec))


def _compose(spec: Spec) -> Iterator[Finding]:
    for name, svc in spec.services.items():
        where = ("services", name)
        if svc.replicas != 1:
            yield (
                (*where, "replicas"),
                f"{svc.replicas} tasks need engine: swarm (Compose runs exactly one container per "
                "service and colour)",
            )
        if svc.placement is not None:
            yield ((*where, "placement"), "placement needs engine: swarm (one host here)")
    for key, path in spec.paths.items():
        if path.shared:
            yield (("paths", key, "shared"), "shared storage matters on engine: swarm only")


def _swarm(spec: Spec) -> Iterator[Finding]:
    for name, svc in spec.services.items():
        yield from _swarm_service(spec, name, svc)
    for i, port in enumerate(spec.proxy.ports):
        if port.bind != "0.0.0.0":
            yield (
                ("proxy", "ports", i, "bind"),
                f"a Swarm publishes a port on every address of the node (got {port.bind}); "
                "drop bind, or firewall the node",
            )


def _swarm_service(spec: Spec, name: str, svc: Service) -> Iterator[Finding]:
    where = ("services", name)
    if svc.container_name is not None:
        yield (
            (*where, "container_name"),
            "a Swarm names its tasks itself (several may run): drop container_name",
        )
    if svc.host_port is not None:
        yield (
            (*where, "host_port"),
            "on a Swarm specctl reaches services over the overlay network, and a published "
            "port would listen on every address of a node: drop host_port (nginx is the way in)",
        )
    if svc.build is not None:
        yield (
            (*where, "build"),
            "specctl does not build for a Swarm yet: build the image yourself (docker build "
            "on the manager), name it in image:, and images: load copies it to the nodes",
        )
    for key in sorted(set(svc.compose) & set(SWARM_IGNORED)):
        yield (
            (*where, "compose", key),
            f"docker stack deploy ignores {key}; it would silently not apply on a Swarm",
        )
    pinned = svc.placement is not None and svc.placement.node is not None
    if pinned:
        return
    for i, mount in enumerate(svc.volumes):
        if mount.volume is not None:
            yield (
                (*where, "volumes", i, "volume"),
                f"volume {mount.volume} lives on the disk of the node a task runs on; a task "
                "started on another node would find it empty: pin the service "
                "(placement: {node: NAME})",
            )
        elif mount.path in spec.paths and not spec.paths[mount.path].shared:
            yield (
                (*where, "volumes", i, "path"),
                f"path {mount.path} is a folder on one node's disk: pin the service "
                "(placement: {node: NAME}), or put the folder on storage every node "
                f"mounts and say so (paths.{mount.path}.shared: true)",
            )
