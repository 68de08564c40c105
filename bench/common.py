"""Shared pieces of the benchmarks: sandboxes in temp folders, the specctl CLI as a child
process (timed, bounded, its output lines time-stamped as they arrive), clean-up of everything a
benchmark created, and the machine description (side effects: processes, Docker, files)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker import DockerClient

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI_TIMEOUT = 900.0  # seconds; a 200-service apply on two busy cores stays well below it


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Run:
    """One finished command: exit code, wall time, and each output line with its arrival time."""

    argv: list[str]
    code: int
    seconds: float
    started: float  # time.time() just before the process was spawned
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def out(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def ok(self, *codes: int) -> Run:
        """Raise with the command's output unless it exited with one of `codes` (default 0)."""
        if self.code not in (codes or (0,)):
            raise BenchError(f"`{' '.join(self.argv)}` exited {self.code}:\n{self.out[-3000:]}")
        return self

    def first(self, pattern: str) -> tuple[float, re.Match[str]] | None:
        """The arrival time and match of the first output line matching `pattern`."""
        compiled = re.compile(pattern)
        for at, text in self.lines:
            found = compiled.search(text)
            if found:
                return at, found
        return None


class BenchError(Exception):
    """A benchmark could not measure what it meant to (a command failed, a state was wrong)."""


def run(
    argv: list[str],
    *,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
) -> Run:
    """Run a command, stdout and stderr merged, killed when it exceeds `timeout`."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    started = time.time()
    begin = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines: list[tuple[float, str]] = []
    try:
        assert proc.stdout is not None
        for text in proc.stdout:
            lines.append((time.time(), text.rstrip("\n")))
        code = proc.wait()
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - begin
    if seconds >= timeout:
        raise BenchError(f"`{' '.join(argv)}` did not finish within {timeout:.0f}s; killed it")
    return Run(argv=argv, code=code, seconds=seconds, started=started, lines=lines)


@dataclass
class Box:
    """A spec in its own temp folder (`<tmp>/config/spec.yaml`, `root: ..`)."""

    root: Path
    name: str

    @property
    def spec_path(self) -> Path:
        return self.root / "config" / "spec.yaml"

    @property
    def generated(self) -> Path:
        return self.root / "generated" / self.name

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def specctl(self, *args: str, env: dict[str, str] | None = None) -> Run:
        argv = [PYTHON, "-m", "specctl", "-f", str(self.spec_path), *args]
        return run(argv, cwd=self.root, env=env)


@contextmanager
def sandbox(name: str, spec: str, files: dict[str, str] | None = None) -> Iterator[Box]:
    """A temp folder holding the spec; the project's containers, networks and volumes and the
    folder are removed afterwards, whatever happened."""
    remove_project(name)
    root = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    box = Box(root=root, name=name)
    try:
        box.write("config/spec.yaml", spec)
        for rel, text in (files or {}).items():
            box.write(rel, text)
        yield box
    finally:
        remove_project(name)
        shutil.rmtree(root, ignore_errors=True)


def startup_seconds(reps: int) -> float:
    """Interpreter start-up plus specctl's imports: the median wall time of `specctl --version`."""
    return median([run([PYTHON, "-m", "specctl", "--version"]).ok().seconds for _ in range(reps)])


# --- clean-up -------------------------------------------------------------------------------------


def _client() -> DockerClient:
    import docker

    return docker.from_env(timeout=120)


def remove_project(name: str) -> None:
    """Every container (by the label specctl.project=NAME), network and volume of a specctl
    project; also containers of a plain compose project of that name (the baseline)."""
    from docker.errors import APIError, NotFound

    client = _client()
    for label in (f"specctl.project={name}", f"com.docker.compose.project={name}"):
        remove_containers(label)
    for network in client.networks.list():
        if (network.name or "").startswith((f"{name}-", f"{name}_")):
            try:
                network.remove()
            except (APIError, NotFound) as exc:
                say(f"could not remove network {network.name}: {exc}")
    for volume in client.volumes.list():
        if volume.name.startswith((f"{name}-", f"{name}_")):
            volume.remove(force=True)


def remove_containers(*labels: str) -> None:
    """Remove (force, with anonymous volumes) the containers carrying all of these labels."""
    from docker.errors import NotFound

    def remove(container: Any) -> None:
        with suppress(NotFound):
            container.remove(force=True, v=True)

    found = _client().containers.list(all=True, filters={"label": list(labels)})
    with ThreadPoolExecutor(max_workers=8) as pool:  # a 200-service project goes in seconds
        list(pool.map(remove, found))


# --- the machine ----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the numbers were measured on, read now."""
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    docker = run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=60)
    compose = run(["docker", "compose", "version", "--short"], timeout=60)
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "docker": docker.out.strip() if docker.code == 0 else "?",
        "compose": compose.out.strip() if compose.code == 0 else "?",
        "python": platform.python_version(),
    }


def source() -> str:
    """The commit measured, and whether the working tree had other changes (bench/ and docs/
    aside), since other developers commit to this tree while a run goes on."""
    head = run(["git", "rev-parse", "--short", "HEAD"], timeout=60)
    status = run(["git", "status", "--porcelain"], timeout=60)
    if head.code != 0:
        return "(not a git checkout)"
    changed = [
        line
        for _, line in status.lines
        if line[3:] and not line[3:].startswith(("bench/", "docs/"))
    ]
    extra = f" + uncommitted changes in {len(changed)} files" if changed else ""
    return f"at commit {head.out.strip()}{extra}"
