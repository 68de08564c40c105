"""`specctl init` as a new user runs it: asks nothing off a terminal, writes a commented spec
that validates, compiles and deploys on the local engine; a second apply changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import remove_project, run_cli

NAME = "initdemo"
PORT = 31700


@pytest.fixture
def folder(tmp_path: Path, docker_engine: None) -> Iterator[Path]:
    root = tmp_path / NAME
    root.mkdir()
    yield root
    remove_project(NAME)


def test_init_writes_a_spec_that_compiles_without_asking(tmp_path: Path) -> None:
    """Off a terminal (stdin is not one here): defaults, no question; the folder names it."""
    root = tmp_path / "My Shop"
    root.mkdir()
    made = run_cli("init", cwd=root)
    assert made.code == 0, made.err
    assert "?" not in made.err and "[" not in made.err  # no prompt was shown
    text = (root / "config" / "spec.yaml").read_text()
    assert "project: my-shop" in text and "image: nginx:1.25-alpine" in text
    assert run_cli("compile", cwd=root).code == 0
    assert (root / "generated" / "my-shop" / "compose.blue.yml").exists()
    other = run_cli("-f", "deploy.yaml", "init", "--project", "other", cwd=root)
    assert other.code == 0 and "specctl -f deploy.yaml plan" in other.err, other.err
    assert "root: .  #" in (root / "deploy.yaml").read_text()


@pytest.mark.docker
def test_init_then_apply_serves_the_app(folder: Path) -> None:
    made = run_cli(
        "init",
        "--image",
        "specctl-testbed/app:1.0",
        "--port",
        "8080",
        "--proxy-image",
        "specctl-testbed/nginx:1.22",
        "--listen",
        str(PORT),
        cwd=folder,
    )
    assert made.code == 0, made.err
    assert "next: specctl plan, then specctl apply --yes" in made.err
    text = (folder / "config" / "spec.yaml").read_text()
    assert f"project: {NAME}" in text and "# healthcheck:" in text
    again = run_cli("init", cwd=folder)
    assert again.code == 1 and "already exists" in again.err
    # The test double answers X-App-Color: none unless told its colour (a real app sends no
    # such header at all); the user edits the spec and compiles, as the comments say.
    spec = folder / "config" / "spec.yaml"
    spec.write_text(
        text.replace(
            "    # environment: {LOG_LEVEL: info}", '    environment: {APP_COLOR: "{color}"}'
        )
    )
    assert run_cli("compile", cwd=folder).code == 0
    applied = run_cli("apply", "--yes", cwd=folder)
    assert applied.code == 0, applied.out + applied.err
    answer = httpx.get(f"http://127.0.0.1:{PORT}/", timeout=10)
    assert answer.status_code == 200
    assert answer.headers.get("X-App-Color") in ("blue", "green")
    second = run_cli("apply", "--yes", cwd=folder)
    assert second.code == 0 and "No changes" in second.out, second.out + second.err
