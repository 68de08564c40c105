"""The bake's switch-back: a release that passes every check and turns bad 3 s after real traffic
reaches it (every answer a 500, or every answer 0.6 s late), deployed under load with a bake;
how long until the breach is found, and until traffic is back on the old colour (side effects:
containers). Run from the repository root:

    .venv/bin/python bench/bake.py [--reps N]   # same as bench/run.py --only bake
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from common import Box, remove_containers, sandbox, say

from specctl.appliers.loadgen import Load, Report

NAME = "bench-bake"
PUBLIC = 25880
BLUE_BASE, GREEN_BASE = 25800, 25900
RATE = 200  # requests per second, a new connection each, never retried

KINDS = {
    "fail": "every answer but /health is a 500 (5xx limit 1%)",
    "slow": "every answer but /health is 1 s late (p95 limit 600 ms)",
}


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
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment:
      APP_NAME: web
      APP_COLOR: "{{color}}"
      APP_ACCESS_LOG: "0"
      APP_TURN: "${{TURN:-}}"
      APP_TURN_AFTER: "3"
      APP_SLOW_SECONDS: "1.0"
      APP_RELEASE: "${{RELEASE:-0}}"
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
  locations:
    - {{path: /, upstream: web}}
deploy:
  health_interval: 1s
  switch_timeout: 10s
  drain: 1s
  retire: keep
  bake: {{duration: 60s, window: 5s, min_requests: 20, max_5xx_percent: 1, max_p95: 600ms}}
backups:
  enabled: false
"""


def last_record(box: Box) -> dict[str, Any]:
    listed = box.specctl("history", "--format", "json").ok()
    record: dict[str, Any] = json.loads(listed.out.splitlines()[-1])
    return record


def bad_answers(report: Report, kind: str) -> list[tuple[float, float]]:
    """(start, end) of each answer the bad release gave: its 500s, or its late answers."""
    out = []
    for s in report.samples:
        if s.color != "green":
            continue
        if (kind == "fail" and s.status == 500) or (kind == "slow" and s.latency >= 0.9):
            out.append((s.start, s.start + s.latency))
    return out


def bench_bake(reps: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with sandbox(NAME, spec_text()) as box:
        box.specctl("compile").ok()
        box.specctl("apply", "--target", "blue", "--yes").ok()
        for rep in range(reps):
            for kind in KINDS:
                env = {"TURN": kind, "RELEASE": f"{kind}-{rep}-{time.time_ns()}"}
                box.specctl("compile", env=env).ok()
                remove_containers(f"specctl.project={NAME}", "specctl.color=green")
                say(f"bake rep {rep + 1}/{reps}: apply --target green, the release turns {kind}")
                with Load(PUBLIC, path="/api/version", rate=RATE, seconds=120) as load:
                    time.sleep(1.0)
                    result = box.specctl("apply", "--target", "green", "--yes", env=env)
                    time.sleep(1.0)
                    report = load.stop()
                if result.code == 0:
                    raise RuntimeError(f"the bad release passed its bake:\n{result.out[-1500:]}")
                record = last_record(box)
                bake = record.get("bake") or {}
                found = float(bake["found_at"])
                bad = bad_answers(report, kind)
                other = [
                    s
                    for s in report.samples
                    if not s.ok and not (s.status == 500 and s.color == "green")
                ]
                rows.append(
                    {
                        "kind": kind,
                        "found_after_first_bad_s": found - bad[0][0] if bad else None,
                        "switch_back_s": record.get("switch_back_seconds"),
                        "last_bad_after_found_s": bad[-1][1] - found if bad else None,
                        "bad_answers": len(bad),
                        "other_failures": len(other),
                        "requests": report.total,
                        "breach": "; ".join(bake.get("breach") or []),
                    }
                )
    return {"rows": rows, "kinds": KINDS, "rate": RATE}


if __name__ == "__main__":
    from run import main

    sys.exit(main(["--only", "bake", *sys.argv[1:]]))
