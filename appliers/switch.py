"""Switch traffic in two moves: stage a colour's nginx config and `nginx -t` it inside the
running proxy (before anything changes), then install it atomically, signal nginx to reload and
prove it through the public port (side effects)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from specctl.appliers import compose, nginx
from specctl.appliers.engine import running_container
from specctl.appliers.nginx import Ready
from specctl.appliers.observe import (
    PREVIOUS,
    adopted_config,
    live_config_path,
    loaded_marker,
    observe_containers,
)
from specctl.appliers.project import Project
from specctl.appliers.proof import Reload, prove_switch
from specctl.compiler.active import server_color
from specctl.compiler.adopt import own_address, switched_text
from specctl.compiler.maintenance import FLAG
from specctl.compiler.nginx import find_upstreams, managed_server
from specctl.compiler.preview import FLAG as PREVIEW_FLAG
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError
from specctl.schemas.units import seconds


def stage_config(
    project: Project, desired: Desired, *, text: str | None = None
) -> tuple[str, Ready | None]:
    """Write the colour's config beside the live one and validate it inside the running nginx,
    where the upstream host names resolve. `text` defaults to the colour's generated config.
    Returns what happened, and what the switch needs (None: nginx is not running)."""
    adopted = adopted_proxy(project, desired)
    if adopted is not None:
        return stage_adopted(project, desired, adopted, text)
    if text is None:
        text = project.nginx_file(desired.color).read_text(encoding="utf-8")
    nginx.stage(project, text)
    proxy = proxy_id(desired)
    if proxy is None:
        return "nginx is not running: it starts with this config", None
    return "accepted by `nginx -t` inside proxy.nginx", nginx.validate_staged(proxy)


def switch_staged(
    project: Project,
    desired: Desired,
    ready: Ready | None,
    *,
    progress: Callable[[str], None],
    prove: bool = True,
    remember: bool = True,
    maintenance: bool = False,
    allowed: bool = False,
) -> dict[str, float]:
    """Install the staged config and reload nginx (SIGHUP, no exec), or start nginx with it;
    then prove that requests reach the colour. `ready`: what staging learnt, used when the
    proxy is still the container it was staged in. `remember`: see install_staged."""
    adopted = adopted_proxy(project, desired)
    if adopted is not None:
        return switch_adopted(project, desired, adopted, ready, prove=prove)
    proxy = proxy_id(desired)
    nginx.install_staged(project, remember=remember)
    if proxy is not None and (ready is None or ready.proxy != proxy):
        if ready is not None:
            ready.release()
        ready = Ready.now(proxy)
    reload = Reload(proxy, ready.workers if proxy is not None and ready else None)
    if proxy is not None and ready is not None:
        nginx.reload(ready)
    else:
        progress("starting proxy.nginx")
        if project.spec.engine.kind == "swarm":
            from specctl.appliers.swarm.deploy import start_proxy

            start_proxy(project, desired)
        else:
            compose.up(
                compose.client(project, desired, "shared"),
                [desired.proxy.name],
                what="start proxy.nginx",
            )
    nginx.mark_loaded(project)
    if not prove:
        return {}
    return prove_switch(
        project,
        desired,
        timeout=seconds(project.spec.deploy.switch_timeout),
        reload=reload,
        maintenance=maintenance,
        allowed=allowed,
    )


def switch_to(
    project: Project,
    desired: Desired,
    *,
    progress: Callable[[str], None],
    text: str | None = None,
    prove: bool = True,
) -> dict[str, float]:
    """Both moves at once (the undo of a switch)."""
    _, ready = stage_config(project, desired, text=text)
    return switch_staged(project, desired, ready, progress=progress, prove=prove)


def proxy_id(desired: Desired) -> str | None:
    return running_container(desired.shared_project, desired.proxy.name)


class Adopted(NamedTuple):
    """The user's own nginx, taken over: its container and the host file of its config."""

    id: str
    name: str
    config: Path


def adopted_proxy(project: Project, desired: Desired) -> Adopted | None:
    if project.spec.engine.kind == "swarm":
        return None
    for c in observe_containers(project):
        if c.adopted and c.running and c.service == desired.proxy.name:
            path = adopted_config(project, c)
            if path is None:
                raise ApplyError(
                    f"proxy.nginx: {c.adopted}, taken over, mounts neither proxy.base nor "
                    "/etc/nginx/nginx.conf: specctl cannot find the config it loads",
                    hint="mount the config as proxy.base, or `specctl apply --recreate-shared` "
                    "to replace it with specctl's proxy",
                )
            return Adopted(c.id, c.adopted, path)
    return None


def serving_config(project: Project, desired: Desired) -> Path:
    """The file of the nginx config that serves: the user's own when nginx was taken over."""
    adopted = adopted_proxy(project, desired)
    return adopted.config if adopted is not None else live_config_path(project)


def _write_in_place(path: Path, text: str) -> None:
    """A file mounted into a container alone is the inode it was: rewritten, never replaced."""
    with path.open("r+", encoding="utf-8") as handle:
        handle.write(text)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


