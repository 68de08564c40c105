"""The bake's judgement: figures of a colour's requests (count, 5xx share, p95 and p99 request
time) and the rules of `deploy.bake` they breach; pure."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from specctl.compiler.access_log import Hit
from specctl.schemas.spec import Bake
from specctl.schemas.units import seconds

SLOWDOWN_FLOOR = 0.1  # seconds: a p95 under this never counts as a slowdown


@dataclass(frozen=True)
class Figures:
    requests: int
    errors: int  # answers with a 5xx status
    p95: float  # seconds; 0.0 without requests
    p99: float

    @property
    def error_percent(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        if not self.requests:
            return "no requests"
        return (
            f"{self.requests} requests, 5xx {self.error_percent:.1f}%, "
            f"p95 {_ms(self.p95)}, p99 {_ms(self.p99)}"
        )

    def document(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_percent": round(self.error_percent, 3),
            "p95_seconds": self.p95,
            "p99_seconds": self.p99,
        }


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values; 0.0 for none."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[rank - 1]


def figures(hits: Iterable[Hit]) -> Figures:
    chosen = list(hits)
    times = sorted(h.seconds for h in chosen)
    return Figures(
        requests=len(chosen),
        errors=sum(1 for h in chosen if h.status >= 500),
        p95=percentile(times, 95),
        p99=percentile(times, 99),
    )


def select(
    hits: Iterable[Hit], *, color: str, upstreams: set[str], start: float, end: float
) -> list[Hit]:
    """The requests a colour's config routed to a managed upstream, ended in [start, end)."""
    return [h for h in hits if h.color == color and h.upstream in upstreams and start <= h.t < end]


def breaches(now: Figures, rules: Bake, before: Figures | None) -> list[str]:
    """What the new colour's figures breach, in words; [] below `min_requests` (no judgement)."""
    if now.requests < rules.min_requests:
        return []
    out = []
    if now.error_percent > rules.max_5xx_percent:
        out.append(
            f"5xx {now.error_percent:.1f}% of {now.requests} requests > {rules.max_5xx_percent:g}%"
        )
    for name, value, limit in (("p95", now.p95, rules.max_p95), ("p99", now.p99, rules.max_p99)):
        if limit is not None and value > seconds(limit):
            out.append(f"{name} {_ms(value)} > {limit}")
    if (
        rules.max_slowdown is not None
        and before is not None
        and before.requests >= rules.min_requests
        and now.p95 > SLOWDOWN_FLOOR
        and now.p95 > before.p95 * rules.max_slowdown
    ):
        out.append(
            f"p95 {_ms(now.p95)} is {now.p95 / max(before.p95, 1e-6):.1f}× the old colour's "
            f"{_ms(before.p95)} before the switch (limit {rules.max_slowdown:g}×)"
        )
    return out


def rules_text(rules: Bake) -> str:
    """`5xx ≤ 1%, p95 ≤ 500ms (judged on the last 30s, ≥ 20 requests)`."""
    parts = [f"5xx ≤ {rules.max_5xx_percent:g}%"]
    if rules.max_p95 is not None:
        parts.append(f"p95 ≤ {rules.max_p95}")
    if rules.max_p99 is not None:
        parts.append(f"p99 ≤ {rules.max_p99}")
    if rules.max_slowdown is not None:
        parts.append(f"p95 ≤ {rules.max_slowdown:g}× the old colour's")
    return (
        f"{', '.join(parts)} (judged on the last {rules.window}, ≥ {rules.min_requests} requests)"
    )
