"""The Docker engine connection (side effects): one client, API calls counted, clear errors."""

from __future__ import annotations

from typing import Any

import docker
from docker.errors import DockerException
from docker.utils import kwargs_from_env

from specctl.schemas.errors import ObserveError


class CountingAPIClient(docker.APIClient):
    """Counts HTTP requests to the engine, so tests and benchmarks can show they stay constant."""

    calls = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().request(*args, **kwargs)


_client: CountingAPIClient | None = None


def api() -> CountingAPIClient:
    """The process-wide low-level client (DOCKER_HOST and friends are honoured)."""
    global _client
    if _client is None:
        try:
            params = kwargs_from_env()
            _client = CountingAPIClient(version="auto", timeout=120, **params)
        except DockerException as exc:
            raise ObserveError(
                f"docker: cannot reach the Docker engine ({_short(exc)})",
                hint="start it (bash testbed/engine.sh sets one up) and check `docker info`",
            ) from None
    return _client


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
