"""Shared test fixtures: repo paths, a CLI runner, and the text snapshot extension."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference" / "cell-segmentation-hub"
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
