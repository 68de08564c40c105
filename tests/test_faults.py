"""Fault injection on the real engine and a real nginx, with traffic flowing through nginx during
every case. Each case asserts specctl's promise and records what it measured (written to
docs/RELIABILITY.md by `make evidence`, see tests/reliability.py).

Two deployments: `box` keeps the old colour warm (retire: keep) for the faults around a deploy;
`kbox` stops it (retire: stop), so every step of apply and rollback exists and can be killed:
at each step boundary, and with SIGKILL to the whole process group at seeded random moments
inside the steps (Compose mid-recreate, a health wait, between switch and retire)."""

from __future__ import annotations

import json
import os
import random
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

from specctl.appliers.loadgen import Load, Report, describe
from specctl.schemas.plan import StepName
from tests.conftest import REPO, Result, Sandbox, remove_project
from tests.e2e_spec import files, spec_text
from tests.reliability import Outcome, Record

NAME = "flt1"
BASE = 27000
PUBLIC = BASE + 80
GREEN_WEB = BASE + 200
KNAME = "flt2"
KBASE = 28000
PUBLIC_OF = {NAME: PUBLIC, KNAME: KBASE + 80}
RECORD = Record()

ROLLBACK_STEPS = [StepName.START, StepName.HEALTH, StepName.SWITCH_BACK]
APPLY_STEPS = [s for s in StepName if s not in ROLLBACK_STEPS or s is StepName.HEALTH]
KILLS = int(os.environ.get("SPECCTL_FAULT_KILLS", "30"))
SEED = int(os.environ.get("SPECCTL_FAULT_SEED", "20261201"))


