"""The Swarm test bed itself (testbed/swarm.sh through tests/swarm.py): three nodes Ready with
their own hostnames and labels; a dnsrr service placed on the two workers; a container on the
manager reaching both tasks by the service's name over an overlay network; host-mode published
ports answering at each node's address; a worker's daemon stopped (Down) and started (Ready, its
task back). Services bedtest-*, host-mode ports 18080 and 18081 inside the nodes."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import swarm
from tests.swarm import Cluster

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

swarm_cluster = swarm.swarm_cluster  # the session's cluster, shared with other modules

APP = "specctl-testbed/app:1.0"
NET, WEB, EDGE, PROBE = "bedtest-net", "bedtest-web", "bedtest-edge", "bedtest-probe"
WEB_PORT, EDGE_PORT = 18080, 18081
OVERLAY_POOL = "10.232."  # testbed/swarm.sh: swarm init --default-addr-pool 10.232.0.0/16

# Run inside the probe container: the addresses a name resolves to, and each one's answer.
RESOLVE_AND_ASK = """
import json, socket, sys, urllib.request
out = {}
for name in sys.argv[1:]:
    try:
        ips = sorted({a[4][0] for a in socket.getaddrinfo(name, 8080, proto=socket.IPPROTO_TCP)})
    except OSError as exc:
        out[name] = {"error": str(exc)}
        continue
    answers = {}
    for ip in ips:
        try:
            answers[ip] = urllib.request.urlopen(f"http://{ip}:8080/", timeout=5).read().decode().strip()
        except OSError as exc:
            answers[ip] = f"error: {exc}"
    out[name] = answers
print(json.dumps(out))
"""


def remove_all(cluster: Cluster) -> None:
    cluster.docker("rm", "--force", PROBE, check=False)
    cluster.docker("service", "rm", WEB, EDGE, check=False)
    deadline = time.monotonic() + 60
    # The network goes once every node has removed the services' tasks from it.
    while cluster.docker("network", "inspect", NET, check=False).returncode == 0:
        if cluster.docker("network", "rm", NET, check=False).returncode == 0:
            break
        assert time.monotonic() < deadline, f"{NET}: still in use after 60s"
        time.sleep(0.5)


def running_tasks(cluster: Cluster, service: str) -> dict[str, str]:
    """node -> current state of the service's tasks that should run."""
    out = cluster.docker(
        "service", "ps", service, "--filter", "desired-state=running",
        "--format", "{{.Node}}\t{{.CurrentState}}",
    ).stdout  # fmt: skip
    return dict(line.split("\t", 1) for line in out.splitlines())


