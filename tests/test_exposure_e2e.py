"""The README demo's spec (config/demo.yaml), deployed with both colours up, leaves nothing but
nginx listening beyond loopback (issue 16): every socket the host lists on a port the project's
containers publish, as `ss -ltn` shows a user. The project and its ports are renamed so that a
user's running demo (project demo, 18xxx) is left alone; nothing else changes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Sandbox, listening, new_sandbox, remove_project

NAME = "demosock"
PORTS = {"18000": "32500", "19000": "32600", "18432": "32532", "18080": "32580"}
PROXY = 32580
PUBLIC = {"0.0.0.0", "::", "*"}


def demo_spec() -> str:
    text = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("project: demo\n", f"project: {NAME}\n", 1)
    text = text.replace("root: ../.demo ", "root: ..      ", 1)
    for old, new in PORTS.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    """Both colours of the demo deployed as `make demo` leaves them (green serving app 1.1)."""
    root = tmp_path_factory.mktemp(NAME)
    password = "demo-socket-test"
    url = f"postgresql://demo:{password}@postgres:5432/demo"
    files = {
        ".env.blue": f"DB_PASSWORD={password}\nDATABASE_URL={url}\n",
        ".env.green": f"DB_PASSWORD={password}\nDATABASE_URL={url}\n",
        ".env.shared": f"POSTGRES_PASSWORD={password}\n",
        "weights/model.bin": "x" * 4096,
    }
    box = new_sandbox(root, NAME, demo_spec(), files)
    for name in (".env.blue", ".env.green", ".env.shared"):
        os.chmod(box.root / name, 0o600)
    try:
        for args, env in ((("--target", "blue"), {}), ((), {"DEMO_VERSION": "1.1"})):
            result = box.run("apply", *args, "--yes", **env)
            assert result.code == 0, result.out + result.err
        yield box
    finally:
        remove_project(NAME)


def published_ports(name: str) -> dict[str, set[int]]:
    """Host ports each running container of the project publishes, as Docker reports them."""
    import docker

    client = docker.from_env(timeout=60)
    out: dict[str, set[int]] = {}
    for container in client.containers.list(filters={"label": f"specctl.project={name}"}):
        ports = container.attrs["NetworkSettings"]["Ports"] or {}
        out[container.name] = {
            int(binding["HostPort"]) for bindings in ports.values() for binding in bindings or ()
        }
    return out


def test_only_nginx_listens_beyond_loopback_with_both_colours_of_the_demo_up(
    demo: Sandbox,
) -> None:
    assert demo.active() == "green"
    published = published_ports(NAME)
    # Both colours run: frontend, backend and ml of each, the shared database and nginx.
    ports = set().union(*published.values())
    assert ports == {32500, 32501, 32508, 32600, 32601, 32608, 32532, PROXY}, published
    found = listening(ports)
    assert set(found) == ports, found
    for port in ports - {PROXY}:
        assert found[port] <= {"127.0.0.1", "::1"}, (port, found[port])
    assert found[PROXY] & PUBLIC, found[PROXY]
    # What the user is told agrees: status lists nothing exposed beyond nginx, and the
    # pre-checks warn about no port.
    assert demo.status()["exposed"] == []
    checks = demo.cli("check", "pre", env={"DEMO_VERSION": "1.1"})
    assert "reachable without nginx" not in checks.out, checks.out
    assert "not in the spec" not in checks.out, checks.out


def test_the_repo_s_demo_writes_its_env_files_for_the_owner_only(tmp_path: Path) -> None:
    """`make demo` creates its env files 0600 (the password never readable by other users)."""
    from specctl.demo import write_secret

    path = tmp_path / ".env.blue"
    path.write_text("old\n")
    path.chmod(0o644)
    write_secret(path, "DB_PASSWORD=x\n")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == "DB_PASSWORD=x\n"
