"""The Docker engine connection (side effects): one client, API calls counted, clear errors.

The Docker SDK costs about 0.1 s to import and only commands that talk to the engine need it,
so the first api() call imports it; modules on the way there name its errors through
`engine.DockerException`, which does not import it either."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from specctl.schemas.errors import ObserveError

if TYPE_CHECKING:
    from docker.errors import DockerException as DockerException  # read via __getattr__ below

    from specctl.appliers.counting import CountingAPIClient

_client: CountingAPIClient | None = None
_lock = threading.Lock()  # the pre-checks run in threads: one client all the same


def api() -> CountingAPIClient:
    """The process-wide low-level client (DOCKER_HOST and friends are honoured)."""
    if _client is None:
        with _lock:
            return _connect()
    return _client


def _connect() -> CountingAPIClient:
    global _client
    if _client is None:
        from docker.errors import DockerException
        from docker.utils import kwargs_from_env

        from specctl.appliers.counting import CountingAPIClient

        try:
            params = kwargs_from_env()
            _client = CountingAPIClient(version="auto", timeout=120, **params)
        except DockerException as exc:
            raise ObserveError(
                f"docker: cannot reach the Docker engine ({_short(exc)})",
                hint="start it (bash testbed/engine.sh sets one up) and check `docker info`",
            ) from None
    return _client


def running_container(compose_project: str, service: str) -> str | None:
    """The id of the running container of one Compose service, or None (one API call)."""
    rows = api().containers(
        filters={
            "label": [
                f"com.docker.compose.project={compose_project}",
                f"com.docker.compose.service={service}",
            ],
            "status": "running",
        }
    )
    return str(rows[0]["Id"]) if rows else None


def __getattr__(name: str) -> Any:
    """`engine.DockerException`, read when used: an `except engine.DockerException:` clause reads
    it only once something was raised, and a Docker error means api() has imported the SDK."""
    if name == "DockerException":
        from docker.errors import DockerException

        return DockerException
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
