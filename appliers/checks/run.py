"""Pre-deployment checks: the registry and the runner; every check runs and reports pass / warn /
fail, and the run is written to the pre-deployment log (side effects: reads the host, Docker and
files; writes logs/deployment/pre-deployment-*.log)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from specctl.appliers.checks.base import FAIL, PASS, WARN, Context, Outcome
from specctl.appliers.checks.engine import check_compose_files, check_docker, check_images
from specctl.appliers.checks.files import (
    check_env_files,
    check_paths,
    check_required_files,
)
from specctl.appliers.checks.host import check_disk, check_memory, check_ports
from specctl.appliers.checks.services import check_database, check_nginx_config
from specctl.appliers.checks.tls import check_tls
from specctl.appliers.checks.volumes import check_volumes
from specctl.appliers.envfiles import read_env
from specctl.appliers.probes.run import run_probes
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Active
from specctl.schemas.spec import COLORS


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # pass | warn | fail
    detail: str
    seconds: float = 0.0


Check = Callable[[Context], Outcome]

# Stable names: users list them in checks.pre.skip, and they appear in logs and JSON.
CHECKS: dict[str, Check] = {
    "docker": check_docker,
    "compose_files": check_compose_files,
    "images": check_images,
    "env_files": check_env_files,
    "tls": check_tls,
    "paths": check_paths,
    "required_files": check_required_files,
    "database": check_database,
    "nginx_config": check_nginx_config,
    "disk": check_disk,
    "memory": check_memory,
    "ports": check_ports,
    "volumes": check_volumes,
}

SECRET_MIN_LENGTH = 6  # shorter env values are too likely to be ordinary words to mask


CHECK_THREADS = 4  # the slow checks wait on Docker, Compose and PostgreSQL, not on the CPU


def run_checks(project: Project, desired: Desired) -> list[CheckResult]:
    """Every check, at the same time, reported in order; one that raises is a failed check,
    not a crash."""
    skip = set(project.spec.checks.pre.skip)
    ctx = Context(project=project, desired=desired)
    for color in COLORS:  # computed once, before the threads
        project.desired(color)

    def one(name: str) -> CheckResult:
        if name in skip:
            return CheckResult(name, PASS, "skipped by checks.pre.skip")
        start = time.monotonic()
        try:
            status, detail = CHECKS[name](ctx)
        except Exception as exc:  # a check that breaks is a failed check, not a crash
            status, detail = FAIL, describe_error(exc)
        return CheckResult(name, status, detail, time.monotonic() - start)

    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        out = list(pool.map(one, CHECKS))
    return mask_secrets(project, desired, out)


def describe_error(exc: Exception) -> str:
    if isinstance(exc, SpecctlError):
        return exc.message.splitlines()[0]
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def mask_secrets(
    project: Project, desired: Desired, results: list[CheckResult]
) -> list[CheckResult]:
    """No check prints an env-file value; this is the net under that rule, for tool output
    (compose, psql, nginx) quoted in a detail."""
    values: set[str] = set()
    for color in COLORS:  # compose_files reads both colours' env files
        each = desired if color == desired.color else project.desired(color)
        for svc in (*each.services, *each.shared):
            try:
                values |= {v for v in read_env(project, svc).values() if v}
            except OSError:  # unreadable: env_files reports it; nothing from it can be quoted
                continue
    secrets = sorted((v for v in values if len(v) >= SECRET_MIN_LENGTH), key=len, reverse=True)
    out = []
    for result in results:
        detail = result.detail
        for secret in secrets:
            detail = detail.replace(secret, "***")
        out.append(replace(result, detail=detail))
    return out


def run_pre_checks(project: Project, desired: Desired) -> list[CheckResult]:
    """What apply calls: run every check and write the pre-deployment log."""
    results = run_checks(project, desired)
    write_log(project, "pre-deployment", f"pre-deployment checks, target {desired.color}", results)
    return results


def run_post_checks(project: Project, desired: Desired) -> list[CheckResult]:
    """The spec's probes against the target directly, then through nginx, as results named
    `direct.<probe>` and `proxy.<probe>`."""
    results = []
    for via, through_proxy in (("direct", False), ("proxy", True)):
        start = time.monotonic()
        try:
            probes = run_probes(project, desired, through_proxy=through_proxy)
        except Exception as exc:  # probes that break are a failed verification, not a crash
            seconds = time.monotonic() - start
            results.append(CheckResult(f"{via}.probes", FAIL, describe_error(exc), seconds))
            continue
        for probe in probes:
            status = PASS if probe.ok else FAIL
            detail = f"skipped: {probe.detail}" if probe.skipped else probe.detail
            results.append(CheckResult(f"{via}.{probe.name}", status, detail, probe.seconds))
    return mask_secrets(project, desired, results)


# --- logs and targets -----------------------------------------------------------------------------

_STEP_STATUS = {PASS: "ok", WARN: "warn", FAIL: "failed"}


def write_log(project: Project, kind: str, heading: str, results: Sequence[CheckResult]) -> Path:
    """logs/deployment/<kind>-YYYYMMDD-HHMMSS.log: one line per check, then a summary."""
    rec = Recorder(project, kind, out=io.StringIO())
    try:
        rec.line(f"{project.spec.project}: {heading}")
        for r in results:
            rec.step(StepResult(r.name, _STEP_STATUS.get(r.status, r.status), r.seconds, r.detail))
        counts = {s: sum(1 for r in results if r.status == s) for s in (PASS, WARN, FAIL)}
        rec.line(f"{counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed")
    finally:
        rec.close()
    return rec.log_path


def observe_active(project: Project) -> Active:
    from specctl.appliers.planning import observe_active as observed

    return observed(project)[1]


def pre_target(project: Project, target: str | None) -> Desired:
    """The colour to check before a deploy: as `specctl plan` picks it (the one not serving)."""
    if target is None:
        from specctl.appliers.planning import make_plan

        target = make_plan(project, None).plan.target
    return _desired(project, target)


def post_target(project: Project, target: str | None) -> Desired:
    """The colour to verify after a deploy: the one serving traffic."""
    if target is None:
        active = observe_active(project)
        if active.color is None:
            raise SpecctlError(
                f"cannot choose a target: {active.detail}",
                hint="name it: specctl check post --target blue|green",
            )
        target = active.color
    return _desired(project, target)


def _desired(project: Project, target: str) -> Desired:
    if target not in COLORS:
        raise SpecctlError(f"--target: must be blue or green (got {target!r})")
    return project.desired(target)
