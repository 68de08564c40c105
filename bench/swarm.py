"""Swarm: blue/green on the three-node test bed (testbed/swarm.sh, one dockerd per network
namespace on this machine): `specctl apply` (blue → green, app 1.0 → 1.1) and `specctl rollback`
under 100 requests/s through the edge nginx, with both client kinds; then the plan's time and
Docker API calls with 10, 50 and 200 services running on the cluster (side effects: stacks,
networks and volumes of `bench-sw*` projects on the bed, files in temp folders)."""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

from common import REPO, BenchError, Box, Run, sandbox, say
from measure import CLIENTS, LOAD_LIMIT, SETTLE, TAIL, figures, number, window

from specctl.appliers import engine
from specctl.appliers.loadgen import Load
from specctl.appliers.planning import make_plan
from specctl.appliers.project import load_project

SCRIPT = REPO / "testbed" / "swarm.sh"
NAME = "bench-sw"
PUBLIC = 25950  # the edge nginx, on m1's address
SCALE_PUBLIC = 25960
RATE = 100.0
PATH = "/api/version"
NEW = {"WEB_VERSION": "1.1"}
IMAGES = [
    "specctl-testbed/app:1.0",
    "specctl-testbed/app:1.1",
    "specctl-testbed/nginx:1.22",
]


def bed() -> dict[str, dict[str, str]]:
    """The three nodes up with the images on each; name -> {role, address, host}."""
    subprocess.run(["bash", str(SCRIPT), "up", "3"], check=True, capture_output=True)
    subprocess.run(["bash", str(SCRIPT), "load", *IMAGES], check=True, capture_output=True)
    out = subprocess.run(
        ["bash", str(SCRIPT), "layout", "3"], check=True, capture_output=True, text=True
    ).stdout
    nodes = {}
    for line in out.splitlines():
        name, role, address, host, _ = line.split("\t")
        nodes[name] = {"role": role, "address": address, "host": host}
    return nodes


def engine_block(nodes: dict[str, dict[str, str]]) -> str:
    manager = nodes["m1"]
    listed = "".join(f"    {n}: {v['host']}\n" for n, v in nodes.items())
    return (
        f"engine:\n  kind: swarm\n  host: {manager['host']}\n  endpoint_mode: dnsrr\n"
        f"  edge_address: {manager['address']}\n  nodes:\n{listed}"
    )


def spec_text(nodes: dict[str, dict[str, str]]) -> str:
    health = "{http: /health, interval: 1s, timeout: 2s, retries: 30}"
    return f"""\
version: 1
project: {NAME}
root: ..
{engine_block(nodes)}services:
  web:
    image: specctl-testbed/app:${{WEB_VERSION:-1.0}}
    port: 8080
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {health}
  api:
    image: specctl-testbed/app:${{WEB_VERSION:-1.0}}
    port: 8080
    replicas: 2
    placement: {{role: worker, max_per_node: 1}}
    environment: {{APP_NAME: api, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {health}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
    api: {{service: api, probe: /api/version}}
  locations:
    - {{path: /api/, upstream: api}}
    - {{path: /, upstream: web}}
deploy:
  health_timeout: 180s
  drain: 1s
  retire: keep
backups:
  enabled: false
"""


def remove_stacks(name: str, manager: str) -> None:
    """Every stack, the edge network and the volumes of one project on the bed."""
    docker = ["docker", "-H", manager]
    stacks = [f"{name}-{s}" for s in ("blue", "green", "shared")]
    subprocess.run([*docker, "stack", "rm", *stacks], capture_output=True)
    for stack in stacks:  # the proxy's host port is free only once its task is gone
        wait_stack_gone(manager, stack)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        gone = subprocess.run([*docker, "network", "rm", f"{name}-edge"], capture_output=True)
        if gone.returncode == 0 or b"not found" in gone.stderr:
            break
        time.sleep(1)


def measured(box: Box, address: str, keep_alive: bool, *args: str) -> dict[str, Any]:
    """One specctl command under load; the figures of the requests in its window."""
    with Load(
        PUBLIC, path=PATH, rate=RATE, keep_alive=keep_alive, seconds=LOAD_LIMIT, address=address
    ) as load:
        time.sleep(SETTLE)
        began = time.time()
        result: Run = box.specctl(*args, env=NEW)
        time.sleep(TAIL)
        report = load.stop()
    if result.code != 0:
        raise BenchError(f"specctl {' '.join(args)} failed:\n" + result.out[-3000:])
    row = figures(window(report, began, began + result.seconds + TAIL))
    row["seconds"] = result.seconds
    row["switch_s"] = number(result.first(r"proven in ([0-9.]+)s"))
    return row


