"""Shared test fixtures: repo paths, a CLI runner, and the text snapshot extension."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

# No example database kept between runs: each run starts as a fresh clone does, and an example
# that once failed becomes an explicit regression test instead.
settings.register_profile("specctl", database=None)
settings.load_profile("specctl")

REPO = Path(__file__).resolve().parent.parent
# A copy of the real Cell Segmentation Hub files the tests read, so `make test` passes in any
# clone; test_reference_copy checks it against the original where that sits beside the repo.
REFERENCE = REPO / "tests" / "data" / "cell-segmentation-hub"
SHARED_REFERENCE = REPO.parent / "shared" / "reference" / "cell-segmentation-hub"
SPECS = {"spec": REPO / "config" / "spec.yaml", "demo": REPO / "config" / "demo.yaml"}


class TextSnapshot(SingleFileSnapshotExtension):
    """One readable text file per snapshot, so a pull request shows generated changes as diffs."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def text_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(TextSnapshot)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> Result:
    """Run `python -m specctl` as a user would, in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "specctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "NO_COLOR": "1", "COLUMNS": "200"},
        timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> type[Result]:
    return Result


# --- Docker: the real engine, never a mock -------------------------------------------------------


def _engine_problem() -> str | None:
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:  # any failure means: no usable engine
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Tests that need Docker use this; in CI a missing engine fails them instead of skipping."""
    problem = _engine_problem()
    if problem is None:
        return
    message = f"no Docker engine ({problem}); run: bash testbed/setup.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def remove_images(repository: str) -> None:
    """Every tag of `repository` (images a test built; BuildKit's layer cache stays)."""
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repository],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run(["docker", "rmi", "-f", *listed], capture_output=True, check=False)


def listening(ports: set[int]) -> dict[int, set[str]]:
    """The host's listening TCP sockets on these ports, as `ss` lists them: port -> addresses."""
    done = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True)
    out: dict[int, set[str]] = {}
    for line in done.stdout.splitlines():
        local = line.split()[3]  # 127.0.0.1:24100, [::]:24080, *:24080
        address, _, port = local.rpartition(":")
        if port.isdigit() and int(port) in ports:
            out.setdefault(int(port), set()).add(address.strip("[]"))
    return out


def remove_project(name: str) -> None:
    """Remove every container, network and volume of a specctl project (by its labels)."""
    import docker
    from docker.errors import NotFound

    client = docker.from_env(timeout=60)
    label = {"label": f"specctl.project={name}"}
    # Listed, then gone by the time it is removed (the engine's own clean-up): that is fine.
    for container in client.containers.list(all=True, filters=label):
        with contextlib.suppress(NotFound):
            container.remove(force=True, v=True)
    for network in client.networks.list(filters={"name": f"{name}-"}):
        if network.name.startswith(f"{name}-") and network.name.endswith(("-edge", "_default")):
            with contextlib.suppress(NotFound):
                network.remove()
    for volume in client.volumes.list():
        if volume.name.startswith(f"{name}-") or volume.name.startswith(f"{name}_"):
            with contextlib.suppress(NotFound):
                volume.remove(force=True)


@dataclass
class Sandbox:
    """A spec in a temporary folder, with its env files, ready for plan/apply against Docker."""

    root: Path
    spec_path: Path
    name: str

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_cli("-f", str(self.spec_path), *args, cwd=self.root, env=env)

    def run(self, *args: str, **env: str) -> Result:
        """Compile with the given variables, then run the command with them (as a user would)."""
        compiled = self.cli("compile", env=env)
        assert compiled.code == 0, compiled.err
        return self.cli(*args, env=env)

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--format", "json")
        assert result.code == 0, result.err
        doc: dict[str, Any] = json.loads(result.out)
        return doc

    def active(self) -> str | None:
        color = self.status()["active"]["color"]
        return None if color is None else str(color)

    def last_record(self) -> dict[str, Any]:
        """The newest record of `specctl history --format json`."""
        result = self.cli("history", "--format", "json")
        assert result.code == 0, result.err
        record: dict[str, Any] = json.loads(result.out.splitlines()[-1])
        return record

    def project(self) -> Any:
        from specctl.appliers.project import load_project

        return load_project(self.spec_path)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.name.startswith(".env"):
            path.chmod(0o600)  # as an operator keeps them; check pre warns about anything looser
        return path


def new_sandbox(root: Path, name: str, spec: str, files: dict[str, str] | None = None) -> Sandbox:
    """The spec at <root>/config/spec.yaml (`root: ..`) with its files, the project removed
    first."""
    remove_project(name)
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(spec)
    box = Sandbox(root=root, spec_path=spec_path, name=name)
    for rel, text in (files or {}).items():
        box.write(rel, text)
    return box


@pytest.fixture
def sandbox_factory(tmp_path: Path, docker_engine: None) -> Iterator[Callable[..., Sandbox]]:
    """make(name, spec_text, files={rel: text}) -> Sandbox; the project is removed afterwards.
    The spec lives at <tmp>/config/spec.yaml with `root: ..`, so paths are relative to <tmp>."""
    made: list[str] = []

    def make(name: str, spec_text: str, files: dict[str, str] | None = None) -> Sandbox:
        made.append(name)
        box = new_sandbox(tmp_path, name, spec_text, files)
        result = box.cli("compile")
        assert result.code == 0, result.err
        return box

    yield make
    for name in made:
        remove_project(name)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time that is not UTC (the machine running the tests may well be on UTC), so a test
    sees a time shown in local time where UTC was meant."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
