"""Checks of the tools: the Docker engine, Compose v2, and the generated compose files (side
effects: Docker API, `docker compose` subprocesses, reads generated/)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from specctl.appliers.checks.base import (
    FAIL,
    WARN,
    Context,
    Finding,
    Outcome,
    run_argv,
    summarize,
)
from specctl.appliers.engine import api
from specctl.appliers.project import Project, stale_files
from specctl.compiler.images import normalized, wanted_images
from specctl.schemas.errors import SpecctlError
from specctl.schemas.spec import COLORS

COMPOSE_FILES = (*COLORS, "shared")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def compose_version_argv() -> list[str]:
    return ["docker", "compose", "version", "--short"]


def compose_config_argv(file: Path) -> list[str]:
    if file.name.startswith("stack."):
        return ["docker", "stack", "config", "-c", str(file)]
    return ["docker", "compose", "-f", str(file), "config", "-q"]


def _generated(project: Project, which: str) -> Path:
    """The deploy file of `which` for the spec's engine: a Compose or a stack file."""
    if project.spec.engine.kind == "swarm":
        return project.out_dir / f"stack.{which}.yml"
    return project.compose_file(which)


def check_docker(ctx: Context) -> Outcome:
    findings: list[Finding] = []
    notes: list[str] = []
    try:
        client = api()
        client.ping()
        notes.append(f"engine {client.version().get('Version', '?')} reachable")
    except SpecctlError as exc:
        findings.append((FAIL, exc.message))
    except Exception as exc:  # requests and docker errors alike: the engine is not usable
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        findings.append((FAIL, f"docker: the engine does not answer a ping ({first})"))
    code, out = run_argv(compose_version_argv())
    match = _VERSION.match(out) if code == 0 else None
    if match is None:
        first = out.splitlines()[0][:200] if out else f"exit {code}"
        findings.append((FAIL, f"Compose v2 needed: `docker compose version` failed ({first})"))
    elif int(match.group(1)) < 2:
        findings.append((FAIL, f"Compose {out} is too old, Compose v2 needed"))
    else:
        notes.append(f"Compose {out}")
    return summarize(findings, "; ".join(notes))


def check_compose_files(ctx: Context) -> Outcome:
    """Current against the spec, and accepted by `docker compose config` (on a Swarm: the
    stack files by `docker stack config`)."""
    project = ctx.project
    findings: list[Finding] = []
    stale = ", ".join(stale_generated(project))
    if stale:
        where = f"generated/{project.spec.project}"
        findings.append((FAIL, f"{where} is stale: {stale} (run specctl compile)"))
    runnable: list[tuple[str, Path]] = []
    for which in COMPOSE_FILES:
        file = _generated(project, which)
        absent = ", ".join(_missing_env_files(ctx, which))
        if not file.is_file():
            findings.append((FAIL, f"{file.name} is missing (run specctl compile)"))
        elif absent:
            text = f"{file.name} not validated: env file {absent} missing (env_files)"
            findings.append((WARN, text))
        else:
            runnable.append((file.name, file))
    with ThreadPoolExecutor(max_workers=len(COMPOSE_FILES)) as pool:
        outputs = list(pool.map(lambda item: run_argv(compose_config_argv(item[1])), runnable))
    validated = []
    for (shown, _), (code, out) in zip(runnable, outputs, strict=True):
        if code != 0:
            tool = "docker stack config" if shown.startswith("stack.") else "docker compose config"
            findings.append((FAIL, f"{shown}: {tool} rejected it: {_last(out)}"))
        else:
            validated.append(shown)
    return summarize(findings, f"generated files match the spec; {', '.join(validated)} valid")


def stale_generated(project: Project) -> list[str]:
    """Generated files (names under generated/<project>/) that differ from what the spec
    compiles to, are missing, or are no longer produced."""
    files = project.compile()
    out = []
    for rel, text in files.items():
        path = project.generated / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(rel)
    out += stale_files(project, files)
    prefix = f"{project.spec.project}/"
    return sorted(rel.removeprefix(prefix) for rel in out)


def _missing_env_files(ctx: Context, which: str) -> list[str]:
    """Compose refuses a file whose env_file is absent; say that instead of its error."""
    project = ctx.project
    if which == "shared":
        services = ctx.desired.shared
    else:
        desired = ctx.desired if which == ctx.desired.color else project.desired(which)
        services = desired.services
    wanted = [rel for svc in services for rel in svc.env_files]
    return sorted({rel for rel in wanted if not project.path(rel).is_file()})


def _last(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def check_images(ctx: Context) -> Outcome:
    """Every image the deploy runs is on this host, or will be built (its context and
    Dockerfile exist) or pulled (by its pull policy) before anything changes."""
    from specctl.appliers.images import build_problem, present_tags

    desired = ctx.desired
    try:
        present = present_tags(wanted_images([desired]))
    except SpecctlError:  # Docker down: the docker check says why
        return WARN, "not checked: the Docker engine does not answer"
    findings: list[Finding] = []
    counts = {"here": 0, "build": 0, "pull": 0}
    for svc in (*desired.services, *desired.shared, desired.proxy):
        if svc.image is None:
            continue
        here = normalized(svc.image) in present
        if svc.build is not None:
            problem = build_problem(ctx.project.root, svc)
            if problem is not None:
                findings.append((FAIL, problem))
            counts["here" if here else "build"] += 1
        elif here and svc.pull != "always":
            counts["here"] += 1
        elif svc.pull == "never":
            findings.append(
                (
                    FAIL,
                    f"{svc.address}: image {svc.image} is not on this host, and pull: never "
                    "(load it: docker load / docker build -t, or set pull: missing)",
                )
            )
        else:
            counts["pull"] += 1
    words = {"here": "on this host", "build": "to build", "pull": "to pull"}
    ok = ", ".join(f"{counts[k]} {words[k]}" for k in words if counts[k]) or "no images"
    return summarize(findings, ok)
