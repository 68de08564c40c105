"""Probes of the target's containers: resource usage (docker stats) and critical errors in their
logs since they started (side effects: Docker API reads)."""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from docker.errors import DockerException

from specctl.appliers.engine import api
from specctl.appliers.probes.target import Failed, Target
from specctl.compiler.probe_rules import (
    cpu_percent,
    first_critical,
    logs_since,
    memory_limit,
    memory_problem,
    memory_usage,
    usage_text,
)
from specctl.schemas.desired import DesiredService
from specctl.schemas.spec import Probe


@dataclass(frozen=True)
class Running:
    service: DesiredService
    id: str


def running_containers(target: Target, probe: Probe) -> list[Running]:
    """The probe's service, or every service of the target colour: each must be running."""
    services = [target.service(probe.service)] if probe.service else target.desired.services
    if not services:
        raise Failed(f"{target.desired.color_project} has no services")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for project in sorted({s.project for s in services}):
            listed = api().containers(
                all=True, filters={"label": f"com.docker.compose.project={project}"}
            )
            for row in listed:
                labels = row.get("Labels") or {}
                rows[(project, labels.get("com.docker.compose.service", ""))] = row
    except DockerException as exc:
        raise target.error("docker: list containers", exc) from None
    out, problems = [], []
    for svc in services:
        row = rows.get((svc.project, svc.name))
        if row is None:
            problems.append(f"{svc.address}: no container")
        elif row.get("State") != "running":
            problems.append(f"{svc.address}: container is {row.get('State')}")
        else:
            out.append(Running(svc, row["Id"]))
    if problems:
        raise Failed("; ".join(problems))
    return out


def resources_probe(target: Target, probe: Probe) -> str:
    containers = running_containers(target, probe)
    with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
        # Each call waits for two samples (about a second), so ask for all of them at once.
        samples = list(pool.map(lambda c: _stats(target, c), containers))
    lines, problems = [], []
    for running, stats in zip(containers, samples, strict=True):
        usage, limit = memory_usage(stats), memory_limit(stats)
        text = f"{running.service.name} {usage_text(usage, limit)}, cpu {cpu_percent(stats):.1f}%"
        lines.append(text)
        problem = memory_problem(usage, limit)
        if problem:
            problems.append(f"{running.service.address}: {problem}")
    if problems:
        raise Failed("; ".join(problems))
    return "; ".join(lines)


def _stats(target: Target, running: Running) -> dict[str, Any]:
    try:
        stats: dict[str, Any] = api().stats(running.id, stream=False)
    except DockerException as exc:
        raise target.error(f"{running.service.address}: docker stats", exc) from None
    return stats


def logs_probe(target: Target, probe: Probe) -> str:
    keywords = target.project.spec.checks.critical_errors
    containers = running_containers(target, probe)
    for running in containers:
        try:
            started = logs_since(api().inspect_container(running.id)["State"]["StartedAt"])
            since = max(started, target.since) if target.since is not None else started
            with closing(_lines(running.id, since=since)) as lines:
                hit = first_critical(lines, keywords)
        except (DockerException, ValueError, KeyError) as exc:
            raise target.error(f"{running.service.address}: docker logs", exc) from None
        if hit is not None:
            word, line = hit
            raise Failed(target.safe(f"{running.service.address}: {word} in its logs: {line}"))
    names = ", ".join(r.service.name for r in containers)
    when = "since this deploy began" if target.since is not None else "since they started"
    return f"no {', '.join(keywords)} in the logs of {names} {when}"


def _lines(container_id: str, *, since: float) -> Generator[str, None, None]:
    """Log lines (stdout and stderr) one at a time, so a long log is never held in memory."""
    stream = api().logs(
        container_id, stdout=True, stderr=True, stream=True, follow=False, since=since
    )
    pending = b""
    try:
        for chunk in stream:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                yield raw.decode("utf-8", "replace")
        if pending:
            yield pending.decode("utf-8", "replace")
    finally:
        # Stopping early: CancellableStream.close() would leave the response's socket unclosed.
        stream._response.close()  # type: ignore[attr-defined]
