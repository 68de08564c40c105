"""What was observed on a Swarm cluster: its nodes, the project's services and their tasks;
tolerant of missing fields like the rest of Live; pure types."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClusterNode(Tolerant):
    id: str
    hostname: str | None = None
    role: str | None = None  # manager | worker
    state: str | None = None  # ready | down | unknown | disconnected
    availability: str | None = None  # active | pause | drain
    address: str | None = None
    labels: dict[str, str] = {}


class ClusterTask(Tolerant):
    id: str
    service_id: str
    node_id: str | None = None
    slot: int | None = None
    state: str | None = None  # new … starting | running | complete | failed | rejected | …
    desired_state: str | None = None  # running | shutdown | …
    error: str | None = None  # why the task failed or was rejected, in Swarm's words
    message: str | None = None
    container_id: str | None = None
    image: str | None = None


class ClusterService(Tolerant):
    id: str
    name: str  # <stack>_<service>
    stack: str | None = None  # com.docker.stack.namespace
    service: str | None = None  # specctl.service
    color: str | None = None  # specctl.color
    image: str | None = None
    replicas: int | None = None  # desired, from the spec
    running: int | None = None  # ServiceStatus.RunningTasks
    desired_tasks: int | None = None  # ServiceStatus.DesiredTasks
    update_state: str | None = None  # updating | paused | completed | rollback_started | …
    update_message: str | None = None
    labels: dict[str, str] = {}

    @property
    def config_hash(self) -> str | None:
        return self.labels.get("specctl.config-hash")


class Cluster(Tolerant):
    """The cluster as one observation saw it (three API calls whatever its size)."""

    nodes: list[ClusterNode] = []
    services: list[ClusterService] = []
    tasks: list[ClusterTask] = []
    api_calls: int = 0

    def node(self, node_id: str | None) -> ClusterNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def of_stack(self, stack: str) -> list[ClusterService]:
        return [s for s in self.services if s.stack == stack]

    def tasks_of(self, service: ClusterService) -> list[ClusterTask]:
        return [t for t in self.tasks if t.service_id == service.id]
