"""compiler/: one snapshot per generated file, determinism, and the compile --check guard."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from syrupy.assertion import SnapshotAssertion

from specctl.appliers.project import load_project
from specctl.compiler.compose import render_color_compose, render_shared_compose
from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from tests.conftest import REPO, SHARED_REFERENCE, SPECS, run_cli

FILES = [
    "compose.blue.yml",
    "compose.green.yml",
    "compose.shared.yml",
    "nginx.blue.conf",
    "nginx.green.conf",
    "permissions.json",
]


def _compiled(name: str) -> dict[str, str]:
    return load_project(SPECS[name]).compile()


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("file", FILES)
def test_generated_file(name: str, file: str, text_snapshot: SnapshotAssertion) -> None:
    project = load_project(SPECS[name]).spec.project
    assert _compiled(name)[f"{project}/{file}"] == text_snapshot


# Prints every generated file of both example specs, as the bytes compile writes.
COMPILE_BOTH = """\
import json, sys
from pathlib import Path
from specctl.appliers.project import load_project
files = {name: load_project(Path(path)).compile() for name, path in json.loads(sys.argv[1]).items()}
sys.stdout.write(json.dumps(files, ensure_ascii=False))
"""


def _compiled_in_a_process(hash_seed: str) -> bytes:
    specs = json.dumps({name: str(path) for name, path in SPECS.items()})
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_BOTH, specs],
        cwd=REPO,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_compile_is_deterministic_across_processes() -> None:
    """Two interpreters with different hash seeds: iterating a set or a dict of them anywhere in
    compile would order the output differently. One process alone cannot tell."""
    first, second = _compiled_in_a_process("1"), _compiled_in_a_process("2")
    assert first == second
    files = json.loads(first)
    assert files == {name: _compiled(name) for name in sorted(SPECS)}
    assert all(list(compiled) == sorted(compiled) for compiled in files.values())


@pytest.mark.parametrize("name", sorted(SPECS))
def test_committed_generated_files_are_current(name: str) -> None:
    result = run_cli("-f", str(SPECS[name].relative_to(REPO)), "compile", "--check")
    assert result.code == 0, result.out + result.err
    assert "up to date" in result.out


def test_compile_check_shows_a_diff_when_stale(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    assert run_cli("-f", "config/demo.yaml", "compile", cwd=tmp_path).code == 0
    spec = config / "demo.yaml"
    spec.write_text(spec.read_text().replace("${DEMO_VERSION:-1.0}", "1.1", 1))
    result = run_cli("-f", "config/demo.yaml", "compile", "--check", cwd=tmp_path)
    assert result.code == 1
    assert "-    image: specctl-testbed/app:1.0" in result.out
    assert "+    image: specctl-testbed/app:1.1" in result.out
    assert "error: generated/demo: not what config/demo.yaml compiles to" in result.err
    assert "Traceback" not in result.err


def test_the_real_base_config_differs_only_in_the_managed_server_lines() -> None:
    """config/spec.yaml's base is the Cell Segmentation Hub's nginx.prod.conf, unmodified: each
    colour's config is that file with the header on top and the three managed server lines
    naming the colour."""
    base = (REPO / "config" / "nginx.prod.conf").read_text()
    for color in ("blue", "green"):
        text = _compiled("spec")[f"spheroseg/nginx.{color}.conf"]
        header, body = text.split("\n", 2)[:2], text.split("\n", 2)[2]
        assert all(line.startswith("# ") for line in header)
        changed = [
            (a, b) for a, b in zip(base.split("\n"), body.split("\n"), strict=True) if a != b
        ]
        expected = {
            "blue": [],
            "green": [
                ("        server blue-backend:3001;", "        server green-backend:3001;"),
                ("        server blue-ml:8000;", "        server green-ml:8000;"),
                ("        server blue-frontend:80;", "        server green-frontend:80;"),
            ],
        }
        assert changed == expected[color]


@pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="needs ../shared/reference")
def test_the_model_base_is_the_reference_file_byte_for_byte() -> None:
    reference = SHARED_REFERENCE / "docker" / "nginx" / "nginx.prod.conf"
    assert (REPO / "config" / "nginx.prod.conf").read_bytes() == reference.read_bytes()


def test_ml_service_keeps_the_gpu_pass_through() -> None:
    compose = _compiled("spec")["spheroseg/compose.blue.yml"]
    assert "runtime: nvidia" in compose
    assert "capabilities:\n" in compose and "- gpu" in compose
    assert "memory: 12G" in compose  # limits from the spec merged with the devices


PORTS_SPEC = """\
project: shop
services:
  web:
    image: shop/web:1
    port: 8080
    host_port: {offset: 1}
  admin:
    image: shop/admin:1
    port: 8080
    host_port: {offset: 2}
    bind: 0.0.0.0
  db:
    image: postgres:15
    scope: shared
    port: 5432
    host_port: 15432
    bind: 10.0.0.5
