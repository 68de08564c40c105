"""`specctl status`: collect the live picture of both colours (side effects: Docker, files)."""

from __future__ import annotations

import time
from typing import Any

from docker.errors import DockerException
from specctl.appliers.engine import api
from specctl.appliers.observe import observe
from specctl.appliers.project import Project
from specctl.compiler.active import detect_active
from specctl.schemas.live import Live, LiveContainer
from specctl.schemas.spec import COLORS


def _service(c: LiveContainer | None, now: float) -> dict[str, Any]:
    if c is None:
        return {"state": "absent", "health": None, "image": None, "uptime_seconds": None}
    return {
        "state": c.state,
        "health": c.health,
        "image": c.image,
        "uptime_seconds": int(now - c.created) if c.created and c.running else None,
        "container": c.name,
    }


def last_backup(project: Project, now: float) -> dict[str, Any] | None:
    folder = project.path(project.spec.backups.dir)
    manifests = sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []
    if not manifests:
        return None
    newest = max(manifests, key=lambda p: p.stat().st_mtime)
    return {"id": newest.parent.name, "age_seconds": int(now - newest.stat().st_mtime)}


def present_images() -> set[str]:
    try:
        rows = api().images()
    except DockerException:
        return set()
    return {tag for row in rows for tag in row.get("RepoTags") or []}


def collect_status(project: Project) -> dict[str, Any]:
    now = time.time()
    desired = {color: project.desired(color) for color in COLORS}
    live: Live = observe(project, desired[COLORS[0]])
    active = detect_active(desired[COLORS[0]], live)
    colors: dict[str, Any] = {}
    for color in COLORS:
        mine = {c.service: c for c in live.of_project(desired[color].color_project)}
        services = {s.name: _service(mine.get(s.name), now) for s in desired[color].services}
        colors[color] = {
            "services": services,
            "running": all(v["state"] == "running" for v in services.values()),
            "healthy": all(
                v["state"] == "running" and v["health"] in (None, "healthy")
                for v in services.values()
            ),
        }
    shared_live = {c.service: c for c in live.of_project(desired[COLORS[0]].shared_project)}
    shared = {
        s.name: _service(shared_live.get(s.name), now)
        for s in (*desired[COLORS[0]].shared, desired[COLORS[0]].proxy)
    }
    other = "green" if active.color == "blue" else "blue"
    images = present_images()
    wanted = sorted({s.image for s in desired[other].services if s.image})
    missing = [image for image in wanted if image not in images]
    backup = last_backup(project, now)
    ready = colors[other]["running"] and colors[other]["healthy"] and not missing
    return {
        "project": project.spec.project,
        "active": active.model_dump(),
        "colors": colors,
        "shared": shared,
        "nginx": {
            "running": live.nginx.running,
            "config_present": live.nginx.config_present,
            "upstreams": live.nginx.upstreams,
            "parse_error": live.nginx.parse_error,
        },
        "rollback": {
            "color": other if active.color else None,
            "ready": bool(active.color) and ready,
            "running": colors[other]["running"],
            "healthy": colors[other]["healthy"],
            "missing_images": missing,
            "last_backup": backup,
        },
    }


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_status(doc: dict[str, Any]) -> str:
    active = doc["active"]
    lines = [f"{doc['project']}: active {active['color'] or 'none'} ({active['detail']})", ""]
    for color in COLORS:
        mark = "*" if active["color"] == color else " "
        lines.append(f"{mark} {color}")
        for name, svc in sorted(doc["colors"][color]["services"].items()):
            health = svc["health"] or "-"
            lines.append(
                f"    {name:<14} {svc['state']:<9} {health:<9} {_age(svc['uptime_seconds']):>5}"
                f"  {svc['image'] or ''}"
            )
    lines.append("  shared")
    for name, svc in sorted(doc["shared"].items()):
        lines.append(
            f"    {name:<14} {svc['state']:<9} {svc['health'] or '-':<9} "
            f"{_age(svc['uptime_seconds']):>5}  {svc['image'] or ''}"
        )
    nginx = doc["nginx"]
    routes = ", ".join(f"{k} → {', '.join(v)}" for k, v in sorted(nginx["upstreams"].items()))
    lines += [
        "",
        f"nginx: {'running' if nginx['running'] else 'not running'}; {routes or 'no config'}",
    ]
    rb = doc["rollback"]
    backup = rb["last_backup"]
    age = f"{backup['id']}, {_age(backup['age_seconds'])} ago" if backup else "none"
    if rb["color"]:
        state = "ready" if rb["ready"] else "not ready"
        why = (
            []
            if rb["ready"]
            else [
                w
                for w, bad in (
                    (f"{rb['color']} is not running", not rb["running"]),
                    (f"{rb['color']} is not healthy", rb["running"] and not rb["healthy"]),
                    (
                        f"missing images: {', '.join(rb['missing_images'])}",
                        bool(rb["missing_images"]),
                    ),
                )
                if bad
            ]
        )
        lines.append(
            f"rollback to {rb['color']}: {state}{' (' + '; '.join(why) + ')' if why else ''}"
        )
    lines.append(f"last backup: {age}")
    return "\n".join(lines) + "\n"