def bench_zero_downtime(box: Box, address: str, reps: int) -> dict[str, Any]:
    say("swarm: specctl apply --target blue (1.0; not timed as a figure)")
    box.specctl("compile").ok()
    box.specctl("apply", "--target", "blue", "--yes").ok()
    box.specctl("compile", env=NEW).ok()
    rows: dict[str, list[dict[str, Any]]] = {"apply": [], "rollback": []}
    for client, keep_alive in CLIENTS.items():
        for rep in range(reps):
            say(f"swarm: apply green (1.1) and roll back, {client}, repetition {rep + 1}")
            rows["apply"].append(
                {"client": client, **measured(box, address, keep_alive, "apply", "--yes")}
            )
            rows["rollback"].append(
                {"client": client, **measured(box, address, keep_alive, "rollback")}
            )
            # green again from scratch: removed, so every apply deploys it
            manager = manager_host(box)
            subprocess.run(
                ["docker", "-H", manager, "stack", "rm", f"{NAME}-green"], capture_output=True
            )
            wait_stack_gone(manager, f"{NAME}-green")
    return rows


def manager_host(box: Box) -> str:
    found = re.search(r"^  host: (\S+)$", box.spec_path.read_text(), re.M)
    assert found is not None
    return found.group(1)


def wait_stack_gone(manager: str, stack: str) -> None:
    """Until the manager runs no container of the stack (its other nodes follow alike)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = subprocess.run(
            [
                "docker",
                "-H",
                manager,
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.stack.namespace={stack}",
            ],
            capture_output=True,
            text=True,
        ).stdout
        if not out.strip():
            return
        time.sleep(1)


def scale_spec(nodes: dict[str, dict[str, str]], name: str, services: int) -> str:
    tiny = "".join(
        f"  s{i:04d}:\n    image: specctl-testbed/nginx:1.22\n" for i in range(1, services)
    )
    return f"""\
version: 1
project: {name}
root: ..
{engine_block(nodes)}services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
{tiny}proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {SCALE_PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /version}}
  locations:
    - {{path: /, upstream: web}}
deploy:
  health_timeout: 900s
  retire: keep
backups:
  enabled: false
"""


def plan_once(box: Box) -> dict[str, Any]:
    """`specctl plan` as a user runs it, then the same plan in this process with its calls."""
    wall = box.specctl("plan", "--target", "blue", "--detailed-exitcode").ok(0).seconds
    project = load_project(box.spec_path)
    client = engine.api()
    before = client.calls
    began = time.monotonic()
    planned = make_plan(project, "blue")
    return {
        "wall": wall,
        "seconds": time.monotonic() - began,
        "calls": client.calls - before,
        "observe_calls": planned.live.api_calls,
        "changes": len(planned.plan.changes),
    }


def bench_plan(nodes: dict[str, dict[str, str]], sizes: tuple[int, ...], reps: int) -> list[Any]:
    rows = []
    for services in sizes:
        name = f"bench-sw{services}"
        remove_stacks(name, nodes["m1"]["host"])
        with sandbox(name, scale_spec(nodes, name, services)) as box:
            try:
                say(f"swarm: {services} services: apply --target blue (not timed as a figure)")
                box.specctl("compile").ok()
                applied = box.specctl("apply", "--target", "blue", "--yes").ok().seconds
                say(f"swarm: {services} services: no-op plan, {reps} repetition(s)")
                plans = [plan_once(box) for _ in range(reps)]
                if any(p["changes"] for p in plans):
                    raise BenchError(f"{name}: the plan after a successful apply is not empty")
                rows.append({"services": services, "apply_s": applied, "plan": plans})
            finally:
                remove_stacks(name, nodes["m1"]["host"])
    return rows


def bench_swarm(reps: int, *, sizes: tuple[int, ...]) -> dict[str, Any]:
    say("swarm: the three-node bed up, images on every node")
    nodes = bed()
    address = nodes["m1"]["address"]
    remove_stacks(NAME, nodes["m1"]["host"])
    with sandbox(NAME, spec_text(nodes)) as box:
        try:
            zero = bench_zero_downtime(box, address, reps)
        finally:
            remove_stacks(NAME, nodes["m1"]["host"])
    return {**zero, "plan": bench_plan(nodes, sizes, reps)}
