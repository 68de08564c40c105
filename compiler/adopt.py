"""Taking over a system specctl did not create: which running containers serve as the spec's
services, how they look in specctl's terms, and the user's nginx config switched in place; pure."""

from __future__ import annotations

import re

from specctl.compiler.nginx import find_upstreams, managed_server, per_colour, replace_address
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.live import LiveContainer, Takeover
from specctl.schemas.spec import COLORS, Spec

MAIN_CONFIG = "/etc/nginx/nginx.conf"


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[-_.]", name.lower()) if t]


def _color_of(*names: str | None) -> str | None:
    for name in names:
        for token in _tokens(name or ""):
            if token in COLORS:
                return token
    return None


def _bare(name: str, project: str) -> str:
    """`tko-blue-web-1` -> `web`: the project prefix, colour and replica number taken off."""
    tokens = [t for t in _tokens(name) if t not in COLORS]
    if tokens and tokens[-1].isdigit():
        tokens = tokens[:-1]
    prefix = _tokens(project)
    if tokens[: len(prefix)] == prefix and len(tokens) > len(prefix):
        tokens = tokens[len(prefix) :]
    return "-".join(tokens)


def match_takeovers(
    spec: Spec,
    desired: dict[str, Desired],
    containers: list[LiveContainer],
    *,
    base: str | None,
    network: str,
    proxy_running: bool = False,
) -> list[Takeover]:
    """The running containers without specctl's labels that serve as the spec's services: by
    Compose project (the spec's name, or it with a colour) and service name, by container name
    (`blue-web`, `web-green`, `shop-db`), and for proxy.nginx by a published port of the proxy.
    A bare name (`db`) is not enough: it may be another app's. The colour is the one a name
    carries, else blue (one Compose file is blue's, as `specctl import` maps it). `base`: the
    host path of proxy.base, to find the config nginx loads. Another container on the proxy's
    port counts only when it looks like nginx (an nginx image, or an nginx config mounted) and
    specctl's own proxy does not run (`proxy_running`)."""
    first = desired[COLORS[0]]
    projects = {spec.project, *(f"{spec.project}-{c}" for c in COLORS)}
    proxy_ports = {p.host for p in spec.proxy.ports}
    taken: dict[str, Takeover] = {}
    for c in sorted(containers, key=lambda c: c.name or c.id):
        if not c.running or c.labels.get("specctl.project") or c.leftover:
            continue
        name = c.name or c.id[:12]
        service = c.labels.get("com.docker.compose.service")
        project = c.project
        held = sorted({p.host for p in c.published} & proxy_ports)
        config = config_mount(c, base)
        if held and not proxy_running and (config or "nginx" in (c.image or "")):
            address = first.proxy.address
            if address in taken:
                continue
            ports = ", ".join(str(p) for p in held)
            taken[address] = Takeover(
                address=address,
                container=name,
                id=c.id,
                why=f"holds port {ports} of proxy.nginx",
                aliases=[],
                joined=network in c.networks,
                config=config,
            )
            continue
        ours = project in projects
        bare = {_bare(service, spec.project)} if service and ours else set()
        bare.add(_bare(name, spec.project))
        color = _color_of(project if ours else None, service if ours else None, name) or COLORS[0]
        svc = _service(desired[color], bare)
        if svc is None:
            continue
        if not ours and name.lower() not in _names(svc, spec.project):
            continue
        if svc.address in taken:
            continue
        why = f"Compose project {project}, service {service}" if ours else f"named {name}"
        taken[svc.address] = Takeover(
            address=svc.address,
            container=name,
            id=c.id,
            why=why,
            # A shared service joins the project's network, where specctl's colours look for
            # it. A colour's container does not (nginx reaches it as it always did), nor does
            # nginx: joining a network can move a container's published ports to it, which
            # breaks the connections in flight; the colours join nginx's networks instead.
            aliases=list(svc.aliases) if svc.scope == "shared" else [],
            joined=network in c.networks,
        )
    return sorted(taken.values(), key=lambda t: t.address)


def _service(desired: Desired, names: set[str]) -> DesiredService | None:
    for svc in (*desired.services, *desired.shared):
        if _bare(svc.name, "") in names:  # `main_db` is `main-db` once split like the names
            return svc
    return None


def _names(svc: DesiredService, project: str) -> set[str]:
    """The container names that, outside a Compose project of the spec's name, still mean the
    service: one naming its colour (`blue-backend`), the project (`shop-db`) or the spec's
    container_name; a bare `db` may well be another app's."""
    out = {f"{project}-{svc.name}", f"{project}_{svc.name}"}
    if svc.color:
        out |= {f"{svc.color}-{svc.name}", f"{svc.name}-{svc.color}"}
    if svc.container_name:
        out.add(svc.container_name)
    return {n.lower() for n in out}


def config_mount(c: LiveContainer, base: str | None) -> str | None:
    """The host file of the nginx config the container loads: the one that is proxy.base,
    else the one mounted as nginx's main config."""
    files = [m for m in c.mounts if m.kind == "bind" and m.source]
    for m in files:
        if base is not None and m.source == base:
            return m.source
    for m in files:
        if m.target == MAIN_CONFIG:
            return m.source
    return None


def present(container: LiveContainer, takeover: Takeover, desired: Desired) -> LiveContainer:
    """The taken-over container in specctl's terms: its project, service and colour those of the
    address it serves as (the diff, status and health then see it there)."""
    if takeover.address == desired.proxy.address:
        project, service, color = desired.shared_project, desired.proxy.name, None
    else:
        scope, _, name = takeover.address.split(".", 2)
        color = scope if scope in COLORS else None
        project = f"{desired.project}-{color}" if color else desired.shared_project
        service = name
    return container.model_copy(
        update={
            "project": project,
            "service": service,
            "color": color,
            "adopted": takeover.container,
        }
    )


def own_address(c: LiveContainer, server: str) -> str:
    """The address a taken-over container had in the user's config: its Compose service name
    (or container name) with the port of `server`."""
    host = c.labels.get("com.docker.compose.service") or c.adopted or c.id[:12]
    _, sep, port = server.rpartition(":")
    return f"{host}:{port}" if sep and port.isdigit() else host


def translate(server: str, containers: list[LiveContainer], desired: dict[str, Desired]) -> str:
    """A server of the user's nginx config in specctl's words: `web:8080`, which names the
    taken-over blue web (by its container or Compose service name), is `blue-web:8080`."""
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit():
        host, port = server, ""
    for c in containers:
        if c.adopted is None or c.color is None or c.service is None:
            continue
        names = {c.adopted.lower(), (c.labels.get("com.docker.compose.service") or "").lower()}
        aliases = desired[c.color].service(c.service).aliases
        if host.lower() in names and aliases:
            return aliases[0] + (f":{port}" if port else "")
    return server


def switched_text(
    text: str, desired: Desired, *, filename: str, servers: dict[str, str] | None = None
) -> str:
    """The user's own nginx config with each managed upstream's server line pointing at the
    colour (`servers`: upstream -> address, where the colour is a container taken over and
    keeps the address it had); nothing else changes (specctl's access log and header are not
    added: the file is the user's, and proxy.base)."""
    lines = text.split("\n")
    blocks = find_upstreams(text, filename=filename)
    for upstream in desired.upstreams:
        for block in blocks.get(upstream.name, []):
            if block.context != "http":
                continue
            server = managed_server(block, upstream, filename)
            address = (servers or {}).get(upstream.name, upstream.server)
            new = replace_address(lines[server.line - 1], server.address, address)
            if new is not None:
                lines[server.line - 1] = new
    return "\n".join(per_colour(line, desired.color) for line in lines)