def deployed(root: Path, name: str, base: int, *, retire: str) -> Sandbox:
    remove_project(name)
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(spec_text(name, base, backups=True, retire=retire))
    sandbox = Sandbox(root=root, spec_path=spec_path, name=name)
    for rel, text in files().items():
        sandbox.write(rel, text)
    assert sandbox.cli("compile").code == 0
    first = sandbox.cli("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    return sandbox


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    yield deployed(tmp_path_factory.mktemp("faults"), NAME, BASE, retire="keep")
    remove_project(NAME)
    RECORD.write_if_asked()


@pytest.fixture(scope="module")
def kbox(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    yield deployed(tmp_path_factory.mktemp("kills"), KNAME, KBASE, retire="stop")
    remove_project(KNAME)
    RECORD.write_if_asked()


def cli(box: Sandbox, *args: str, **env: str) -> Result:
    compiled = box.cli("compile", env=env)
    assert compiled.code == 0, compiled.err
    return box.cli(*args, env=env)


def serving(box: Sandbox) -> str | None:
    """Which colour answers through nginx right now (asked the way a client would)."""
    try:
        response = httpx.get(f"http://127.0.0.1:{PUBLIC_OF[box.name]}/api/version", timeout=5)
    except httpx.HTTPError:
        return None
    return response.headers.get("X-App-Color") if response.status_code < 500 else None


def inventory(box: Sandbox) -> set[str]:
    """Everything that must never be lost: containers, volumes, upload files, backups."""
    client = docker.from_env()
    label = f"specctl.project={box.name}"
    found = {
        f"container {c.name}" for c in client.containers.list(all=True, filters={"label": label})
    }
    found |= {
        f"volume {v.name}" for v in client.volumes.list() if v.name.startswith(f"{box.name}-")
    }
    for folder in ("data", "backups"):
        base = box.root / folder
        if base.is_dir():
            found |= {f"file {p.relative_to(box.root)}" for p in base.rglob("*") if p.is_file()}
    return found


def seed_uploads(box: Sandbox) -> None:
    for color in ("blue", "green"):
        folder = box.root / "data" / color / "images"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"keep-{color}.png").write_bytes(b"user data")


def back_to_blue(box: Sandbox) -> None:
    """Between cases: blue serves, green may or may not run."""
    if serving(box) != "blue":
        result = cli(box, "apply", "--target", "blue", "--yes")
        assert result.code == 0, result.out + result.err
    assert serving(box) == "blue"


def outcome(
    fault: str,
    promise: str,
    test: str,
    result: Result | None,
    report: Report,
    box: Sandbox,
    before: set[str],
    serving_after: str | None = None,
    **extra: object,
) -> Outcome:
    """`serving_after` is who served right after the command under test, before any clean-up;
    by default it is asked now."""
    after = inventory(box)
    # Recreated containers keep their names; temp files are not user data.
    lost = sorted(x for x in before - after if "/temp/" not in x)
    message = ""
    if result is not None:
        lines = [line for line in result.err.splitlines() if line.startswith("error:")]
        message = lines[0] if lines else result.out.strip().splitlines()[-1]
    return RECORD.add(
        Outcome(
            fault=fault,
            promise=promise,
            test=test,
            exit_code=None if result is None else result.code,
            failed_requests=report.failed,
            requests=report.total,
            serving_after=serving_after or serving(box),
            lost=lost,
            message=message,
            **extra,  # type: ignore[arg-type]
        )
    )


def load(box: Sandbox | None = None) -> Load:
    port = PUBLIC_OF[box.name] if box is not None else PUBLIC
    return Load(port, path="/api/version", rate=200, seconds=180)


def step_names(box: Sandbox, *args: str, **env: str) -> list[str]:
    result = cli(box, "plan", "--format", "json", *args, **env)
    assert result.code == 0, result.err
    return [step["name"] for step in json.loads(result.out)["steps"]]


@pytest.mark.parametrize("step", APPLY_STEPS, ids=str)
def test_apply_killed_at_each_step_converges(kbox: Sandbox, step: StepName) -> None:
    box = kbox
    back_to_blue(box)
    seed_uploads(box)
    if step is StepName.PERMISSIONS:
        (box.root / "data" / "green").chmod(0o700)
    assert step.value in step_names(box, "--target", "green")  # or the kill would never happen
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        killed = cli(box, "apply", "--target", "green", "--yes", SPECCTL_TEST_KILL_AT=step.value)
        assert killed.code == -signal.SIGKILL
        during = serving(box)
        again = cli(box, "apply", "--target", "green", "--yes")
        after_apply = serving(box)
        settled = box.cli("plan", "--detailed-exitcode")
        report = traffic.stop()
    record = outcome(
        f"SIGKILL at apply step `{step}`, then apply re-run",
        "the first re-run converges (plan empty after it); traffic never on a colour that is "
        "not running",
        f"test_apply_killed_at_each_step_converges[{step}]",
        again,
        report,
        box,
        before,
        serving_after=after_apply,
        note=describe(report) if report.failed else "",
    )
    assert during in ("blue", "green")
    assert again.code == 0, again.out + again.err
    assert after_apply == "green"
    assert settled.code == 0, settled.out + settled.err
    assert report.failed == 0, describe(report)
    assert record.lost == []
    record.passed = True


@pytest.mark.parametrize("step", ROLLBACK_STEPS, ids=str)
def test_rollback_killed_converges(kbox: Sandbox, step: StepName) -> None:
    box = kbox
    back_to_blue(box)
    assert cli(box, "apply", "--target", "green", "--yes").code == 0
    assert step.value in step_names(box, "--rollback")
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        killed = cli(box, "rollback", SPECCTL_TEST_KILL_AT=step.value)
        assert killed.code == -signal.SIGKILL
        assert serving(box) in ("blue", "green")
        again = box.cli("rollback") if serving(box) == "green" else box.cli("status")
        after = serving(box)
        time.sleep(0.5)
        report = traffic.stop()
    record = outcome(
        f"SIGKILL at rollback step `{step}`, then rollback re-run",
        "re-run converges on the previous colour",
        f"test_rollback_killed_converges[{step}]",
        again,
        report,
        box,
        before,
        serving_after=after,
    )
    assert again.code == 0, again.out + again.err
    assert after == "blue"
    assert report.failed == 0, describe(report)
    assert record.lost == []
    record.passed = True


def test_killed_anywhere_the_first_rerun_converges(kbox: Sandbox) -> None:
    """SIGKILL to the apply's whole process group (specctl and the Compose it runs) at seeded
    random moments, each apply a real recreate under load; the first re-run must converge."""
    box = kbox
    rng = random.Random(SEED)
    back_to_blue(box)
    started = time.monotonic()
    first = cli(box, "apply", "--yes", RELEASE="r0")
    duration = time.monotonic() - started
    assert first.code == 0, first.out + first.err
    before = inventory(box)
    kills: list[str] = []
    failed = total = i = 0
    while sum("finished" not in k for k in kills) < KILLS and i < KILLS * 3 // 2:
        i += 1
        release = f"r{i}"
        at = rng.uniform(0.3, duration)
        with load(box) as traffic:
            time.sleep(0.3)
            inside = kill_apply_after(box, at, RELEASE=release)
            again = cli(box, "apply", "--yes", RELEASE=release)
            settled = box.cli("plan", "--detailed-exitcode", env={"RELEASE": release})
            report = traffic.stop()
        kills.append(f"{at:.2f}s: {inside}")
        failed, total = failed + report.failed, total + report.total
        case = f"kill {i} at {at:.2f}s ({inside})"
        assert again.code == 0, f"{case}: {again.out}{again.err}"
        assert settled.code == 0, f"{case}: {settled.out}{settled.err}"
        assert report.failed == 0, f"{case}: {describe(report)}"
    inside_steps = sorted({k.split(": ", 1)[1] for k in kills})
    assert sum("finished" not in k for k in kills) >= KILLS, kills
    record = outcome(
        f"SIGKILL of the process group at {KILLS} seeded random moments (seed {SEED}) inside "
        "apply's steps, each apply a real recreate",
        "the first re-run converges every time (plan empty after it); zero failed requests",
        "test_killed_anywhere_the_first_rerun_converges",
        again,
        report,
        box,
        before,
        note=f"{failed} failed of {total} requests over all kills; killed inside: "
        + ", ".join(inside_steps),
    )
    assert record.lost == []
    record.passed = True


def kill_apply_after(box: Sandbox, delay: float, **env: str) -> str:
    """Start `specctl apply --yes` in its own process group, SIGKILL the whole group after
    `delay` seconds; say in which step it was (from its own progress lines)."""
    assert box.cli("compile", env=env).code == 0
    argv = [sys.executable, "-m", "specctl", "-f", str(box.spec_path), "apply", "--yes"]
    log = box.root / "killed-apply.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=box.root,
            env={**os.environ, **env, "NO_COLOR": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        else:
            return "finished before the kill"
    done = [
        line.split("✓ ", 1)[1].split(":", 1)[0].strip()
        for line in log.read_text().splitlines()
        if "✓ " in line
    ]
    return f"in the step after {done[-1]}" if done else "during start-up and planning"


def test_target_crash_loops(box: Sandbox) -> None:
    back_to_blue(box)
    before = inventory(box)
    with load() as traffic:
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
        with load() as traffic:
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
    with load() as traffic:
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
    with load() as traffic:
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
    with load() as traffic:
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
        with load() as traffic:
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
        with load() as traffic:
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
    with load() as traffic:
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
        with load() as traffic:
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
    with load() as traffic:
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
    with load() as traffic:
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
