"""Test seams for the fault suite, in one place; each is a no-op unless its variable is set
(side effects: may kill or pause this process)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

KILL_AT = "SPECCTL_TEST_KILL_AT"
PAUSE_AT = "SPECCTL_TEST_PAUSE_AT"
PAUSE_FILE = "SPECCTL_TEST_PAUSE_FILE"


def crash_point(step: str) -> None:
    """SPECCTL_TEST_KILL_AT=<step> makes this process kill itself with SIGKILL just before that
    step, exactly as `kill -9` from outside would. SPECCTL_TEST_PAUSE_AT=<step> with
    SPECCTL_TEST_PAUSE_FILE=<path> stops before the step, writes <path>.paused, and goes on once
    <path> exists (at most 120 s), so a test can break something at that exact moment."""
    if os.environ.get(KILL_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT) == step and os.environ.get(PAUSE_FILE):
        gate = Path(os.environ[PAUSE_FILE])
        gate.with_name(gate.name + ".paused").touch()
        deadline = time.monotonic() + 120
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
