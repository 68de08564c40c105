"""Swarm stack files: one per colour plus shared, byte-stable and snapshot-reviewed like the
Compose files, accepted by `docker stack config` without an ignored key; and the checks of what
a Swarm can and cannot do, with their exact messages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from specctl.appliers.project import load_project
from specctl.compiler.load import load_spec
from specctl.schemas.errors import SpecError
from tests.conftest import REPO, run_cli

SPEC = REPO / "config" / "demo-swarm.yaml"
FILES = ["stack.blue.yml", "stack.green.yml", "stack.shared.yml", "nginx.blue.conf"]


@pytest.mark.parametrize("file", FILES)
def test_generated_stack_file(file: str, text_snapshot: SnapshotAssertion) -> None:
    compiled = load_project(SPEC).compile()
    assert "demoswarm/compose.blue.yml" not in compiled  # a Swarm spec has no Compose files
    assert compiled[f"demoswarm/{file}"] == text_snapshot


def test_committed_stack_files_are_current() -> None:
    result = run_cli("-f", "config/demo-swarm.yaml", "compile", "--check")
    assert result.code == 0, result.out + result.err


def test_docker_stack_config_accepts_every_stack_file(tmp_path: Path) -> None:
    """The Docker CLI's own loader reads each file (env files and paths resolved), and warns
    about no key it would ignore on a Swarm."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")  # pragma: no cover - CI installs it
    (tmp_path / "config").mkdir()
    shutil.copy(SPEC, tmp_path / "config" / "demo-swarm.yaml")
    data = tmp_path / ".demo-swarm"
    data.mkdir()
    for name in ("blue", "green", "shared"):
        (data / f".env.{name}").write_text("DB_PASSWORD=x\nPOSTGRES_PASSWORD=x\n")
    compiled = run_cli("-f", "config/demo-swarm.yaml", "compile", cwd=tmp_path)
    assert compiled.code == 0, compiled.err
    folder = tmp_path / "generated" / "demoswarm"
    for name in ("blue", "green", "shared"):
        done = subprocess.run(
            ["docker", "stack", "config", "-c", f"stack.{name}.yml"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "gnor" not in done.stderr and "unsupported" not in done.stderr, done.stderr
        assert f"{data}/" in done.stdout or name != "blue"  # bind paths resolved to the host
    blue = (folder / "stack.blue.yml").read_text()
    for key in ("depends_on:", "container_name:", "restart:", "build:"):
        assert f"    {key}" not in blue, key


BASE = """\
project: shop
engine: swarm
services:
  web:
    image: shop/web:1
    port: 8080
proxy:
  image: nginx
  upstreams: {web: web}
  locations: [{path: /, upstream: web}]
"""

CASES = [
    (
        "    port: 8080\n",
        "    port: 8080\n    host_port: {offset: 1}\n",
        "spec.yaml:7:5: services.web.host_port: on a Swarm specctl reaches services over the "
        "overlay network, and a published port would listen on every address of a node: drop "
        "host_port (nginx is the way in)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    container_name: web-{color}\n",
        "spec.yaml:7:5: services.web.container_name: a Swarm names its tasks itself (several "
        "may run): drop container_name",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    volumes: [{volume: data, target: /data}]\nvolumes: {data: {}}\n",
        "spec.yaml:7:16: services.web.volumes[0].volume: volume data lives on the disk of the "
        "node a task runs on; a task started on another node would find it empty: pin the "
        "service (placement: {node: NAME})",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    volumes: [{path: up, target: /up}]\npaths: {up: {path: up}}\n",
        "spec.yaml:7:16: services.web.volumes[0].path: path up is a folder on one node's disk: "
        "pin the service (placement: {node: NAME}), or put the folder on storage every node "
        "mounts and say so (paths.up.shared: true)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    compose: {privileged: true}\n",
        "spec.yaml:7:15: services.web.compose.privileged: docker stack deploy ignores "
        "privileged; it would silently not apply on a Swarm",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    build: {context: web}\n",
        "spec.yaml:7:5: services.web.build: specctl does not build for a Swarm yet: build the "
        "image yourself (docker build on the manager), name it in image:, and images: load "
        "copies it to the nodes",
    ),
    (
        "engine: swarm\n",
        "engine: compose\n",
        None,
    ),
    (
        "engine: swarm\n",
        "engine: {kind: swarm, images: registry}\n",
        "spec.yaml:2:1: engine: images: registry needs registry (host:port the nodes pull from)",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_swarm_checks(old: str, new: str, expected: str | None) -> None:
    text = BASE.replace(old, new, 1)
    if expected is None:
        assert load_spec(text, filename="spec.yaml").engine.kind == "compose"
        return
    with pytest.raises(SpecError) as info:
        load_spec(text, filename="spec.yaml")
    assert [p.render() for p in info.value.problems] == [expected]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    replicas: 2\n",
            "spec.yaml:6:5: services.web.replicas: 2 tasks need engine: swarm "
            "(Compose runs exactly one container per service and colour)",
        ),
        (
            "    placement: {role: worker}\n",
            "spec.yaml:6:5: services.web.placement: placement needs engine: swarm (one host here)",
        ),
    ],
)
def test_cluster_settings_need_a_swarm(extra: str, expected: str) -> None:
    text = BASE.replace("engine: swarm\n", "").replace(
        "    port: 8080\n", "    port: 8080\n" + extra
    )
    with pytest.raises(SpecError) as info:
        load_spec(text, filename="spec.yaml")
    assert [p.render() for p in info.value.problems] == [expected]


def test_placement_gpus_and_replicas_reach_the_stack() -> None:
    text = BASE.replace(
        "    port: 8080\n",
        "    port: 8080\n    replicas: 3\n    gpus: 1\n"
        "    placement: {labels: {gpu: 'true'}, role: worker, max_per_node: 2}\n",
    )
    from specctl.compiler.compile import Inputs, compile_spec

    spec = load_spec(text, filename="spec.yaml")
    files = compile_spec(spec, Inputs(spec_name="spec.yaml", root_ref="../.."))
    blue = files["shop/stack.blue.yml"]
    for line in (
        "      replicas: 3",
        "          - node.labels.gpu == true",
        "          - node.role == worker",
        "        max_replicas_per_node: 2",
        "              kind: NVIDIA-GPU",
        "              value: 1",
    ):
        assert line + "\n" in blue, blue
    shared = files["shop/stack.shared.yml"]
    assert "          - node.role == manager\n" in shared  # the proxy, where specctl talks
    assert "        mode: host\n" in shared
