"""A one-off command on a Swarm (the migration): a replicated job of one task with a service's
image, environment, env files and mounts, on the colour's and the edge network; waited for,
its output kept, then removed (side effects: Docker API)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from specctl.appliers import engine
from specctl.appliers.envfiles import read_env
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.errors import ApplyError

DONE = ("complete", "failed", "rejected", "shutdown", "orphaned")
OUTPUT_LINES = 20  # of a failed job's output, in the error


def run_job(
    project: Project,
    desired: Desired,
    svc: DesiredService,
    command: list[str],
    *,
    name: str,
    timeout: float,
    what: str,
) -> None:
    from docker.types import (
        ContainerSpec,
        Mount,
        Placement,
        RestartPolicy,
        ServiceMode,
        TaskTemplate,
    )

    client = engine.api()
    _remove_leftovers(client, project.spec.project)
    env: dict[str, str | bytes | None] = {
        k: v for k, v in read_env(project, svc).items() if v is not None
    }
    env.update(svc.environment)  # as in Compose: environment wins over env files
    mounts = [
        Mount(
            target=m.target,
            source=str(project.path(m.source)) if m.kind == "bind" else m.source,
            type=m.kind,
            read_only=m.read_only,
        )
        for m in svc.mounts
    ]
    template = TaskTemplate(
        # args, not command: the image's entrypoint stays, as with `docker compose run`
        container_spec=ContainerSpec(image=svc.image or "", args=command, env=env, mounts=mounts),
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=list(svc.placement or [])) if svc.placement else None,
        networks=[f"{desired.color_project}_default", desired.network],
    )
    try:
        created = client.create_service(  # type: ignore[no-untyped-call]
            template,
            name=name,
            mode=ServiceMode("replicated-job", concurrency=1),
            labels={"specctl.job": what, "specctl.job.project": project.spec.project},
        )
    except engine.DockerException as exc:
        raise ApplyError(f"{what}: cannot create the job ({engine.short(exc)})") from None
    job = str(created["ID"])
    try:
        task = _wait(client, job, timeout=timeout, what=what)
        state = task.get("Status", {}).get("State")
        code = task.get("Status", {}).get("ContainerStatus", {}).get("ExitCode")
        if state != "complete":
            error = task.get("Status", {}).get("Err") or f"state {state}"
            raise ApplyError(
                f"{what} failed (exit {code if code is not None else '?'}): {error}"
                + _output(client, job),
                hint=f"nothing was switched; the command ran as `{' '.join(command)}` in "
                f"{svc.image}",
            )
    finally:
        # named <stack>_migrate-…: `docker service rm` it by hand if it stays
        with contextlib.suppress(engine.DockerException):
            client.remove_service(job)  # type: ignore[no-untyped-call]


def _remove_leftovers(client: Any, project: str) -> None:
    """Jobs an interrupted run left behind (the project lock rules out a job still wanted)."""
    try:
        for row in client.services(filters={"label": f"specctl.job.project={project}"}):
            client.remove_service(row["ID"])
    except engine.DockerException as exc:
        raise ApplyError(f"cannot remove an earlier run's job ({engine.short(exc)})") from None


def _wait(client: Any, job: str, *, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        tasks = client.tasks(filters={"service": job})
        done = [t for t in tasks if t.get("Status", {}).get("State") in DONE]
        if done:
            return dict(done[-1])
        if time.monotonic() > deadline:
            state = tasks[-1].get("Status", {}).get("State") if tasks else "not scheduled"
            raise ApplyError(
                f"{what}: still {state} after {timeout:.0f}s; the job was removed",
                hint="hooks.migrate.timeout sets the bound",
            )
        time.sleep(0.3)


def _output(client: Any, job: str) -> str:
    try:
        chunks = client.service_logs(job, stdout=True, stderr=True, tail=OUTPUT_LINES)
        text = b"".join(chunks).decode("utf-8", "replace").strip()
    except engine.DockerException:
        return ""
    return "\n  output:\n    " + "\n    ".join(text.splitlines()) if text else ""
