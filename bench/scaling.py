"""Scaling: `specctl compile` and no-op `specctl plan` time and Docker API calls for specs of
10 to 1000 services, with nothing deployed and with every service running (side effects:
containers, files in temp folders)."""

from __future__ import annotations

import shutil
import time
from typing import Any

from common import BenchError, Box, sandbox, say

from specctl.appliers.engine import api
from specctl.appliers.planning import make_plan
from specctl.appliers.project import load_project

PUBLIC = 25380
BLUE_BASE, GREEN_BASE = 25400, 25500


def spec_text(name: str, services: int) -> str:
    """One app service behind the proxy (it names its colour, so a switch can be proven) and
    services - 1 tiny nginx containers with no ports."""
    tiny = "".join(
        f"  s{i:04d}:\n    image: specctl-testbed/nginx:1.22\n" for i in range(1, services)
    )
    return f"""\
version: 1
project: {name}
root: ..
colors:
  blue: {{port_base: {BLUE_BASE}}}
  green: {{port_base: {GREEN_BASE}}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
{tiny}proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /version}}
  locations:
    - {{path: /, upstream: web}}
deploy:
  health_timeout: 600s
  health_interval: 1s
  retire: keep
backups:
  enabled: false
"""


def plan_in_process(box: Box) -> dict[str, Any]:
    """load_project + make_plan in this process: its time, the engine counter's API calls, and
    the calls observe itself counted (Live.api_calls)."""
    client = api()
    before = client.calls
    began = time.monotonic()
    planned = make_plan(load_project(box.spec_path), "blue")
    return {
        "seconds": time.monotonic() - began,
        "calls": client.calls - before,
        "observe_calls": planned.live.api_calls,
        "changes": len(planned.plan.changes),
    }


def startup(box: Box) -> float:
    return box.specctl("--version").ok().seconds


def compile_once(box: Box) -> dict[str, float]:
    """`specctl compile` wall time, and the same minus a `specctl --version` run just before
    it (paired, so a busy moment of the machine hits both)."""
    shutil.rmtree(box.root / "generated", ignore_errors=True)  # the same work every rep
    before = startup(box)
    wall = box.specctl("compile").ok().seconds
    began = time.monotonic()
    load_project(box.spec_path).compile()
    return {"wall": wall, "beyond": wall - before, "inprocess": time.monotonic() - began}


def plan_once(box: Box, *, expect: int) -> dict[str, float]:
    """`specctl plan --target blue --detailed-exitcode` (exit 0 = no changes), paired with a
    start-up run like compile_once; then the same plan in-process, with its API calls."""
    before = startup(box)
    wall = box.specctl("plan", "--target", "blue", "--detailed-exitcode").ok(expect).seconds
    return {"wall": wall, "beyond": wall - before, **plan_in_process(box)}


def bench_size(services: int, reps: int, *, deploy: bool) -> dict[str, Any]:
    name = f"bench-s{services}"
    row: dict[str, Any] = {"services": services, "deployed": deploy}
    with sandbox(name, spec_text(name, services)) as box:
        say(f"scaling {services} services: compile, plan with nothing deployed")
        row["compile"] = [compile_once(box) for _ in range(reps)]
        row["plan_empty"] = [plan_once(box, expect=2) for _ in range(reps)]
        if not deploy:
            return row
        say(f"scaling {services} services: specctl apply --target blue (not timed as a figure)")
        row["apply_s"] = box.specctl("apply", "--target", "blue", "--yes").ok().seconds
        say(f"scaling {services} services: no-op plan with {services} running")
        row["plan_noop"] = [plan_once(box, expect=0) for _ in range(reps)]
        if any(p["changes"] for p in row["plan_noop"]):
            raise BenchError(f"{name}: the plan after a successful apply is not empty")
        say(f"scaling {services} services: tearing down")
    return row


def bench_scaling(reps: int, *, deployed: tuple[int, ...], undeployed: tuple[int, ...]) -> Any:
    rows = [bench_size(n, reps, deploy=True) for n in deployed]
    rows += [bench_size(n, reps, deploy=False) for n in undeployed]
    return {"rows": rows}
