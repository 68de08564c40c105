"""What the Compose importer works on: the inputs, one service as found in the files, the
spec's paths and volumes as they are gathered, and the rules both services and the proxy use
(colour templates, managed paths); pure."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from specctl.importers.commented_yaml import N

# Images whose data outlives a release: shared by both colours when one file serves both.
STATEFUL = re.compile(
    r"(^|/)(postgres|postgis|mysql|mariadb|mongo|redis|valkey|memcached|rabbitmq|"
    r"elasticsearch|opensearch|minio|clickhouse|influxdb|neo4j|cassandra|etcd|zookeeper|kafka)"
    r"([:@/-]|$)"
)
NGINX_IMAGE = re.compile(r"(^|/)(nginx|openresty)([:@-]|$)")


@dataclass(frozen=True)
class Mounted:
    """What is on disk at a bind mount's source now."""

    kind: str  # "file", "directory" or "missing"
    uid: int | None = None
    gid: int | None = None
    mode: str | None = None  # "0755"
    absolute: str | None = None  # the source's absolute path, for one outside the project


@dataclass(frozen=True)
class Group:
    """One `docker compose config` output and the files it was made from (name, text)."""

    color: str | None  # the colour its file is for, None: the files serve both
    config: dict[str, Any]
    files: list[tuple[str, str]]


@dataclass(frozen=True)
class Nginx:
    name: str  # as given on the command line
    text: str
    base: str  # its path as seen from the spec's folder
    found: str | None = None  # not given: where the Compose files mount it into nginx


@dataclass
class Service:
    name: str  # in the spec
    sources: dict[str, str]  # colour (or "") -> the Compose service name
    configs: dict[str, dict[str, Any]]  # colour (or "") -> its normalised Compose config


@dataclass
class State:
    notes: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    paths: dict[str, Any] = field(default_factory=dict)
    path_keys: dict[str, str] = field(default_factory=dict)  # templated source -> key
    volumes: dict[str, Any] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)  # ${VAR} left for specctl to fill
    volume_names: dict[str, dict[str, str]] = field(default_factory=dict)  # colour -> key -> name
    names: set[str] = field(default_factory=set)  # the services' names, not for a path's key
    proxy: str | None = None  # the service that becomes proxy:
    said: set[str] = field(default_factory=set)

    def once(self, topic: str, note: tuple[str, str]) -> None:
        """A note said once for all the services it applies to."""
        if topic not in self.said:
            self.said.add(topic)
            self.notes.append(note)


def is_proxy(svc: Service) -> bool:
    return proxy_score(svc) > 0


def proxy_score(svc: Service) -> int:
    """How much a service looks like the nginx in front of the app (0: not at all). A static
    frontend on an nginx image looks less so than one that publishes 80/443, mounts an
    nginx.conf or is named for it."""
    config = next(iter(svc.configs.values()))
    image = str(config.get("image") or "")
    targets = [str(v.get("target", "")) for v in config.get("volumes") or []]
    mounts_conf = any(t.startswith(("/etc/nginx/nginx.conf", "/etc/nginx/conf.d")) for t in targets)
    named = bool(re.search(r"nginx|proxy|gateway|edge|ingress|lb", svc.name))
    if not NGINX_IMAGE.search(image) and not (mounts_conf and named):
        return 0
    serves_web = any(int(p.get("target", 0)) in (80, 443) for p in published(config))
    return 1 + 2 * named + 2 * mounts_conf + serves_web


def published(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in config.get("ports") or [] if p.get("published")]


def port_number(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None


def template(value: str, color: str, services: list[Service]) -> str:
    """A colour file's value for both colours: its services' names as the spec names them (a
    host name `postgres-blue` is `postgres` on the colour's network), then `{color}`."""
    if not color:
        return value
    for svc in services:
        source = svc.sources.get(color)
        config = svc.configs.get(color, {})
        for old in {source, config.get("container_name")} - {None, svc.name}:
            value = re.sub(
                rf"(?<![A-Za-z0-9_.-]){re.escape(str(old))}(?![A-Za-z0-9_-])", svc.name, value
            )
    return re.sub(rf"(?<![A-Za-z0-9]){color}(?![A-Za-z0-9])", "{color}", value)


def template_name(name: str, color: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9]){color}(?![A-Za-z0-9])", "{color}", name) if color else name


def managed_path(
    source: str, color: str, state: State, mounted: Mapping[str, Mounted], where: str
) -> str:
    templated = template_name(clean_path(source), color)
    known = mounted.get(source)
    if templated.startswith("../") and known is not None and known.absolute:
        state.notes.append(
            (where, f"{source} is outside the Compose files' folder: its absolute path is kept")
        )
        templated = template_name(known.absolute, color)
    nested = "{color}/{color}"
    if nested in templated:
        single = templated
        while nested in single:
            single = single.replace(nested, "{color}")
        state.notes.append(
            (
                where,
                f"{source}: a colour folder inside a colour folder (the nesting the old "
                f"scripts had to repair) is mapped to {single}: move what is in the nested "
                "folder up before the first apply",
            )
        )
        templated = single
    if templated in state.path_keys:
        return state.path_keys[templated]
    parts = [p for p in templated.split("/") if p not in ("", ".", "..", "{color}")]
    words = [re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"\.[A-Za-z0-9]+$", "", p)) for p in parts]
    key = words[-1].strip("_") if words else "root"
    if (key in state.names or key in state.paths) and len(words) > 1:
        key = f"{words[-2]}_{words[-1]}".strip("_")
    base, n = key or "path", 2
    key = base
    while key in state.paths:
        key, n = f"{base}_{n}", n + 1
    disk = mounted.get(source) or Mounted("missing")
    entry: dict[str, Any] = {"path": templated}
    looks_like_file = bool(re.search(r"[^/.]\.[A-Za-z0-9]{1,5}$", templated))
    if disk.kind == "file" or (disk.kind == "missing" and looks_like_file):
        entry["kind"] = "file"
    if disk.kind == "missing":
        kind = "a file (it has an extension)" if looks_like_file else "a folder"
        note = f"not on disk here: {kind} is assumed, owned as owner: says"
        state.notes.append((where, f"paths.{key}: {source} {note}"))
        state.paths[key] = N(entry, "not found when imported")
    else:
        entry |= {"uid": disk.uid, "gid": disk.gid, "mode": disk.mode}
        state.paths[key] = N(entry, f"as on disk when imported ({source})")
    state.path_keys[templated] = key
    return key


def clean_path(source: str) -> str:
    if source.startswith("/"):
        return posixpath.normpath(source)
    return posixpath.normpath(source) if source not in (".", "./") else "."
