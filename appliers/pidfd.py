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
from pathlib import Path

from specctl.appliers.engine import api

_handles: dict[str, int] = {}


def prepare(container_id: str) -> bool:
    """Open and keep a pidfd on the container's main process; False when that is not possible."""
    if container_id in _handles:
        return True
    if not hasattr(os, "pidfd_open") or not api().base_url.startswith("http+docker://localhost"):
        return False
    from docker.errors import DockerException

    try:
        state = api().inspect_container(container_id).get("State", {})
        pid = int(state.get("Pid") or 0)
        if not state.get("Running") or pid <= 0:
            return False
        handle = os.pidfd_open(pid)
    except (DockerException, OSError, ValueError):
        return False
    try:
        ours = container_id in Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8")
    except OSError:
        ours = False
    if not ours:
        os.close(handle)
        return False
    _handles[container_id] = handle
    return True


def send(container_id: str, signum: signal.Signals) -> bool:
    """Signal through the prepared pidfd (used once); False when there is none or it failed
    (the process is gone, or this user may not signal it)."""
    handle = _handles.pop(container_id, None)
    if handle is None:
        return False
    try:
        signal.pidfd_send_signal(handle, signum)
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.close(handle)
