"""Which colour serves traffic: the live nginx config decides, the containers confirm; pure."""

from __future__ import annotations

from specctl.schemas.desired import Desired
from specctl.schemas.live import Active, ActiveState, Live
from specctl.schemas.spec import COLORS


def server_color(server: str) -> str | None:
    """`green-backend:8080` -> green."""
    head = server.split("-", 1)[0]
    return head if head in COLORS else None


def upstream_colors(desired: Desired, live: Live) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for upstream in desired.upstreams:
        # During a preview the upstream points at a router; its serving block tells.
        servers = live.nginx.serving.get(upstream.name) or live.nginx.upstreams.get(
            upstream.name, []
        )
        colors = {server_color(s) for s in servers} - {None}  # a base may add backup servers
        out[upstream.name] = colors.pop() if len(colors) == 1 else None
    return out


def detect_active(desired: Desired, live: Live) -> Active:
    """`desired` may be for either colour: only its upstream names and service names are used."""
    if not live.nginx.config_present:
        running = sorted({c.color for c in live.containers if c.color and c.running})
        if running:
            return Active(
                state="none",
                detail=f"no live nginx config; {' and '.join(running)} containers are running",
            )
        return Active(state="none", detail="nothing deployed yet")
    if live.nginx.parse_error:
        return Active(
            state="unknown",
            detail=f"the live nginx config does not parse ({live.nginx.parse_error}); nginx "
            "keeps serving what it loaded last",
        )
    routed = upstream_colors(desired, live)
    colors = set(routed.values())
    if None in colors or len(colors) != 1:
        parts = ", ".join(f"{name} → {color or '?'}" for name, color in sorted(routed.items()))
        return Active(state="mixed", detail=f"upstreams point at different colours: {parts}")
    color = colors.pop()
    assert color is not None
    project = f"{desired.project}-{color}"
    up = {c.service for c in live.of_project(project) if c.running}
    missing = sorted({u.service for u in desired.upstreams} - up)
    if missing:
        names = ", ".join(f"{color}-{m}" for m in missing)
        return Active(
            color=color,
            state="dangling",
            detail=f"nginx routes to {color}, but {names} {'is' if len(missing) == 1 else 'are'} "
            "not running",
        )
    note = "" if live.nginx.running else " (the nginx container is not running)"
    state: ActiveState = "blue" if color == "blue" else "green"
    return Active(color=color, state=state, detail=f"nginx routes to {color}{note}")


def other_color(color: str) -> str:
    return COLORS[1] if color == COLORS[0] else COLORS[0]


def default_target(active: Active) -> str:
    if active.state in ("blue", "green"):
        assert active.color is not None
        return other_color(active.color)
    if active.state == "dangling" and active.color is not None:
        return active.color
    return "blue"
