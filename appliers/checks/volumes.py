"""The volumes check: no container specctl did not start uses a named volume the spec mounts
(side effects: reads the engine's container list, one call shared with the ports check)."""

from __future__ import annotations

from specctl.appliers.checks.base import FAIL, Context, Finding, Outcome, plural, summarize


def check_volumes(ctx: Context) -> Outcome:
    """Two containers on one data directory corrupt it (a database's above all): after
    `specctl import` adopts an existing volume, the old container must stop before specctl
    starts its own on it."""
    if ctx.project.spec.engine.kind == "swarm":
        return summarize([], "not checked on a Swarm (its volumes are per node)")
    desired = ctx.desired
    wanted = {
        mount.source: svc.address
        for svc in [*desired.services, *desired.shared]
        for mount in svc.mounts
        if mount.kind == "volume"
    }
    if not wanted:
        return summarize([], "no named volumes")
    findings: list[Finding] = []
    project = ctx.project.spec.project
    # A container taken over serves as the service itself: its volume is that service's.
    adopted = {c.id for c in ctx.containers() if c.adopted}
    for row in ctx.host_containers():
        if (row.get("Labels") or {}).get("specctl.project") == project or row["Id"] in adopted:
            continue
        name = (row.get("Names") or ["?"])[0].lstrip("/")
        for mount in row.get("Mounts") or []:
            volume = mount.get("Name")
            if mount.get("Type") == "volume" and volume in wanted:
                findings.append(
                    (
                        FAIL,
                        f"volume {volume} ({wanted[volume]}) is in use by container {name}, "
                        "which specctl did not start: two containers on one data directory "
                        f"corrupt it; stop it first (docker stop {name})",
                    )
                )
    return summarize(findings, f"{plural(len(wanted), 'named volume')}, none used elsewhere")
