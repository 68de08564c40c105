"""One apply or rollback per project at a time (side effects: a lock file held with flock)."""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from specctl.schemas.errors import LockError


def alive(pid: int) -> bool:
    """The process exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(handle: TextIO) -> dict[str, Any]:
    handle.seek(0)
    try:
        doc = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def describe(holder: dict[str, Any]) -> str:
    since = holder.get("time")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "?"
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} by {holder.get('user', '?')} "
        f"since {when}: {holder.get('command', '?')}"
    )


@contextmanager
def project_lock(path: Path, *, command: str, warn: Any = print) -> Iterator[dict[str, Any]]:
    """Hold the lock for the block. The kernel drops a flock when its process dies, so a holder
    killed with -9 never blocks the next run; its record is taken over with a warning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            raise LockError(
                f"{path}: another specctl holds the lock ({describe(holder)})",
                hint="wait for it to finish; the lock is released when that process ends",
            ) from None
        previous = _holder(handle)
        if previous.get("pid") and previous.get("released") is not True:
            state = "gone" if not alive(int(previous["pid"])) else "no longer holding it"
            warn(f"warning: took over the lock from {describe(previous)} ({state})")
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "user": getpass.getuser(),
            "time": time.time(),
            "command": command or " ".join(sys.argv),
        }
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(me))
        handle.flush()
        os.fsync(handle.fileno())
        try:
            yield me
        finally:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({**me, "released": True}))
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