def stage_adopted(
    project: Project, desired: Desired, proxy: Adopted, text: str | None
) -> tuple[str, Ready | None]:
    """The user's config with the colour's server lines, checked by `nginx -t` inside the
    user's nginx (the only way to check what it loads: the file is written, checked and put
    back; nginx reads it only when signalled). `text`: a config of theirs to put back as it is
    (the undo of a switch); specctl's generated config is never written into their file."""
    if text is not None and (FLAG in text or PREVIEW_FLAG in text):
        raise ApplyError(
            f"maintenance mode and previews need specctl's own proxy; nginx is {proxy.name}, "
            "taken over",
            hint="`specctl apply --recreate-shared` replaces it with specctl's proxy (the plan "
            "says so; the outage is measured)",
        )
    from specctl.appliers.takeover import reach

    reach(project, desired)  # again after a kill: the colour must resolve from their nginx
    serving = _remember(project, proxy)
    if text is not None and not text.startswith("# Generated by specctl"):
        new = text
    else:
        new = switched_text(
            serving, desired, filename=str(proxy.config), servers=_theirs(project, desired)
        )
    nginx.stage(project, new)
    ready = Ready.held(proxy.id)
    _write_in_place(proxy.config, new)
    try:
        code, output = nginx.exec_in(proxy.id, ["nginx", "-t", "-q"])
    finally:
        _write_in_place(proxy.config, serving)
    if code != 0:
        ready.release()
        raise ApplyError(
            f"proxy.nginx: {proxy.name} rejected the new config with `nginx -t` (exit {code}): "
            f"{output}",
            hint=f"{proxy.config} was put back as it was; nginx kept serving it",
        )
    return f"accepted by `nginx -t` inside {proxy.name} (taken over)", ready


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _remember(project: Project, proxy: Adopted) -> str:
    """The config their nginx runs now (after a switch killed before its reload: the one kept
    as .previous), recorded before their file is written: the loaded marker names it and
    .previous holds it, so a kill at any point leaves observe able to tell what serves."""
    folder = live_config_path(project).parent
    folder.mkdir(parents=True, exist_ok=True)
    current = proxy.config.read_text(encoding="utf-8")
    marker, previous = loaded_marker(project), folder / PREVIOUS
    loaded = marker.read_text(encoding="utf-8").strip() if marker.is_file() else _sha(current)
    serving = current
    if loaded != _sha(current) and previous.is_file():
        kept = previous.read_text(encoding="utf-8")
        serving = kept if _sha(kept) == loaded else current
    nginx.write_atomic(previous, serving)
    nginx.write_atomic(marker, _sha(serving) + "\n")
    # The upstreams are the same in both colours' Desired: either serves.
    _record_theirs(project, project.desired("blue"), serving, str(proxy.config))
    return serving


THEIRS = "theirs.json"


def _record_theirs(project: Project, desired: Desired, text: str, filename: str) -> None:
    """The address each managed upstream had in their config before specctl wrote it (`web`,
    `10.0.0.7:3000`): switching back to their own container writes it again, exactly."""
    path = live_config_path(project).parent / THEIRS
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    blocks = find_upstreams(text, filename=filename)
    for upstream in desired.upstreams:
        http = [b for b in blocks.get(upstream.name, []) if b.context == "http"]
        if upstream.name in known or len(http) != 1:
            continue
        address = managed_server(http[0], upstream, filename).address
        if server_color(address) is None:
            known[upstream.name] = address
    nginx.write_atomic(path, json.dumps(known, indent=2, sort_keys=True) + "\n")


def _theirs(project: Project, desired: Desired) -> dict[str, str]:
    """upstream -> address, for the upstreams whose service, in `desired.color`, is still the
    user's own container: the address their config had (else its Compose service name)."""
    path = live_config_path(project).parent / THEIRS
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    own = {(c.service or ""): c for c in observe_containers(project) if c.adopted and c.color}
    return {
        u.name: known.get(u.name) or own_address(own[u.service], u.server)
        for u in desired.upstreams
        if u.service in own and own[u.service].color == desired.color
    }


def switch_adopted(
    project: Project, desired: Desired, proxy: Adopted, ready: Ready | None, *, prove: bool
) -> dict[str, float]:
    """Write the staged config over the user's file (what served kept as .previous in the
    state folder), signal nginx to reload, record it as loaded and prove it."""
    folder = live_config_path(project).parent
    staged = nginx.staged_text(project)
    _remember(project, proxy)
    if ready is None or ready.proxy != proxy.id:
        if ready is not None:
            ready.release()
        ready = Ready.now(proxy.id)
    reload = Reload(proxy.id, ready.workers)
    _write_in_place(proxy.config, staged)
    (folder / nginx.NEXT).unlink(missing_ok=True)
    nginx.reload(ready)
    nginx.write_atomic(loaded_marker(project), _sha(staged) + "\n")
    if not prove:
        return {}
    return prove_switch(
        project, desired, timeout=seconds(project.spec.deploy.switch_timeout), reload=reload
    )
