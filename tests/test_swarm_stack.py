"""A colour's stack on a real three-node Swarm (testbed/swarm.sh): specctl's stack files deploy
as they are, the backend's two replicas land on the two workers, specctl sees the cluster in
three API calls whatever the number of services, and a task that never becomes healthy is named
with what Swarm says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from specctl.appliers.counting import CountingAPIClient
from specctl.appliers.swarm.deploy import deploy_stack, ensure_edge_network, wait_converged
from specctl.appliers.swarm.observe import observe_cluster
from specctl.compiler.cluster import placement
from specctl.schemas.errors import ApplyError
from tests import swarm
from tests.conftest import run_cli
from tests.swarm import Cluster

swarm_cluster = swarm.swarm_cluster
pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

NAME = "swobs"
HEALTH = "{http: /health, interval: 1s, timeout: 2s, retries: 30}"
SPEC = f"""\
version: 1
project: {NAME}
root: ..
engine: {{kind: swarm, endpoint_mode: dnsrr, edge_node: m1}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    replicas: 2
    placement: {{role: worker, max_per_node: 1}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}"}}
    healthcheck: {HEALTH}
  api:
    image: specctl-testbed/app:1.0
    port: 8080
    environment: {{APP_NAME: api, APP_COLOR: "{{color}}"}}
    healthcheck: {HEALTH}
  cache:
    image: specctl-testbed/redis:7
    port: 6379
    healthcheck: {{command: [redis-cli, ping], interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: 31580, container: 80}}]
  upstreams: {{web: {{service: web, probe: /health}}}}
  locations: [{{path: /, upstream: web}}]
"""
IMAGES = ["specctl-testbed/app:1.0", "specctl-testbed/redis:7"]


@pytest.fixture(scope="module")
def bed(swarm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The spec compiled in a temporary project; the images on every node; stacks removed
    afterwards."""
    root = tmp_path_factory.mktemp("swobs")
    (root / "config").mkdir()
    (root / "config" / "spec.yaml").write_text(SPEC)
    compiled = run_cli("-f", "config/spec.yaml", "compile", cwd=root)
    assert compiled.code == 0, compiled.err
    swarm_cluster.load(IMAGES)
    yield root / "generated" / NAME
    for stack in (f"{NAME}-blue", f"{NAME}-green"):
        swarm_cluster.docker("stack", "rm", stack, check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the network goes once the tasks are gone
        if swarm_cluster.docker("network", "rm", f"{NAME}-edge", check=False).returncode == 0:
            break
        time.sleep(1)


def client(cluster: Cluster) -> CountingAPIClient:
    return CountingAPIClient(base_url=cluster.manager_host, version="auto", timeout=60)


def test_a_colour_stack_converges_with_replicas_on_two_workers(
    swarm_cluster: Cluster, bed: Path
) -> None:
    api = client(swarm_cluster)
    ensure_edge_network(api, f"{NAME}-edge", project=NAME)
    deploy_stack(swarm_cluster.manager_host, f"{NAME}-blue", bed / "stack.blue.yml")
    seen = wait_converged(
        api, project=NAME, stack=f"{NAME}-blue", expected=["web", "api", "cache"], timeout=240
    )
    web = next(s for s in seen.services if s.service == "web")
    assert placement(seen, web) == {"w1": 1, "w2": 1}
    assert web.color == "blue" and web.replicas == 2
    assert seen.api_calls == 3


def test_observation_stays_three_calls_as_the_cluster_grows(
    swarm_cluster: Cluster, bed: Path
) -> None:
    api = client(swarm_cluster)
    ensure_edge_network(api, f"{NAME}-edge", project=NAME)
    deploy_stack(swarm_cluster.manager_host, f"{NAME}-green", bed / "stack.green.yml")
    seen = wait_converged(
        api, project=NAME, stack=f"{NAME}-green", expected=["web", "api", "cache"], timeout=240
    )
    assert len(seen.services) == 6 and len(seen.nodes) == 3
    assert len([t for t in seen.tasks if t.state == "running"]) >= 8
    assert observe_cluster(api, NAME).api_calls == 3


def test_a_task_that_never_becomes_healthy_is_named(
    swarm_cluster: Cluster, bed: Path, tmp_path: Path
) -> None:
    sick = (
        (bed / "stack.green.yml")
        .read_text()
        .replace("http://127.0.0.1:8080/health", "http://127.0.0.1:8080/no-such-page")
    )
    assert "no-such-page" in sick
    file = bed / "stack.sick.yml"
    file.write_text(sick)
    deploy_stack(swarm_cluster.manager_host, f"{NAME}-green", file)
    with pytest.raises(ApplyError) as info:
        wait_converged(
            client(swarm_cluster),
            project=NAME,
            stack=f"{NAME}-green",
            expected=["web", "api", "cache"],
            timeout=20,
        )
    message = info.value.message
    assert message.startswith(f"{NAME}-green: not converged after 20s: ")
    assert f"{NAME}-green.web: " in message  # short of healthy tasks, or its update paused
    assert "tasks running and healthy" in message or "update is paused" in message
