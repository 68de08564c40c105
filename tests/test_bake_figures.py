"""The bake's figures and judgement at their edges, exactly (compiler/bake.py); pure. The rules
themselves: tests/test_bake_rules.py."""

from __future__ import annotations

import pytest

from specctl.compiler.access_log import Hit
from specctl.compiler.bake import Figures, breaches, figures, percentile, rules_text, select
from specctl.schemas.spec import Bake


def hit(t: float = 10.0, status: int = 200, seconds: float = 0.01, **kw: str) -> Hit:
    fields = {"color": "green", "upstream": "backend", **kw}
    return Hit(t=t, status=status, seconds=seconds, **fields)


def test_figures_in_words_and_as_a_document() -> None:
    f = Figures(requests=200, errors=3, p95=0.25, p99=1.5)
    assert f.error_percent == 1.5
    assert f.describe() == "200 requests, 5xx 1.5%, p95 250ms, p99 1.5s"
    assert f.document() == {
        "requests": 200,
        "errors": 3,
        "error_percent": 1.5,
        "p95_seconds": 0.25,
        "p99_seconds": 1.5,
    }
    assert Figures(3, 1, 0.0, 0.0).document()["error_percent"] == 33.333
    assert Figures(0, 0, 0.0, 0.0).error_percent == 0.0
    assert Figures(0, 0, 0.0, 0.0).document()["error_percent"] == 0.0


@pytest.mark.parametrize(
    ("p95", "shown"),
    [(0.0, "0ms"), (0.0004, "0ms"), (0.9994, "999ms"), (1.0, "1.0s"), (12.34, "12.3s")],
)
def test_times_under_a_second_are_milliseconds(p95: float, shown: str) -> None:
    assert Figures(1, 0, p95, p95).describe() == f"1 requests, 5xx 0.0%, p95 {shown}, p99 {shown}"


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 95, 0.0),
        ([1.0], 95, 1.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 51, 2.0),
        ([float(i) for i in range(1, 101)], 95, 95.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 11)], 0, 1.0),
    ],
)
def test_nearest_rank_percentiles(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_figures_sort_the_times_and_count_only_5xx() -> None:
    hits = [hit(seconds=s, status=st) for s, st in [(0.3, 499), (0.1, 500), (0.2, 599), (0.4, 200)]]
    assert figures(hits) == Figures(requests=4, errors=2, p95=0.4, p99=0.4)
    assert figures(iter(hits)) == figures(hits)  # any iterable, read once
    assert figures([]) == Figures(0, 0, 0.0, 0.0)


def test_select_keeps_the_half_open_time_range() -> None:
    hits = [hit(t=t) for t in (9.99, 10.0, 15.0, 19.99, 20.0)]
    chosen = select(hits, color="green", upstreams={"backend"}, start=10.0, end=20.0)
    assert [h.t for h in chosen] == [10.0, 15.0, 19.99]
    assert select(hits, color="blue", upstreams={"backend"}, start=0, end=99) == []
    assert select(hits, color="green", upstreams={"ml"}, start=0, end=99) == []


def rules(**kw: object) -> Bake:
    return Bake.model_validate({"duration": "5m", "min_requests": 10, **kw})


def test_judged_from_exactly_min_requests() -> None:
    now = figures([hit(status=500)] * 10)
    assert breaches(now, rules(), None) == ["5xx 100.0% of 10 requests > 1%"]
    assert breaches(figures([hit(status=500)] * 9), rules(), None) == []


def test_a_limit_is_allowed_and_more_is_not() -> None:
    r = rules(max_p95="100ms", max_p99="1s", max_5xx_percent=0)
    assert breaches(figures([hit(seconds=0.1)] * 10), r, None) == []
    assert breaches(figures([hit(seconds=1.0)] * 10), rules(max_p99="1s"), None) == []
    assert breaches(figures([hit(seconds=1.5)] * 10), r, None) == [
        "p95 1.5s > 100ms",
        "p99 1.5s > 1s",
    ]
    assert breaches(figures([hit(status=500)] + [hit()] * 99), r, None) == [
        "5xx 1.0% of 100 requests > 0%"
    ]


def test_a_slowdown_at_the_edges() -> None:
    r = rules(max_slowdown=2.0)
    old = figures([hit(seconds=0.1)] * 10)
    assert breaches(figures([hit(seconds=0.2)] * 10), r, old) == []  # exactly 2×
    assert breaches(figures([hit(seconds=0.21)] * 10), r, old) == [
        "p95 210ms is 2.1× the old colour's 100ms before the switch (limit 2×)"
    ]
    assert breaches(figures([hit(seconds=0.1)] * 10), r, figures([hit(seconds=0.01)] * 10)) == []
    old_none = figures([hit(seconds=0.0)] * 10)
    assert breaches(figures([hit(seconds=0.5)] * 10), r, old_none) == [
        "p95 500ms is 500000.0× the old colour's 0ms before the switch (limit 2×)"
    ]
    assert breaches(figures([hit(seconds=0.5)] * 10), rules(), old) == []  # no slowdown rule
    enough_old = figures([hit(seconds=0.1)] * 10)
    assert breaches(figures([hit(seconds=0.5)] * 10), r, enough_old) != []


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({}, "5xx ≤ 1% (judged on the last 30s, ≥ 10 requests)"),
        (
            {"max_5xx_percent": 0.5, "max_p99": "2s", "window": "1m"},
            "5xx ≤ 0.5%, p99 ≤ 2s (judged on the last 1m, ≥ 10 requests)",
        ),
        (
            {"max_slowdown": 1.5},
            "5xx ≤ 1%, p95 ≤ 1.5× the old colour's (judged on the last 30s, ≥ 10 requests)",
        ),
    ],
)
def test_the_rules_in_words(kw: dict[str, object], text: str) -> None:
    assert rules_text(rules(**kw)) == text


def test_p95_and_p99_are_the_95th_and_99th_of_a_hundred() -> None:
    f = figures([hit(seconds=i / 1000) for i in range(100, 0, -1)])
    assert (f.p95, f.p99) == (0.095, 0.099)
    assert percentile([float(i) for i in range(1, 102)], 100) == 101.0
