"""Take over a system specctl did not create, in place: its containers join the project's
network under the names specctl's configs use; replacing one of them later, on request, is
measured (side effects: Docker API, HTTP requests on loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from docker.errors import DockerException

from specctl.appliers import compose, nginx
from specctl.appliers.engine import api
from specctl.appliers.errors import api_error, not_found
from specctl.appliers.observe import observe_containers, observe_takeover
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired


def join(project: Project, desired: Desired) -> list[str]:
    """Connect each taken-over container not yet on the project's network to it, with its
    aliases; returns the ids joined (what the undo disconnects)."""
    compose.ensure_network(desired.network, project_name=project.spec.project)
    joined = []
    for t in observe_takeover(project)[1]:
        if t.joined or not t.aliases:
            continue
        try:
            api().connect_container_to_network(t.id, desired.network, aliases=t.aliases)
        except DockerException as exc:
            raise api_error(
                f"{t.address}: {t.container} cannot join {desired.network}", exc
            ) from None
        joined.append(t.id)
    return joined


def reach(project: Project, desired: Desired) -> list[str]:
    """The colour's containers join the networks of the user's nginx (taken over) under the
    names its config will use (`green-web`); returns what joined."""
    out: list[str] = []
    containers = observe_containers(project)
    proxy = next((c for c in containers if c.adopted and c.service == desired.proxy.name), None)
    if proxy is None:
        return out
    ours = {c.service: c for c in containers if c.project == desired.color_project}
    for svc in desired.services:
        c = ours.get(svc.name)
        if c is None or not svc.aliases:
            continue
        for network in proxy.networks:
            if network in (desired.network, "bridge", "host", "none") or network in c.networks:
                continue  # Docker's default networks take no aliases
            try:
                api().connect_container_to_network(c.id, network, aliases=svc.aliases)
            except DockerException as exc:
                raise api_error(f"{svc.address}: join {network} (nginx's network)", exc) from None
            out.append(f"{svc.address} joined {network} as {', '.join(svc.aliases)}")
    return out


def leave(desired: Desired, ids: list[str]) -> None:
    for container in ids:
        try:
            api().disconnect_container_from_network(container, desired.network)
        except DockerException as exc:
            if not not_found(exc):
                raise api_error(
                    f"container {container[:12]}: leave {desired.network}", exc
                ) from None


def retire(container: str) -> None:
    """Stop and remove a taken-over container (its volumes are kept)."""
    try:
        api().stop(container, timeout=10)
        api().remove_container(container, v=False)
    except DockerException as exc:
        if not not_found(exc):
            raise api_error(f"taken-over container {container}: stop and remove", exc) from None


def replace_proxy(
    project: Project, desired: Desired, container: str, *, serving: str, line: Callable[[str], None]
) -> float:
    """The user's nginx gives way to specctl's proxy on the same ports, routing to `serving`:
    specctl's config is installed first, then the old container stops and the new one starts.
    Returns the seconds during which nothing answered on the public port (measured: a request
    every 20 ms on a new connection, from the stop until the first answer)."""
    text = project.nginx_file(serving).read_text(encoding="utf-8")
    nginx.stage(project, text)
    nginx.install_staged(project, remember=False)
    url = nginx.public_url(project)
    line(f"replacing {container} by specctl's proxy.nginx (requests fail until it answers)")
    start = time.monotonic()
    try:
        api().stop(container, timeout=10)
    except DockerException as exc:
        raise api_error(f"taken-over container {container}: stop", exc) from None
    docker = compose.client(project, desired, "shared")
    try:
        compose.up(docker, [desired.proxy.name], what="start proxy.nginx")
    except Exception:
        api().start(container)  # theirs serves again, as it was
        raise
    retire(container)
    nginx.mark_loaded(project)
    deadline = start + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0, verify=False)
            return time.monotonic() - start
        except httpx.HTTPError:
            time.sleep(0.02)
    return time.monotonic() - start
