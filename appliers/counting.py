"""The Docker SDK's low-level client, counting its requests (side effects: HTTP to the engine).
Imported by engine.api() on first use, so that only commands that talk to the engine load the
SDK."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import Any

import docker


class CountingAPIClient(docker.APIClient):
    """Counts HTTP requests to the engine, so tests and benchmarks can show they stay constant."""

    calls = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().request(*args, **kwargs)


def connect(base_url: str | None, *, timeout: float = 120) -> CountingAPIClient:
    """A client of the engine at base_url (None: DOCKER_HOST and friends, else the local
    socket). An ssh:// address runs the ssh binary with the user's own ssh config, agent and
    known hosts, as the docker CLI does."""
    from docker.utils import kwargs_from_env

    params: dict[str, Any] = dict(kwargs_from_env()) if base_url is None else {"base_url": base_url}
    ssh = str(params.get("base_url") or "").startswith("ssh://")
    if ssh:
        _ssh_transport()
    return CountingAPIClient(version="auto", timeout=int(timeout), use_ssh_client=ssh, **params)


def _ssh_transport() -> None:
    """The SDK's ssh adapter, imported now if the CLI kept paramiko (0.1 s) out of start-up
    (cli.defer_ssh: the SDK imports it with its client module only when paramiko loads), with
    its socket's close mended (docker/docker-py#3218, open): it writes to the ssh process,
    which has often exited already when the engine ended the stream (every exec), so about one
    exec in five failed with BrokenPipeError."""
    import docker.api.client as client_module

    if "paramiko" in sys.modules and sys.modules["paramiko"] is None:
        del sys.modules["paramiko"]
    from docker.transport import sshconn

    client_module.SSHHTTPAdapter = sshconn.SSHHTTPAdapter  # type: ignore[attr-defined]
    sshconn.SSHSocket.close = _close_ssh  # type: ignore[method-assign,assignment]


def _close_ssh(sock: Any) -> None:  # sock: docker.transport.sshconn.SSHSocket
    """SSHSocket.close without the broken pipe: ask dial-stdio to end, stop ssh, reap it."""
    proc = sock.proc
    if proc is None or proc.stdin.closed:
        return
    try:
        proc.stdin.write(b"\n\n")
        proc.stdin.flush()
        proc.stdin.close()
    except (BrokenPipeError, ValueError):  # ssh has exited: nothing to tell it
        pass
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):  # never fail a close
        proc.wait(timeout=5)
