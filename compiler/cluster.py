"""Judge a stack on a Swarm cluster from one observation: converged (every service runs as many
healthy tasks as it wants, no update paused or rolled back), or what is wrong in words; pure."""

from __future__ import annotations

from specctl.schemas.cluster import Cluster, ClusterService
from specctl.schemas.live import LiveContainer

# Swarm marks a task running only once its health check passed; these never get there.
FAILED = ("failed", "rejected", "orphaned")
BAD_UPDATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


def stack_problems(cluster: Cluster, stack: str, *, expected: list[str]) -> list[str]:
    """Why `stack` is not converged (empty: it is); `expected` names its services."""
    services = {s.service: s for s in cluster.of_stack(stack)}
    problems = [f"{stack}.{name}: not deployed" for name in expected if name not in services]
    for name in expected:
        svc = services.get(name)
        if svc is not None:
            problems += service_problems(cluster, svc)
    return problems


def service_problems(cluster: Cluster, svc: ClusterService) -> list[str]:
    where = f"{svc.stack}.{svc.service}"
    if svc.update_state in BAD_UPDATES:
        why = f": {svc.update_message}" if svc.update_message else ""
        return [f"{where}: Swarm's update is {svc.update_state.replace('_', ' ')}{why}"]
    want = svc.replicas if svc.replicas is not None else svc.desired_tasks or 0
    current = [t for t in cluster.tasks_of(svc) if t.desired_state == "running"]
    running = [t for t in current if t.state == "running" and t.image == svc.image]
    if len(running) >= want:
        return []
    failed = [t for t in cluster.tasks_of(svc) if t.state in FAILED and t.error]
    last = f"; last failure: {failed[-1].error}" if failed else ""
    waiting = [t for t in current if t.state != "running"]
    state = f" ({', '.join(sorted({t.state or '?' for t in waiting}))})" if waiting else ""
    return [f"{where}: {len(running)} of {want} tasks running and healthy{state}{last}"]


def placement(cluster: Cluster, svc: ClusterService) -> dict[str, int]:
    """Node hostname -> running tasks of the service."""
    out: dict[str, int] = {}
    for task in cluster.tasks_of(svc):
        if task.state == "running" and task.desired_state == "running":
            node = cluster.node(task.node_id)
            name = (node.hostname if node else None) or task.node_id or "?"
            out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items()))


def as_containers(cluster: Cluster) -> list[LiveContainer]:
    """Each stack service as one LiveContainer, so plans, the serving colour and status read a
    Swarm as they read a Compose host: `running` when every task it wants runs healthy,
    `exited` when it is scaled to zero (retired), else `restarting` (health `starting`, or
    `unhealthy` when tasks fail)."""
    out = []
    for svc in cluster.services:
        problems = service_problems(cluster, svc)
        want = svc.replicas if svc.replicas is not None else svc.desired_tasks or 0
        failing = any(t.state in FAILED for t in cluster.tasks_of(svc))
        if want == 0:
            state, health = "exited", None
        elif not problems:
            state, health = "running", "healthy"
        else:
            state, health = "restarting", "unhealthy" if failing else "starting"
        where = placement(cluster, svc)
        out.append(
            LiveContainer(
                id=svc.id,
                name=svc.name,
                project=svc.stack,
                service=svc.service,
                color=svc.color,
                image=svc.image,
                state=state,
                status=f"{sum(where.values())}/{want} tasks"
                + (f" on {', '.join(where)}" if where else "")
                + (f"; {problems[0]}" if problems else ""),
                health=health,
                labels=svc.labels,
            )
        )
    return sorted(out, key=lambda c: (c.project or "", c.name or ""))
