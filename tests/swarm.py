"""A real Docker Swarm of several nodes on this machine, for tests, the demo and benchmarks (side
effects: every call runs testbed/swarm.sh, the one source of truth for the layout and the steps).

    from tests import swarm
    swarm_cluster = swarm.swarm_cluster   # in a test module: the session fixture, one cluster

    def test_something(swarm_cluster: swarm.Cluster) -> None:
        swarm_cluster.load(["specctl-testbed/app:1.0"])
        swarm_cluster.docker("service", "create", ...)   # on the manager
        httpx.get(f"http://{swarm_cluster.nodes['w1'].address}:8080/")   # a host-mode port
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "testbed" / "swarm.sh"


class SwarmError(RuntimeError):
    """A command of the test bed failed; keeps the command, exit code and stderr."""

    def __init__(self, argv: list[str], code: int, stderr: str) -> None:
        self.argv, self.code, self.stderr = argv, code, stderr
        super().__init__(f"{' '.join(argv)}: exit {code}\n{stderr.strip()}")


def run(
    argv: list[str], *, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise SwarmError(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc


@dataclass(frozen=True)
class Node:
    name: str  # also the node's hostname, so its name in `docker node ls`
    role: str  # "manager" or "worker"
    address: str  # on the host bridge: host-mode published ports answer here, from the host too
    host: str  # the DOCKER_HOST of this node's own daemon
    labels: dict[str, str]

    @property
    def socket(self) -> Path:
        return Path(self.host.removeprefix("unix://"))


class Cluster:
    """m1 (manager) and workers w1…; see testbed/swarm.sh for addresses and labels."""

    def __init__(self, size: int = 3, *, script: Path = SCRIPT) -> None:
        self.size = size
        self.script = script
        self._nodes: dict[str, Node] | None = None

    def _script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["bash", str(self.script), *args], check=check)

    @property
    def nodes(self) -> dict[str, Node]:
        """name -> Node, in order: m1, w1, w2, …"""
        if self._nodes is None:
            nodes = {}
            for line in self._script("layout", str(self.size)).stdout.splitlines():
                name, role, address, host, labels = line.split("\t")
                pairs = dict(label.split("=", 1) for label in labels.split())
                nodes[name] = Node(name, role, address, host, pairs)
            self._nodes = nodes
        return self._nodes

    @property
    def manager(self) -> Node:
        return next(node for node in self.nodes.values() if node.role == "manager")

    @property
    def manager_host(self) -> str:
        return self.manager.host

    @property
    def workers(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.role == "worker"]

    def up(self, n: int | None = None) -> None:
        """Start (or repair) the cluster with n nodes; quick when it already runs."""
        if n is not None and n != self.size:
            self.size, self._nodes = n, None
        self._script("up", str(self.size))

    def running(self) -> bool:
        """Every node's daemon answers and is Ready in the manager's view."""
        return self._script("status", check=False).returncode == 0

    def load(self, images: Iterable[str]) -> None:
        """Copy images from the host engine into every node that lacks them."""
        self._script("load", *images)

    def down(self, *, wipe: bool = False) -> None:
        self._script("down", *(["--wipe"] if wipe else []))

    def stop_node(self, name: str) -> None:
        """Stop one node's daemon by its pid file (its containers stop with it)."""
        self._script("stop-node", name)

    def start_node(self, name: str) -> None:
        """Start it again; returns when the manager sees it Ready. After a restart of the
        manager (m1), its DNS misses the workers' tasks for about 60 s (gossip rejoin)."""
        self._script("start-node", name)

    def docker(
        self, *args: str, node: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """The docker CLI against one node's daemon (the manager by default)."""
        host = self.nodes[node].host if node else self.manager_host
        return run(["docker", "-H", host, *args], check=check, timeout=timeout)

    def node_states(self) -> dict[str, str]:
        """hostname -> status in the manager's view (Ready, Down, Unknown)."""
        out = self.docker("node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout
        return dict(line.split(" ", 1) for line in out.splitlines())

    def wait_node_state(self, name: str, state: str, *, timeout: float = 60) -> float:
        """Seconds until the manager reports node `name` in `state`."""
        start = time.monotonic()
        while (seen := self.node_states().get(name)) != state:
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{name}: {seen} after {timeout:.0f}s, expected {state}")
            time.sleep(0.2)
        return time.monotonic() - start


def problem() -> str | None:
    """Why this machine cannot run the bed, or None."""
    if os.geteuid() != 0:
        return "the Swarm test bed needs root (network namespaces, one dockerd per node)"
    return None


@pytest.fixture(scope="session")
def swarm_cluster() -> Iterator[Cluster]:
    """Three nodes, up for the whole session; a cluster that ran before the session is left
    running, one this fixture started is stopped at the end (data roots kept, so images stay
    loaded) unless SPECCTL_SWARM_KEEP=1. In CI a missing prerequisite fails instead of skipping."""
    why = problem()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    cluster = Cluster(3)
    was_running = cluster.running()
    cluster.up()
    yield cluster
    if not was_running and not os.environ.get("SPECCTL_SWARM_KEEP"):
        cluster.down()
