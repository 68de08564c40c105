"""The pure probe rules at their edges: URLs, the verdict texts a person reads after a failed
probe, resource figures from `docker stats`, Docker timestamps, log keywords and what is hidden
from a shown line (compiler/probe_rules.py). No Docker."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler import probe_rules as rules
from specctl.schemas.spec import Probe

LONG = "x" * 100
CLIPPED = "x" * 79 + "…"  # a body or frame is shown up to 80 characters


def probe(**fields: Any) -> Probe:
    return Probe.model_validate({"name": "p", "kind": "http", **fields})


def test_a_proxy_url_drops_only_trailing_slashes_of_the_public_address() -> None:
    assert rules.proxy_url("http://NGINX/", "health") == "http://NGINX/health"
    assert rules.proxy_url("http://proxy//", "/h") == "http://proxy/h"


def test_an_upload_left_at_get_is_sent_as_a_post() -> None:
    assert rules.request_method(probe(kind="upload")) == "POST"
    assert rules.request_method(probe(kind="http", method="post")) == "POST"


@pytest.mark.parametrize(
    ("headers", "required", "problem"),
    [
        ({}, True, "no X-App-Color header (expected blue)"),
        ({}, False, None),
        ({"x-app-color": "blue"}, True, None),
        ({"X-APP-COLOR": "green"}, False, "answered from green (X-App-Color), expected blue"),
    ],
)
def test_the_colour_header_is_required_only_when_asked(
    headers: dict[str, str], required: bool, problem: str | None
) -> None:
    found = rules.color_problem(headers, header="X-App-Color", color="blue", required=required)
    assert found == problem


def judged(status: int = 200, text: str = "", **fields: Any) -> str | None:
    return rules.judge_response(probe(**fields), status=status, text=text, headers={})


@pytest.mark.parametrize(
    ("status", "text", "fields", "verdict"),
    [
        (500, LONG, {}, f'HTTP 500, expected 200: "{CLIPPED}"'),
        (500, "  \n", {}, "HTTP 500, expected 200"),
        (200, LONG, {"expect_body": "y"}, f"body does not contain 'y': \"{CLIPPED}\""),
        (200, LONG, {"expect_json": {"a": 1}}, f"answer is not JSON: '{CLIPPED}'"),
        (
            200,
            '{"b": 2}',
            {"expect_json": {"a": 1, "b": 3}},
            "JSON field 'a' missing; JSON field 'b' is 2, expected 3",
        ),
        (200, "{}", {"expect_json": {}}, None),
    ],
    ids=["status", "empty-body", "body", "not-json", "two-fields", "nothing-expected"],
)
def test_a_verdict_names_every_json_field_and_clips_the_body_shown(
    status: int, text: str, fields: dict[str, Any], verdict: str | None
) -> None:
    assert judged(status, text, **fields) == verdict


def test_the_colour_is_not_judged_without_a_colour_to_expect() -> None:
    headers = {"X-App-Color": "green"}
    for color_header, color in (("X-App-Color", None), (None, "blue")):
        verdict = rules.judge_response(
            probe(), status=200, text="", headers=headers, color_header=color_header, color=color
        )
        assert verdict is None


def test_an_echo_shows_at_most_80_characters_of_what_came_back() -> None:
    assert rules.echo_problem("ping", LONG) == f"received '{CLIPPED}', expected 'ping'"


@pytest.mark.parametrize(
    ("status", "problem"),
    [(499, None), (500, "HTTP 500"), (501, "HTTP 501")],
)
def test_routing_fails_from_http_500_on(status: int, problem: str | None) -> None:
    found = rules.routing_problem(status, {}, header="X-App-Color", color="blue", routed_to="blue")
    assert found == problem


def memory(**fields: Any) -> dict[str, Any]:
    return {"memory_stats": fields}


def test_cache_as_large_as_the_usage_is_not_taken_off() -> None:
    assert rules.memory_usage(memory(usage=100, stats={"inactive_file": 100})) == 100
    assert rules.memory_usage(memory(usage=100, stats={"inactive_file": 99})) == 1
    assert rules.memory_limit({}) == 0
    assert rules.memory_limit(memory(usage=5)) == 0


def cpu(now: dict[str, Any], before: dict[str, Any], online: int = 1) -> float:
    return rules.cpu_percent({"cpu_stats": {**now, "online_cpus": online}, "precpu_stats": before})


@pytest.mark.parametrize(
    ("now", "before", "percent"),
    [
        ({"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000}, {}, 10.0),
        ({"system_cpu_usage": 2000}, {"system_cpu_usage": 1000}, 0.0),
        ({"cpu_usage": {"total_usage": 100}}, {}, 0.0),
        (
            {"cpu_usage": {"total_usage": 101}, "system_cpu_usage": 1},
            {"cpu_usage": {"total_usage": 100}},
            100.0,
        ),
        (
            {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 10},
            {"cpu_usage": {"total_usage": 5}},
            0.0,
        ),
    ],
    ids=["first-sample", "no-cpu-figure", "no-system-figure", "one-tick", "idle"],
)
def test_cpu_use_is_the_share_of_the_system_time_between_two_samples(
    now: dict[str, Any], before: dict[str, Any], percent: float
) -> None:
    assert cpu(now, before) == pytest.approx(percent)


@pytest.mark.parametrize(
    ("usage", "limit", "threshold", "problem"),
    [
        (1, 1, 0.95, "memory 1B/1B (100%) is above 95% of its limit"),
        (50, 100, 0.5, None),
        (51, 100, 0.5, "memory 51B/100B (51%) is above 50% of its limit"),
        (5, 0, 0.95, None),
    ],
    ids=["tiny-limit", "at-the-threshold", "above", "no-limit"],
)
def test_memory_fails_only_above_the_threshold(
    usage: int, limit: int, threshold: float, problem: str | None
) -> None:
    assert rules.memory_problem(usage, limit, threshold=threshold) == problem


@pytest.mark.parametrize(
    ("usage", "limit", "text"),
    [(1024, 0, "1.0KiB/0B"), (1, 1, "1B/1B (100%)"), (1536, 3072, "1.5KiB/3.0KiB (50%)")],
)
def test_usage_shows_a_share_only_of_a_known_limit(usage: int, limit: int, text: str) -> None:
    assert rules.usage_text(usage, limit) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (1023, "1023B"),
        (1024, "1.0KiB"),
        (1536, "1.5KiB"),
        (2**20, "1.0MiB"),
        (2**40, "1024.0GiB"),
    ],
)
def test_bytes_are_shown_in_the_largest_unit_below_1024(count: int, text: str) -> None:
    assert rules.human_bytes(count) == text


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("1970-01-01T00:00:01Z", 1.0),
        ("1970-01-01T00:00:01.25Z", 1.25),
        ("1970-01-01T01:00:00+01:00", 0.0),
        ("1970-01-01T00:00:00.1234569Z", 0.123456),
        (" 1970-01-01T00:00:02Z\n", 2.0),
    ],
)
def test_a_docker_timestamp_is_read_to_the_microsecond(stamp: str, seconds: float) -> None:
    assert rules.docker_time(stamp) == seconds


def test_a_keyword_glued_to_a_lowercase_word_is_not_a_whole_word() -> None:
    keywords = ["FATAL"]
    assert rules.first_critical(["isFATAL=false", "FATALity", "notFATAL"], keywords) is None
    assert rules.first_critical(["x FATAL-ish: y"], keywords) == ("FATAL", "x FATAL-ish: y")


@pytest.mark.parametrize(
    ("secrets", "text", "shown"),
    [
        (["bcde", "abcde"], "key abcde", "key ***"),
        (["abcde", "bcde"], "key abcde", "key ***"),
        (["abcd"], "key abcd", "key ***"),
        (["abc"], "key abc", "key abc"),
    ],
    ids=["longest-first", "given-order-does-not-matter", "four-characters", "too-short"],
)
def test_known_secrets_are_hidden_longest_first(secrets: list[str], text: str, shown: str) -> None:
    assert rules.redact(text, secrets) == shown


def test_a_shown_line_hides_secrets_and_loses_carriage_returns() -> None:
    assert rules.safe_line("login with hunter22 refused", ["hunter22"]) == "login with *** refused"
    assert rules.clip("a\rb") == "ab"
    assert rules.clip("x" * rules.LINE_LIMIT) == "x" * rules.LINE_LIMIT
    assert rules.clip("x" * (rules.LINE_LIMIT + 1)) == "x" * (rules.LINE_LIMIT - 1) + "…"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("passwd", True),
        ("JWT_SECRET", True),
        ("GITHUB_TOKEN", True),
        ("APIKEY", True),
        ("stripe_api_key", True),
        ("PRIVATE_KEY_PATH", True),
        ("POSTGRES_USER", False),
        ("PORT", False),
    ],
)
def test_a_variable_looks_secret_by_its_name(name: str, secret: bool) -> None:
    assert rules.looks_secret(name) is secret
