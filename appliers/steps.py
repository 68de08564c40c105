"""The safety steps of apply behind one interface: pre-checks, permissions, backup, migration,
verification. Each returns a one-line detail or raises ApplyError (side effects)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx

from specctl.appliers import compose
from specctl.appliers.nginx import public_url
from specctl.appliers.permissions import fix_permissions
from specctl.appliers.project import Project
from specctl.compiler.probe_rules import direct_url
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError
from specctl.schemas.units import seconds

if TYPE_CHECKING:
    from specctl.appliers.apply import Run


def pre_checks_step(project: Project, desired: Desired, run: Run) -> str:
    from specctl.appliers.checks import run_pre_checks

    results = run_pre_checks(project, desired)
    failed = [r for r in results if r.status == "fail"]
    warned = [r for r in results if r.status == "warn"]
    for r in failed + warned:
        run.rec.line(f"  {r.status}: {r.name}: {r.detail}")
    if failed and not run.opts.force:
        names = ", ".join(r.name for r in failed)
        raise ApplyError(
            f"pre-deployment checks failed: {names}",
            hint="fix them (specctl check pre shows details), or pass --force (recorded)",
        )
    if failed:
        run.forced.append("--force: " + ", ".join(r.name for r in failed))
    passed = len(results) - len(failed) - len(warned)
    return f"{passed} passed, {len(warned)} warnings, {len(failed)} failed"


def permissions_step(project: Project, desired: Desired) -> str:
    done = fix_permissions(project, desired.paths, dry_run=False)
    count = sum(len(v) for v in done.values())
    return f"{count} fixes on {len(done)} paths" if count else f"{len(done)} paths already right"


def backup_step(project: Project, desired: Desired, run: Run) -> str:
    from specctl.appliers.backup import create_backup

    backup = create_backup(project, desired, reason=f"apply {desired.color}")
    run.backup_id = backup.id
    run.rec.line(f"  backup {backup.id}: {backup.summary}")
    if not project.spec.backups.verify:
        return backup.id
    from specctl.appliers.backup_verify import verify_backup

    # backups.verify: no switch unless this backup restores; a failure here stops the apply.
    return f"{backup.id}, verified: {verify_backup(project, backup.id)}"


def migrate_step(project: Project, desired: Desired, run: Run) -> str:
    hook = project.spec.hooks.migrate
    assert hook is not None
    command = hook.command if isinstance(hook.command, list) else ["sh", "-c", hook.command]
    docker = compose.client(project, desired, desired.color)
    name = f"{desired.color_project}-migrate-{uuid.uuid4().hex[:6]}"
    try:
        compose.run_once(
            docker,
            hook.service,
            command,
            name=name,
            timeout=seconds(hook.timeout),
            what=f"{desired.color}.hook.migrate",
        )
    except ApplyError as exc:
        if hook.restore_on_failure and run.backup_id:
            from specctl.appliers.backup import restore_database

            restore_database(project, run.backup_id, desired)
            run.rec.line(f"  restored the database from backup {run.backup_id}")
            raise ApplyError(
                exc.message + f"\n  database restored from backup {run.backup_id}"
            ) from None
        raise
    return f"{' '.join(command)} in {hook.service}"


def verify_step(project: Project, desired: Desired, *, through_proxy: bool) -> str:
    """Every upstream answers: directly on its host port, or through nginx from this colour."""
    checked = 0
    for upstream in desired.upstreams:
        svc = desired.service(upstream.service)
        if through_proxy:
            url = public_url(project) + upstream.probe
        elif svc.host_port:
            path = svc.health_url_path or upstream.probe
            url = direct_url(svc.host_port, path, ip=svc.host_ip)
        else:
            continue
        try:
            response = httpx.get(url, timeout=5.0)
        except httpx.HTTPError as exc:
            raise ApplyError(f"{upstream.address}: GET {url}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ApplyError(f"{upstream.address}: GET {url}: HTTP {response.status_code}")
        header = project.spec.proxy.color_header
        if through_proxy and response.headers.get(header) not in (None, desired.color):
            raise ApplyError(
                f"{upstream.address}: GET {url} answered from {response.headers.get(header)}"
            )
        checked += 1
    from specctl.appliers.probes import run_probes

    results = run_probes(project, desired, through_proxy=through_proxy)
    bad = [r for r in results if not r.ok]
    if bad:
        first = bad[0]
        raise ApplyError(f"post-deployment probe {first.name} failed: {first.detail}")
    where = "through nginx" if through_proxy else "directly"
    return f"{checked} upstreams and {len(results)} probes answered {where}"
