"""Switch traffic in two moves: stage a colour's nginx config and `nginx -t` it inside the
running proxy (before anything changes), then install it atomically, signal nginx to reload and
prove it through the public port (side effects)."""

from __future__ import annotations

from collections.abc import Callable

from specctl.appliers import compose, nginx, pidfd
from specctl.appliers.engine import running_container
from specctl.appliers.nginx import Ready
from specctl.appliers.project import Project
from specctl.appliers.proof import Reload, prove_switch
from specctl.schemas.desired import Desired
from specctl.schemas.units import seconds


def stage_config(
    project: Project, desired: Desired, *, text: str | None = None
) -> tuple[str, Ready | None]:
    """Write the colour's config beside the live one and validate it inside the running nginx,
    where the upstream host names resolve. `text` defaults to the colour's generated config.
    Returns what happened, and what the switch needs (None: nginx is not running)."""
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
    proxy = proxy_id(desired)
    nginx.install_staged(project, remember=remember)
    if proxy is not None and (ready is None or ready.proxy != proxy):
        if ready is not None:
            pidfd.close(ready.handle)
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
