"""Wait until services are running and healthy: Docker health and their HTTP endpoints (side
effects: Docker API reads, HTTP requests on loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from docker.errors import DockerException

from specctl.appliers import web
from specctl.appliers.engine import api
from specctl.appliers.observe import observe_containers
from specctl.appliers.project import Project
from specctl.compiler.probe_rules import direct_url
from specctl.schemas.desired import DesiredService
from specctl.schemas.errors import ApplyError
from specctl.schemas.live import LiveContainer
from specctl.schemas.spec import Deploy
from specctl.schemas.units import seconds


def health_deadline(deploy: Deploy, *, bound: str | None = None) -> float:
    """How long to wait for health: the health timeout or retries × interval, whichever is
    longer, never past `bound` (start_timeout for a deploy, rollback_timeout for a rollback)."""
    wait = max(
        seconds(deploy.health_timeout), deploy.health_retries * seconds(deploy.health_interval)
    )
    return min(wait, seconds(bound or deploy.start_timeout))


def http_ok(url: str, *, timeout: float = 3.0) -> tuple[bool, str]:
    try:
        response = web.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"[:200]
    return response.is_success, f"HTTP {response.status_code}"


def service_problem(svc: DesiredService, container: LiveContainer | None) -> str | None:
    """Why this service is not ready yet, or None when it is."""
    if container is None:
        return "no container"
    if container.state != "running":
        return f"container is {container.state}"
    if svc.healthcheck is not None and container.health != "healthy":
        return f"docker health: {container.health or 'none yet'}"
    if svc.health_url_path and svc.host_port:
        ok, detail = http_ok(direct_url(svc.host_port, svc.health_url_path, ip=svc.host_ip))
        if not ok:
            return f"GET :{svc.host_port}{svc.health_url_path}: {detail}"
    return None


def wait_healthy(
    project: Project,
    compose_project: str,
    services: list[DesiredService],
    *,
    deploy: Deploy,
    progress: Callable[[str], None],
    bound: str | None = None,
) -> list[str]:
    """Poll until every service is ready, then return their container ids; on the deadline,
    fail with logs and health output."""
    deadline_s = health_deadline(deploy, bound=bound)
    interval = min(seconds(deploy.health_interval), 0.25)  # one list call a poll: cheap
    start = time.monotonic()
    last_note = start
    while True:
        found = {
            c.service: c
            for c in observe_containers(project)
            if c.project == compose_project and not c.leftover
        }
        problems = {s.address: service_problem(s, found.get(s.name)) for s in services}
        waiting = {k: v for k, v in problems.items() if v}
        if not waiting:
            return [found[s.name].id for s in services if s.name in found]
        elapsed = time.monotonic() - start
        if elapsed > deadline_s:
            address, why = sorted(waiting.items())[0]
            name = address.rsplit(".", 1)[-1]
            raise ApplyError(
                f"{address}: not healthy after {deadline_s:.0f}s ({why})"
                + failure_details(found.get(name)),
                hint="look at the logs above; fix the service, then apply again",
            )
        if time.monotonic() - last_note >= 5:
            last_note = time.monotonic()
            progress(
                f"waiting {elapsed:4.0f}s: "
                + "; ".join(f"{k}: {v}" for k, v in sorted(waiting.items()))
            )
        time.sleep(interval)


def failure_details(container: LiveContainer | None, *, lines: int = 15) -> str:
    """The container's last log lines and last health-check output, for an error message."""
    if container is None:
        return ""
    out = []
    try:
        logs = api().logs(container.id, tail=lines, stdout=True, stderr=True)
        text = logs.decode("utf-8", "replace").strip()
        if text:
            out.append("last log lines:\n    " + "\n    ".join(text.splitlines()[-lines:]))
        inspected = api().inspect_container(container.id)
        state = inspected.get("State", {})
        health_log = (state.get("Health") or {}).get("Log") or []
        if health_log:
            output = str(health_log[-1].get("Output", "")).strip()[:300]
            out.append(f'last health check: exit {health_log[-1].get("ExitCode")}, "{output}"')
        if state.get("ExitCode"):
            out.append(
                f"exit code {state.get('ExitCode')}, restarts {inspected.get('RestartCount', 0)}"
            )
    except DockerException:
        return ""
    return ("\n  " + "\n  ".join(out)) if out else ""
