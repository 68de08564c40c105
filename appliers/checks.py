"""Pre-deployment checks: every check runs and reports pass / warn / fail (side effects: reads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from specctl.appliers.envfiles import read_env
from specctl.appliers.project import Project, check_generated
from specctl.schemas.desired import Desired


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # pass | warn | fail
    detail: str
    seconds: float = 0.0


Check = Callable[[Project, Desired], tuple[str, str]]


def check_generated_current(project: Project, desired: Desired) -> tuple[str, str]:
    diff = check_generated(project, project.compile())
    if diff:
        return "fail", f"generated/{project.spec.project} is stale; run specctl compile"
    return "pass", "generated files match the spec"


def check_env_files(project: Project, desired: Desired) -> tuple[str, str]:
    problems = []
    for svc in (*desired.services, *desired.shared):
        for rel in svc.env_files:
            if not project.path(rel).is_file():
                problems.append(f"{svc.address}: {rel} is missing")
        values = read_env(project, svc)
        literal = set(svc.environment)
        for name in svc.required_env:
            if name in literal:
                continue
            if not (values.get(name) or ""):
                problems.append(f"{svc.address}: {name} is missing or empty")
    if problems:
        return "fail", "; ".join(problems)
    return "pass", "every required variable is set"


CHECKS: dict[str, Check] = {
    "compose_files": check_generated_current,
    "env_files": check_env_files,
}


def run_pre_checks(project: Project, desired: Desired) -> list[CheckResult]:
    skip = set(project.spec.checks.pre.skip)
    out = []
    for name, check in CHECKS.items():
        if name in skip:
            out.append(CheckResult(name, "pass", "skipped by checks.pre.skip"))
            continue
        start = time.monotonic()
        try:
            status, detail = check(project, desired)
        except Exception as exc:  # a check that breaks is a failed check, not a crash
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        out.append(CheckResult(name, status, detail, time.monotonic() - start))
    return out
