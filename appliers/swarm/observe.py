"""Read a Swarm cluster into a Cluster value: nodes, the project's services (with their task
counts) and those services' tasks, in three API calls whatever the number of services, replicas
and nodes (side effects: Docker API)."""

from __future__ import annotations

from typing import Any

from specctl.appliers import engine
from specctl.appliers.counting import CountingAPIClient
from specctl.schemas.cluster import Cluster, ClusterNode, ClusterService, ClusterTask
from specctl.schemas.errors import ObserveError

STACK_LABEL = "com.docker.stack.namespace"


def observe_cluster(client: CountingAPIClient, project: str) -> Cluster:
    before = client.calls
    try:
        nodes = client.nodes()
        # types-docker leaves these two untyped; both return lists of dicts.
        rows: list[dict[str, Any]] = client.services(  # type: ignore[no-untyped-call]
            filters={"label": f"specctl.project={project}"}, status=True
        )
        ids = [row["ID"] for row in rows]
        tasks: list[dict[str, Any]] = (
            client.tasks(filters={"service": ids})  # type: ignore[no-untyped-call]
            if ids
            else []
        )
    except engine.DockerException as exc:
        raise ObserveError(
            f"docker: cannot read the Swarm ({str(exc).splitlines()[0][:200]})",
            hint="is this engine a Swarm manager? `docker node ls` says",
        ) from None
    return Cluster(
        nodes=[node_from_row(n) for n in nodes],
        services=sorted((service_from_row(r) for r in rows), key=lambda s: s.name),
        tasks=sorted(
            (task_from_row(t) for t in tasks), key=lambda t: (t.service_id, t.slot or 0, t.id)
        ),
        api_calls=client.calls - before,
    )


def node_from_row(row: dict[str, Any]) -> ClusterNode:
    spec = row.get("Spec") or {}
    status = row.get("Status") or {}
    return ClusterNode(
        id=row["ID"],
        hostname=(row.get("Description") or {}).get("Hostname"),
        role=spec.get("Role"),
        state=status.get("State"),
        availability=spec.get("Availability"),
        address=status.get("Addr"),
        labels=spec.get("Labels") or {},
    )


def service_from_row(row: dict[str, Any]) -> ClusterService:
    spec = row.get("Spec") or {}
    labels = spec.get("Labels") or {}
    mode = spec.get("Mode") or {}
    status = row.get("ServiceStatus") or {}
    update = row.get("UpdateStatus") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return ClusterService(
        id=row["ID"],
        name=spec.get("Name", ""),
        stack=labels.get(STACK_LABEL),
        service=labels.get("specctl.service"),
        color=labels.get("specctl.color"),
        image=container.get("Image"),
        replicas=(mode.get("Replicated") or {}).get("Replicas"),
        running=status.get("RunningTasks"),
        desired_tasks=status.get("DesiredTasks"),
        update_state=update.get("State"),
        update_message=update.get("Message"),
        labels=labels,
    )


def task_from_row(row: dict[str, Any]) -> ClusterTask:
    status = row.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    spec = ((row.get("Spec") or {}).get("ContainerSpec")) or {}
    return ClusterTask(
        id=row["ID"],
        service_id=row.get("ServiceID", ""),
        node_id=row.get("NodeID"),
        slot=row.get("Slot"),
        state=status.get("State"),
        desired_state=row.get("DesiredState"),
        error=status.get("Err"),
        message=status.get("Message"),
        container_id=container.get("ContainerID"),
        image=spec.get("Image"),
    )
