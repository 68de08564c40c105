"""The audit record and the structured events of a run, without Docker: an interrupted or
crashed run is never recorded as a success, and each step is one JSON line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from specctl.appliers.execute import Options, Run, StepFailed, execute
from specctl.appliers.project import Project, load_project
from specctl.appliers.record import EVENTS_FILE, Recorder, StepResult, audited, log_dir, read_audit
from specctl.schemas.plan import Plan, Step, StepName

SPEC = """\
version: 1
project: rec
services:
  web: {image: "specctl-testbed/app:1.0", port: 8080}
proxy:
  image: specctl-testbed/nginx:1.22
  upstreams: {web: web}
  locations: [{path: /, upstream: web}]
"""


def project(tmp_path: Path) -> Project:
    (tmp_path / "spec.yaml").write_text(SPEC)
    return load_project(tmp_path / "spec.yaml")


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (KeyboardInterrupt(), "interrupted"),
        (ValueError("boom"), "internal error: ValueError: boom"),
    ],
)
def test_an_interrupted_or_crashed_run_is_recorded_as_failed(
    tmp_path: Path, exc: BaseException, error: str
) -> None:
    proj = project(tmp_path)
    with pytest.raises(type(exc)), audited(proj, "apply"):
        raise exc
    record = read_audit(proj)[-1]
    assert (record["result"], record["error"]) == ("failed", error)


def test_steps_and_the_run_are_json_lines(tmp_path: Path) -> None:
    proj = project(tmp_path)
    rec = Recorder(proj, "deployment", out=io.StringIO())
    rec.context["specctl.target.color"] = "green"
    with audited(proj, "apply", rec=rec) as record:
        rec.step(StepResult("deploy", "ok", 1.25, "green started"))
        rec.step(StepResult("health", "failed", 3.0, "green.service.web: not healthy"))
        record["target"] = "green"
    lines = (log_dir(proj) / EVENTS_FILE).read_text().splitlines()
    deploy, health, run = (json.loads(line) for line in lines)
    assert deploy["attributes"] == {
        "event.name": "specctl.step",
        "specctl.command": "deployment",
        "specctl.step.name": "deploy",
        "specctl.step.status": "ok",
        "specctl.step.duration_s": 1.25,
        "specctl.target.color": "green",
    }
    assert health["severity_text"] == "ERROR"
    assert health["attributes"]["error.message"] == "green.service.web: not healthy"
    assert run["attributes"]["event.name"] == "specctl.run"
    assert deploy["trace_id"] == health["trace_id"] == run["trace_id"]
    assert run["trace_id"].startswith(record["id"])
    assert len({deploy["span_id"], health["span_id"], run["span_id"]}) == 3


def test_a_step_that_crashes_is_undone_like_one_that_fails(tmp_path: Path) -> None:
    """A library's error or a bug inside a step (a BrokenPipeError, as the Docker SDK's ssh
    transport raised on an exec) still undoes the started steps and is recorded as failed;
    an undo that crashes does not stop the next one."""
    proj = project(tmp_path)
    out = io.StringIO()
    rec = Recorder(proj, "deployment", out=out)
    deploy, start, health = StepName.DEPLOY, StepName.START, StepName.HEALTH
    plan = Plan(
        project="rec",
        target="green",
        active="blue",
        active_state="serving",
        spec_hash="s",
        live_fingerprint="l",
        steps=[
            Step(name=deploy, undo="stop green"),
            Step(name=start, undo="stop web"),
            Step(name=health),
        ],
    )

    def crash(run: Run, step: Step) -> str:
        raise BrokenPipeError(32, "Broken pipe")

    run = Run(proj, rec, Options(), plan, desired=None, previous="blue")  # type: ignore[arg-type]
    with pytest.raises(StepFailed) as failed:
        execute(
            run,
            {deploy: lambda r, s: "started", start: lambda r, s: "started", health: crash},
            {deploy: lambda r, s: "green stopped", start: crash},
        )
    assert failed.value.message == "internal error: BrokenPipeError: [Errno 32] Broken pipe"
    assert failed.value.undone == (
        "could NOT stop web: internal error: BrokenPipeError: [Errno 32] Broken pipe; green stopped"
    )
    assert [(r.name, r.status) for r in rec.steps] == [
        ("deploy", "ok"),
        ("start", "ok"),
        ("health", "failed"),
    ]
    rec.close()


def test_logs_and_the_audit_log_are_not_for_every_local_user(tmp_path: Path) -> None:
    """They name hosts, containers and changes (secrets masked): owner and group only (#16)."""
    proj = project(tmp_path)
    rec = Recorder(proj, "deployment", out=io.StringIO())
    with audited(proj, "apply", rec=rec):
        rec.step(StepResult("deploy", "ok", 1.0, "green started"))
    rec.close()
    written = sorted(p for p in log_dir(proj).rglob("*") if p.is_file())
    assert written, "nothing logged"
    for path in [rec.log_path, *written]:
        assert path.stat().st_mode & 0o777 == 0o640, path
