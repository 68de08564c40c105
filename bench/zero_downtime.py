"""Zero downtime under 200 requests/s: `specctl apply` (blue → green, app 1.0 → 1.1) and
`specctl rollback` next to the baseline's `docker compose up -d`; from the same runs, the switch
latency and the warm-rollback time; then the overhead of apply over a bare Compose deploy of the
same colour (side effects: containers, HTTP on loopback)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from baseline import BOOT_DELAY, plain_project, plain_rep
from common import BenchError, Box, Run, remove_containers, remove_project, run, sandbox, say
from measure import (
    CLIENTS,
    PATH,
    TAIL,
    Measured,
    figures,
    number,
    startup_run,
    under_load,
    window,
)

from specctl.appliers.loadgen import Report

NAME = "bench-zd"
PUBLIC = 25080  # specctl's nginx
BLUE_BASE, GREEN_BASE = 25100, 25200
STEADY = 8.0  # seconds of the no-deploy reference run
NEW = {"WEB_VERSION": "1.1"}


def spec_text() -> str:
    return f"""\
version: 1
project: {NAME}
root: ..
colors:
  blue: {{port_base: {BLUE_BASE}}}
  green: {{port_base: {GREEN_BASE}}}
services:
  web:
    image: specctl-testbed/app:${{WEB_VERSION:-1.0}}
    port: 8080
    host_port: {{offset: 0}}
    environment:
      APP_NAME: web
      APP_COLOR: "{{color}}"
      APP_BOOT_DELAY: "{BOOT_DELAY}"
      APP_ACCESS_LOG: "0"
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: {PATH}}}
  locations:
    - {{path: /, upstream: web}}
deploy:
  health_timeout: 60s
  health_interval: 1s
  switch_timeout: 10s
  drain: 1s
  retire: keep
backups:
  enabled: false
