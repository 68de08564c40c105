"""Desired -> Swarm stack files (one per colour, one for the proxy and shared services), the
dialect `docker stack deploy` reads; pure.

What differs from the Compose files: no top-level `name` (the stack is named on deploy), no
`depends_on` (Swarm starts every service at once; apply waits on health instead), no
`container_name` or `restart` (Swarm names tasks and restarts them by `deploy.restart_policy`),
ports published in host mode (the ingress mesh needs IPVS), labels on the service and its tasks,
`deploy:` with replicas, placement, resources and GPUs as generic resources."""

from __future__ import annotations

from typing import Any

from specctl.compiler.compose import (
    deploy_resources,
    dump_yaml,
    edge_services,
    escape,
    escape_all,
    host_path,
    labels,
    merge_passthrough,
    mount_entry,
    named_volumes,
)
from specctl.compiler.expand import NGINX_CONFIG
from specctl.compiler.images import repository
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.engine import SwarmEngine

STACK_VERSION = "3.8"
_RESTART = {"no": "none", "always": "any", "unless-stopped": "any", "on-failure": "on-failure"}


def stack_service(
    svc: DesiredService,
    *,
    engine: SwarmEngine,
    root_ref: str,
    on_edge: bool,
    published: list[tuple[int, int]] | None = None,
    node: str | None = None,
) -> dict[str, Any]:
    """One stack service; `published` (host, container) ports in host mode; `node` pins it."""
    out: dict[str, Any] = {"image": svc.image or f"{repository(svc)}:latest"}
    if svc.command is not None:
        out["command"] = escape_all(svc.command)
    if svc.environment:
        out["environment"] = {k: escape(v) for k, v in sorted(svc.environment.items())}
    if svc.env_files:
        out["env_file"] = [host_path(root_ref, f) for f in svc.env_files]
    if published:
        out["ports"] = [
            {"target": inside, "published": host, "protocol": "tcp", "mode": "host"}
            for host, inside in published
        ]
    if svc.mounts:
        out["volumes"] = [mount_entry(m, root_ref) for m in svc.mounts]
    if svc.healthcheck is not None:
        out["healthcheck"] = {
            k: escape_all(v) if k == "test" else v for k, v in svc.healthcheck.items()
        }
    out["labels"] = labels(svc)
    out["deploy"] = _deploy(svc, engine=engine, node=node)
    if on_edge or svc.extra_aliases:
        edge = {"aliases": [*svc.aliases, *(svc.extra_aliases or [])]}
        out["networks"] = {"default": {}, "edge": edge} if svc.color else {"edge": edge}
        for name in svc.networks or []:
            out["networks"][name] = {}
    # The proxy's Compose ports are published here in host mode instead.
    passthrough = {k: v for k, v in svc.compose.items() if not (published and k == "ports")}
    return merge_passthrough(out, passthrough)


def _deploy(svc: DesiredService, *, engine: SwarmEngine, node: str | None) -> dict[str, Any]:
    deploy: dict[str, Any] = {
        "mode": "replicated",
        "replicas": 1 if svc.replicas is None else svc.replicas,
        "endpoint_mode": engine.endpoint_mode,
        "labels": labels(svc),
        "restart_policy": {"condition": _RESTART[svc.restart]},
        # A failed update stops where it is: Swarm never rolls a colour back behind specctl.
        "update_config": {"failure_action": "pause", "order": "stop-first"},
    }
    constraints = list(svc.placement or [])
    if node is not None and f"node.hostname == {node}" not in constraints:
        constraints.insert(0, f"node.hostname == {node}")
    placement: dict[str, Any] = {}
    if constraints:
        placement["constraints"] = constraints
    if svc.max_per_node is not None:
        placement["max_replicas_per_node"] = svc.max_per_node
    if placement:
        deploy["placement"] = placement
    gpus = [{"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": svc.gpus}}]
    resources = deploy_resources(svc, gpus={"generic_resources": gpus})
    if resources:
        deploy["resources"] = resources
    return deploy


def render_color_stack(desired: Desired, *, engine: SwarmEngine, root_ref: str, header: str) -> str:
    edge = edge_services(desired)
    services = {
        svc.name: stack_service(svc, engine=engine, root_ref=root_ref, on_edge=svc.name in edge)
        for svc in desired.services
    }
    doc: dict[str, Any] = {
        "version": STACK_VERSION,
        "services": services,
        "networks": {
            "default": {"driver": "overlay", "attachable": True},
            "edge": {"name": desired.network, "external": True},
        },
    }
    volumes = named_volumes(desired.services)
    if volumes:
        doc["volumes"] = volumes
    return header + dump_yaml(doc)


def render_shared_stack(
    desired: Desired,
    *,
    engine: SwarmEngine,
    root_ref: str,
    header: str,
    proxy_ports: list[tuple[int, int]],
) -> str:
    services = {
        svc.name: stack_service(svc, engine=engine, root_ref=root_ref, on_edge=True)
        for svc in desired.shared
    }
    proxy = desired.proxy
    services[proxy.name] = stack_service(
        proxy,
        engine=engine,
        root_ref=root_ref,
        on_edge=True,
        published=proxy_ports,
        node=engine.edge_node,
    )
    # nginx starts once the first switch installed its config (until then nothing serves, and
    # the colours' names it would resolve do not exist yet): no crash loop before that.
    wait = f'trap : HUP; until [ -f {NGINX_CONFIG} ]; do sleep 0.2; done; exec "$@"'
    start = proxy.command or ["nginx", "-c", NGINX_CONFIG, "-g", "daemon off;"]
    services[proxy.name]["command"] = escape_all(["sh", "-c", wait, "sh", *start])
    if engine.edge_node is None:  # the manager specctl talks to holds the live config
        placement = services[proxy.name]["deploy"].setdefault("placement", {})
        placement.setdefault("constraints", []).insert(0, "node.role == manager")
    networks: dict[str, Any] = {"edge": {"name": desired.network, "external": True}}
    for name in proxy.networks or []:
        networks[name] = {"name": name, "external": True}
    doc: dict[str, Any] = {"version": STACK_VERSION, "services": services, "networks": networks}
    volumes = named_volumes([*desired.shared, proxy])
    if volumes:
        doc["volumes"] = volumes
    return header + dump_yaml(doc)
