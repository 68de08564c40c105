"""SIGKILL at every step apply and rollback have, and of the whole process group at seeded
random moments inside the steps (Compose mid-recreate, a health wait, between switch and retire),
on the real engine and a real nginx with traffic flowing: the first re-run must converge and no
request may fail. The deployment stops the old colour (retire: stop) and builds its web service,
so every step exists."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from specctl.appliers.loadgen import describe
from specctl.schemas.plan import StepName
from tests.conftest import Sandbox, remove_images, remove_project
from tests.faultkit import (
    RECORD,
    cli,
    containers,
    deployed,
    inventory,
    load,
    outcome,
    seed_uploads,
    serving,
    step_names,
)

KNAME = "flt2"
KBASE = 28000
ROLLBACK_STEPS = [StepName.START, StepName.HEALTH, StepName.SWITCH_BACK]
# Steps of other plans: a contract migration's maintenance page and `apply --preview` (killed
# inside test_maintenance.py's and test_preview.py's scenarios only by their own failures), and
# the bake, killed in the middle in test_bake.py.
# The takeover's adopt step: its scenario (a Compose app not created by specctl) is
# test_import_compose.py's, which kills an apply after it and re-runs.
ELSEWHERE = (StepName.MAINTENANCE, StepName.PREVIEW, StepName.BAKE, StepName.ADOPT)
APPLY_STEPS = [
    s for s in StepName if (s not in ROLLBACK_STEPS or s is StepName.HEALTH) and s not in ELSEWHERE
]
KILLS = int(os.environ.get("SPECCTL_FAULT_KILLS", "30"))
SEED = int(os.environ.get("SPECCTL_FAULT_SEED", "20261201"))


@pytest.fixture(scope="module")
def kbox(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    # Every apply takes a backup; keep them all, so none counts as lost to retention.
    root = tmp_path_factory.mktemp("kills")
    # The web service is built from a Dockerfile: each release is a build (the images step).
    remove_images(f"specctl-test-{KNAME}/web")
    yield deployed(root, KNAME, KBASE, retire="stop", drain="0s", keep=1000, built=True)
    remove_project(KNAME)
    remove_images(f"specctl-test-{KNAME}/web")
    RECORD.write_if_asked()


@pytest.mark.parametrize("step", APPLY_STEPS, ids=str)
def test_apply_killed_at_each_step_converges(kbox: Sandbox, step: StepName) -> None:
    """Each case deploys a new release to the colour not serving (no --target), killed just
    before `step`; the first re-run must finish the job."""
    box = kbox
    release = f"boundary-{step}"
    target = "green" if serving(box) == "blue" else "blue"
    seed_uploads(box)
    if step is StepName.PERMISSIONS:
        (box.root / "data" / target).chmod(0o700)
    assert step.value in step_names(box, RELEASE=release)  # or the kill would never happen
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        killed = cli(box, "apply", "--yes", RELEASE=release, SPECCTL_TEST_KILL_AT=step.value)
        assert killed.code == -signal.SIGKILL
        during = serving(box)
        again = cli(box, "apply", "--yes", RELEASE=release)
        after_apply = serving(box)
        settled = box.cli("plan", "--detailed-exitcode", env={"RELEASE": release})
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
    assert after_apply == target
    assert settled.code == 0, f"{settled.out}{settled.err}\n{containers(box)}\n{again.out}"
    assert report.failed == 0, describe(report)
    assert record.lost == []
    record.passed = True


@pytest.mark.parametrize("step", ROLLBACK_STEPS, ids=str)
def test_rollback_killed_converges(kbox: Sandbox, step: StepName) -> None:
    box = kbox
    release = f"rollback-{step}"
    previous = serving(box)
    assert cli(box, "apply", "--yes", RELEASE=release).code == 0
    assert step.value in step_names(box, "--rollback", RELEASE=release)
    before = inventory(box)
    with load(box) as traffic:
        time.sleep(0.5)
        killed = cli(box, "rollback", RELEASE=release, SPECCTL_TEST_KILL_AT=step.value)
        assert killed.code == -signal.SIGKILL
        assert serving(box) in ("blue", "green")
        env = {"RELEASE": release}
        again = box.cli("rollback", env=env) if serving(box) != previous else box.cli("status")
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
    assert after == previous
    assert report.failed == 0, describe(report)
    assert record.lost == []
    record.passed = True


def test_killed_anywhere_the_first_rerun_converges(kbox: Sandbox) -> None:
    """SIGKILL to the apply's whole process group (specctl and the Compose it runs) at seeded
    random moments, each apply a real recreate under load; the first re-run must converge."""
    box = kbox
    rng = random.Random(SEED)
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
            inside = kill_apply_after(box, at, RELEASE=release)  # compiles for the release
            again = box.cli("apply", "--yes", env={"RELEASE": release})
            settled = box.cli("plan", "--detailed-exitcode", env={"RELEASE": release})
            report = traffic.stop()
        kills.append(f"{at:.2f}s: {inside}")
        failed, total = failed + report.failed, total + report.total
        case = f"kill {i} at {at:.2f}s ({inside})"
        assert again.code == 0, f"{case}: {again.out}{again.err}"
        assert settled.code == 0, f"{case}: {settled.out}{settled.err}\n{containers(box)}"
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
    compile_in_process(box, env)
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


def compile_in_process(box: Sandbox, env: dict[str, str]) -> None:
    """`specctl compile` for these knobs without another interpreter start (30 times over)."""
    from specctl.appliers.project import load_project, schema_json, write_generated

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        project = load_project(box.spec_path)
        write_generated(project, {**project.compile(), "spec.schema.json": schema_json()})
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
