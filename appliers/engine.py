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
# Set from the loaded spec (configure): a Swarm spec may name its manager and its nodes.
_host: str | None = None  # None: DOCKER_HOST and friends, else the local socket
_swarm = False
_nodes: dict[str, str] = {}
_node_clients: dict[str, CountingAPIClient] = {}


def configure(*, swarm: bool, host: str | None = None, nodes: dict[str, str] | None = None) -> None:
    """Which engine this process talks to: the spec's (a Swarm manager's address, its nodes' own
    addresses), else the environment's. A new address drops the clients made for the old one."""
    global _client, _host, _swarm, _nodes
    with _lock:
        if host != _host:
            _client = None
        if dict(nodes or {}) != _nodes:
            _node_clients.clear()
        _host, _swarm, _nodes = host, swarm, dict(nodes or {})


def swarm() -> bool:
    """The loaded spec runs on a Docker Swarm: containers are tasks of stack services."""
    return _swarm


def node_api(hostname: str | None) -> CountingAPIClient | None:
    """The client of one Swarm node's own engine, from the spec's engine.nodes; None when the
    spec gives it no address."""
    address = _nodes.get(hostname or "")
    if address is None:
        return None
    with _lock:
        if address not in _node_clients:
            _node_clients[address] = _make(address)
    return _node_clients[address]


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
            _client = (
                _make(_host) if _host else CountingAPIClient(version="auto", timeout=120, **params)
            )
        except DockerException as exc:
            raise ObserveError(
                f"docker: cannot reach the Docker engine ({_short(exc)})",
                hint="start it (bash testbed/engine.sh sets one up) and check `docker info`",
            ) from None
    return _client


def new_client(timeout: float) -> CountingAPIClient:
    """A client of its own to the engine api() talks to, with its own read timeout: for long
    streams (logs followed, a restore that prints nothing for minutes)."""
    if _host:
        return _make(_host, timeout=timeout)
    from docker.utils import kwargs_from_env

    from specctl.appliers.counting import CountingAPIClient

    return CountingAPIClient(version="auto", timeout=int(timeout), **kwargs_from_env())


def _make(address: str, *, timeout: float = 120) -> CountingAPIClient:
    from docker.errors import DockerException

    from specctl.appliers.counting import CountingAPIClient

    try:
        return CountingAPIClient(
            base_url=address,
            version="auto",
            timeout=int(timeout),
            use_ssh_client=address.startswith("ssh://"),  # the ssh binary and its config
        )
    except DockerException as exc:
        raise ObserveError(
            f"docker: cannot reach the Docker engine at {address} ({_short(exc)})",
            hint="check the address in the spec's engine: (`docker -H ADDRESS info`)",
        ) from None


def running_container(compose_project: str, service: str) -> str | None:
    """The id of the running container of one Compose service (on a Swarm: a task of the stack's
    service on the manager), or None (one API call)."""
    labels = (
        [
            f"com.docker.stack.namespace={compose_project}",
            f"com.docker.swarm.service.name={compose_project}_{service}",
        ]
        if _swarm
        else [
            f"com.docker.compose.project={compose_project}",
            f"com.docker.compose.service={service}",
        ]
    )
    rows = api().containers(filters={"label": labels, "status": "running"})
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
