"""Signal a container's main process without the Docker API, when the engine runs on this host
(side effects: signals). The switch's SIGHUP through the API costs about 18 ms here (dockerd →
containerd → runc); through a pidfd opened in advance it costs 0.02 ms.

A pidfd names one process for good, so a signal can never reach a process that reused the pid.
The handle is opened only when the engine is reached through its local socket, the container
runs, and /proc/<pid>/cgroup shows the container's id (a process in another pid namespace, say
specctl itself in a container, fails that test). Any doubt or failure means: use the API."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from specctl.appliers.engine import api


@dataclass(frozen=True)
class Handle:
    """A pidfd on a container's main process, and that process's pid on this host."""

    fd: int
    pid: int


def prepare(container_id: str) -> Handle | None:
    """A pidfd on the container's main process, for `send`; None when that is not possible."""
    if not hasattr(os, "pidfd_open") or not api().base_url.startswith("http+docker://localhost"):
        return None
    from docker.errors import DockerException

    try:
        state = api().inspect_container(container_id).get("State", {})
        pid = int(state.get("Pid") or 0)
        if not state.get("Running") or pid <= 0:
            return None
        handle = os.pidfd_open(pid)
    except (DockerException, OSError, ValueError):
        return None
    try:
        ours = container_id in Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8")
    except OSError:
        ours = False
    if not ours:
        os.close(handle)
        return None
    return Handle(handle, pid)


def send(handle: Handle, signum: signal.Signals) -> bool:
    """Signal through a pidfd from `prepare`, and close it; False when that failed (the process
    is gone, or this user may not signal it)."""
    try:
        signal.pidfd_send_signal(handle.fd, signum)
        return True
    except OSError:
        return False
    finally:
        close(handle)


def close(handle: Handle | None) -> None:
    """Give back a pidfd that will not be used."""
    if handle is not None:
        with contextlib.suppress(OSError):
            os.close(handle.fd)
