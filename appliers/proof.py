"""Prove a switch through the real serving path (side effects: HTTP requests through nginx, one
`docker top` call per check of nginx's workers).

Requests go where users' requests go: the proxy's HTTPS port when it has one (with the site's
name as SNI and Host, so the base config's own server block answers), else its HTTP port.

nginx keeps its old workers accepting connections for 100 ms after a reload (a fixed pause in
its master process; with the engine on this host specctl cuts it short, see handover), so
answers right after the signal come from either colour, whatever they say. A switch counts as
proven once nginx provably routes every new connection with the new config (each worker that
served before the reload is gone or shutting down) and then each upstream answers without a
server error, STABLE times in a row; an application that names its colour in the colour header
must name the new one (most real applications send no such header and need not)."""

from __future__ import annotations

import time

import httpx

from specctl.appliers import web
from specctl.appliers.engine import api
from specctl.appliers.nginx import proxy_host, public_url
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError

STABLE = 3  # answers in a row from the new colour before a switch counts as proven


class NotProven(ApplyError):
    """The new config is installed, but requests through nginx did not show it serving."""


def serving_workers(container_id: str) -> frozenset[str] | None:
    """The pids of nginx's workers that accept connections (not those shutting down after a
    reload), or None when Docker cannot list them."""
    from docker.errors import DockerException

    try:
        rows = api().top(container_id, ps_args="-o pid,args").get("Processes") or []
    except DockerException:
        return None
    return frozenset(
        str(row[0])
        for row in rows
        if str(row[-1]).startswith("nginx: worker process") and "shutting down" not in row[-1]
    )


class Reload:
    """Whether nginx serves every new connection with workers started after `before`."""

    # Where Docker cannot list a container's processes (`docker top` needs `ps` on the host):
    # nginx's fixed 100 ms pause before the old workers stop accepting, with room to spare.
    FALLBACK_SECONDS = 0.5

    def __init__(self, container_id: str | None, before: frozenset[str] | None) -> None:
        self.container_id = container_id
        self.before = before
        self.started = time.monotonic()  # made just before the signal
        self.done = container_id is None  # nginx was started with the new config

    def finished(self) -> bool:
        if self.done or self.container_id is None:
            return True
        now = serving_workers(self.container_id) if self.before is not None else None
        if now is None or self.before is None:
            self.done = time.monotonic() - self.started >= self.FALLBACK_SECONDS
        else:
            self.done = bool(now) and not (now & self.before)
        return self.done


def prove_switch(
    project: Project,
    desired: Desired,
    *,
    timeout: float,
    reload: Reload,
    maintenance: bool = False,
    allowed: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Each upstream's probe path, requested through nginx on a new connection each time, must
    answer for `desired.color` STABLE times in a row, once no old worker accepts any more (with
    `maintenance`: answer the maintenance page, a 503 with Retry-After; or, when `allowed`
    addresses still reach the app, the app as well). Returns, per upstream, the seconds until
    the first such answer."""
    header = project.spec.proxy.color_header
    base, host = public_url(project), proxy_host(project)
    start = time.monotonic()
    first: dict[str, float] = {}
    streak: dict[str, int] = {u.name: 0 for u in desired.upstreams}
    last: dict[str, str] = {}
    while True:
        for upstream in desired.upstreams:
            if streak[upstream.name] >= STABLE:
                continue
            try:
                # A busy host answers slowly: wait for an answer up to what the deadline leaves.
                left = max(0.5, timeout - (time.monotonic() - start))
                response = web.get(
                    base + upstream.probe, timeout=min(5.0, left), host=host, headers=headers
                )
                color = response.headers.get(header, "")
                last[upstream.name] = f"HTTP {response.status_code}, {header}: {color or '(none)'}"
                if maintenance:
                    page = response.status_code == 503 and "retry-after" in response.headers
                    ok = (page or (allowed and response.status_code < 500)) and reload.finished()
                elif response.status_code >= 500 or (color and color != desired.color):
                    ok = False
                else:
                    # Even an answer from the new colour proves little while old workers still
                    # accept connections: the next one may reach the old colour.
                    ok = reload.finished()
                    if not ok:
                        last[upstream.name] += "; nginx still runs workers of the previous config"
            except httpx.HTTPError as exc:
                last[upstream.name] = f"{type(exc).__name__}"
                ok = False
            streak[upstream.name] = streak[upstream.name] + 1 if ok else 0
            if ok:
                first.setdefault(upstream.name, time.monotonic() - start)
        if all(n >= STABLE for n in streak.values()):
            return first
        if time.monotonic() - start > timeout:
            missing = [u for u in desired.upstreams if streak[u.name] < STABLE]
            details = "; ".join(f"{u.address} {u.probe}: {last.get(u.name)}" for u in missing)
            reached = "the maintenance page" if maintenance else desired.color
            raise NotProven(
                f"switch not proven within {timeout:.0f}s: requests through {base} did not reach "
                f"{reached} ({details})",
                hint="each upstream's probe path must be routed to it by the nginx config and "
                f"answer without a server error; an application that sends {header} must name "
                "the colour it runs as",
            )
        if not all(streak.values()):
            time.sleep(0.02)
