"""Judging a stack on a Swarm from one observation (pure): converged, or what is wrong."""

from __future__ import annotations

from specctl.compiler.cluster import placement, service_problems, stack_problems
from specctl.schemas.cluster import Cluster, ClusterNode, ClusterService, ClusterTask

NODES = [
    ClusterNode(id="n1", hostname="m1", role="manager", state="ready"),
    ClusterNode(id="n2", hostname="w1", role="worker", state="ready"),
    ClusterNode(id="n3", hostname="w2", role="worker", state="ready"),
]
IMAGE = "app:1.0"


def backend(**fields: object) -> ClusterService:
    base: dict[str, object] = {
        "id": "s1",
        "name": "demo-blue_backend",
        "stack": "demo-blue",
        "service": "backend",
        "color": "blue",
        "image": IMAGE,
        "replicas": 2,
    }
    return ClusterService.model_validate({**base, **fields})


def task(i: int, node: str, state: str, **fields: object) -> ClusterTask:
    base: dict[str, object] = {
        "id": f"t{i}",
        "service_id": "s1",
        "node_id": node,
        "slot": i,
        "state": state,
        "desired_state": "running",
        "image": IMAGE,
    }
    return ClusterTask.model_validate({**base, **fields})


def test_two_running_tasks_on_two_workers_are_converged() -> None:
    cluster = Cluster(
        nodes=NODES,
        services=[backend()],
        tasks=[task(1, "n2", "running"), task(2, "n3", "running")],
    )
    assert stack_problems(cluster, "demo-blue", expected=["backend"]) == []
    assert placement(cluster, cluster.services[0]) == {"w1": 1, "w2": 1}


def test_a_task_still_starting_is_not_converged() -> None:
    cluster = Cluster(
        nodes=NODES,
        services=[backend()],
        tasks=[task(1, "n2", "running"), task(2, "n3", "starting")],
    )
    assert stack_problems(cluster, "demo-blue", expected=["backend"]) == [
        "demo-blue.backend: 1 of 2 tasks running and healthy (starting)"
    ]


def test_a_failing_task_says_why() -> None:
    cluster = Cluster(
        nodes=NODES,
        services=[backend()],
        tasks=[
            task(1, "n2", "running"),
            task(2, "n3", "failed", desired_state="shutdown", error="task: non-zero exit (1)"),
            task(3, "n3", "preparing", slot=2),
        ],
    )
    assert stack_problems(cluster, "demo-blue", expected=["backend"]) == [
        "demo-blue.backend: 1 of 2 tasks running and healthy (preparing); last failure: "
        "task: non-zero exit (1)"
    ]


def test_old_image_tasks_do_not_count_and_a_paused_update_is_named() -> None:
    old = Cluster(
        nodes=NODES,
        services=[backend()],
        tasks=[task(1, "n2", "running", image="app:0.9"), task(2, "n3", "running")],
    )
    assert stack_problems(old, "demo-blue", expected=["backend"]) == [
        "demo-blue.backend: 1 of 2 tasks running and healthy"
    ]
    paused = Cluster(
        nodes=NODES,
        services=[backend(update_state="rollback_completed", update_message="rollback done")],
        tasks=[task(1, "n2", "running"), task(2, "n3", "running")],
    )
    assert service_problems(paused, paused.services[0]) == [
        "demo-blue.backend: Swarm's update is rollback completed: rollback done"
    ]


def test_a_missing_service_and_zero_replicas() -> None:
    cluster = Cluster(nodes=NODES, services=[backend(replicas=0)], tasks=[])
    assert stack_problems(cluster, "demo-blue", expected=["backend", "frontend"]) == [
        "demo-blue.frontend: not deployed"
    ]
