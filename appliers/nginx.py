"""Install, validate, reload and prove an nginx config inside the running proxy (side effects:
files in the live config folder, `docker exec`, HTTP requests through nginx)."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import httpx
from docker.errors import DockerException

from specctl.appliers import pidfd, web
from specctl.appliers.engine import api
from specctl.appliers.errors import api_error
from specctl.appliers.observe import PREVIOUS, live_config_path, loaded_marker
from specctl.appliers.project import Project
from specctl.compiler.expand import NGINX_CONFIG_DIR
from specctl.compiler.exposure import host_ip, url_host
from specctl.compiler.nginx import Block, find_upstreams, managed_server
from specctl.schemas.desired import Desired, DesiredUpstream
from specctl.schemas.errors import ApplyError, CompileError

NEXT = "nginx.conf.next"


def nginx_test_argv(config: str) -> list[str]:
    return ["nginx", "-t", "-q", "-c", config]


def exec_in(container_id: str, argv: list[str]) -> tuple[int, str]:
    try:
        created = api().exec_create(container_id, argv, stdout=True, stderr=True)
        output = api().exec_start(created["Id"])
        code = api().exec_inspect(created["Id"]).get("ExitCode")
    except DockerException as exc:
        return 1, str(exc).splitlines()[0][:300]
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    return int(code if code is not None else 1), text.strip()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)


def stage(project: Project, text: str) -> Path:
    folder = live_config_path(project).parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NEXT
    _write_atomic(path, text)
    return path


def validate_staged(container_id: str) -> None:
    """`nginx -t` of the staged config; also readies the reload signal (see pidfd)."""
    pidfd.prepare(container_id)
    code, output = exec_in(container_id, nginx_test_argv(f"{NGINX_CONFIG_DIR}/{NEXT}"))
    if code != 0:
        raise ApplyError(
            f"proxy.nginx: the new config was rejected by `nginx -t` (exit {code}): {output}",
            hint="the live config was not touched; fix the spec or the base config",
        )


def install_staged(project: Project) -> None:
    """Keep the current config as .previous, then move the staged one into place atomically.
    Installing the same text again (a re-run) keeps .previous as it was."""
    live = live_config_path(project)
    staged = live.parent / NEXT
    if live.exists():
        current = live.read_text(encoding="utf-8")
        if current != staged.read_text(encoding="utf-8"):
            _write_atomic(live.parent / PREVIOUS, current)
    staged.replace(live)


def mark_loaded(project: Project) -> None:
    """Record that nginx now runs the installed config (see observe_nginx)."""
    live = live_config_path(project)
    _write_atomic(loaded_marker(project), hashlib.sha256(live.read_bytes()).hexdigest() + "\n")


def config_for(project: Project, desired: Desired) -> str:
    """The config to go back to `desired.color`: the one that was live before the last switch
    when it routes there (exactly what ran before), else the colour's generated config."""
    previous = live_config_path(project).parent / PREVIOUS
    if previous.is_file():
        text = previous.read_text(encoding="utf-8")
        try:
            blocks = find_upstreams(text, filename=str(previous))
        except CompileError:
            blocks = {}
        if all(_routes(blocks, u) for u in desired.upstreams):
            return text
    return project.nginx_file(desired.color).read_text(encoding="utf-8")


def _routes(blocks: dict[str, list[Block]], upstream: DesiredUpstream) -> bool:
    """The config's one http block of this upstream sends its traffic to `upstream.server`."""
    found = [b for b in blocks.get(upstream.name, []) if b.context == "http"]
    try:
        return len(found) == 1 and managed_server(found[0], upstream, "").address == upstream.server
    except CompileError:
        return False


def reload(container_id: str) -> None:
    """SIGHUP to nginx's master (PID 1 in the proxy container, started with -c NGINX_CONFIG):
    through the pidfd opened when the config was staged, else one API call. The config was
    validated with `nginx -t` first; the proof that follows catches a reload nginx refused."""
    if pidfd.send(container_id, signal.SIGHUP):
        return
    try:
        api().kill(container_id, signal="SIGHUP")
    except DockerException as exc:
        raise api_error("proxy.nginx: reload", exc) from None


def public_url(project: Project) -> str:
    ports = project.spec.proxy.ports
    http = next((p for p in ports if p.container == 80), ports[0])
    return f"http://{url_host(host_ip(http.bind))}:{http.host}"


STABLE = 3  # answers in a row from the new colour before a switch counts as proven


def prove(project: Project, desired: Desired, *, timeout: float) -> dict[str, float]:
    """Each upstream's probe path, requested through nginx on a new connection each time, must
    answer from `desired.color` STABLE times in a row: right after a reload, an old worker may
    still accept a connection or two. Returns, per upstream, the seconds until the first such
    answer."""
    header = project.spec.proxy.color_header
    base = public_url(project)
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
                response = web.get(base + upstream.probe, timeout=min(5.0, left))
                color = response.headers.get(header, "")
                last[upstream.name] = f"HTTP {response.status_code}, {header}: {color or '(none)'}"
                ok = color == desired.color and response.status_code < 500
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
            raise ApplyError(
                f"switch not proven within {timeout:.0f}s: requests through {base} did not reach "
                f"{desired.color} ({details})",
                hint=f"each upstream's probe path must be routed to it by nginx and answered "
                f"with the colour in the {header} response header",
            )
        if not all(streak.values()):
            time.sleep(0.02)
