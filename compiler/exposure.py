"""What a project publishes beyond loopback, in the spec and on the host, and the address at which
specctl itself reaches a published port; pure."""

from __future__ import annotations

import ipaddress

from specctl.schemas.desired import Desired
from specctl.schemas.live import LiveContainer

EVERY_ADDRESS = "0.0.0.0"  # the spec's word for Docker's default: every address


def host_ip(bind: str) -> str | None:
    """The Compose `host_ip` of a spec's `bind`: none for 0.0.0.0, which Docker then publishes on
    every IPv4 and IPv6 address, as `bind: 0.0.0.0` means to the person who wrote it."""
    return None if bind == EVERY_ADDRESS else bind


def is_public(ip: str | None) -> bool:
    """Whether a binding is reachable from beyond this host (no address is every address)."""
    if not ip:
        return True
    try:
        return not ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return True


def reach_host(ip: str | None) -> str:
    """Where specctl connects to a port published on `ip`: loopback unless it is bound to one
    particular address (a URL needs url_host)."""
    if not ip or ip == EVERY_ADDRESS:
        return "127.0.0.1"
    return "::1" if ip == "::" else ip


def url_host(ip: str | None) -> str:
    host = reach_host(ip)
    return f"[{host}]" if ":" in host else host


def planned_exposure(desired: Desired) -> list[str]:
    """One line per service port the spec publishes beyond loopback (the proxy is the way in)."""
    return [
        f"{svc.address} publishes {svc.host_port} on {svc.host_ip or EVERY_ADDRESS}"
        for svc in (*desired.shared, *desired.services)
        if svc.host_port is not None and is_public(svc.host_ip)
    ]


def live_exposure(containers: list[LiveContainer], *, proxy: tuple[str, str]) -> list[str]:
    """One line per container port published beyond loopback, leaving out the proxy's
    (`proxy` is its compose project and service)."""
    out = []
    for c in containers:
        if (c.project, c.service) == proxy:
            continue
        by_port: dict[int, list[str]] = {}
        for p in c.published:
            if is_public(p.ip):
                by_port.setdefault(p.host, []).append(p.ip or EVERY_ADDRESS)
        out += [
            f"{c.name} publishes {port} on {', '.join(sorted(set(ips)))}"
            for port, ips in sorted(by_port.items())
        ]
    return out
