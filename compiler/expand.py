"""Spec x colour -> Desired: names, ports, paths and hashes filled in; pure."""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from specctl.compiler.exposure import host_ip
from specctl.compiler.validate import expand_path
from specctl.schemas.desired import (
    Desired,
    DesiredMount,
    DesiredPath,
    DesiredService,
    DesiredUpstream,
)
from specctl.schemas.spec import Mount, Service, Spec
from specctl.schemas.units import compose_duration

PROXY = "proxy"
NGINX_CONFIG_DIR = "/etc/nginx/specctl"
NGINX_CONFIG = f"{NGINX_CONFIG_DIR}/nginx.conf"


def port_mapping(published: int, target: int, host_ip: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"target": target, "published": str(published)}
    if host_ip is not None:
        out["host_ip"] = host_ip
    return {**out, "protocol": "tcp"}


def spec_hash(spec: Spec, *extra: str) -> str:
    """A hash of what the spec means (not of its comments or layout). Values left at their
    defaults are not part of it, so a specctl that adds a setting does not change it."""
    digest = hashlib.sha256(spec.model_dump_json(exclude_defaults=True).encode())
    for text in extra:
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()


def project_names(spec: Spec) -> dict[str, str]:
    return {
        "blue": f"{spec.project}-blue",
        "green": f"{spec.project}-green",
        "shared": f"{spec.project}-shared",
    }


def network_name(spec: Spec) -> str:
    return f"{spec.project}-edge"


def expand(spec: Spec, color: str, *, spec_digest: str) -> Desired:
    names = project_names(spec)
    services = [
        _service(spec, name, svc, color)
        for name, svc in sorted(spec.services.items())
        if svc.scope == "color"
    ]
    shared = [
        _service(spec, name, svc, None)
        for name, svc in sorted(spec.services.items())
        if svc.scope == "shared"
    ]
    return Desired(
        project=spec.project,
        color=color,
        color_project=names[color],
        shared_project=names["shared"],
        network=network_name(spec),
        spec_hash=spec_digest,
        services=services,
        shared=shared,
        proxy=_proxy(spec),
        live_config_dir=f"{spec.state_dir}/nginx",
        upstreams=_upstreams(spec, color),
        paths=_paths(spec, color),
    )


def _fill(text: str, spec: Spec, color: str | None) -> str:
    text = text.replace("{project}", spec.project)
    return text.replace("{color}", color) if color is not None else text


def _fill_all(value: Any, spec: Spec, color: str | None) -> Any:
    """_fill in every string of a value (lists, mappings and their keys): a colour's command,
    image, build, health check and Compose pass-through name their colour."""
    if isinstance(value, str):
        return _fill(value, spec, color)
    if isinstance(value, list):
        return [_fill_all(v, spec, color) for v in value]
    if isinstance(value, dict):
        return {_fill_all(k, spec, color): _fill_all(v, spec, color) for k, v in value.items()}
    return value


def _host_port(spec: Spec, svc: Service, color: str | None) -> int | None:
    hp = svc.host_port
    if hp is None or isinstance(hp, int):
        return hp
    if color is None:
        return None
    if hp.offset is not None:
        base: int = getattr(spec.colors, color).port_base
        return base + hp.offset
    port: int | None = getattr(hp, color)
    return port


def _mount(spec: Spec, mount: Mount, color: str | None) -> DesiredMount:
    if mount.path is not None:
        managed = spec.paths[mount.path]
        source = expand_path(managed.path, color) if color else managed.path
        return DesiredMount(
            kind="bind", source=source, target=mount.target, read_only=mount.read_only
        )
    assert mount.volume is not None
    return DesiredMount(
        kind="volume",
        source=volume_name(spec, mount.volume, color),
        target=mount.target,
        read_only=mount.read_only,
    )


def volume_name(spec: Spec, key: str, color: str | None) -> str:
    volume = spec.volumes[key]
    if volume.name is not None:
        return _fill(volume.name, spec, color)
    if volume.scope == "color" and color is not None:
        return f"{spec.project}-{color}-{key}"
    return f"{spec.project}-{key}"


def healthcheck(svc: Service) -> tuple[dict[str, Any] | None, str | None]:
    check = svc.healthcheck
    if check is None:
        return None, None
    if check.http is not None:
        url = f"http://127.0.0.1:{svc.port}{check.http}"
        test: list[str] = [
            "CMD-SHELL",
            f"curl -fsS -o /dev/null {shlex.quote(url)} || wget -q -O /dev/null {shlex.quote(url)}",
        ]
    elif isinstance(check.command, str):
        test = ["CMD-SHELL", check.command]
    else:
        test = ["CMD", *(check.command or [])]
    return {
        "test": test,
        "interval": compose_duration(check.interval),
        "timeout": compose_duration(check.timeout),
        "retries": check.retries,
        "start_period": compose_duration(check.start_period),
    }, check.http


