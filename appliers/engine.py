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
_located: dict[str, str] = {}  # container id -> the address of the Swarm node that runs it


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


def manager_host() -> str | None:
    """The spec's manager address (None: the environment's), for the docker CLI."""
    return _host


def node_address(hostname: str, need: str) -> str:
    """A Swarm node's own Docker address from the spec's engine.nodes, or an error that says
    what needed it and how to give it."""
    address = _nodes.get(hostname)
    if address is None:
        raise ObserveError(
            f"{need}: node {hostname} has no Docker address in engine.nodes, so specctl cannot "
            "reach its engine",
            hint=f"add it (engine.nodes: {{{hostname}: ssh://USER@{hostname}}})",
        )
    return address


def node_api(hostname: str, need: str) -> CountingAPIClient:
    """The client of one Swarm node's own engine (see node_address)."""
    return _node_client(node_address(hostname, need))


def _node_client(address: str) -> CountingAPIClient:
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
        _client = _make(_host)
    return _client


def client_for(container_id: str) -> CountingAPIClient:
    """The client of the engine that runs this container: api(), or the Swarm node's own
    where running_container found it on another node."""
    address = _located.get(container_id)
    return api() if address is None else _node_client(address)


def address_for(container_id: str) -> str | None:
    """The Docker address of the engine that runs this container, for a docker CLI child
    process; None: the environment's (DOCKER_HOST, else the local socket)."""
    return _located.get(container_id) or _host


def new_client(timeout: float, *, container: str | None = None) -> CountingAPIClient:
    """A client of its own to the engine api() talks to (or to the node that runs
    `container`), with its own read timeout: for long streams (logs followed, a restore that
    prints nothing for minutes)."""
    return _make(_located.get(container or "") or _host, timeout=timeout)


def _make(address: str | None, *, timeout: float = 120) -> CountingAPIClient:
    """A client of the engine at address (None: the environment's)."""
    from docker.errors import DockerException

    from specctl.appliers.counting import connect

    try:
        return connect(address, timeout=timeout)
    except DockerException as exc:
        if address is None:
            raise ObserveError(
                f"docker: cannot reach the Docker engine ({short(exc)})",
                hint="start it (bash testbed/engine.sh sets one up) and check `docker info`",
            ) from None
        raise ObserveError(
            f"docker: cannot reach the Docker engine at {address} ({short(exc)})",
            hint="check the address in the spec's engine: (`docker -H ADDRESS info`)",
        ) from None


def running_container(compose_project: str, service: str) -> str | None:
    """The id of the running container of one Compose service, or None (one API call). On a
    Swarm: a running task's container of the stack's service, on the manager (one call), else
    on the node that runs it (three), reached through that node's address in engine.nodes."""
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
    if rows:
        return str(rows[0]["Id"])
    if _swarm:
        return _task_elsewhere(compose_project, service)
    stand_in = STAND_INS.get((compose_project, service))
    if stand_in is not None and api().containers(filters={"id": stand_in, "status": "running"}):
        return stand_in
    return None


# (Compose project, service) -> the container specctl did not create that serves as it (a
# system taken over), as last observed (appliers/observe.observe_takeover).
STAND_INS: dict[tuple[str, str], str] = {}


def _task_elsewhere(stack: str, service: str) -> str | None:
    """The container of a running task of a stack service on another node than the manager,
    reached through that node's own engine (engine.nodes); None when no task runs."""
    from docker.errors import NotFound

    try:
        tasks = api().tasks(  # type: ignore[no-untyped-call]
            filters={"service": f"{stack}_{service}", "desired-state": "running"}
        )
    except NotFound:  # no such service (yet): nothing runs
        return None
    running = [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]
    if not running:
        return None
    task = running[0]
    node = api().inspect_node(task["NodeID"])
    hostname = (node.get("Description") or {}).get("Hostname") or task["NodeID"]
    address = node_address(hostname, f"{stack}.{service} runs there")
    container = str(((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID"))
    _located[container] = address
    return container


def __getattr__(name: str) -> Any:
    """`engine.DockerException`, read when used: an `except engine.DockerException:` clause reads
    it only once something was raised, and a Docker error means api() has imported the SDK."""
    if name == "DockerException":
        from docker.errors import DockerException

        return DockerException
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def short(exc: Exception) -> str:
    """An engine error's first line, bounded: for messages."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
