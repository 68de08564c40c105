"""compiler/events.py (pure): the JSON log records of a run's steps and of its end."""

from __future__ import annotations

import time
from typing import Any

import pytest

from specctl.compiler.events import resource, run_event, step_event, trace_id

T0 = 1767225600.25  # 2026-01-01T00:00:00.250Z
RES = {"service.name": "specctl", "host.name": "build-1"}


def test_the_resource_names_the_service_host_user_and_process() -> None:
    res = resource(project="demo", version="1.2.3", user="alice", host="build-1", pid=4242)
    assert res == {
        "service.name": "specctl",
        "service.version": "1.2.3",
        "service.namespace": "demo",
        "host.name": "build-1",
        "user.name": "alice",
        "process.pid": 4242,
    }


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [
        ("20260101-ABCDEF", "20260101abcdef" + "0" * 18),  # upper case counts, the rest is dropped
        ("xyz", "0" * 32),
        ("", "0" * 32),
        ("0123456789abcdef" * 3, "0123456789abcdef" * 2),  # cut to 32
    ],
)
def test_a_trace_id_is_the_run_ids_hex_digits_padded_or_cut_to_32(
    run_id: str, expected: str
) -> None:
    assert trace_id(run_id) == expected


def step(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "at": T0,
        "run_id": "20260101-abc",
        "command": "apply",
        "step": "deploy",
        "status": "ok",
        "seconds": 1.23456,
        "detail": "",
        "index": 0,
        "context": {},
        "res": RES,
    }
    base.update(fields)
    return step_event(**base)


def test_a_step_that_went_well_is_an_info_record() -> None:
    assert step(context={"specctl.target.color": "green"}) == {
        "timestamp": "2026-01-01T00:00:00.250000Z",
        "severity_text": "INFO",
        "severity_number": 9,
        "body": "deploy",
        "trace_id": "20260101abc" + "0" * 21,
        "span_id": "0000000000000002",
        "attributes": {
            "event.name": "specctl.step",
            "specctl.command": "apply",
            "specctl.step.name": "deploy",
            "specctl.step.status": "ok",
            "specctl.step.duration_s": 1.235,
            "specctl.target.color": "green",
        },
        "resource": RES,
    }


def test_a_failed_step_is_an_error_record_carrying_its_message() -> None:
    event = step(status="failed", detail="compose up: exit 1", index=14, seconds=2.0)
    assert (event["severity_text"], event["severity_number"]) == ("ERROR", 17)
    assert event["body"] == "deploy: compose up: exit 1"
    assert event["span_id"] == "0000000000000010"
    assert event["attributes"] == {
        "event.name": "specctl.step",
        "specctl.command": "apply",
        "specctl.step.name": "deploy",
        "specctl.step.status": "failed",
        "specctl.step.duration_s": 2.0,
        "error.message": "compose up: exit 1",
    }


@pytest.mark.parametrize(
    ("status", "severity"),
    [("ok", ("INFO", 9)), ("skipped", ("INFO", 9)), ("warn", ("WARN", 13)), ("odd", ("INFO", 9))],
)
def test_a_step_s_severity_follows_its_status(status: str, severity: tuple[str, int]) -> None:
    event = step(status=status, detail="slow")
    assert (event["severity_text"], event["severity_number"]) == severity
    assert event["body"] == "deploy: slow"
    assert "error.message" not in event["attributes"]


RUN = {
    "id": "20260101-abc",
    "kind": "apply",
    "result": "failed",
    "seconds": 42.25,
    "target": "green",
    "previous": "blue",
    "backup_id": "20260101-000000-abcdef",
    "error": ValueError("green breached the bake"),
    "plan": {"summary": "Plan: 1 to add.", "changes": [{"address": "green.service.ml"}]},
    "user": "alice",
}


def test_the_end_of_a_failed_run_is_an_error_record_with_its_colours_backup_and_plan() -> None:
    assert run_event(at=T0, record=RUN, res=RES) == {
        "timestamp": "2026-01-01T00:00:00.250000Z",
        "severity_text": "ERROR",
        "severity_number": 17,
        "body": "apply failed",
        "trace_id": "20260101abc" + "0" * 21,
        "span_id": "0000000000000001",
        "attributes": {
            "event.name": "specctl.run",
            "specctl.command": "apply",
            "specctl.run.result": "failed",
            "specctl.run.duration_s": 42.25,
            "specctl.target.color": "green",
            "specctl.previous.color": "blue",
            "specctl.backup.id": "20260101-000000-abcdef",
            "error.message": "green breached the bake",
            "specctl.plan.summary": "Plan: 1 to add.",
        },
        "resource": RES,
    }


def test_a_record_that_knows_little_is_an_ok_info_record() -> None:
    event = run_event(at=0.0, record={"kind": "rollback", "target": "", "plan": None}, res={})
    assert event == {
        "timestamp": "1970-01-01T00:00:00.000000Z",
        "severity_text": "INFO",
        "severity_number": 9,
        "body": "rollback ok",
        "trace_id": "0" * 32,
        "span_id": "0000000000000001",
        "attributes": {
            "event.name": "specctl.run",
            "specctl.command": "rollback",
            "specctl.run.result": "ok",
            "specctl.run.duration_s": None,
        },
        "resource": {},
    }


def test_a_plan_without_a_summary_adds_no_summary_attribute() -> None:
    event = run_event(at=T0, record={"result": "noop", "plan": {"changes": []}}, res=RES)
    assert (event["severity_text"], event["body"]) == ("INFO", "None noop")
    assert "specctl.plan.summary" not in event["attributes"]


@pytest.mark.usefixtures("new_york")
def test_the_timestamp_is_utc_whatever_the_host_s_time_zone() -> None:
    assert time.localtime(T0).tm_hour == 19  # the zone did change
    assert step()["timestamp"] == "2026-01-01T00:00:00.250000Z"
    assert run_event(at=T0, record={}, res={})["timestamp"] == "2026-01-01T00:00:00.250000Z"
