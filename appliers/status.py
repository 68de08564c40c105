"""`specctl status`: collect the live picture of both colours (side effects: Docker, files)."""

from __future__ import annotations

import time

from docker.errors import DockerException

from specctl.appliers.engine import api
from specctl.appliers.lock import alive, read_held
from specctl.appliers.planning import observe_active
from specctl.appliers.project import Project
from specctl.compiler.active import other_color
from specctl.compiler.exposure import live_exposure
from specctl.schemas.live import LiveBake, LiveContainer
from specctl.schemas.spec import COLORS
from specctl.schemas.status import (
    BackupAge,
    BakeStatus,
    ColorStatus,
    HeldLock,
    MaintenanceStatus,
    NginxStatus,
    RollbackStatus,
    ServiceStatus,
    Status,
)


def uptime(status: str | None) -> str | None:
    """Docker's own wording from the list call: "Up 3 minutes (healthy)" -> "3 minutes"."""
    if not status or not status.startswith("Up "):
        return None
    return status[3:].split(" (", 1)[0]


def _service(c: LiveContainer | None) -> ServiceStatus:
    if c is None:
        return ServiceStatus(state="absent")
    swarm = "com.docker.stack.namespace" in c.labels  # a stack service: its tasks, no uptime
    return ServiceStatus(
        state=c.state,
        health=c.health,
        image=c.image,
        uptime=None if swarm else uptime(c.status),
        container=c.name,
        tasks=c.status if swarm else None,
        adopted=c.adopted is not None,
    )


def last_backup(project: Project, now: float) -> BackupAge | None:
    folder = project.path(project.spec.backups.dir)
    manifests = sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []
    if not manifests:
        return None
    newest = max(manifests, key=lambda p: p.stat().st_mtime)
    return BackupAge(id=newest.parent.name, age_seconds=int(now - newest.stat().st_mtime))


def present_images() -> set[str]:
    try:
        rows = api().images()
    except DockerException:
        return set()
    return {tag for row in rows for tag in row.get("RepoTags") or []}


def bake_status(bake: LiveBake | None, now: float) -> BakeStatus | None:
    if bake is None:
        return None
    return BakeStatus(
        color=bake.color,
        previous=bake.previous,
        until=bake.until,
        seconds_left=max(0, int(bake.until - now)),
        watching=bake.pid is not None and alive(bake.pid),
        pid=bake.pid,
        verdict=bake.verdict,
    )


def maintenance_status(project: Project) -> MaintenanceStatus:
    from specctl.appliers.maintenance import read_settings

    doc = read_settings(project) or {}
    return MaintenanceStatus(
        since=doc.get("since"), retry_after=doc.get("retry_after"), allow=doc.get("allow") or []
    )


def collect_status(project: Project) -> Status:
    now = time.time()
    desired = {color: project.desired(color) for color in COLORS}
    live, active = observe_active(project)
    colors: dict[str, ColorStatus] = {}
    for color in COLORS:
        mine = {
            c.service: c for c in live.of_project(desired[color].color_project) if not c.leftover
        }
        services = {s.name: _service(mine.get(s.name)) for s in desired[color].services}
        colors[color] = ColorStatus(
            services=services,
            running=all(v.state == "running" for v in services.values()),
            healthy=all(
                v.state == "running" and v.health in (None, "healthy") for v in services.values()
            ),
        )
    any_color = desired[COLORS[0]]
    shared_live = {
        c.service: c for c in live.of_project(any_color.shared_project) if not c.leftover
    }
    shared = {
        s.name: _service(shared_live.get(s.name)) for s in (*any_color.shared, any_color.proxy)
    }
    other = other_color(active.color or COLORS[1])
    images = present_images()
    wanted = sorted({s.image for s in desired[other].services if s.image})
    missing = [image for image in wanted if image not in images]
    ready = colors[other].running and colors[other].healthy and not missing
    proxy = (any_color.shared_project, any_color.proxy.name)
    return Status(
        bake=bake_status(live.bake, now),
        maintenance=maintenance_status(project) if live.nginx.maintenance else None,
        preview=live.nginx.preview,
        lock=held_lock(project),
        project=project.spec.project,
        active=active,
        colors=colors,
        shared=shared,
        nginx=NginxStatus(
            running=live.nginx.running,
            config_present=live.nginx.config_present,
            upstreams=live.nginx.upstreams,
            parse_error=live.nginx.parse_error,
            pending_reload=live.nginx.pending_reload,
        ),
        exposed=live_exposure(live.containers, proxy=proxy),
        rollback=RollbackStatus(
            color=other if active.color else None,
            ready=bool(active.color) and ready,
            running=colors[other].running,
            healthy=colors[other].healthy,
            missing_images=missing,
            last_backup=last_backup(project, now),
        ),
    )


def held_lock(project: Project) -> HeldLock | None:
    held = read_held(project.lock_file)
    if held is None:
        return None
    return HeldLock(
        user=held.get("user"),
        host=held.get("host"),
        since=held.get("time"),
        message=held.get("message"),
    )
