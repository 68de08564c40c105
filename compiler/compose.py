"""Desired -> Compose files (one per colour, one for the proxy and shared services); pure."""

from __future__ import annotations

import io
import posixpath
from typing import Any

from ruamel.yaml import YAML

from specctl.compiler.expand import port_mapping, view_json
from specctl.schemas.desired import Desired, DesiredMount, DesiredService

LABEL = "specctl"
CONFIG_HASH_LABEL = f"{LABEL}.config-hash"
CONFIG_LABEL = f"{LABEL}.config"
_CONDITIONS = {
    "started": "service_started",
    "healthy": "service_healthy",
    "completed": "service_completed_successfully",
}


def host_path(root_ref: str, path: str) -> str:
    """A spec path (relative to the project root) as seen from the generated file's folder."""
    if path.startswith("/"):
        return path
    return posixpath.normpath(posixpath.join(root_ref, path))


def escape(value: str) -> str:
    # Compose interpolates ${VAR}; a literal value from the spec must reach the container as is.
    return value.replace("$", "$$")


def escape_all(value: Any) -> Any:
    """Strings, and strings in lists, escaped for Compose (commands, health-check tests)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [escape_all(v) for v in value]
    return value


def mount_entry(mount: DesiredMount, root_ref: str) -> dict[str, Any]:
    if mount.kind == "bind":
        out: dict[str, Any] = {
            "type": "bind",
            "source": host_path(root_ref, mount.source),
            "target": mount.target,
        }
    else:
        out = {"type": "volume", "source": mount.source, "target": mount.target}
    if mount.read_only:
        out["read_only"] = True
    return out


def compose_service(
    svc: DesiredService, *, root_ref: str, local: set[str], on_edge: bool = True
) -> dict[str, Any]:
    """One Compose service. depends_on keeps only services of the same file (`local`): Compose
    cannot wait on another project's service, so apply starts shared services first."""
    out: dict[str, Any] = {}
    if svc.image is not None:
        out["image"] = svc.image
    if svc.build is not None:
        build = dict(svc.build)
        build["context"] = host_path(root_ref, build["context"])
        out["build"] = build
    if svc.command is not None:
        out["command"] = escape_all(svc.command)
    if svc.environment:
        out["environment"] = {k: escape(v) for k, v in sorted(svc.environment.items())}
    if svc.env_files:
        out["env_file"] = [
            {"path": host_path(root_ref, f), "required": True} for f in svc.env_files
        ]
    if svc.port is not None and svc.host_port is not None:
        out["ports"] = [port_mapping(svc.host_port, svc.port, svc.host_ip)]
    if svc.mounts:
        out["volumes"] = [mount_entry(m, root_ref) for m in svc.mounts]
    if svc.healthcheck is not None:
        out["healthcheck"] = {
            k: escape_all(v) if k == "test" else v for k, v in svc.healthcheck.items()
        }
    depends = {
        name: {"condition": _CONDITIONS[cond]}
        for name, cond in svc.depends_on.items()
        if name in local
    }
    if depends:
        out["depends_on"] = depends
    if svc.resources or svc.gpus is not None:
        gpus = {"driver": "nvidia", "count": svc.gpus, "capabilities": ["gpu"]}
        out["deploy"] = {"resources": deploy_resources(svc, gpus={"devices": [gpus]})}
    out["restart"] = svc.restart
    if svc.container_name is not None:
        out["container_name"] = svc.container_name
    out["labels"] = labels(svc)
    if on_edge or svc.extra_aliases:
        edge = {"aliases": [*svc.aliases, *(svc.extra_aliases or [])]}
        # A colour's own network first, so `redis` means this colour's redis, not the other's.
        out["networks"] = (
            {"default": {"priority": 100}, "edge": edge} if svc.color else {"edge": edge}
        )
        for name in svc.networks or []:
            out["networks"][name] = {}
    return merge_passthrough(out, svc.compose)


def deploy_resources(svc: DesiredService, *, gpus: dict[str, Any]) -> dict[str, Any]:
    """`deploy.resources`: limits, reservations, and `gpus` among the reservations when the
    service asks for GPUs (Compose and Swarm reserve them differently)."""
    limits: dict[str, Any] = {}
    if "memory" in svc.resources:
        limits["memory"] = svc.resources["memory"]
    if "cpus" in svc.resources:
        limits["cpus"] = str(svc.resources["cpus"])
    out: dict[str, Any] = {"limits": limits} if limits else {}
    reservations: dict[str, Any] = {}
    if "memory_reservation" in svc.resources:
        reservations["memory"] = svc.resources["memory_reservation"]
    if svc.gpus is not None:
        reservations.update(gpus)
    if reservations:
        out["reservations"] = reservations
    return out


def labels(svc: DesiredService) -> dict[str, str]:
    out = {
        f"{LABEL}.project": svc.project.rsplit("-", 1)[0],
        f"{LABEL}.service": svc.name,
        f"{LABEL}.scope": svc.scope,
        CONFIG_HASH_LABEL: svc.config_hash,
        CONFIG_LABEL: escape(view_json(svc.view)),
    }
    if svc.color is not None:
        out[f"{LABEL}.color"] = svc.color
    return out


def merge_passthrough(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge the user's pass-through keys (theirs win, mappings merge)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_passthrough(out[key], value)
        else:
            out[key] = value
    return out


def named_volumes(services: list[DesiredService]) -> dict[str, Any]:
    names = sorted({m.source for s in services for m in s.mounts if m.kind == "volume"})
    return {name: {"name": name} for name in names}


def edge_services(desired: Desired) -> set[str]:
    """The colour's services on the shared network: only what nginx routes to, or what needs
    a shared service."""
    local = {svc.name for svc in desired.services}
    return {u.service for u in desired.upstreams} | {
        svc.name for svc in desired.services if set(svc.depends_on) - local
    }


def render_color_compose(desired: Desired, *, root_ref: str, header: str) -> str:
    local = {svc.name for svc in desired.services}
    edge = edge_services(desired)
    services = {
        svc.name: compose_service(
            svc,
            root_ref=root_ref,
            local=local,
            on_edge=svc.name in edge,
        )
        for svc in desired.services
    }
    doc: dict[str, Any] = {
        "name": desired.color_project,
        "services": services,
        "networks": {"edge": {"name": desired.network, "external": True}},
    }
    volumes = named_volumes(desired.services)
    if volumes:
        doc["volumes"] = volumes
    return header + dump_yaml(doc)


def render_shared_compose(desired: Desired, *, root_ref: str, header: str) -> str:
    members = [*desired.shared, desired.proxy]
    services = {
        svc.name: compose_service(svc, root_ref=root_ref, local={s.name for s in members})
        for svc in members
    }
    networks: dict[str, Any] = {"edge": {"name": desired.network, "external": True}}
    for name in desired.proxy.networks or []:
        networks[name] = {"name": name, "external": True}
    doc: dict[str, Any] = {
        "name": desired.shared_project,
        "services": services,
        "networks": networks,
    }
    volumes = named_volumes(members)
    if volumes:
        doc["volumes"] = volumes
    return header + dump_yaml(doc)


def dump_yaml(doc: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue()