def _service(spec: Spec, name: str, svc: Service, color: str | None) -> DesiredService:
    if color is not None:
        svc = svc.for_color(color)
    health, http_path = healthcheck(svc)
    resources: dict[str, Any] = {}
    if svc.resources is not None:
        resources = svc.resources.model_dump(exclude_none=True)
    fields: dict[str, Any] = {
        "name": name,
        "address": f"{color}.service.{name}" if color else f"shared.service.{name}",
        "scope": svc.scope,
        "color": color,
        "project": project_names(spec)[color or "shared"],
        "image": _fill_all(svc.image, spec, color),
        "build": _fill_all(svc.build.model_dump(exclude_defaults=True), spec, color)
        if svc.build
        else None,
        "command": _fill_all(svc.command, spec, color),
        "port": svc.port,
        "host_port": _host_port(spec, svc, color),
        "environment": {
            key: _fill(_env_text(value), spec, color) for key, value in svc.environment.items()
        },
        "env_files": [expand_path(f, color) if color else f for f in svc.env_files],
        "required_env": list(svc.required_env),
        "mounts": [_mount(spec, m, color) for m in svc.volumes],
        "healthcheck": _fill_all(health, spec, color),
        "health_url_path": http_path,
        "depends_on": dict(sorted(svc.depends_on.items())),
        "resources": resources,
        "restart": svc.restart,
        "compose": _fill_all(svc.compose, spec, color),
        "aliases": [f"{color}-{name}"] if color else [name],
    }
    if svc.aliases:
        fields["extra_aliases"] = [_fill(a, spec, color) for a in svc.aliases]
    if svc.container_name is not None:
        fields["container_name"] = _fill(svc.container_name, spec, color)
    if svc.pull != "missing":
        fields["pull"] = svc.pull
    if svc.replicas != 1:
        fields["replicas"] = svc.replicas
    if svc.placement is not None:
        fields["placement"] = svc.placement.constraints()
        if svc.placement.max_per_node is not None:
            fields["max_per_node"] = svc.placement.max_per_node
    if svc.gpus is not None:
        fields["gpus"] = svc.gpus
    ip = host_ip(svc.bind)
    if fields["host_port"] is not None and ip is not None:
        # Only when set, so containers published on every address before `bind` existed keep
        # their config hash when the spec asks for that still.
        fields["host_ip"] = ip
    return finish(fields)


def _env_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Fields that never force a recreate: identity, and what only specctl itself reads.
IDENTITY = (
    "name",
    "address",
    "scope",
    "color",
    "project",
    "aliases",
    "health_url_path",
    "required_env",
    "pull",
)


def view_of(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields whose change means the container must be recreated, as plain JSON values."""
    view = {k: v for k, v in fields.items() if k not in IDENTITY}
    plain: dict[str, Any] = json.loads(json.dumps(view, sort_keys=True, default=_jsonable))
    return plain


def view_json(view: dict[str, Any]) -> str:
    return json.dumps(view, sort_keys=True, separators=(",", ":"))


def recipe(svc: DesiredService) -> dict[str, Any]:
    """The fields `svc` was made from, to make it again with one of them changed."""
    return {k: getattr(svc, k) for k in svc.model_fields_set if k not in ("view", "config_hash")}


def finish(fields: dict[str, Any]) -> DesiredService:
    view = view_of(fields)
    digest = hashlib.sha256(view_json(view).encode()).hexdigest()[:16]
    return DesiredService(**fields, view=view, config_hash=digest)


def _jsonable(value: object) -> object:
    if isinstance(value, DesiredMount):
        return value.model_dump()
    raise TypeError(type(value))


def _proxy(spec: Spec) -> DesiredService:
    proxy = spec.proxy
    mounts = [
        DesiredMount(
            kind="bind", source=f"{spec.state_dir}/nginx", target=NGINX_CONFIG_DIR, read_only=True
        )
    ]
    if proxy.tls is not None:
        managed = spec.paths[proxy.tls.path]
        mounts.append(
            DesiredMount(kind="bind", source=managed.path, target=proxy.tls.target, read_only=True)
        )
    mounts += [_mount(spec, m, None) for m in proxy.volumes]
    fields: dict[str, Any] = {
        "name": PROXY,
        "address": "proxy.nginx",
        "scope": "shared",
        "color": None,
        "project": project_names(spec)["shared"],
        "image": proxy.image,
        "build": None,
        "command": ["nginx", "-c", NGINX_CONFIG, "-g", "daemon off;"],
        "port": None,
        "host_port": None,
        "environment": {},
        "env_files": [],
        "required_env": [],
        "mounts": mounts,
        "healthcheck": None,
        "health_url_path": None,
        "depends_on": {},
        "resources": {},
        "restart": "unless-stopped",
        "compose": {
            "ports": [port_mapping(p.host, p.container, host_ip(p.bind)) for p in proxy.ports],
            "stop_signal": "SIGQUIT",
            **proxy.compose,
        },
        "aliases": [PROXY],
    }
    if proxy.networks:
        fields["networks"] = list(proxy.networks)
    if proxy.pull != "missing":
        fields["pull"] = proxy.pull
    return finish(fields)


def _upstreams(spec: Spec, color: str) -> list[DesiredUpstream]:
    out = []
    for name in sorted(spec.proxy.upstreams):
        upstream = spec.upstream(name)
        service = spec.services[upstream.service]
        port = upstream.port or service.port
        out.append(
            DesiredUpstream(
                name=name,
                address=f"nginx.upstream.{name}",
                service=upstream.service,
                server=f"{color}-{upstream.service}:{port}",
                keepalive=upstream.keepalive,
                probe=upstream.probe,
            )
        )
    return out


def _paths(spec: Spec, color: str) -> list[DesiredPath]:
    out = []
    for name, managed in sorted(spec.paths.items()):
        per_color = "{color}" in managed.path
        default_mode = {"directory": "0755", "file": "0644", "secret": "0600"}.get(
            managed.kind, "0700"
        )
        out.append(
            DesiredPath(
                name=name,
                address=f"path.{name}.{color}" if per_color else f"path.{name}",
                color=color if per_color else None,
                path=expand_path(managed.path, color),
                kind=managed.kind,
                uid=spec.owner.uid if managed.uid is None else managed.uid,
                gid=spec.owner.gid if managed.gid is None else managed.gid,
                mode=managed.mode or default_mode,
                subdirs=list(managed.subdirs),
                files=[f.model_dump(exclude_none=True) for f in managed.files],
                cleanup=managed.cleanup.model_dump() if managed.cleanup else None,
            )
        )
    return out
