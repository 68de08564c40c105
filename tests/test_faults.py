"""Fault injection on the real engine and a real nginx, with traffic flowing through nginx during
every case: a target that never gets healthy, nginx stopped or hand-edited, a taken port, a full
backup disk, two applies at once, stale plans, the engine restarting. Each case asserts specctl's
promise and records what it measured (written to docs/RELIABILITY.md by `make evidence`). Kills
at every step are in test_kills.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from specctl.appliers.loadgen import describe
from tests.conftest import REPO, Result, Sandbox, remove_project
from tests.faultkit import (
    RECORD,
    back_to_blue,
    cli,
    deployed,
    inventory,
    load,
    outcome,
    serving,
)

NAME = "flt1"
BASE = 27000
PUBLIC = BASE + 80
GREEN_WEB = BASE + 200


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    yield deployed(tmp_path_factory.mktemp("faults"), NAME, BASE, retire="keep")
    remove_project(NAME)
    RECORD.write_if_asked()


def test_target_crash_loops(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        result = cli(
            box, "apply", "--target", "green", "--yes", FAIL_HEALTH="0", HEALTH_CMD="exit 1"
        )
        report = traffic.stop()
    record = outcome(
        "target colour never becomes healthy (health check always fails)",
        "rolls back before any traffic moves; zero failed requests",
        "test_target_crash_loops",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1 and "not healthy after" in result.err
    assert report.failed == 0 and serving(box) == "blue" and record.lost == []
    record.passed = True


def test_target_crash_loops_with_restarts(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    text = box.spec_path.read_text()
    box.spec_path.write_text(
        text.replace("APP_NAME: web", 'APP_NAME: web\n      APP_CRASH: "${CRASH:-0}"', 1)
    )
    try:
        with load(box) as traffic:
            time.sleep(0.5)
            result = cli(box, "apply", "--target", "green", "--yes", CRASH="1")
            report = traffic.stop()
    finally:
        box.spec_path.write_text(text)
    record = outcome(
        "target colour crash-loops (exits at start, restarted by Docker)",
        "rolls back before any traffic moves; the error shows the container's last logs",
        "test_target_crash_loops_with_restarts",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1, result.out + result.err
    assert "not healthy after" in result.err and "last log lines" in result.err
    assert report.failed == 0 and serving(box) == "blue" and record.lost == []
    record.passed = True


def test_target_turns_unhealthy_just_after_the_switch(box: Sandbox, tmp_path: Path) -> None:
    back_to_blue(box)
    before = inventory(box)
    assert box.cli("compile").code == 0
    with load(box) as traffic:
        time.sleep(0.5)
        proc, gate = paused_apply(box, "verify-proxy", tmp_path)
        httpx.post(f"http://127.0.0.1:{GREEN_WEB}/control/fail-health", timeout=5)
        gate.touch()
        out, err = proc.communicate(timeout=300)
        time.sleep(0.5)
        report = traffic.stop()
    result = Result(proc.returncode, out, err)
    record = outcome(
        "target turns unhealthy just after the switch",
        "verification through nginx fails and traffic is switched back automatically",
        "test_target_turns_unhealthy_just_after_the_switch",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1, out + err
    assert "verify-proxy" in out and "traffic back on blue" in out
    assert report.failed == 0, describe(report)
    assert serving(box) == "blue" and record.lost == []
    record.passed = True


def _proxy(box: Sandbox) -> docker.models.containers.Container:
    client = docker.from_env()
    (proxy,) = client.containers.list(
        all=True,
        filters={
            "label": [
                f"com.docker.compose.project={NAME}-shared",
                "com.docker.compose.service=proxy",
            ]
        },
    )
    return proxy


def test_nginx_container_stopped(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        _proxy(box).stop(timeout=5)
        result = cli(box, "apply", "--target", "green", "--yes")
        time.sleep(0.5)
        report = traffic.stop()
    record = outcome(
        "the nginx container is stopped before an apply",
        "apply starts nginx with the new colour's config and proves the switch; failures are "
        "the time nginx was down (reported)",
        "test_nginx_container_stopped",
        result,
        report,
        box,
        before,
    )
    assert result.code == 0, result.out + result.err
    assert serving(box) == "green" and record.lost == []
    assert report.failed > 0  # nginx was down for a while: counted, not hidden
    record.passed = True


def test_live_nginx_config_hand_edited_into_garbage(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    live = box.root / ".specctl" / "nginx" / "nginx.conf"
    live.write_text("http { upstream web { server ; } this is not nginx\n")
    plan = box.cli("plan")
    with load(box) as traffic:
        time.sleep(0.5)
        result = cli(box, "apply", "--target", "green", "--yes")
        time.sleep(0.5)
        report = traffic.stop()
    record = outcome(
        "the live nginx config was hand-edited into an invalid state",
        "plan names the state; apply installs a validated config; zero failed requests",
        "test_live_nginx_config_hand_edited_into_garbage",
        result,
        report,
        box,
        before,
    )
    assert plan.code == 1 and "live nginx config does not parse" in plan.err
    assert result.code == 0, result.out + result.err
    assert report.failed == 0, describe(report)
    assert serving(box) == "green" and record.lost == []
    record.passed = True


def test_host_port_of_target_taken(box: Sandbox) -> None:
    back_to_blue(box)
    client = docker.from_env()
    for c in client.containers.list(filters={"label": f"com.docker.compose.project={NAME}-green"}):
        c.stop(timeout=5)
    before = inventory(box)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", GREEN_WEB))
    holder.listen()
    try:
        with load(box) as traffic:
            time.sleep(0.5)
            result = cli(box, "apply", "--target", "green", "--yes")
            report = traffic.stop()
    finally:
        holder.close()
    record = outcome(
        "a host port of the target is taken by another process",
        "pre-checks stop the apply before anything changes and name the holder",
        "test_host_port_of_target_taken",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1
    assert f"{GREEN_WEB}" in result.out + result.err and f"pid {os.getpid()}" in result.out
    assert report.failed == 0 and serving(box) == "blue" and record.lost == []
    record.passed = True


def test_backup_directory_full(box: Sandbox) -> None:
    back_to_blue(box)
    backups = box.root / "backups"
    kept = box.root / "backups-kept"
    if backups.exists():
        shutil.move(str(backups), str(kept))
    backups.mkdir()
    big = box.root / "data" / "blue" / "images" / "big.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(os.urandom(200_000))  # more than the full filesystem can take
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(backups)], check=True)
    try:
        before = inventory(box)
        with load(box) as traffic:
            time.sleep(0.5)
            checked = cli(box, "apply", "--target", "green", "--yes")
            # Past the disk check with --force, the backup itself must fail cleanly.
            result = cli(box, "apply", "--target", "green", "--yes", "--force")
            report = traffic.stop()
        leftovers = sorted(p.name for p in backups.iterdir())
    finally:
        subprocess.run(["umount", str(backups)], check=True)
        backups.rmdir()
        if kept.exists():
            shutil.move(str(kept), str(backups))
    record = outcome(
        "the backup directory is on a full filesystem",
        "the disk pre-check stops the apply; forced past it, the backup step fails cleanly "
        "(no partial backup) and nothing is deployed",
        "test_backup_directory_full",
        result,
        report,
        box,
        before - {"file data/blue/images/big.bin"},
    )
    assert checked.code == 1 and "pre-deployment checks failed: disk" in checked.err
    assert result.code == 1 and "backup failed" in result.err, result.out + result.err
    assert "space" in result.err
    assert leftovers == [], leftovers
    assert report.failed == 0 and serving(box) == "blue"
    record.passed = True


def test_two_applies_at_the_same_moment(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    assert box.cli("compile").code == 0
    argv = apply_green_argv(box)
    with load(box) as traffic:
        time.sleep(0.5)
        procs = [
            subprocess.Popen(
                argv, cwd=box.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
        report = traffic.stop()
    codes = sorted(p.returncode for p in procs)
    loser = next((err for (out, err), p in zip(outputs, procs, strict=True) if p.returncode), "")
    result = Result(codes[-1], "", loser)
    record = outcome(
        "two applies started at the same moment",
        "one runs, the other is refused naming the lock holder",
        "test_two_applies_at_the_same_moment",
        result,
        report,
        box,
        before,
    )
    assert codes == [0, 1], outputs
    assert "another specctl holds the lock" in loser
    assert report.failed == 0 and serving(box) == "green" and record.lost == []
    record.passed = True


def test_env_file_loses_a_variable_between_plan_and_apply(box: Sandbox, tmp_path: Path) -> None:
    back_to_blue(box)
    before = inventory(box)
    saved = tmp_path / "plan.json"
    assert cli(box, "plan", "--target", "green", "-o", str(saved)).code in (0, 2)
    env = box.root / ".env.green"
    original = env.read_text()
    env.write_text("OTHER=1\n")
    try:
        with load(box) as traffic:
            time.sleep(0.5)
            result = box.cli("apply", str(saved), "--target", "green", "--yes")
            report = traffic.stop()
    finally:
        env.write_text(original)
    record = outcome(
        "an env file loses a required variable between plan and apply",
        "pre-checks refuse the apply, naming the variable (never its value)",
        "test_env_file_loses_a_variable_between_plan_and_apply",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1 and "env_files" in result.err + result.out
    assert "API_SECRET" in result.out
    assert report.failed == 0 and serving(box) == "blue" and record.lost == []
    record.passed = True


def test_saved_plan_refused_after_live_state_moved(box: Sandbox, tmp_path: Path) -> None:
    back_to_blue(box)
    before = inventory(box)
    saved = tmp_path / "plan.json"
    assert cli(box, "plan", "--target", "green", "-o", str(saved)).code in (0, 2)
    client = docker.from_env()
    for c in client.containers.list(filters={"label": f"com.docker.compose.project={NAME}-green"}):
        c.stop(timeout=5)
    with load(box) as traffic:
        time.sleep(0.5)
        result = box.cli("apply", str(saved), "--target", "green", "--yes")
        report = traffic.stop()
    record = outcome(
        "a saved plan is applied after live state changed",
        "the plan is refused; nothing changes",
        "test_saved_plan_refused_after_live_state_moved",
        result,
        report,
        box,
        before,
    )
    assert result.code == 1 and "live state has moved" in result.err
    assert report.failed == 0 and serving(box) == "blue" and record.lost == []
    record.passed = True


def test_docker_daemon_restarted_in_the_middle_of_an_apply(box: Sandbox, tmp_path: Path) -> None:
    back_to_blue(box)
    before = inventory(box)
    assert cli(box, "compile", WEB_VERSION="1.1").code == 0
    with load(box) as traffic:
        time.sleep(0.5)
        proc, gate = paused_apply(box, "health", tmp_path, WEB_VERSION="1.1")
        restart_dockerd()
        gate.touch()
        out, err = proc.communicate(timeout=300)
        time.sleep(2)
        after_first = serving(box)
        again = cli(box, "apply", "--target", "green", "--yes", WEB_VERSION="1.1")
        time.sleep(0.5)
        report = traffic.stop()
    record = outcome(
        "the Docker daemon restarts in the middle of an apply (after deploy, before health)",
        "the apply finishes or rolls back; a re-run converges; failures are the time the "
        "engine and its containers were down (reported)",
        "test_docker_daemon_restarted_in_the_middle_of_an_apply",
        again,
        report,
        box,
        before,
        note=f"first apply exited {proc.returncode}; served {after_first} after it",
    )
    assert proc.returncode in (0, 1), out + err
    assert "Traceback" not in err
    assert again.code == 0, again.out + again.err
    assert serving(box) == "green" and record.lost == []
    record.passed = True


def apply_green_argv(box: Sandbox) -> list[str]:
    """The command line of `specctl apply --target green --yes` for a background process."""
    return [
        sys.executable,
        "-m",
        "specctl",
        "-f",
        str(box.spec_path),
        "apply",
        "--target",
        "green",
        "--yes",
    ]


def paused_apply(
    box: Sandbox, step: str, tmp_path: Path, **env: str
) -> tuple[subprocess.Popen[str], Path]:
    """`apply --target green` in the background, stopped just before `step` (the pause seam);
    touch the returned gate file to let it go on."""
    gate = tmp_path / "go"
    seam = {"SPECCTL_TEST_PAUSE_AT": step, "SPECCTL_TEST_PAUSE_FILE": str(gate)}
    argv = apply_green_argv(box)
    proc = subprocess.Popen(
        argv,
        cwd=box.root,
        env={**os.environ, **seam, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    paused = gate.with_name(gate.name + ".paused")
    deadline = time.monotonic() + 180
    while not paused.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert paused.exists(), proc.communicate()
    return proc, gate


DOCKERD_PID_FILE = Path("/var/run/docker.pid")  # the default daemon's, the one tests talk to


def restart_dockerd() -> None:
    """Stop dockerd the way a package upgrade would (SIGTERM), then start it again. The daemon
    is found by its pid file, never by name: other daemons may run on this host."""
    pid = int(DOCKERD_PID_FILE.read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    subprocess.run(["bash", str(REPO / "testbed" / "engine.sh")], check=True, timeout=120)
