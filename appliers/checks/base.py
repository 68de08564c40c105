"""What every pre-deployment check shares: statuses, the run context with its cached Docker
listing, and small helpers (side effects: Docker API, subprocesses)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from specctl.appliers.engine import api, running_container
from specctl.appliers.observe import observe_containers
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.live import LiveContainer

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}

Outcome = tuple[str, str]  # (status, detail)
Finding = tuple[str, str]  # (warn | fail, one problem)


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: _RANK[s], default=PASS)


def summarize(findings: list[Finding], ok: str) -> Outcome:
    """No findings: pass with `ok`; otherwise the worst status and every problem, `; `-joined."""
    if not findings:
        return PASS, ok
    return worst(s for s, _ in findings), "; ".join(text for _, text in findings)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def run_argv(argv: list[str], *, timeout: float = 30.0) -> tuple[int, str]:
    """Run a command; (exit code, stdout+stderr stripped). A missing program is exit 127."""
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return 124, f"`{' '.join(argv)}` timed out after {timeout:.0f}s"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


@dataclass
class Context:
    """One run of the checks: the project, the target colour, and Docker listings made at most
    once each (this project's containers; every running container on the host), also when
    the checks run in threads."""

    project: Project
    desired: Desired
    _mine: list[LiveContainer] | None = None
    _host: list[dict[str, Any]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def containers(self) -> list[LiveContainer]:
        with self._lock:
            if self._mine is None:
                if self.project.spec.engine.kind == "swarm":  # a stack service each
                    from specctl.appliers.swarm.live import swarm_containers

                    self._mine = swarm_containers(self.project.spec.project)
                else:
                    self._mine = observe_containers(self.project)
            return self._mine

    def running(self, svc: DesiredService) -> LiveContainer | None:
        for c in self.containers():
            if c.project == svc.project and c.service == svc.name and c.running:
                return c
        return None

    def exec_id(self, running: LiveContainer, svc: DesiredService) -> str:
        """The container to exec into for a running service: on a Swarm one of its tasks'
        containers (the listing holds stack services), wherever it runs."""
        if self.project.spec.engine.kind != "swarm":
            return running.id
        return running_container(svc.project, svc.name) or running.id

    def host_containers(self) -> list[dict[str, Any]]:
        """Every running container on the host, as the API lists it (one call)."""
        with self._lock:
            if self._host is None:
                self._host = list(api().containers())
            return self._host
