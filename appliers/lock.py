"""One apply or rollback per project at a time, and the deploy lock a person holds with a
message (side effects: a lock file held with flock, the held-lock file)."""

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


HELD_FILE = "lock.held"  # beside the flock file: a person's lock, kept until they release it


def held_path(lock_path: Path) -> Path:
    return lock_path.with_name(HELD_FILE)


def read_held(lock_path: Path) -> dict[str, Any] | None:
    """The deploy lock a person holds (`specctl lock acquire`), or None."""
    try:
        doc = json.loads(held_path(lock_path).read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return None
    except ValueError:
        doc = {}  # a torn or edited file still holds the lock: better blocked than surprised
    return doc if isinstance(doc, dict) else {}


def describe_held(held: dict[str, Any]) -> str:
    since = held.get("time")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "?"
    message = held.get("message") or "(no message)"
    return f"{held.get('user', '?')} on {held.get('host', '?')} since {when}: {message}"


def acquire_held(lock_path: Path, *, message: str) -> dict[str, Any]:
    """Take the deploy lock for a person: applies, rollbacks and other changes are refused
    with their message until `specctl lock release`."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    me = {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "time": time.time(),
        "message": message,
    }
    path = held_path(lock_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise LockError(
            f"the deploy lock is already held by {describe_held(read_held(lock_path) or {})}",
            hint="specctl lock status shows it; specctl lock release frees it",
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(me))
        handle.flush()
        os.fsync(handle.fileno())
    return me


def release_held(lock_path: Path) -> dict[str, Any] | None:
    """Free the deploy lock; returns what was held (None: it was not held)."""
    held = read_held(lock_path)
    try:
        held_path(lock_path).unlink()
    except FileNotFoundError:
        return None
    return held


def running_holder(lock_path: Path) -> dict[str, Any] | None:
    """The specctl process that holds the flock now (an apply in progress), or None."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def refuse_if_held(lock_path: Path) -> None:
    held = read_held(lock_path)
    if held is not None:
        raise LockError(
            f"the deploy lock is held by {describe_held(held)}",
            hint="wait for them, or specctl lock release when the work it guards is done",
        )


@contextmanager
def project_lock(
    path: Path, *, command: str, warn: Any = print, record: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Hold the lock for the block. The kernel drops a flock when its process dies, so a holder
    killed with -9 never blocks the next run; its record is taken over with a warning (and
    the audit `record`'s `lock_taken_over` says from whom). A deploy lock a person holds
    refuses."""
    refuse_if_held(path)
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
            if record is not None:
                record["lock_taken_over"] = f"{describe(previous)} ({state})"
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
