"""End to end on the real engine and a real nginx: plan, apply, idempotency, zero failed requests
under load, every rollback trigger and lock contention (kills at every step: test_kills.py).

The tests share one deployed project and run in order: each leaves blue serving (or says why).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from specctl.appliers.loadgen import Load, describe
from specctl.appliers.lock import project_lock
from tests.conftest import Result, Sandbox, listening, remove_project
from tests.e2e_spec import files, spec_text

NAME = "e2e1"
BASE = 24000
PUBLIC = BASE + 80
SECRET = "e2e-secret-value-1234"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("e2e")
    remove_project(NAME)
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(spec_text(NAME, BASE))
    sandbox = Sandbox(root=root, spec_path=spec_path, name=NAME)
    for rel, text in files(SECRET).items():
        sandbox.write(rel, text)
    assert sandbox.cli("compile").code == 0
    yield sandbox
    remove_project(NAME)


def run(box: Sandbox, *args: str, **env: str) -> Result:
    """Compile with the given knobs, then run the command with them (as a user would)."""
    compiled = box.cli("compile", env=env)
    assert compiled.code == 0, compiled.err
    result = box.cli(*args, env=env)
    assert SECRET not in result.out + result.err
    return result


def status(box: Sandbox) -> dict[str, object]:
    result = box.cli("status", "--format", "json")
    assert result.code == 0, result.err
    doc: dict[str, object] = json.loads(result.out)
    return doc


def active(box: Sandbox) -> str | None:
    value = status(box)["active"]
    assert isinstance(value, dict)
    color = value["color"]
    return None if color is None else str(color)


def assert_healthy(box: Sandbox, color: str) -> None:
    doc = status(box)
    colors = doc["colors"]
    assert isinstance(colors, dict)
    assert colors[color]["healthy"], colors[color]


def container_ids(box: Sandbox) -> dict[str, str]:
    import docker

    client = docker.from_env()
    rows = client.api.containers(all=True, filters={"label": f"specctl.project={NAME}"})
    return {r["Names"][0]: r["Id"] for r in rows}


def under_load(keep_alive: bool = False) -> Load:
    return Load(PUBLIC, path="/api/version", rate=200, keep_alive=keep_alive, seconds=120)


def settle() -> None:
    time.sleep(1.0)


def test_first_plan_lists_every_create_and_the_switch(box: Sandbox) -> None:
    result = run(box, "plan", "--format", "json", "--detailed-exitcode")
    assert result.code == 2, result.err
    plan = json.loads(result.out)
    assert plan["format_version"] == 2 and plan["target"] == "blue" and plan["active"] is None
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions["blue.service.web"] == "+"
    assert actions["blue.service.api"] == "+"
    assert actions["proxy.nginx"] == "+"
    assert actions["nginx.upstream.web"] == "⇄"
    assert actions["nginx.upstream.api"] == "⇄"
    assert plan["summary"]["add"] == 3 and plan["summary"]["switch"] == 2


def test_apply_blue_then_the_plan_is_empty(box: Sandbox) -> None:
    result = run(box, "apply", "--target", "blue", "--yes")
    assert result.code == 0, result.out + result.err
    assert "done: blue is live" in result.out
    again = run(box, "plan", "--target", "blue", "--detailed-exitcode")
    assert again.code == 0, again.out
    assert "No changes. Live state matches the spec." in again.out
    doc = status(box)
    assert doc["active"]["color"] == "blue"  # type: ignore[index]
    web = doc["colors"]["blue"]["services"]["web"]  # type: ignore[index]
    assert web["state"] == "running" and web["health"] == "healthy"
    log = sorted((box.root / "logs" / "deployment").glob("deployment-*.log"))
    assert log and "switch" in log[-1].read_text()


def test_only_the_proxy_listens_beyond_loopback(box: Sandbox) -> None:
    """With blue deployed: the colour's published ports listen on loopback only; nginx's port
    is the one on every address (what `ss -ltn` shows a user)."""
    services = {BASE + 100, BASE + 101}  # blue web and api
    found = listening({*services, PUBLIC})
    assert set(found) == {*services, PUBLIC}, found
    for port in services:
        assert found[port] <= {"127.0.0.1", "::1"}, (port, found[port])
    assert found[PUBLIC] & {"0.0.0.0", "::", "*"}, found[PUBLIC]


@pytest.mark.parametrize("args", [(), ("--target", "blue")], ids=["default", "explicit"])
def test_second_identical_apply_changes_nothing(box: Sandbox, args: tuple[str, ...]) -> None:
    """Without --target too: the serving colour runs the spec, so there is nothing to deploy
    to the other colour and no traffic to move (no ping-pong)."""
    before = container_ids(box)
    live = box.root / ".specctl" / "nginx" / "nginx.conf"
    mtime = live.stat().st_mtime_ns
    for _ in range(2):
        result = run(box, "apply", *args, "--yes")
        assert result.code == 0, result.out + result.err
        assert "No changes. Live state matches the spec. Nothing to do." in result.out
    assert container_ids(box) == before
    assert live.stat().st_mtime_ns == mtime  # nginx config not rewritten, so not reloaded
    assert active(box) == "blue"
    assert run(box, "plan", "--detailed-exitcode").code == 0


def test_changing_one_image_is_exactly_one_recreate(box: Sandbox) -> None:
    result = run(box, "plan", "--target", "blue", "--format", "json", WEB_VERSION="1.1")
    plan = json.loads(result.out)
    assert [(c["address"], c["action"]) for c in plan["changes"]] == [("blue.service.web", "±")]
    fields = plan["changes"][0]["fields"]
    assert fields == [
        {
            "key": "image",
            "before": "specctl-testbed/app:1.0",
            "after": "specctl-testbed/app:1.1",
        }
    ]
    text = run(box, "plan", "--target", "blue", WEB_VERSION="1.1").out
    assert "image: specctl-testbed/app:1.0 → specctl-testbed/app:1.1" in text


def test_a_changed_secret_is_a_recreate_without_its_value(box: Sandbox) -> None:
    env = box.root / ".env.blue"
    original = env.read_text()
    env.write_text("API_SECRET=another-value-5678\n")
    try:
        result = run(box, "plan", "--target", "blue", "--format", "json")
        plan = json.loads(result.out)
        assert [c["address"] for c in plan["changes"]] == ["blue.service.api"]
        assert plan["changes"][0]["fields"][0]["key"] == "env.API_SECRET"
        assert "another-value-5678" not in result.out
    finally:
        env.write_text(original)


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connection", "keep-alive"])
def test_apply_and_rollback_under_load_fail_no_request(box: Sandbox, keep_alive: bool) -> None:
    with under_load(keep_alive) as load:
        settle()
        result = run(box, "apply", "--target", "green", "--yes", WEB_VERSION="1.1")
        assert result.code == 0, result.out + result.err
        settle()
        assert active(box) == "green"
        back = run(box, "rollback", WEB_VERSION="1.1")
        assert back.code == 0, back.out + back.err
        settle()
        report = load.stop()
    assert report.failed == 0, describe(report)
    assert report.total > 400
    assert set(report.colors()) == {"blue", "green"}, describe(report)
    assert active(box) == "blue"


TRIGGERS = {
    "target-never-healthy": ({"FAIL_HEALTH": "1"}, "health", "not healthy after"),
    "failing-migration": ({"MIGRATE_EXIT": "3"}, "migrate", "exited"),
    "failing-direct-verification": (
        {"FAIL_HEALTH": "1", "HEALTH_CMD": "true"},
        "verify-direct",
        "HTTP 503",
    ),
    "nginx-rejects-config": ({"NGINX_BASE": "nginx.bad.conf"}, "stage", "rejected by `nginx -t`"),
    # The app names itself in the header the spec reads the colour from: never the colour.
    "switch-not-proven": ({"COLOR_HEADER": "X-App-Name"}, "switch", "switch not proven"),
}


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_rollback_trigger_keeps_traffic_on_blue(box: Sandbox, trigger: str) -> None:
    env, step, why = TRIGGERS[trigger]
    assert active(box) == "blue"
    with under_load() as load:
        settle()
        result = run(box, "apply", "--target", "green", "--yes", WEB_VERSION="1.1", **env)
        settle()
        report = load.stop()
    assert result.code == 1, result.out + result.err
    assert f"✗ {step}" in result.out, result.out
    assert why in result.err, result.err
    assert "rolled back:" in result.err
    assert "Traceback" not in result.err
    assert report.failed == 0, describe(report)
    assert active(box) == "blue"
    assert_healthy(box, "blue")
    box.cli("compile")  # back to the plain spec for the next test


def test_a_held_lock_stops_a_second_apply(box: Sandbox) -> None:
    lock = box.root / ".specctl" / "lock"
    with project_lock(lock, command="test holder", warn=lambda _: None):
        result = run(box, "apply", "--target", "green", "--yes")
    assert result.code == 1
    assert f"another specctl holds the lock (pid {os.getpid()}" in result.err
    assert "test holder" in result.err


def test_history_lists_applies_and_rollbacks(box: Sandbox) -> None:
    result = box.cli("history", "--json")
    records = [json.loads(line) for line in result.out.splitlines()]
    kinds = {r["kind"] for r in records}
    results = {r["result"] for r in records}
    assert {"apply", "rollback"} <= kinds
    assert {"ok", "failed"} <= results
    audit = (box.root / "logs" / "deployment" / "audit.jsonl").read_text()
    assert SECRET not in audit
    applies = [r for r in records if r["kind"] == "apply"]
    assert all("steps" in r and "user" in r and "seconds" in r for r in applies)
    # Every apply that got past the lock knows what it planned against.
    assert all("spec_hash" in r and "plan" in r for r in applies if r.get("target"))
    refused = [r for r in applies if "holds the lock" in r.get("error", "")]
    assert refused and all("target" not in r for r in refused)
