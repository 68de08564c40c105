"""Apply with a build: `specctl apply` of a service built from a Dockerfile when the image is
already there, when only the code layer changed (warm BuildKit cache) and when the dependency
layer changed (that layer and every one after it rebuilt), next to `docker compose build` of the
same change on its own (side effects: containers, images). Run from the repository root:

    .venv/bin/python bench/build.py [--reps N]   # same as bench/run.py --only build
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

from common import Box, Run, remove_containers, run, sandbox, say
from measure import number

NAME = "bench-build"
PUBLIC = 25680
BLUE_BASE, GREEN_BASE = 25600, 25700
REPOSITORY = "specctl-bench-build/web"
DEPS_MB = 40  # the "dependency install" layer: what a lock-file change rebuilds

DOCKERFILE = f"""\
FROM specctl-testbed/app:1.0
COPY deps.txt /opt/deps.txt
RUN python3 -c "import os; open('/opt/deps.bin', 'wb').write(os.urandom({DEPS_MB} * 2**20))"
COPY src/ /app/src/
"""

KINDS = {
    "none": "image already built (the plan's images step is absent)",
    "warm": "warm cache, code change: only the last layer (COPY src/) is rebuilt",
    "cold": f"cold cache, dependency change: every layer after FROM (the {DEPS_MB} MB one too) "
    "is rebuilt",
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
    build: {{context: app}}
    image: {REPOSITORY}:latest
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
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


def step_seconds(result: Run, name: str) -> float | None:
    return number(result.first(rf"✓ {re.escape(name)}\s.*\(([\d.]+)s\)$"))


def change(box: Box, kind: str) -> None:
    stamp = f"{time.time_ns()}\n"
    if kind == "cold":
        box.write("app/deps.txt", f"lock {stamp}")
    elif kind == "warm":
        box.write("app/src/main.py", f"RELEASE = {stamp}")


def remove_images() -> None:
    listed = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY]).ok()
    refs = listed.out.split()
    if refs:
        subprocess.run(["docker", "rmi", "-f", *refs], capture_output=True, check=False)


def bench_build(reps: int) -> dict[str, Any]:
    """Per repetition, each kind once: the target colour's containers are removed first, so
    every apply creates them (from the image at hand, or after building it)."""
    rows: list[dict[str, Any]] = []
    files = {
        "app/Dockerfile": DOCKERFILE,
        "app/deps.txt": "lock 0\n",
        "app/src/main.py": "RELEASE = 0\n",
    }
    remove_images()
    try:
        with sandbox(NAME, spec_text(), files) as box:
            box.specctl("compile").ok()
            box.specctl("apply", "--target", "blue", "--yes").ok()
            color = "green"
            compose = str(box.generated / "compose.blue.yml")
            for rep in range(reps):
                for kind in KINDS:
                    change(box, kind)
                    remove_containers(f"specctl.project={NAME}", f"specctl.color={color}")
                    say(f"build rep {rep + 1}/{reps}: apply --target {color} ({kind})")
                    result = box.specctl("apply", "--target", color, "--yes").ok()
                    images = step_seconds(result, "images")
                    if (images is None) != (kind == "none"):
                        say(f"unexpected images step for {kind}:\n{result.out[-1500:]}")
                    rows.append(
                        {
                            "kind": kind,
                            "seconds": result.seconds,
                            "images_s": images,
                            "deploy_s": step_seconds(result, "deploy"),
                        }
                    )
                    color = "blue" if color == "green" else "green"
                for kind in ("warm", "cold"):  # the baseline: the same build, Compose alone
                    change(box, kind)
                    built = run(["docker", "compose", "-f", compose, "build", "web"]).ok()
                    rows.append({"kind": f"compose-{kind}", "seconds": built.seconds})
    finally:
        remove_images()
    return {"rows": rows, "kinds": KINDS}


if __name__ == "__main__":
    from run import main

    sys.exit(main(["--only", "build", *sys.argv[1:]]))
