"""Compose operations through python-on-whales (side effects: containers change)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docker.errors import DockerException as DockerApiException

from specctl.appliers.engine import api
from specctl.appliers.envfiles import env_prints
from specctl.appliers.errors import api_error, compose_error
from specctl.appliers.project import Project
from specctl.compiler.compose import CONFIG_HASH_LABEL, CONFIG_LABEL, dump_yaml
from specctl.compiler.compose import labels as compose_labels
from specctl.schemas.desired import Desired
from specctl.schemas.errors import ApplyError

if TYPE_CHECKING:  # python-on-whales takes 0.25 s to import: only commands that run Compose pay
    from python_on_whales import DockerClient


def runtime_dir(project: Project) -> Path:
    return project.path(project.spec.state_dir) / "runtime"


# A colour's containers start with a quarter of the default CPU weight, so on a small host the
# serving colour keeps answering quickly while they boot; the health step gives them the
# default weight (`docker update`, no recreate) once they are healthy.
BOOT_CPU_SHARES = 256
CPU_SHARES = 1024


def env_label_override(
    project: Project, desired: Desired, which: str, *, swarm: bool = False
) -> Path:
    """A small override file that labels each container with fingerprints of its env-file
    values, so a later plan sees a changed secret without ever reading the container's env;
    names each built service's immutable tag (the generated files stay the same from one
    build to the next); a colour's services also boot with a low CPU weight."""
    prints = env_prints(project, desired)
    color = which == desired.color
    members = desired.services if color else [*desired.shared]
    services: dict[str, Any] = {}
    for svc in members:
        labels = {f"specctl.env.{k}": v for k, v in prints.get(svc.name, {}).items()}
        if svc.build is not None and svc.image is not None:
            # The tag and the config labels of the tagged service (the generated file has
            # the spec's image name, which says nothing of the build).
            tagged = compose_labels(svc)
            labels.update({k: tagged[k] for k in (CONFIG_HASH_LABEL, CONFIG_LABEL)})
        entry: dict[str, Any] = {"labels": labels} if labels else {}
        if swarm and labels:  # a plan reads a stack service's own labels
            entry["deploy"] = {"labels": labels}
        if svc.build is not None and svc.image is not None:
            entry["image"] = svc.image
        if color and not swarm:
            entry["cpu_shares"] = BOOT_CPU_SHARES
        if entry:
            services[svc.name] = entry
    path = runtime_dir(project) / f"env-labels.{which}{'.stack' if swarm else ''}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by specctl apply: env-file fingerprints (never values), built images' tags,"
        " boot CPU weight.\n"
    )
    if swarm:  # docker stack deploy merges files of one format version only
        from specctl.compiler.stack import STACK_VERSION

        text += f"version: '{STACK_VERSION}'\n"
    text += dump_yaml({"services": services}) if services else "services: {}\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def ensure_network(name: str, *, project_name: str) -> None:
    """The network every colour and the proxy share; specctl owns it (Compose sees it as
    external), so it exists before whichever project starts first."""
    try:
        if not api().networks(names=[name]):
            api().create_network(name, driver="bridge", labels={"specctl.project": project_name})
    except DockerApiException as exc:
        if "already exists" not in str(exc):
            raise ApplyError(f"network {name}: cannot create it ({exc})") from None


def client(project: Project, desired: Desired, which: str) -> DockerClient:
    """`which` is a colour or 'shared'."""
    files: list[str | Path] = [project.compose_file(which)]
    if which != "shared" or desired.shared:
        files.append(env_label_override(project, desired, which))
    name = desired.color_project if which != "shared" else desired.shared_project
    ensure_network(desired.network, project_name=project.spec.project)
    from python_on_whales import DockerClient

    return DockerClient(compose_files=files, compose_project_name=name)


@contextlib.contextmanager
def compose_errors(what: str) -> Iterator[None]:
    """A failed Compose command as a specctl error (argv, exit code, end of stderr)."""
    from python_on_whales.exceptions import DockerException

    try:
        yield
    except DockerException as exc:
        raise compose_error(what, exc) from None


def up(
    docker: DockerClient,
    services: list[str] | None,
    *,
    what: str,
    recreate: bool = True,
    no_deps: bool = False,
) -> None:
    if services == []:
        return
    with compose_errors(what):
        docker.compose.up(
            services=services,
            detach=True,
            recreate=recreate,
            dependencies=not no_deps,
            quiet=True,
            remove_orphans=False,
            color=False,
            pull="never",
        )


def stop(docker: DockerClient, services: list[str] | None, *, what: str, timeout: int = 30) -> None:
    with compose_errors(what):
        docker.compose.stop(services=services, timeout=timeout)


def start(docker: DockerClient, services: list[str], *, what: str) -> None:
    """Start existing containers as they are (no recreate): a rollback returns to what ran."""
    with compose_errors(what):
        docker.compose.start(services=services)


def remove_services(docker: DockerClient, services: list[str], *, what: str) -> None:
    """Stop and remove containers of services no longer in the spec (volumes are kept)."""
    if not services:
        return
    with compose_errors(what):
        docker.compose.rm(services=services, stop=True, volumes=False)


def run_once(
    docker: DockerClient, service: str, command: list[str], *, name: str, timeout: float, what: str
) -> str:
    """`compose run --rm --no-deps` with a deadline; the container is killed when it passes."""
    from python_on_whales.exceptions import DockerException

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["out"] = docker.compose.run(
                service, command, remove=True, dependencies=False, tty=False, name=name
            )
        except DockerException as exc:
            result["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        with contextlib.suppress(DockerException):
            docker.container.kill(name)
        worker.join(10)
        raise ApplyError(f"{what}: did not finish within {timeout:.0f}s; stopped it")
    if "error" in result:
        raise compose_error(what, result["error"])
    return str(result.get("out") or "")


def full_cpu_weight(container_ids: list[str]) -> None:
    """Healthy containers get the default CPU weight back (they booted with less)."""
    from docker.errors import DockerException

    for container in container_ids:
        try:
            api().update_container(container, cpu_shares=CPU_SHARES)
        except DockerException as exc:
            raise api_error(f"container {container[:12]}: set CPU weight", exc) from None
