"""The bake's pure parts: reading specctl's access lines, the figures and the rules they breach,
the `deploy.bake` spec, and where the bake sits in a plan (new after a switch, resumed after a
crash); pure (compiler/access_log.py, compiler/bake.py, compiler/steps.py)."""

from __future__ import annotations

import json

import pytest

from specctl.compiler.access_log import Hit, log_format, parse
from specctl.compiler.bake import Figures, breaches, figures, percentile, rules_text, select
from specctl.compiler.load import load_spec
from specctl.schemas.errors import SpecError
from specctl.schemas.live import LiveBake
from specctl.schemas.plan import StepName
from specctl.schemas.spec import Bake
from tests.test_diff import live
from tests.test_steps import STOP, names, planned, spec

# A line as nginx 1.22 writes it with log_format("green") (escape=json), seen through `docker logs`.
LINE = (
    '{"specctl":"access","t":1764640203.512,"color":"green","upstream":"backend",'
    '"status":502,"seconds":0.004,"upstream_addr":"172.18.0.5:3001","method":"GET",'
    '"uri":"/api/x\\"y"}'
)


def hit(t: float = 10.0, status: int = 200, seconds: float = 0.01, color: str = "green") -> Hit:
    return Hit(t=t, color=color, upstream="backend", status=status, seconds=seconds)


def test_an_access_line_is_read_and_anything_else_is_not() -> None:
    assert parse(LINE) == Hit(1764640203.512, "green", "backend", 502, 0.004)
    assert parse("2026/12/02 01:02:03 [notice] 1#1: signal process started") is None
    assert parse('{"specctl":"access","t":"soon"}') is None  # never an exception
    assert parse('{"specctl":"access"') is None
    # The format's fields are exactly what parse reads back.
    fields = log_format("blue").split("'")[1]
    sample = fields.replace("$msec", "1.5").replace("$status", "200")
    sample = sample.replace("$request_time", "0.25").replace("$", "")
    doc = json.loads(sample)
    assert (doc["color"], doc["t"], doc["status"], doc["seconds"]) == ("blue", 1.5, 200, 0.25)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 95), percentile(values, 99), percentile(values, 100)) == (
        95.0,
        99.0,
        100.0,
    )
    assert percentile([], 95) == 0.0
    assert percentile([3.0], 99) == 3.0


def test_figures_count_5xx_only() -> None:
    found = figures([hit(status=200), hit(status=404), hit(status=500), hit(status=503)])
    assert (found.requests, found.errors, found.error_percent) == (4, 2, 50.0)


def test_select_keeps_one_colour_managed_upstreams_and_the_time_range() -> None:
    hits = [
        hit(t=5.0),
        hit(t=10.0),
        hit(t=20.0),
        hit(t=12.0, color="blue"),
        Hit(12.0, "green", "grafana", 500, 0.1),
    ]
    chosen = select(hits, color="green", upstreams={"backend"}, start=10.0, end=20.0)
    assert chosen == [hit(t=10.0)]


RULES = Bake(duration="1m", min_requests=10, max_5xx_percent=1, max_p95="500ms", max_p99="2s")


def test_nothing_is_judged_below_min_requests() -> None:
    assert breaches(figures([hit(status=500)] * 9), RULES, None) == []


def test_each_rule_names_its_figure_and_its_limit() -> None:
    bad = figures([hit(status=500)] * 2 + [hit()] * 98)
    assert breaches(bad, RULES, None) == ["5xx 2.0% of 100 requests > 1%"]
    at_limit = figures([hit(status=500)] + [hit()] * 99)
    assert breaches(at_limit, RULES, None) == []  # 1% is allowed, more is not
    slow = figures([hit(seconds=0.6)] * 6 + [hit()] * 94)
    assert breaches(slow, RULES, None) == ["p95 600ms > 500ms"]
    tail = figures([hit(seconds=3.0)] * 2 + [hit()] * 98)
    assert breaches(tail, RULES, None) == ["p99 3.0s > 2s"]


