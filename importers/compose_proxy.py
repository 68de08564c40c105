"""The Compose importer's proxy: the nginx service of the Compose files and the nginx config
become proxy: (image, ports, base with its upstreams managed, TLS, mounts); pure."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from specctl.compiler.nginx import find_upstreams
from specctl.compiler.nginx_walk import certificate_pairs, walk
from specctl.importers.commented_yaml import N
from specctl.importers.compose_lines import Lines
from specctl.importers.compose_model import (
    STATEFUL,
    Mounted,
    Nginx,
    Service,
    State,
    managed_path,
    port_number,
    published,
)
from specctl.importers.legacy import letsencrypt_tree
from specctl.schemas.errors import CompileError
from specctl.schemas.spec import COLORS


def upstream_ports(nginx: Nginx, services: list[Service]) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        blocks = find_upstreams(nginx.text, filename=nginx.name)
    except CompileError:
        return {}
    for name_blocks in blocks.values():
        for block in name_blocks:
            for entry in block.entries:
                host, _, port = entry.address.rpartition(":")
                svc = _service_of_host(host, services)
                if svc is not None and port.isdigit():
                    found.setdefault(svc.name, int(port))
    return found


def _service_of_host(host: str, services: list[Service]) -> Service | None:
    for svc in services:
        names = {svc.name, *svc.sources.values()}
        names |= {
            str(c.get("container_name")) for c in svc.configs.values() if c.get("container_name")
        }
        names |= {f"{c}-{svc.name}" for c in COLORS}
        if host in names:
            return svc
    return None


def proxy_of(
    proxy: Service | None,
    services: list[Service],
    app: list[Service],
    nginx: Nginx | None,
    state: State,
    lines: Lines,
    mounted: Mapping[str, Mounted],
    bases: dict[str, int],
) -> Any:
    out: dict[str, Any] = {}
    config = next(iter(proxy.configs.values())) if proxy else {}
    color = next(iter(proxy.configs)) if proxy else ""
    image = config.get("image")
    out["image"] = (
        N(image, f"from {proxy.sources[color]}")
        if image and proxy
        else N("nginx:1.25-alpine", "a default: no nginx service in the Compose files")
    )
    listens = _listen_ports(nginx) if nginx else []
    by_target = {int(p["target"]): p for p in published(config)} if config else {}
    ports: list[Any] = []
    for container in listens or sorted(by_target) or [80]:
        p = by_target.get(container)
        host = port_number(p["published"]) if p else container
        entry: dict[str, Any] = {"host": host or container, "container": container}
        if p and p.get("host_ip"):
            entry["bind"] = p["host_ip"]
        ports.append(entry)
    skipped = sorted(set(by_target) - set(listens)) if listens else []
    if skipped and proxy:
        state.notes.append(
            (
                lines.where(proxy, color, "ports"),
                f"proxy: {proxy.sources[color]} published "
                f"{', '.join(str(by_target[c]['published']) for c in skipped)}, which "
                f"{nginx.name if nginx else 'the config'} does not listen on: the proxy publishes "
                "the ports it listens on",
            )
        )
    out["ports"] = ports
    if nginx:
        out["base"] = N(nginx.base, f"{nginx.name}: specctl rewrites only its upstream blocks")
        out["upstreams"] = _upstreams_from(nginx, services, state)
        tls = _tls(nginx, state)
        if tls:
            out["tls"] = tls
    else:
        web = [s for s in app if _has_port(s) and not STATEFUL.search(_image(s))]
        if web:
            out["upstreams"] = {web[0].name: {"service": web[0].name}}
            out["locations"] = N(
                [{"path": "/", "upstream": web[0].name}],
                f"a guess: / to {web[0].name}, the first service with a port; add an upstream "
                "and a location per route (or pass --nginx with your config)",
            )
    if proxy:
        volumes = []
        for volume in config.get("volumes") or []:
            target = str(volume.get("target"))
            where = lines.where(proxy, color, "volumes")
            if target.startswith("/etc/nginx"):
                state.notes.append(
                    (
                        where,
                        f"proxy: {volume.get('source')}:{target} not mounted: specctl "
                        "writes nginx's config (proxy.base is yours, with its includes)",
                    )
                )
                continue
            if (
                volume.get("type") == "bind"
                and "tls" in out
                and target == out["tls"].value.get("target")
            ):
                continue
            if volume.get("type") != "bind":
                state.notes.append((where, f"proxy: the volume at {target} not carried over"))
                continue
            # the proxy serves both colours: its mounts keep their paths as written
            key = managed_path(str(volume["source"]), "", state, mounted, where)
            entry = {"path": key, "target": target}
            if volume.get("read_only"):
                entry["read_only"] = True
            volumes.append(entry)
        if volumes:
            out["volumes"] = volumes
    return out


def _image(svc: Service) -> str:
    return str(next(iter(svc.configs.values())).get("image") or "")


def _has_port(svc: Service) -> bool:
    config = next(iter(svc.configs.values()))
    return bool(published(config) or config.get("expose"))


def _listen_ports(nginx: Nginx) -> list[int]:
    ports: list[int] = []
    try:
        events = list(walk(nginx.text, filename=nginx.name))
    except CompileError:
        return ports
    for event in events:
        if event.directive == "listen" and event.words[1:]:
            address = str(event.words[1][0]).rsplit(":", 1)[-1]
            if address.isdigit() and int(address) not in ports:
                ports.append(int(address))
    return ports


def _upstreams_from(nginx: Nginx, services: list[Service], state: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        blocks = find_upstreams(nginx.text, filename=nginx.name)
    except CompileError as exc:
        state.notes.append((nginx.name, f"its upstream blocks could not be read: {exc.message}"))
        return out
    for name, name_blocks in blocks.items():
        block = name_blocks[0]
        hosts = [e.address.rpartition(":")[0] or e.address for e in block.entries]
        found = [s for s in (_service_of_host(h, services) for h in hosts) if s is not None]
        if not found:
            state.notes.append(
                (
                    f"{nginx.name}:{block.first}",
                    f"upstream {name} ({', '.join(hosts)}) names no "
                    "service of the Compose files: left as it is, not switched by specctl",
                )
            )
            continue
        entry: dict[str, Any] = {"service": found[0].name}
        out[name] = N(
            entry, f"{nginx.name}:{block.first}; probe: / (set a path that proves the colour)"
        )
    _direct_proxy_passes(nginx, services, set(blocks), state)
    return out


def _direct_proxy_passes(
    nginx: Nginx, services: list[Service], upstreams: set[str], state: State
) -> None:
    """`proxy_pass http://web:8080` names a service, not an upstream block: specctl could not
    switch it; say how to write it."""
    try:
        events = list(walk(nginx.text, filename=nginx.name))
    except CompileError:
        return
    for event in events:
        if event.directive != "proxy_pass" or len(event.words) < 2:
            continue
        url = str(event.words[1][0])
        host = url.split("://", 1)[-1].split("/", 1)[0]
        name, _, port = host.partition(":")
        svc = _service_of_host(name, services)
        if svc is None or name in upstreams:
            continue
        block = f"upstream {svc.name} {{ server {name}:{port or 80}; }}"
        state.notes.append(
            (
                f"{nginx.name}:{event.line}",
                f"proxy_pass {url} names the service, not an upstream block, so specctl cannot "
                f"switch it: add `{block}` and proxy_pass http://{svc.name}",
            )
        )


def _tls(nginx: Nginx, state: State) -> Any:
    try:
        pairs = certificate_pairs(nginx.text, filename=nginx.name)
    except CompileError:
        return None
    if not pairs:
        return None
    certificate, key = pairs[0]
    tree = letsencrypt_tree(posixpath.dirname(certificate))
    if tree is None:
        folder = posixpath.dirname(certificate)
        key_dir = posixpath.dirname(key)
        if folder != key_dir:
            state.notes.append(
                (nginx.name, "ssl_certificate and its key are in two folders: proxy.tls not set")
            )
            return None
        state.paths["certs"] = {
            "path": folder,
            "kind": "certificate",
            "uid": 0,
            "gid": 0,
            "mode": "0700",
        }
        return N(
            {
                "path": "certs",
                "target": folder,
                "certificate": posixpath.basename(certificate),
                "key": posixpath.basename(key),
            },
            f"{nginx.name}: ssl_certificate",
        )
    root, domain = tree
    state.paths["certs"] = N(
        {"path": root, "kind": "certificate", "uid": 0, "gid": 0, "mode": "0700"},
        "the whole tree: certbot's live/ files are symlinks into archive/",
    )
    return N(
        {
            "path": "certs",
            "target": root,
            "certificate": posixpath.relpath(certificate, root),
            "key": posixpath.relpath(key, root),
        },
        f"{nginx.name}: ssl_certificate for {domain}",
    )