"""


def switch_latency(result: Run, report: Report, *, before: str, color: str) -> float | None:
    """Seconds from the start of the switch step (the moment the step before it reported) to the
    first response from `color` that a load client received."""
    mark = result.first(rf"✓ {re.escape(before)}\s")
    if mark is None:
        return None
    switch_start = mark[0]
    arrivals = [
        s.start + s.latency
        for s in report.samples
        if s.ok and s.color == color and s.start + s.latency >= switch_start
    ]
    return min(arrivals) - switch_start if arrivals else None


def active(box: Box) -> str | None:
    doc = json.loads(box.specctl("status", "--format", "json").ok().out)
    color = doc["active"]["color"]
    return None if color is None else str(color)


def ensure_blue_serving(box: Box) -> None:
    """Each rep starts from blue serving app 1.0 and no green container."""
    if active(box) == "green":
        box.specctl("rollback", env=NEW).ok()
    if active(box) != "blue":
        raise BenchError(f"{NAME}: blue is not serving before a rep")
    remove_containers(f"specctl.project={NAME}", "specctl.color=green")


def specctl_row(result: Run, measured: Measured, *, done: str, before: str, color: str) -> Any:
    """The figures of one specctl operation under load; `before` is the step before switch."""
    row = {
        **figures(window(measured.report, measured.began, measured.began + result.seconds + TAIL)),
        "seconds": result.seconds,
        "startup_s": measured.startup,
        "ok": result.code == 0,
        "inprocess_s": number(result.first(re.escape(done) + r" \(([\d.]+)s\)")),
        "switch_latency_s": switch_latency(result, measured.report, before=before, color=color),
        "proven_s": number(result.first(r"✓ switch(?:-back)?\s.*proven in ([\d.]+)s")),
        "switch_step_s": number(result.first(r"✓ switch(?:-back)?\s.*\(([\d.]+)s\)$")),
        "output": result.out,
    }
    if result.code != 0:
        row["error"] = result.out[-1500:]
        say(f"`{' '.join(result.argv[3:])}` exited {result.code}:\n{result.out[-1500:]}")
    return row


def specctl_rep(box: Box, keep_alive: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """One apply blue → green under load, then one rollback under load."""
    ensure_blue_serving(box)
    box.specctl("compile", env=NEW).ok()
    applied, measured = under_load(
        PUBLIC,
        keep_alive,
        lambda: box.specctl("apply", "--target", "green", "--yes", env=NEW),
        startup=True,
    )
    apply_row = specctl_row(
        applied, measured, done="done: green is live", before="stage", color="green"
    )
    if applied.code != 0:
        return apply_row, {}
    back, measured = under_load(
        PUBLIC, keep_alive, lambda: box.specctl("rollback", env=NEW), startup=True
    )
    return apply_row, specctl_row(
        back, measured, done="done: rolled back to blue", before="stage", color="blue"
    )


def steady_rep(port: int, keep_alive: bool, seconds: float) -> dict[str, Any]:
    """The noise floor: the same load for as long as an apply takes, with nothing happening."""
    _, measured = under_load(port, keep_alive, lambda: time.sleep(seconds))
    began = measured.began
    return {
        **figures(window(measured.report, began, began + seconds + TAIL)),
        "seconds": seconds,
        "ok": True,
    }


# --- the benchmark --------------------------------------------------------------------------------


def bench_zero_downtime(reps: int) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {}

    def add(operation: str, client: str, row: dict[str, Any]) -> None:
        if row:
            rows.setdefault(f"{operation}|{client}", []).append(row)

    with sandbox(NAME, spec_text()) as box, plain_project() as folder:
        say(f"zero downtime: deploying blue of {NAME}")
        box.specctl("compile").ok()
        box.specctl("apply", "--target", "blue", "--yes").ok()
        for rep in range(1, reps + 1):
            for client, keep_alive in CLIENTS.items():
                say(f"zero downtime rep {rep}/{reps}, {client}: specctl apply + rollback")
                applied, back = specctl_rep(box, keep_alive)
                add("specctl apply", client, applied)
                add("specctl rollback", client, back)
                say(f"zero downtime rep {rep}/{reps}, {client}: docker compose up -d")
                add("docker compose up -d", client, plain_rep(folder, keep_alive))
                say(f"zero downtime rep {rep}/{reps}, {client}: steady load, nothing deployed")
                add("steady (no deploy)", client, steady_rep(PUBLIC, keep_alive, STEADY))
        overhead = bench_overhead(box, reps)
    return {"rows": rows, "overhead": overhead}


# --- overhead: specctl apply versus a bare `docker compose up --wait` -----------------------------


def bench_overhead(box: Box, reps: int) -> dict[str, Any]:
    """specctl apply of green (blue serving, no load) versus `docker compose up -d --wait` of
    green's generated compose file in a fresh compose project, alternating, `reps` times each."""
    compose_file = box.generated / "compose.green.yml"
    samples: list[dict[str, Any]] = []
    for rep in range(1, reps + 1):
        say(f"overhead rep {rep}/{reps}: specctl apply --target green")
        ensure_blue_serving(box)
        box.specctl("compile", env=NEW).ok()
        startup = startup_run()
        applied = box.specctl("apply", "--target", "green", "--yes", env=NEW).ok()
        box.specctl("rollback", env=NEW).ok()
        remove_containers(f"specctl.project={NAME}", "specctl.color=green")
        say(f"overhead rep {rep}/{reps}: docker compose up -d --wait (fresh project)")
        project = f"{NAME}-bare{rep}"
        argv = ["docker", "compose", "-p", project, "-f", str(compose_file)]
        try:
            bare = run([*argv, "up", "-d", "--wait", "--pull", "never"]).ok()
        finally:
            run([*argv, "down", "-v", "--timeout", "5"], timeout=120)
            remove_project(project)
        samples.append(
            {
                "apply_s": applied.seconds,
                "startup_s": startup,
                "apply_inprocess_s": number(applied.first(r"done: green is live \(([\d.]+)s\)")),
                "bare_s": bare.seconds,
            }
        )
    return {"reps": samples}
