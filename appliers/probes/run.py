"""Post-deployment probes declared in the spec, run against one colour directly or through nginx,
with the post-deployment log (side effects: network, Docker API reads, files)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from specctl.appliers.nginx import public_url
from specctl.appliers.probes.containers import logs_probe, resources_probe
from specctl.appliers.probes.http import (
    http_probe,
    inference_probe,
    routing_probe,
    upload_probe,
    websocket_probe,
)
from specctl.appliers.probes.stores import postgres_probe, redis_probe
from specctl.appliers.probes.target import Failed, Skipped, Target, collect_secrets
from specctl.appliers.project import Project
from specctl.appliers.record import Recorder, StepResult
from specctl.compiler.probe_rules import skip_reason
from specctl.schemas.desired import Desired
from specctl.schemas.spec import Probe


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    kind: str = ""
    skipped: bool = False  # did not apply to this pass (ok is then True)


ProbeRunner = Callable[[Target, Probe], str]

RUNNERS: dict[str, ProbeRunner] = {
    "http": http_probe,
    "upload": upload_probe,
    "websocket": websocket_probe,
    "postgres": postgres_probe,
    "redis": redis_probe,
    "inference": inference_probe,
    "routing": routing_probe,
    "resources": resources_probe,
    "logs": logs_probe,
}


def run_probes(
    project: Project,
    desired: Desired,
    *,
    through_proxy: bool,
    out: TextIO | None = None,
    since: float | None = None,
) -> list[ProbeResult]:
    """Every probe in `checks.post` runs (no stopping at the first failure). When there are any,
    the results go to logs/deployment/post-deployment-verify-<time>.log and to `out`."""
    probes = project.spec.checks.post
    if not probes:
        return []
    target = Target(project, desired, through_proxy, collect_secrets(project, desired), since)
    rec = Recorder(project, "post-deployment-verify", out=out if out is not None else io.StringIO())
    try:
        where = f"through nginx at {public_url(project)}" if through_proxy else "directly"
        rec.line(
            f"post-deployment verification of {desired.color} ({desired.color_project}) "
            f"{where}: {len(probes)} probes"
        )
        results = []
        for probe in probes:
            result = run_probe(target, probe)
            results.append(result)
            status = "skipped" if result.skipped else "ok" if result.ok else "failed"
            rec.step(StepResult(result.name, status, result.seconds, result.detail))
        rec.line(summary(results))
        return results
    finally:
        rec.close()


def run_probe(target: Target, probe: Probe) -> ProbeResult:
    start = time.monotonic()

    def result(ok: bool, detail: str, *, skipped: bool = False) -> ProbeResult:
        return ProbeResult(
            probe.name, ok, detail, time.monotonic() - start, kind=probe.kind, skipped=skipped
        )

    reason = skip_reason(probe.kind, through_proxy=target.through_proxy)
    if reason is not None:
        return result(True, reason, skipped=True)
    try:
        return result(True, RUNNERS[probe.kind](target, probe))
    except Skipped as skip:
        return result(True, skip.detail, skipped=True)
    except Failed as failure:
        return result(False, failure.detail)
    except Exception as exc:  # a probe that breaks is a failed probe, not a crashed deploy
        return result(False, target.error(f"{probe.kind} probe", exc).detail)


def summary(results: list[ProbeResult]) -> str:
    failed = [r for r in results if not r.ok]
    skipped = sum(1 for r in results if r.skipped)
    passed = len(results) - len(failed) - skipped
    total = sum(r.seconds for r in results)
    text = f"{passed} passed, {skipped} skipped, {len(failed)} failed ({total:.1f}s)"
    if failed:
        text += ": " + ", ".join(r.name for r in failed)
    return text