proxy:
  image: nginx
  ports: [{host: 8080}, {host: 8443, container: 443, bind: 192.168.1.2}]
  upstreams: {web: {service: web}}
  locations: [{path: /, upstream: web}]
"""


def test_ports_bind_to_loopback_unless_the_spec_opens_them() -> None:
    desired = expand(load_spec(PORTS_SPEC, filename="spec.yaml"), "blue", spec_digest="0" * 64)
    yaml = YAML(typ="safe", pure=True)
    color = yaml.load(render_color_compose(desired, root_ref="..", header=""))["services"]
    shared = yaml.load(render_shared_compose(desired, root_ref="..", header=""))["services"]
    assert color["web"]["ports"] == [
        {"target": 8080, "published": "4001", "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]
    # 0.0.0.0 leaves host_ip out: Docker then publishes on every IPv4 and IPv6 address.
    assert color["admin"]["ports"] == [{"target": 8080, "published": "4002", "protocol": "tcp"}]
    assert shared["db"]["ports"][0]["host_ip"] == "10.0.0.5"
    assert [p.get("host_ip") for p in shared["proxy"]["ports"]] == [None, "192.168.1.2"]


def test_the_example_specs_publish_no_service_beyond_loopback() -> None:
    for name in SPECS:
        project = load_project(SPECS[name])
        for color in ("blue", "green"):
            desired = project.desired(color)
            published = [s for s in (*desired.services, *desired.shared) if s.host_port]
            assert published and all(s.host_ip == "127.0.0.1" for s in published), name


def test_a_dollar_in_a_command_or_health_check_reaches_the_container() -> None:
    """`$$APP` in the spec is `$APP` for the container's shell: the compose file doubles it
    again in `command` and in the health-check test, or Compose would fill it from the host."""
    text = PORTS_SPEC.replace(
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n"
        "    command: [sh, -c, 'echo $$APP']\n"
        "    healthcheck: {command: 'test -n \"$$APP\"', interval: 1s}\n",
        1,
    )
    desired = expand(load_spec(text, filename="spec.yaml"), "blue", spec_digest="0" * 64)
    compose = render_color_compose(desired, root_ref="..", header="")
    web = YAML(typ="safe", pure=True).load(compose)["services"]["web"]
    assert web["command"] == ["sh", "-c", "echo $$APP"]
    assert web["healthcheck"]["test"] == ["CMD-SHELL", 'test -n "$$APP"']


def test_a_literal_dollar_reaches_the_container_as_written() -> None:
    """Compose interpolates `$X` and `${X}` itself: every `$` the spec means literally (written
    `$$` in the spec) is doubled again in the compose file, the config label included."""
    text = PORTS_SPEC.replace(
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n    environment: {MOTTO: 'pay $$5, not $${HOME}'}\n",
        1,
    )
    desired = expand(load_spec(text, filename="spec.yaml"), "blue", spec_digest="0" * 64)
    compose = render_color_compose(desired, root_ref="..", header="")
    web = YAML(typ="safe", pure=True).load(compose)["services"]["web"]
    assert web["environment"] == {"MOTTO": "pay $$5, not $${HOME}"}
    label = web["labels"]["specctl.config"].replace("$$", "$")  # as Compose reads it
    assert json.loads(label)["environment"] == {"MOTTO": "pay $5, not ${HOME}"}
    assert all(len(run) % 2 == 0 for run in re.findall(r"\$+", compose))
