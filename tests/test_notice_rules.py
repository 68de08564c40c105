"""compiler/notice.py (pure): the finer rules of a notification's words and renderings, beside
the whole messages of tests/test_notify.py."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.notice import (
    Notice,
    bake_lines,
    change_lines,
    cut,
    duration,
    email_message,
    events_of,
    finished_notice,
    grafana_body,
    iso,
    slack_body,
    started_notice,
    summary_text,
    webhook_document,
    who,
)

T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def notice(**fields: Any) -> Notice:
    base: dict[str, Any] = {
        "events": (),
        "title": "T",
        "text": "x",
        "project": "demo",
        "kind": "apply",
        "result": "ok",
    }
    base.update(fields)
    return Notice(**base)


# Words -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "host", "expected"),
    [
        ("alice", "build-1", "alice@build-1"),
        ("alice", None, "alice@?"),
        (None, "build-1", "?@build-1"),
        ("", "", "unknown"),
        (None, None, "unknown"),
    ],
)
def test_who_names_the_user_and_host_and_marks_what_is_missing(
    user: str | None, host: str | None, expected: str
) -> None:
    assert who(user, host) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "0.0s"),
        (4.25, "4.2s"),
        (59.9, "59.9s"),
        (60.0, "1m00s"),
        (185.4, "3m05s"),
        (3599.4, "59m59s"),
        (3599.6, "1h00m"),
        (3600.0, "1h00m"),
        (3725.0, "1h02m"),
        (7140.0, "1h59m"),
        (90000.0, "25h00m"),
    ],
)
def test_a_duration_reads_in_seconds_minutes_or_hours(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def test_an_error_at_the_limit_is_kept_whole_and_a_longer_one_is_cut_saying_how_much() -> None:
    assert cut(None) is None
    assert cut("x" * 1500) == "x" * 1500
    assert cut("x" * 1501) == "x" * 1500 + "\n… (1 more characters in specctl history)"
    assert cut("abc   def", limit=6) == "abc\n… (3 more characters in specctl history)"
    assert cut("abcdef", limit=6) == "abcdef"


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("Plan: 1 to add,\n  2 to change.", "Plan: 1 to add, 2 to change."),
        (None, ""),
        (5, ""),
        (
            {},
            "Plan: 0 to add, 0 to change, 0 to destroy, 0 traffic switches, 0 permission fixes.",
        ),
        (
            {"add": "1", "change": 2.0, "destroy": None, "switch": 1, "permission_fix": 1},
            "Plan: 0 to add, 0 to change, 0 to destroy, 1 traffic switch, 1 permission fix.",
        ),
        (
            {"add": 3, "change": 4, "destroy": 5, "switch": 0, "permission_fix": 2, "retire": 0},
            "Plan: 3 to add, 4 to change, 5 to destroy, 0 traffic switches, 2 permission fixes.",
        ),
        (
            {"switch": 3, "retire": 2},
            "Plan: 0 to add, 0 to change, 0 to destroy, 3 traffic switches, 0 permission fixes, "
            "2 to retire.",
        ),
    ],
)
def test_the_summary_counts_what_it_can_read_and_zero_for_the_rest(
    summary: object, expected: str
) -> None:
    assert summary_text({"summary": summary}) == expected


def test_change_lines_show_each_field_and_a_switch_and_mark_what_is_missing() -> None:
    plan = {
        "changes": [
            {
                "action": "~",
                "address": "green.service.backend",
                "fields": [
                    {"key": "image", "before": "app:1.4", "after": "app:1.5"},
                    {"key": "env", "before": None, "after": {"B": 2, "A": "x" * 50}},
                    "not a field",
                ],
            },
            {"action": "⇄", "before": "blue-backend:3001", "after": None},
            {"action": "-", "address": "blue.service.ml", "before": "a", "after": "b"},
            {"address": "two\nlines", "fields": []},
            "not a change",
        ]
    }
    assert change_lines(plan) == [
        "  ~ green.service.backend  image: app:1.4 → app:1.5, "
        'env: (none) → {"A": "' + "x" * 32 + "…",
        "  ⇄ ?  blue-backend:3001 → (none)",
        "  - blue.service.ml",
        "  ? two lines",
    ]


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        ("a" * 40, "b" * 40, "a" * 40 + " → " + "b" * 40),
        ("a" * 41, "b" * 41, "a" * 39 + "… → " + "b" * 39 + "…"),
    ],
)
def test_a_field_shows_at_most_forty_characters_of_each_value(
    before: str, after: str, shown: str
) -> None:
    field = {"key": "image", "before": before, "after": after}
    lines = change_lines({"changes": [{"action": "~", "address": "s", "fields": [field]}]})
    assert lines == [f"  ~ s  image: {shown}"]


def test_a_long_switch_is_not_shortened_to_forty_characters() -> None:
    long = "blue-" + "b" * 50 + ":3001"
    lines = change_lines({"changes": [{"action": "⇄", "address": "u", "before": long}]})
    assert lines == [f"  ⇄ u  {long} → (none)"]


def test_change_lines_stop_at_the_limit_and_count_the_rest() -> None:
    plan = {"changes": [{"action": "+", "address": f"green.service.s{i}"} for i in range(10)]}
    assert change_lines(plan) == [
        *(f"  + green.service.s{i}" for i in range(8)),
        "  (2 more)",
    ]
    assert change_lines(plan, limit=10)[-1] == "  + green.service.s9"
    assert change_lines(plan, limit=9)[-1] == "  (1 more)"
    assert change_lines({"changes": "nope"}) == []
    assert change_lines({}) == []


FIGURES = {"requests": 40, "errors": 2, "p95_seconds": 0.04, "p99_seconds": 1.5}


def test_bake_lines_read_the_figures_apply_recorded() -> None:
    bake = {
        "color": "blue",
        "requests": 50,
        "errors": 6,
        "last_window": FIGURES,
        "before": {"requests": "0", "errors": 0, "p95_seconds": 0, "p99_seconds": 0},
        "breach": ("5xx 5.0% > 1%", "p99\n1.5s > 1s"),
    }
    assert bake_lines(bake) == [
        "bake: 50 requests on blue since the switch, 6 with 5xx",
        "bake last window: 40 requests, 5xx 5.0%, p95 40ms, p99 1.5s",
        "bake old colour before: no requests",
        "bake breach: 5xx 5.0% > 1%; p99 1.5s > 1s",
    ]


@pytest.mark.parametrize(
    ("bake", "expected"),
    [
        (None, []),
        ({}, []),
        ({"requests": 3}, ["bake: 3 requests on the new colour since the switch, 0 with 5xx"]),
        ({"requests": "3", "breach": []}, []),
        ({"requests": None, "breach": "5xx"}, []),
        ({"color": "", "last_window": {**FIGURES, "requests": None}}, []),
        ({"color": "", "last_window": {**FIGURES, "p95_seconds": "fast"}}, []),
        ({"color": "", "last_window": {"requests": 1, "errors": 0, "p95_seconds": 0.5}}, []),
        ({"color": "", "last_window": [40, 2]}, []),
    ],
)
def test_bake_lines_leave_out_what_they_cannot_read(
    bake: dict[str, Any] | None, expected: list[str]
) -> None:
    assert bake_lines(bake) == expected


# Events and the notice of a record ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"kind": "apply", "result": "failed", "steps": [{"status": "failed"}]}, ["apply.failed"]),
        (
            {"kind": "apply", "result": "failed", "steps": [{"name": "bake", "status": "failed"}]},
            ["apply.failed", "bake.breach"],
        ),
        (
            {"kind": "apply", "result": "failed", "bake": {"breach": ["x"]}, "switched": False},
            ["apply.failed", "bake.breach"],
        ),
        ({"kind": "apply", "result": "failed", "bake": {"breach": []}}, ["apply.failed"]),
        ({"kind": "apply", "result": "failed", "bake": ["breach"]}, ["apply.failed"]),
        ({"kind": "rollback", "result": "noop"}, []),
        ({"kind": "backup", "result": "ok", "lock_taken_over": ""}, []),
        ({"kind": "apply", "result": "unknown"}, []),
        (
            {"kind": "rollback", "result": "failed", "lock_taken_over": "x"},
            ["rollback.failed", "lock.taken_over"],
        ),
    ],
)
def test_the_events_of_less_usual_records(record: dict[str, Any], expected: list[str]) -> None:
    assert list(events_of(record)) == expected


def test_a_record_of_any_shape_gives_a_notice_that_says_what_it_knows() -> None:
    n = finished_notice(
        {
            "kind": "",
            "target": "",
            "started": True,
            "finished": "soon",
            "seconds": 3,
            "final": "blue",
            "bake": ["not", "a", "mapping"],
            "plan": ["not", "a", "mapping"],
            "steps": [
                "not a step",
                {"name": "deploy", "status": "ok"},
                {"name": "health", "status": "failed"},
                {"name": "switch", "status": "failed"},
            ],
            "id": "",
        },
        project="demo",
    )
    assert (n.kind, n.result, n.events, n.event) == ("run", "unknown", (), None)
    assert (n.target, n.active, n.bake, n.summary, n.run_id) == (None, None, None, "", None)
    assert (n.started, n.finished, n.seconds) == (None, None, 3.0)
    assert isinstance(n.seconds, float)
    assert n.failed_step == "health"
    assert n.title == "specctl: run ended without a result on demo"
    assert n.text == "result: unknown after 3.0s (step health)\nby: unknown"


@pytest.mark.parametrize(
    ("record", "title"),
    [
        ({"kind": "apply", "result": "noop"}, "specctl: apply changed nothing on p"),
        (
            {"kind": "apply", "result": "ok", "target": "green"},
            "specctl: apply to green succeeded on p",
        ),
        ({"kind": "backup", "result": "ok", "target": "green"}, "specctl: backup succeeded on p"),
        ({"kind": "abort", "result": "weird"}, "specctl: abort weird on p"),
        (
            {"kind": "apply", "result": "noop", "lock_taken_over": "pid 7"},
            "specctl: apply changed nothing (lock taken over) on p",
        ),
        (
            {"kind": "apply", "result": "ok", "lock_taken_over": "pid 7"},
            "specctl: apply succeeded on p",
        ),
        (
            {"kind": "backup", "result": "failed", "bake": {"breach": ["x"]}},
            "specctl: backup failed on p",
        ),
    ],
)
def test_the_title_says_what_ran_and_how_it_ended(record: dict[str, Any], title: str) -> None:
    assert finished_notice(record, project="p").title == title


def test_a_project_name_cannot_break_the_title_onto_two_lines() -> None:
    n = finished_notice({"kind": "apply", "result": "ok"}, project="my\nproject")
    assert n.title == "specctl: apply succeeded on my project"


@pytest.mark.parametrize(
    ("record", "line"),
    [
        ({"target": "green"}, "colour: green (before: none)"),
        ({"previous": "blue"}, "colour: ? (before: blue)"),
        ({"previous": "blue", "final": {"active": ""}}, "colour: ? (before: blue)"),
        ({"final": {"active": "blue"}}, None),
    ],
)
def test_the_colour_line_marks_an_unknown_colour(record: dict[str, Any], line: str | None) -> None:
    text = finished_notice({"kind": "apply", "result": "ok", **record}, project="p").text
    assert text.splitlines()[1:2] == ([line] if line else ["by: unknown"])


def test_the_last_lines_tell_the_lock_backup_and_run() -> None:
    n = finished_notice(
        {
            "kind": "apply",
            "result": "noop",
            "user": "bob",
            "error": "first\n\nthird",
            "rolled_back": "stop green",
            "lock_taken_over": "pid 7 on\nbuild-2",
            "backup_id": "20260101-000000-abcdef",
            "id": "r1",
            "plan": {"summary": {}, "steps": [{"name": "deploy"}]},
        },
        project="p",
    )
    assert n.text.splitlines() == [
        "result: noop",
        "by: bob@?",
        "error: first",
        "  ",
        "  third",
        "rolled back: stop green",
        "plan: Plan: 0 to add, 0 to change, 0 to destroy, 0 traffic switches, 0 permission fixes.",
        "lock: taken over from pid 7 on build-2",
        "backup: 20260101-000000-abcdef",
        "run: r1 (specctl history)",
    ]
    assert (n.lock_taken_over, n.backup_id, n.run_id) == (
        "pid 7 on\nbuild-2",
        "20260101-000000-abcdef",
        "r1",
    )


def test_the_started_notice_leaves_out_what_only_the_end_knows() -> None:
    record = {
        "id": "r1",
        "kind": "apply",
        "started": T0,
        "finished": T0 + 5,
        "seconds": 5.0,
        "result": "failed",
        "target": "green",
        "error": "boom",
        "rolled_back": "stop green",
        "steps": [{"name": "deploy", "status": "failed"}],
        "bake": {"requests": 3, "breach": ["x"]},
        "final": {"active": "blue"},
        "backup_id": "b1",
        "lock_taken_over": "pid 7",
        "plan": {"steps": [{"name": "deploy"}, "junk", {"other": 1}]},
    }
    n = started_notice(record, project="p")
    assert (n.events, n.result, n.started, n.finished, n.seconds) == (
        ("apply.started",),
        "started",
        T0,
        None,
        None,
    )
    assert (n.error, n.failed_step, n.bake, n.active, n.backup_id) == (None,) * 5
    assert n.title == "specctl: apply to green started on p"
    assert n.text.splitlines() == [
        "result: started",
        "colour: green (before: none)",
        "by: unknown",
        "steps: deploy, None",
        "lock: taken over from pid 7",
        "run: r1 (specctl history)",
    ]
    assert started_notice({"kind": "apply", "plan": {}}, project="p").text == (
        "result: started\nby: unknown"
    )
    assert started_notice({}, project="p").title == "specctl: run started on p"


# Renderings ------------------------------------------------------------------------------------


def test_slack_escapes_what_it_would_read_as_markup() -> None:
    n = notice(title="a & b", text="<@here> > x")
    assert slack_body(n) == {"text": "a &amp; b\n&lt;@here&gt; &gt; x"}


def test_the_webhook_document_has_every_key_in_a_fixed_order() -> None:
    n = notice(
        events=("apply.succeeded", "lock.taken_over"),
        started=T0,
        finished=T0 + 0.25,
        seconds=0.25,
        summary="Plan: 1 to add.",
        bake={"requests": 1},
        lock_taken_over="pid 7",
        backup_id="b1",
        run_id="r1",
        rolled_back="stop green",
        failed_step="deploy",
        error="boom",
    )
    assert webhook_document(n) == {
        "format_version": 1,
        "event": "apply.succeeded",
        "events": ["apply.succeeded", "lock.taken_over"],
        "project": "demo",
        "kind": "apply",
        "result": "ok",
        "target": None,
        "previous": None,
        "active": None,
        "user": None,
        "host": None,
        "started": "2026-01-01T00:00:00.000Z",
        "finished": "2026-01-01T00:00:00.250Z",
        "seconds": 0.25,
        "summary": "Plan: 1 to add.",
        "failed_step": "deploy",
        "error": "boom",
        "rolled_back": "stop green",
        "bake": {"requests": 1},
        "lock_taken_over": "pid 7",
        "backup_id": "b1",
        "run_id": "r1",
        "title": "T",
        "text": "x",
    }
    empty = webhook_document(notice())
    assert (empty["event"], empty["summary"], empty["bake"], empty["started"]) == (None,) * 4


def test_iso_gives_milliseconds_in_utc() -> None:
    assert iso(None) is None
    assert iso(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso(T0 + 0.2501) == "2026-01-01T00:00:00.250Z"


@pytest.mark.parametrize(
    ("fields", "tags", "uid", "expected"),
    [
        ({}, (), None, {"tags": ["specctl", "demo", "apply", "ok"], "text": "T\nx"}),
        (
            {"started": T0 + 0.0004, "finished": T0 + 1.0006, "project": ""},
            ("x", "", "x", "ok"),
            "",
            {
                "time": 1767225600000,
                "timeEnd": 1767225601001,
                "tags": ["specctl", "apply", "ok", "x"],
                "text": "T\nx",
            },
        ),
        (
            {"finished": T0},
            (),
            "d1",
            {"tags": ["specctl", "demo", "apply", "ok"], "text": "T\nx", "dashboardUID": "d1"},
        ),
    ],
)
def test_the_grafana_annotation_spans_the_run_it_knows_the_times_of(
    fields: dict[str, Any], tags: tuple[str, ...], uid: str | None, expected: dict[str, Any]
) -> None:
    assert grafana_body(notice(**fields), tags=tags, dashboard_uid=uid) == expected


def mail(n: Notice) -> dict[str, str | None]:
    message = email_message(n, sender="specctl@example.org", to=["ops@example.org"])
    return {k: message[k] for k in ("Subject", "From", "To", "Date", "Message-ID")}


def test_the_email_of_a_start_is_dated_at_the_start_and_named_for_it() -> None:
    n = notice(result="started", started=T0, finished=T0 + 60, run_id="2026-01-01_ab", host="b 1")
    assert mail(n) == {
        "Subject": "T",
        "From": "specctl@example.org",
        "To": "ops@example.org",
        "Date": "Thu, 01 Jan 2026 00:00:00 +0000",
        "Message-ID": "<specctl.20260101ab.started@b1>",
    }


@pytest.mark.parametrize(
    ("fields", "date", "message_id"),
    [
        ({"started": T0, "finished": T0 + 60}, "Thu, 01 Jan 2026 00:01:00 +0000", None),
        (
            {"started": T0, "run_id": "r1", "host": "!!"},
            "Thu, 01 Jan 2026 00:00:00 +0000",
            "<specctl.r1.finished@specctl.invalid>",
        ),
        ({"run_id": "r1", "host": "a.B-c_d"}, None, "<specctl.r1.finished@a.B-cd>"),
        ({"run_id": "Run_1"}, None, "<specctl.Run1.finished@specctl.invalid>"),
        ({"run_id": ""}, None, None),
    ],
)
def test_the_email_of_an_end_is_dated_at_the_end_or_else_the_start(
    fields: dict[str, Any], date: str | None, message_id: str | None
) -> None:
    got = mail(notice(**fields))
    assert (got["Date"], got["Message-ID"]) == (date, message_id)


def test_the_email_body_is_the_title_the_text_and_a_signature() -> None:
    message = email_message(
        notice(title="T", text="a\nb", run_id="r1", finished=T0),
        sender="s@x.org",
        to=["a@x.org", "b@x.org"],
    )
    assert message.items() == [
        ("Subject", "T"),
        ("From", "s@x.org"),
        ("To", "a@x.org, b@x.org"),
        ("Date", "Thu, 01 Jan 2026 00:00:00 +0000"),
        ("Message-ID", "<specctl.r1.finished@specctl.invalid>"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "7bit"),
        ("MIME-Version", "1.0"),
    ]
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "T\n\na\nb\n\n-- \nsent by specctl\n"
