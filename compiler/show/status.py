"""`specctl status` as text; pure."""

from __future__ import annotations

from datetime import UTC, datetime

from specctl.schemas.spec import COLORS
from specctl.schemas.status import ServiceStatus, Status


def _row(name: str, svc: ServiceStatus) -> str:
    up = f"up {svc.uptime}" if svc.uptime else "-"
    line = f"    {name:<14} {svc.state or '-':<9} {svc.health or '-':<9} {up:<18} {svc.image or ''}"
    if svc.tasks:  # a Swarm service: where its tasks run
        line = f"{line}  ({svc.tasks})"
    if svc.adopted:
        line = f"{line}  (taken over: {svc.container}, not created by specctl)"
    return line.rstrip()


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _bake(doc: Status) -> str:
    bake = doc.bake
    assert bake is not None
    until = datetime.fromtimestamp(bake.until, UTC).strftime("%H:%M:%S")
    back = f"; a breach switches back to {bake.previous}" if bake.previous else ""
    if bake.watching:
        return (
            f"bake: {bake.color} watched until {until} UTC ({bake.seconds_left}s left) by "
            f"specctl (pid {bake.pid}){back}"
        )
    found = f" after finding: {bake.verdict}" if bake.verdict else ""
    return (
        f"bake: {bake.color}'s bake was interrupted{found} (until {until} UTC); "
        f"`specctl apply` resumes or concludes it{back}"
    )


def render_status(doc: Status) -> str:
    active = doc.active
    lines = [f"{doc.project}: active {active.color or 'none'} ({active.detail})", ""]
    for color in COLORS:
        mark = "*" if active.color == color else " "
        lines.append(f"{mark} {color}")
        lines += [_row(name, svc) for name, svc in sorted(doc.colors[color].services.items())]
    lines.append("  shared")
    lines += [_row(name, svc) for name, svc in sorted(doc.shared.items())]
    nginx = doc.nginx
    routes = ", ".join(f"{k} → {', '.join(v)}" for k, v in sorted(nginx.upstreams.items()))
    pending = (
        " (the config on disk was never loaded; apply reloads it)" if nginx.pending_reload else ""
    )
    lines += [
        "",
        f"nginx: {'running' if nginx.running else 'not running'}; {routes or 'no config'}{pending}",
    ]
    lines += [f"exposed beyond loopback: {line}" for line in doc.exposed]
    rb = doc.rollback
    backup = rb.last_backup
    age = f"{backup.id}, {_age(backup.age_seconds)} ago" if backup else "none"
    if rb.color:
        problems = [
            (f"{rb.color} is not running", not rb.running),
            (f"{rb.color} is not healthy", rb.running and not rb.healthy),
            (f"missing images: {', '.join(rb.missing_images)}", bool(rb.missing_images)),
        ]
        why = [] if rb.ready else [w for w, bad in problems if bad]
        state = "ready" if rb.ready else "not ready"
        lines.append(f"rollback to {rb.color}: {state}{' (' + '; '.join(why) + ')' if why else ''}")
    lines.append(f"last backup: {age}")
    if doc.bake is not None:
        lines.append(_bake(doc))
    if doc.preview is not None:
        color = doc.preview
        lines.append(
            f"preview: {color} for requests with cookie specctl_preview={color} or header "
            f"X-Specctl-Preview: {color}; everyone else {doc.active.color} (specctl promote / "
            "specctl abort)"
        )
    if doc.maintenance is not None:
        m = doc.maintenance
        since = (
            datetime.fromtimestamp(m.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if m.since
            else "?"
        )
        allowed = f"; {', '.join(m.allow)} still reach the app" if m.allow else ""
        lines.append(
            f"maintenance: ON since {since}, 503 with Retry-After: {m.retry_after or '?'}"
            f"{allowed} (specctl maintenance off ends it)"
        )
    if doc.lock is not None:
        held = doc.lock
        since = (
            datetime.fromtimestamp(held.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if held.since
            else "?"
        )
        lines.append(
            f"locked: by {held.user or '?'} on {held.host or '?'} since {since}: "
            f"{held.message or '(no message)'} (specctl lock release frees it)"
        )
    return "\n".join(lines) + "\n"
