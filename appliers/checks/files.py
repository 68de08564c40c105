"""Checks of files on the host: env files (and that only their owner can read them), managed
paths, required files such as ML weights (side effects: reads files; never reports a secret's
value)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from specctl.appliers.checks.base import FAIL, WARN, Context, Finding, Outcome, plural, summarize
from specctl.appliers.envfiles import read_env
from specctl.appliers.secrets import exposures
from specctl.schemas.desired import DesiredPath
from specctl.schemas.units import size_bytes

DIR_KINDS = ("directory", "certificate")


def check_env_files(ctx: Context) -> Outcome:
    project, desired = ctx.project, ctx.desired
    findings: list[Finding] = []
    count = 0
    for svc in (*desired.services, *desired.shared):
        for rel in svc.env_files:
            if not project.path(rel).is_file():
                findings.append((FAIL, f"{svc.address}: {rel} is missing"))
        values = read_env(project, svc)
        for name in svc.required_env:
            count += 1
            if name in svc.environment:
                continue
            if not (values.get(name) or ""):
                findings.append((FAIL, f"{svc.address}: {name} is missing or empty"))
    status = FAIL if project.spec.checks.pre.secrets == "fail" else WARN
    for found in exposures(project):
        fix = "specctl fix-permissions repairs it" if found.fixes() else "chown it by hand"
        findings.append((status, f"{found.problem()}; {fix}"))
    return summarize(findings, f"every required variable is set ({count} checked)")


# --- TLS ------------------------------------------------------------------------------------------


# --- managed paths and required files -------------------------------------------------------------


def check_paths(ctx: Context) -> Outcome:
    findings: list[Finding] = []
    for managed in ctx.desired.paths:
        findings += _path_findings(ctx.project.path(managed.path), managed)
    count = plural(len(ctx.desired.paths), "managed path")
    return summarize(findings, f"{count} and their subdirs exist")


def _path_findings(path: Path, managed: DesiredPath) -> list[Finding]:
    where = f"{managed.address} ({managed.path})"
    if managed.kind not in DIR_KINDS:
        if not path.exists():
            return [(FAIL, f"{where}: missing {managed.kind} (specctl does not create it)")]
        return [] if path.is_file() else [(FAIL, f"{where}: not a file")]
    if not path.exists():
        return [(WARN, f"{where}: missing, will be created by fix-permissions")]
    if not path.is_dir():
        return [(FAIL, f"{where}: is a file, a directory is expected")]
    out: list[Finding] = []
    missing = []
    for sub in managed.subdirs:
        child = path / sub
        if child.exists() and not child.is_dir():
            out.append((FAIL, f"{where}: {sub} is a file, a directory is expected"))
        elif not child.exists():
            missing.append(sub)
    if missing:
        out.append(
            (WARN, f"{where}: subdirs {', '.join(missing)} missing, fix-permissions creates them")
        )
    if managed.color and (path / managed.color).is_dir():
        out.append((WARN, f"{where}: nested {managed.color}/ inside, fix-permissions merges it"))
    return out


def check_required_files(ctx: Context) -> Outcome:
    findings: list[Finding] = []
    count = 0
    for managed in ctx.desired.paths:
        for spec in managed.files:
            count += 1
            problem = file_problem(ctx.project.path(managed.path) / spec["name"], spec)
            if problem:
                findings.append((FAIL, f"{managed.path}/{spec['name']}: {problem}"))
    if not count:
        return "pass", "no required files declared"
    return summarize(findings, f"{plural(count, 'required file')} present and as declared")


def file_problem(path: Path, spec: dict[str, object]) -> str | None:
    """Why a required file is not acceptable, or None."""
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a regular file"
    size = path.stat().st_size
    if size == 0:
        return "empty"
    min_size = spec.get("min_size")
    if isinstance(min_size, str) and size < size_bytes(min_size):
        return f"{size} bytes, smaller than min_size {min_size}"
    expected = spec.get("sha256")
    if isinstance(expected, str):
        actual = sha256_of(path)
        if actual != expected:
            return f"sha256 {actual[:12]}… does not match the declared {expected[:12]}…"
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
