"""Hand new connections to nginx's new workers as soon as they run, when the engine runs on
this host (side effects: signals, reads of /proc).

After a reload nginx's master starts workers with the new config, then sleeps 100 ms before it
tells the old workers to stop accepting (`ngx_msleep(100)` in its master process cycle). While
both accept, the kernel wakes the old workers first (they have waited on the listening sockets
longer), so for those 100 ms nearly every new connection still reaches the old colour. specctl
makes the master's next move itself as soon as a new worker runs: SIGQUIT to each old worker,
nginx's graceful shutdown (close the listening sockets, finish the requests in hand), the same
signal the master sends 100 ms later, which then finds them already leaving. A connection that
arrives in between waits in the listening socket's queue, which the master and the new workers
hold open. A worker names itself "nginx: worker process" only once it has joined the listening
sockets, so that title is the sign.

The old workers are held by pidfds opened before the reload, each checked to be a child of the
master, so the signal cannot reach a process that reused a pid. Any doubt means: leave it to
nginx (its own 100 ms)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

WORKER = b"nginx: worker process"
POLL = 0.003  # seconds between looks at the master's children
LIMIT = 0.5  # seconds to look for a new worker; nginx's own pause is 100 ms after it starts them


@dataclass
class OldWorkers:
    """The workers that served before a reload: their master's host pid, and a pidfd each."""

    master: int
    handles: dict[int, int] = field(default_factory=dict)  # pid → pidfd

    def release(self) -> None:
        for handle in self.handles.values():
            with contextlib.suppress(OSError):
                os.close(handle)
        self.handles = {}


def hold(master: int, pids: Iterable[str]) -> OldWorkers | None:
    """pidfds on the master's current workers (host pids, as `docker top` gives them); None
    when there is none to hold."""
    old = OldWorkers(master)
    for text in pids:
        with contextlib.suppress(ValueError, OSError):
            pid = int(text)
            if _parent(pid) != master:
                continue
            handle = os.pidfd_open(pid)
            if _parent(pid) != master:  # the pid was reused between the look and the open
                os.close(handle)
                continue
            old.handles[pid] = handle
    return old if old.handles else None


def hand_over(old: OldWorkers, *, limit: float = LIMIT) -> bool:
    """Once a worker of the new config runs, SIGQUIT each old worker; False when none was seen
    within `limit` (nginx then does it itself). The pidfds are closed either way."""
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            if any(_is_worker(pid) for pid in _children(old.master) if pid not in old.handles):
                for handle in old.handles.values():
                    with contextlib.suppress(OSError):
                        signal.pidfd_send_signal(handle, signal.SIGQUIT)
                return True
            time.sleep(POLL)
        return False
    finally:
        old.release()


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ")".
    fields = stat[stat.rindex(b")") + 2 :].split(b" ", 2)
    return int(fields[1]) if len(fields) > 1 else None


def _children(master: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError), os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit() and _parent(int(entry.name)) == master:
                found.append(int(entry.name))
    return found


def _is_worker(pid: int) -> bool:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # nginx pads its title with NULs; "… is shutting down" is a worker of an earlier reload.
    return title.split(b"\0", 1)[0] == WORKER