def wait_running(cluster: Cluster, service: str, nodes: set[str], *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        tasks = running_tasks(cluster, service)
        if set(tasks) == nodes and all(state.startswith("Running") for state in tasks.values()):
            return
        assert time.monotonic() < deadline, f"{service}: tasks {tasks}, expected running on {nodes}"
        time.sleep(0.3)


def answer(url: str, *, timeout: float = 15) -> str:
    """The body at url, once the app listens (a task is Running a moment before that)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5).text
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def bed(docker_engine: None, swarm_cluster: Cluster) -> Iterator[Cluster]:
    """The app image (from the host engine) on every node, an attachable overlay network, the two
    services and a long-running probe container on the manager attached to the network."""
    cluster = swarm_cluster
    cluster.load([APP])
    remove_all(cluster)
    cluster.docker("network", "create", "--driver", "overlay", "--attachable", NET)
    common = ["--detach", "--endpoint-mode", "dnsrr", "--env", "APP_NAME={{.Node.Hostname}}"]
    cluster.docker(
        "service", "create", "--name", WEB, *common, "--network", NET,
        "--mode", "replicated", "--replicas", "2", "--replicas-max-per-node", "1",
        "--constraint", "node.role==worker",
        "--publish", f"mode=host,target=8080,published={WEB_PORT}", APP,
    )  # fmt: skip
    cluster.docker(
        "service", "create", "--name", EDGE, *common, "--constraint", "node.labels.edge==true",
        "--publish", f"mode=host,target=8080,published={EDGE_PORT}", APP,
    )  # fmt: skip
    cluster.docker("run", "--detach", "--name", PROBE, "--network", NET, APP, "sleep", "infinity")
    try:
        yield cluster
    finally:
        remove_all(cluster)


def test_three_nodes_ready_with_their_own_hostnames_and_labels(swarm_cluster: Cluster) -> None:
    cluster = swarm_cluster
    listed = cluster.docker(
        "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}"
    ).stdout.split("\n")
    assert sorted(line.strip() for line in listed if line) == [
        "m1 Ready Active Leader",
        "w1 Ready Active",
        "w2 Ready Active",
    ]
    for node in cluster.nodes.values():
        info = cluster.docker("info", "--format", "{{.Name}} {{.Swarm.NodeAddr}}", node=node.name)
        assert info.stdout.split() == [node.name, node.address]
        spec = cluster.docker("node", "inspect", "--format", "{{json .Spec.Labels}}", node.name)
        assert json.loads(spec.stdout) == node.labels
    assert socket.gethostname() not in cluster.nodes, "a node took the host's hostname"
    assert cluster.nodes["w1"].labels["gpu"] == "true"
    assert [n.name for n in cluster.nodes.values() if n.labels["edge"] == "true"] == ["m1"]


def test_dnsrr_service_runs_one_task_on_each_worker(bed: Cluster) -> None:
    wait_running(bed, WEB, {"w1", "w2"})
    spec = bed.docker("service", "inspect", "--format", "{{json .Endpoint.Spec}}", WEB).stdout
    assert json.loads(spec)["Mode"] == "dnsrr"


def test_manager_reaches_both_tasks_by_service_name_over_the_overlay(bed: Cluster) -> None:
    wait_running(bed, WEB, {"w1", "w2"})
    deadline = time.monotonic() + 30
    while True:  # the manager learns the tasks' addresses by gossip, soon after they start;
        # a task is running before its app listens (no health check here): ask until it answers
        out = bed.docker(
            "exec", PROBE, "python3", "-c", RESOLVE_AND_ASK, WEB, f"tasks.{WEB}"
        ).stdout
        seen = json.loads(out)
        answered = all(
            len(answers) == 2 and not any(a.startswith("error:") for a in answers.values())
            for answers in seen.values()
        )
        if answered:
            break
        assert time.monotonic() < deadline, f"by name from m1: {seen}"
        time.sleep(0.5)
    by_name, by_tasks = seen[WEB], seen[f"tasks.{WEB}"]
    assert by_name == by_tasks  # dnsrr: the service's name gives every task's address, no VIP
    assert sorted(by_name.values()) == ["w1 none 1.0", "w2 none 1.0"]
    assert all(ip.startswith(OVERLAY_POOL) for ip in by_name)


def test_host_mode_ports_answer_at_each_node_address(bed: Cluster) -> None:
    wait_running(bed, WEB, {"w1", "w2"})
    wait_running(bed, EDGE, {"m1"})
    targets = {"m1": EDGE_PORT, "w1": WEB_PORT, "w2": WEB_PORT}
    for name, port in targets.items():
        assert answer(f"http://{bed.nodes[name].address}:{port}/") == f"{name} none 1.0\n"
    # A node's ports are in its own network namespace: not on the host's loopback.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{EDGE_PORT}/", timeout=5)


def test_a_stopped_worker_is_down_and_comes_back_ready(bed: Cluster) -> None:
    wait_running(bed, WEB, {"w1", "w2"})
    bed.stop_node("w2")
    try:
        bed.wait_node_state("w2", "Down", timeout=60)
        assert bed.node_states() == {"m1": "Ready", "w1": "Ready", "w2": "Down"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{bed.nodes['w2'].address}:{WEB_PORT}/", timeout=5)
    finally:
        bed.start_node("w2")  # returns once the manager sees it Ready
    assert bed.node_states() == {"m1": "Ready", "w1": "Ready", "w2": "Ready"}
    wait_running(bed, WEB, {"w1", "w2"})  # the missing replica is placed on w2 again
    assert answer(f"http://{bed.nodes['w2'].address}:{WEB_PORT}/") == "w2 none 1.0\n"