def test_a_slowdown_is_judged_against_the_old_colour_before_the_switch() -> None:
    rules = RULES.model_copy(update={"max_slowdown": 3.0, "max_p95": None})
    old = figures([hit(seconds=0.05, color="blue")] * 20)
    now = figures([hit(seconds=0.2)] * 20)
    assert breaches(now, rules, old) == [
        "p95 200ms is 4.0× the old colour's 50ms before the switch (limit 3×)"
    ]
    assert breaches(now, rules, None) == []  # nothing to compare with
    assert breaches(now, rules, figures([hit(seconds=0.05)] * 5)) == []  # too few to compare
    fast = figures([hit(seconds=0.09)] * 20)  # 9× but under the floor: noise, not a slowdown
    assert breaches(fast, rules, figures([hit(seconds=0.01)] * 20)) == []


def test_the_rules_read_as_words() -> None:
    assert rules_text(RULES) == (
        "5xx ≤ 1%, p95 ≤ 500ms, p99 ≤ 2s (judged on the last 30s, ≥ 10 requests)"
    )
    assert Figures(0, 0, 0.0, 0.0).describe() == "no requests"


def test_bake_in_a_spec_shorthand_defaults_and_mistakes() -> None:
    base = (
        "version: 1\nproject: p\nservices: {web: {image: x:1, port: 80}}\n"
        "proxy: {image: nginx:1, ports: [{host: 8080, container: 80}], "
        "upstreams: {web: {service: web}}, locations: [{path: /, upstream: web}]}\n"
    )
    assert load_spec(base + "deploy: {bake: 5m}\n", filename="s.yaml").deploy.bake == Bake(
        duration="5m"
    )
    for wrong, said in (
        ("deploy: {bake: 0s}\n", "longer than 0s"),
        ("deploy: {bake: {duration: 1m, max_5xx: 2}}\n", "max_5xx"),
        ("deploy: {bake: {duration: 1m, max_p95: 500}}\n", "duration with a unit"),
        ("deploy: {bake: {duration: 1m, too_little_traffic: fail}}\n", "switch-back"),
    ):
        with pytest.raises(SpecError, match=said):
            load_spec(base + wrong, filename="s.yaml")


BAKING = STOP.replace("retire: stop", "retire: stop\n  bake: {duration: 2m, window: 20s}")


def test_the_bake_runs_after_the_switch_and_before_the_retire() -> None:
    plan = planned(spec(BAKING.replace("${DEMO_VERSION:-1.0}", "1.1")), live())
    assert names(plan)[-4:] == ["switch", "verify-proxy", "bake", "retire"]
    bake = plan.step(StepName.BAKE)
    assert bake is not None and bake.color == "green" and bake.undo is None
    assert "for 2m; switch back on a breach: 5xx ≤ 1%" in bake.detail
    assert planned(spec(BAKING), live()).empty  # nothing switches: nothing to bake


def interrupted(**changes: object) -> LiveBake:
    bake = LiveBake(
        color="blue", previous="green", switched_at=1.0, until=61.0, config_sha256="x", pid=1
    )
    return bake.model_copy(update=changes)


def test_an_interrupted_bake_is_resumed_while_its_colour_serves_its_config() -> None:
    plan = planned(spec(BAKING), live().model_copy(update={"bake": interrupted()}))
    assert plan.target == "blue" and names(plan) == ["bake"]
    bake = plan.step(StepName.BAKE)
    assert bake is not None and bake.undo == "switch back to green"
    assert bake.detail.startswith("resume blue's interrupted bake (until 00:01:01 UTC)")
    found = interrupted(verdict="blue breached the bake: 5xx 9.0% of 100 requests > 1%")
    plan = planned(spec(BAKING), live().model_copy(update={"bake": found}))
    step = plan.step(StepName.BAKE)
    assert step is not None and "found before: blue breached the bake" in step.detail


@pytest.mark.parametrize(
    "stale",
    [
        interrupted(config_sha256="another config since"),
        interrupted(color="green", previous="blue"),  # green does not serve
    ],
    ids=["config-changed-since", "colour-not-serving"],
)
def test_a_stale_bake_record_is_ignored(stale: LiveBake) -> None:
    assert planned(spec(BAKING), live().model_copy(update={"bake": stale})).empty
    assert planned(spec(STOP), live().model_copy(update={"bake": interrupted()})).empty
