"""Switch traffic: stage a colour's nginx config, `nginx -t` it inside the running proxy,
install it atomically, reload, and prove it through the public port (side effects)."""

from __future__ import annotations

from collections.abc import Callable

from specctl.appliers import compose, nginx
from specctl.appliers.engine import api
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired
from specctl.schemas.units import seconds


def switch_to(
    project: Project,
    desired: Desired,
    *,
    progress: Callable[[str], None],
    text: str | None = None,
    prove: bool = True,
) -> dict[str, float]:
    """Validate the colour's config inside the running nginx, install it, reload, prove it.
    When nginx is not running yet, install the config and start it. `text` defaults to the
    colour's generated config."""
    if text is None:
        text = project.nginx_file(desired.color).read_text(encoding="utf-8")
    nginx.stage(project, text)
    proxy = proxy_id(desired)
    if proxy is not None:
        nginx.validate_staged(proxy)
        nginx.install_staged(project)
        nginx.reload(proxy)
        nginx.mark_loaded(project)
    else:
        nginx.install_staged(project)
        progress("starting proxy.nginx")
        compose.up(
            compose.client(project, desired, "shared"),
            [desired.proxy.name],
            what="start proxy.nginx",
        )
        nginx.mark_loaded(project)
    if not prove:
        return {}
    return nginx.prove(project, desired, timeout=seconds(project.spec.deploy.switch_timeout))


def proxy_id(desired: Desired) -> str | None:
    rows = api().containers(
        filters={
            "label": [
                f"com.docker.compose.project={desired.shared_project}",
                f"com.docker.compose.service={desired.proxy.name}",
            ],
            "status": "running",
        }
    )
    return rows[0]["Id"] if rows else None
