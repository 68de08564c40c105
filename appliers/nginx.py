"""Install, validate, reload and prove an nginx config inside the running proxy (side effects:
files in the live config folder, `docker exec`, HTTP requests through nginx)."""

from __future__ import annotations

import hashlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException

from specctl.appliers import handover, pidfd
from specctl.appliers.engine import api
from specctl.appliers.errors import api_error
from specctl.appliers.observe import PREVIOUS, live_config_path, loaded_marker
from specctl.appliers.project import Project
from specctl.compiler.expand import NGINX_CONFIG_DIR
from specctl.compiler.exposure import host_ip, url_host
from specctl.compiler.maintenance import FLAG
from specctl.compiler.nginx import Block, find_upstreams, managed_server
from specctl.compiler.preview import FLAG as PREVIEW_FLAG
from specctl.schemas.desired import Desired, DesiredUpstream
from specctl.schemas.errors import ApplyError, CompileError

NEXT = "nginx.conf.next"
# What served before maintenance or a preview was laid over it.
BEFORE_OVERLAY = "nginx.conf.before-overlay"


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


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)


def stage(project: Project, text: str) -> Path:
    folder = live_config_path(project).parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NEXT
    write_atomic(path, text)
    return path


@dataclass
class Ready:
    """What staging learnt for the switch that follows: the proxy container, the workers that
    served before (the switch proof waits until none of them accepts connections any more), a
    pidfd to signal its master with (see pidfd) and pidfds on those workers (see handover),
    all taken before the config changes."""

    proxy: str
    workers: frozenset[str] | None
    handle: pidfd.Handle | None = None
    old: handover.OldWorkers | None = None

    @classmethod
    def now(cls, proxy: str) -> Ready:
        from specctl.appliers.proof import serving_workers

        return cls(proxy, serving_workers(proxy))

    @classmethod
    def held(cls, proxy: str) -> Ready:
        """`now`, holding nginx's master and its workers where the engine runs on this host."""
        handle = pidfd.prepare(proxy)
        ready = cls.now(proxy)
        ready.handle = handle
        if handle is not None and ready.workers:
            ready.old = handover.hold(handle.pid, ready.workers)
        return ready

    def release(self) -> None:
        """Give back what is held, when the switch will not use it."""
        pidfd.close(self.handle)
        self.handle = None
        if self.old is not None:
            self.old.release()
            self.old = None


def validate_staged(container_id: str) -> Ready:
    """`nginx -t` of the staged config, inside the running proxy; readies the reload."""
    ready = Ready.held(container_id)
    code, output = exec_in(container_id, nginx_test_argv(f"{NGINX_CONFIG_DIR}/{NEXT}"))
    if code != 0:
        ready.release()
        raise ApplyError(
            f"proxy.nginx: the new config was rejected by `nginx -t` (exit {code}): {output}",
            hint="the live config was not touched; fix the spec or the base config",
        )
    return ready


def staged_text(project: Project) -> str:
    return (live_config_path(project).parent / NEXT).read_text(encoding="utf-8")


def install_staged(project: Project, *, remember: bool = True) -> None:
    """Keep the current config as .previous, then move the staged one into place atomically.
    Installing the same text again (a re-run) keeps .previous as it was. A config in
    maintenance mode is remembered as it was before maintenance (what served the colour);
    maintenance on and off themselves (`remember=False`) leave .previous alone."""
    live = live_config_path(project)
    staged = live.parent / NEXT
    if remember and live.exists():
        current = live.read_text(encoding="utf-8")
        before = live.parent / BEFORE_OVERLAY
        if (FLAG in current or PREVIEW_FLAG in current) and before.is_file():
            current = before.read_text(encoding="utf-8")
        if current != staged.read_text(encoding="utf-8"):
            write_atomic(live.parent / PREVIOUS, current)
    staged.replace(live)


def mark_loaded(project: Project) -> None:
    """Record that nginx now runs the installed config (see observe_nginx)."""
    live = live_config_path(project)
    write_atomic(loaded_marker(project), hashlib.sha256(live.read_bytes()).hexdigest() + "\n")


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


def reload(ready: Ready) -> None:
    """SIGHUP to nginx's master (PID 1 in the proxy container, started with -c NGINX_CONFIG):
    through the pidfd opened when the config was staged, else one API call. The config was
    validated with `nginx -t` first; the proof that follows catches a reload nginx refused.
    Through the pidfd, the old workers are then told to stop accepting as soon as a new one
    runs (see handover)."""
    handle, ready.handle = ready.handle, None
    old, ready.old = ready.old, None
    if handle is not None and pidfd.send(handle, signal.SIGHUP):
        if old is not None:
            handover.hand_over(old)
        return
    if old is not None:
        old.release()
    try:
        api().kill(ready.proxy, signal="SIGHUP")
    except DockerException as exc:
        raise api_error("proxy.nginx: reload", exc) from None


def public_url(project: Project) -> str:
    """Where users' requests enter, on this host: the proxy's HTTPS port (container port 443)
    when it has one, else its HTTP port (80), else its first port."""
    ports = project.spec.proxy.ports
    tls = next((p for p in ports if p.container == 443), None)
    port = tls or next((p for p in ports if p.container == 80), ports[0])
    engine = project.spec.engine
    # On a Swarm the ports are published in host mode on the edge node, on every address.
    where = (engine.edge_address or "127.0.0.1") if engine.kind == "swarm" else host_ip(port.bind)
    return f"{'https' if tls else 'http'}://{url_host(where)}:{port.host}"


def proxy_host(project: Project) -> str | None:
    """The site name requests through the proxy ask for (Host, and SNI over TLS)."""
    return project.spec.domain
