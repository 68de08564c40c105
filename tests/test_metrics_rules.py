"""The pure rules behind the metrics: how a record's duration and end are read, how counts add up,
which values are rounded or left out (compiler/metrics.py); and nginx's access log that the bake
reads its request figures from: where specctl adds its log to a base config and how a line is
read back (compiler/access_log.py). No Docker, no files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from specctl.compiler.access_log import (
    Hit,
    access_log,
    log_format,
    parse,
    turned_off,
    with_access_log,
)
from specctl.compiler.metrics import Facts, metric_families, registry
from specctl.schemas.errors import CompileError

# --- metrics -------------------------------------------------------------------------------------


def found(records: Sequence[dict[str, Any]] = (), **facts: Any) -> dict[tuple[str, ...], float]:
    """Every sample as (name, label values except the project...) -> value."""
    families = metric_families(Facts(project="shop", records=records, **facts))
    return {
        (s.name, *(v for k, v in s.labels.items() if k != "project")): s.value
        for family in families
        for s in family.samples
    }


def apply(result: str = "ok", **fields: Any) -> dict[str, Any]:
    return {"kind": "apply", "result": result, **fields}


def step(name: object, status: str = "ok", seconds: float | None = 1.0) -> dict[str, Any]:
    return {"name": name, "status": status, "seconds": seconds}


def test_a_zero_in_the_last_plan_is_shown_as_zero_not_left_out() -> None:
    shown = found(last_plan={"changes": 0, "switch": False, "time": 0})
    assert shown["specctl_plan_changes",] == 0.0
    assert shown["specctl_plan_switch",] == 0.0
    assert shown["specctl_plan_timestamp_seconds",] == 0.0


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({"seconds": 7.0, "started": 100.0, "finished": 200.0}, 7.0),
        ({"started": 100.0, "finished": 115.5}, 15.5),
        ({"started": 100.0, "finished": 100.0}, 0.0),
        ({"started": 100.0, "finished": 90.0}, None),
        ({"finished": 100.0}, None),
        ({"started": 100.0}, None),
        ({"seconds": "7", "started": 1.0, "finished": 3.0}, 2.0),
    ],
    ids=[
        "seconds-first",
        "finished-minus-started",
        "instant",
        "finished-before-started",
        "no-start",
        "no-end",
        "seconds-not-a-number",
    ],
)
def test_an_apply_lasts_its_seconds_or_from_its_start_to_its_end(
    fields: dict[str, Any], seconds: float | None
) -> None:
    shown = found([apply(**fields)])
    name = "specctl_apply_duration_seconds"
    assert shown[f"{name}_count", "succeeded"] == (0.0 if seconds is None else 1.0)
    assert shown[f"{name}_sum", "succeeded"] == (seconds or 0.0)
    assert shown.get(("specctl_last_apply_duration_seconds",)) == seconds


@pytest.mark.parametrize(
    ("fields", "ended"),
    [
        ({"finished": 50.0, "started": 10.0, "seconds": 1.0}, 50.0),
        ({"started": 100.0, "seconds": 5.0}, 105.0),
        ({"started": 100.0}, 100.0),
        ({"seconds": 5.0}, None),
    ],
    ids=["finished", "started-plus-seconds", "started-only", "no-time"],
)
def test_a_success_ended_when_it_finished_or_its_seconds_after_it_started(
    fields: dict[str, Any], ended: float | None
) -> None:
    shown = found([apply(**fields)])
    assert shown.get(("specctl_last_success_timestamp_seconds", "apply")) == ended


def test_a_step_outside_the_fixed_set_is_counted_as_other() -> None:
    steps = [step(42, seconds=1.0), step("a user's step", "failed", 2.0)]
    shown = found([apply("failed", steps=steps)])
    assert shown["specctl_apply_failures_total", "other"] == 1.0
    assert shown["specctl_step_duration_seconds_count", "other"] == 2.0
    assert shown["specctl_step_duration_seconds_sum", "other"] == 3.0
    assert {labels[1] for labels in shown if labels[0].startswith("specctl_step_")} == {"other"}


def test_failures_and_rollbacks_add_up_over_the_whole_trail() -> None:
    health = apply("failed", steps=[step("health", "failed")])
    baked = apply(
        "failed",
        previous="blue",
        steps=[step("switch"), step("bake", "failed")],
        final={"active": "blue"},
    )
    manual = {"kind": "rollback", "result": "ok"}
    shown = found([health, health, baked, baked, manual, manual])
    assert shown["specctl_apply_failures_total", "health"] == 2.0
    assert shown["specctl_apply_failures_total", "bake"] == 2.0
    rollbacks = {k[1:]: v for k, v in shown.items() if k[0] == "specctl_rollbacks_total"}
    assert rollbacks == {
        ("manual", "succeeded"): 2.0,
        ("manual", "failed"): 0.0,
        ("automatic", "succeeded"): 2.0,
        ("automatic", "failed"): 0.0,
    }


def test_the_last_apply_duration_skips_noops_and_records_without_a_duration() -> None:
    records = [apply(), apply(seconds=30.0), apply("noop", seconds=1.0), apply()]
    shown = found(records)
    assert shown["specctl_last_apply_duration_seconds",] == 30.0
    assert shown["specctl_apply_duration_seconds_count", "succeeded"] == 1.0
    assert shown["specctl_apply_duration_seconds_count", "noop"] == 1.0


def test_skipped_steps_and_steps_without_seconds_are_left_out_of_the_step_durations() -> None:
    steps = [step("retire", "skipped", 5.0), step("backup", seconds=None), step("deploy")]
    shown = found([apply(steps=steps)])
    durations = {k: v for k, v in shown.items() if k[0].startswith("specctl_step_duration")}
    assert durations == {
        ("specctl_step_duration_seconds_count", "deploy"): 1.0,
        ("specctl_step_duration_seconds_sum", "deploy"): 1.0,
    }


def test_duration_sums_are_rounded_to_the_millisecond() -> None:
    shown = found([apply(seconds=1.2344, steps=[step("deploy", seconds=1.2344)])])
    assert shown["specctl_apply_duration_seconds_sum", "succeeded"] == 1.234
    assert shown["specctl_step_duration_seconds_sum", "deploy"] == 1.234
    assert shown["specctl_last_apply_duration_seconds",] == 1.2344  # a gauge, as recorded


class CountedRecords(list[dict[str, Any]]):
    """Audit records that count how often they are read."""

    reads = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.reads += 1
        return super().__iter__()


def test_the_registry_reads_the_records_only_when_it_is_collected() -> None:
    records = CountedRecords([apply(seconds=3.0)])
    fresh = registry(Facts(project="shop", records=records))
    assert records.reads == 0
    assert (
        fresh.get_sample_value("specctl_applies_total", {"project": "shop", "result": "succeeded"})
        == 1.0
    )
    assert records.reads > 0


# --- the access log in a base config -------------------------------------------------------------

OURS = f" {log_format('green')} {access_log()}"


def logged(base: str) -> list[str]:
    return with_access_log(base, "green", filename="nginx.conf").split("\n")


def test_a_base_without_an_http_block_is_left_as_it_is() -> None:
    base = "events {}\nstream {\n    server { access_log /var/log/s.log; }\n}\n"
    assert with_access_log(base, "green", filename="nginx.conf") == base


def test_the_format_and_log_go_after_the_http_brace_and_other_blocks_are_left_alone() -> None:
    base = (
        "worker_processes 1;\n"
        "events { worker_connections 64; }\n"
        "http {  # the site\n"
        "    access_log /var/log/nginx/access.log;\n"
        "}\n"
        "stream { server { listen 9000; } }\n"
    )
    assert logged(base) == [
        "worker_processes 1;",
        "events { worker_connections 64; }",
        f"http {{{OURS}  # the site",
        "    access_log /var/log/nginx/access.log;",  # the http block's own: inherited by all
        "}",
        "stream { server { listen 9000; } }",
        "",
    ]


def test_specctls_log_is_added_beside_each_server_and_location_access_log() -> None:
    base = (
        "events {} http {\n"
        "  server {\n"
        "    access_log /var/log/site.log main; error_log /var/log/e.log;  # per site; kept\n"
        "    location / {\n"
        "      access_log /var/log/a.log\n"
        "          combined;\n"
        "    }\n"
        "    location /b { access_log /var/log/b.log\n"
        ";}\n"
        "    location /health { access_log off; }\n"
        "    location /ours { access_log /dev/stdout specctl_json; }\n"
        "  }\n"
        "}"
    )
    ours = access_log()
    assert logged(base) == [
        f"events {{}} http {{{OURS}",
        "  server {",
        "    access_log /var/log/site.log main; error_log /var/log/e.log; "
        + ours
        + "  # per site; kept",
        "    location / {",
        "      access_log /var/log/a.log",
        f"          combined; {ours}",
        "    }",
        "    location /b { access_log /var/log/b.log",
        f"; {ours}}}",  # after the statement's `;`, wherever that is
        "    location /health { access_log off; }",
        "    location /ours { access_log /dev/stdout specctl_json; }",
        "  }",
        "}",
    ]


def test_a_block_with_two_access_logs_gets_specctls_once_after_the_last() -> None:
    """nginx writes a request to every access_log of its block: twice would count it twice."""
    base = (
        "http {\n"
        "  server {\n"
        "    access_log /var/log/a.log;\n"
        "    access_log /var/log/b.log;\n"
        "    location / { access_log /var/log/c.log; }\n"
        "  }\n"
        "}"
    )
    ours = access_log()
    assert logged(base) == [
        f"http {{{OURS}",
        "  server {",
        "    access_log /var/log/a.log;",
        f"    access_log /var/log/b.log; {ours}",
        f"    location / {{ access_log /var/log/c.log; {ours} }}",
        "  }",
        "}",
    ]


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("http {\n  server {\n", 'nginx.conf:2: unexpected end of file, expecting "}"'),
        ("http {\n}\n}\n", 'nginx.conf:3: unexpected "}"'),
    ],
)
def test_a_base_nginx_cannot_parse_is_refused_with_its_file_and_line(
    base: str, message: str
) -> None:
    with pytest.raises(CompileError) as refused:
        with_access_log(base, "green", filename="nginx.conf")
    assert str(refused.value) == message
    with pytest.raises(CompileError) as refused:
        turned_off(base, filename="nginx.conf")
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("base", "line"),
    [
        ("http {\n    access_log off;\n}\n", 2),
        ("events {}\nhttp {\n  access_log off;\n  access_log off;\n}\n", 3),
        ("http {\n    access_log off main;\n}\n", None),
        ("http {\n    server { access_log off; }\n}\n", None),
        ("http {\n    error_log off;\n}\n", None),
        ("access_log off;\nhttp {}\n", None),
        ("http {\n    access_log /var/log/a.log;\n}\n", None),
    ],
    ids=["http-level", "the-first", "with-a-format", "server-level", "not-access-log", "top", "on"],
)
def test_access_log_off_is_found_at_the_http_level_only(base: str, line: int | None) -> None:
    assert turned_off(base, filename="nginx.conf") == line


# --- reading a line back -------------------------------------------------------------------------

LINE = (
    '{"specctl":"access","t":1.5,"color":"green","upstream":"backend","status":200,"seconds":0.25}'
)


def test_an_access_line_behind_a_prefix_is_read() -> None:
    assert parse("proxy-1  | " + LINE) == Hit(1.5, "green", "backend", 200, 0.25)


def test_two_access_lines_run_together_are_not_read_as_either() -> None:
    assert parse(LINE + LINE) is None


def test_an_access_log_after_a_closed_location_is_the_servers_own() -> None:
    base = (
        "http {\n"
        "  server {\n"
        "    location / { access_log /var/log/c.log; }\n"
        "    access_log /var/log/a.log;\n"
        "  }\n"
        "}"
    )
    ours = access_log()
    assert logged(base)[2:4] == [
        f"    location / {{ access_log /var/log/c.log; {ours} }}",
        f"    access_log /var/log/a.log; {ours}",
    ]
