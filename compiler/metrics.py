"""Prometheus metrics of one project, computed from its audit trail, its newest backup and its
last plan; pure (facts in, metric families and exposition text out; appliers/metrics.py reads
the files and writes the .prom file).

Counters are counted again from the whole audit trail on every run, so they are cumulative
and survive restarts. Labels come from fixed sets only (results, triggers, step names,
colours): never a run id, a user or an error text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import CollectorRegistry

from specctl.compiler.backup_manifest import total_size
from specctl.schemas.plan import StepName
from specctl.schemas.spec import COLORS

OTHER = "other"  # a step name outside the fixed set, or a failure outside any step
STEPS: tuple[str, ...] = ("detect", *(s.value for s in StepName), OTHER)
APPLY_RESULTS = ("succeeded", "failed", "noop")
ROLLBACK_RESULTS = ("succeeded", "failed")
TRIGGERS = ("manual", "automatic")
COMMANDS = ("apply", "rollback", "backup")
# Upper bounds of the apply duration histogram: a small change takes seconds, a first deploy
# that builds images, or one with a bake window, tens of minutes.
APPLY_BUCKETS = (5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800)

# Every family this module yields: name -> (type, help). One table, so the help text is the
# same in every project's .prom file (node_exporter refuses differing help for one name).
METRICS: dict[str, tuple[str, str]] = {
    "specctl_build_info": ("gauge", "specctl's version and Python's; always 1."),
    "specctl_applies": ("counter", "Applies by result (succeeded, failed, noop)."),
    "specctl_apply_failures": (
        "counter",
        "Failed applies by the step that failed (other: outside any step).",
    ),
    "specctl_rollbacks": (
        "counter",
        "Rollbacks by trigger (manual: specctl rollback; automatic: a failed apply that "
        "switched traffic back) and result.",
    ),
    "specctl_apply_duration_seconds": ("histogram", "How long applies took, by result."),
    "specctl_last_apply_duration_seconds": (
        "gauge",
        "How long the newest apply that was not a noop took.",
    ),
    "specctl_step_duration_seconds": (
        "summary",
        "Time spent in each step of applies and rollbacks (skipped steps not counted).",
    ),
    "specctl_switch_duration_seconds": (
        "gauge",
        "How long the newest traffic switch step took.",
    ),
    "specctl_last_success_timestamp_seconds": (
        "gauge",
        "When the newest successful apply (not a noop), rollback or backup ended.",
    ),
    "specctl_last_backup_size_bytes": ("gauge", "Size of the newest backup on disk."),
    "specctl_active_color": ("gauge", "1 for the colour serving after the newest run, else 0."),
    "specctl_plan_changes": ("gauge", "Changes (drift) found by the last specctl plan."),
    "specctl_plan_switch": ("gauge", "1 when the last specctl plan would switch traffic."),
    "specctl_plan_timestamp_seconds": ("gauge", "When the last specctl plan ran."),
}


@dataclass(frozen=True)
class Facts:
    """What the metrics are computed from; appliers/metrics.py reads them."""

    project: str
    records: Sequence[Mapping[str, Any]] = ()  # audit.jsonl, oldest first
    newest_backup: Mapping[str, Any] | None = None  # the newest backup's manifest on disk
    last_plan: Mapping[str, Any] | None = None  # <state_dir>/last-plan.json
    version: str = ""
    python: str = ""


# --- reading records: any field may be missing or of the wrong type -------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _duration(record: Mapping[str, Any]) -> float | None:
    seconds = _number(record.get("seconds"))
    if seconds is not None:
        return seconds
    started, finished = _number(record.get("started")), _number(record.get("finished"))
    if started is None or finished is None or finished < started:
        return None
    return finished - started


def _ended(record: Mapping[str, Any]) -> float | None:
    finished = _number(record.get("finished"))
    if finished is not None:
        return finished
    started, seconds = _number(record.get("started")), _number(record.get("seconds"))
    if started is None:
        return None
    return started + (seconds or 0.0)


def _steps(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    steps = record.get("steps")
    return [s for s in steps if isinstance(s, Mapping)] if isinstance(steps, list) else []


def _step_label(name: object) -> str:
    return name if isinstance(name, str) and name in STEPS else OTHER


def _failed_step(record: Mapping[str, Any]) -> str:
    failed = [s for s in _steps(record) if s.get("status") == "failed"]
    return _step_label(failed[-1].get("name")) if failed else OTHER


def _result(record: Mapping[str, Any]) -> str:
    """An apply's result label; a record without a known result did not succeed."""
    return {"ok": "succeeded", "noop": "noop"}.get(str(record.get("result")), "failed")


def _of(records: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("kind") == kind]


def _automatic(record: Mapping[str, Any]) -> bool:
    """A failed apply whose undo switched traffic back: it had switched, or its bake failed."""
    return record.get("result") == "failed" and (
        record.get("switched") is True or _failed_step(record) == StepName.BAKE.value
    )


def _switched_back(record: Mapping[str, Any]) -> bool:
    """Did the automatic rollback of a failed apply put the previous colour back?"""
    final = record.get("final")
    if isinstance(final, Mapping) and "active" in final:
        return bool(final["active"] == record.get("previous"))
    # Without a final colour the undo note is all there is: steps.switch_back writes this only
    # once the previous colour is proven to serve again (a contract migration, an undo that
    # raised or a switch back not proven leave traffic where it is, or unknown).
    return "traffic back on" in str(record.get("rolled_back") or "")


# --- the families ------------------------------------------------------------------------------


def _counter(name: str, labels: Sequence[str]) -> CounterMetricFamily:
    return CounterMetricFamily(name, METRICS[name][1], labels=["project", *labels])


def _gauge(name: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, METRICS[name][1], labels=["project", *labels])


def _applies(facts: Facts, applies: Sequence[Mapping[str, Any]]) -> Iterator[Metric]:
    by_result = dict.fromkeys(APPLY_RESULTS, 0)
    failures = dict.fromkeys(STEPS, 0)
    for record in applies:
        result = _result(record)
        by_result[result] += 1
        if result == "failed":
            failures[_failed_step(record)] += 1
    family = _counter("specctl_applies", ["result"])
    for result, count in by_result.items():
        family.add_metric([facts.project, result], count)
    yield family
    family = _counter("specctl_apply_failures", ["step"])
    for step, count in failures.items():
        family.add_metric([facts.project, step], count)
    yield family


def _rollbacks(facts: Facts) -> CounterMetricFamily:
    counts = {(t, r): 0 for t in TRIGGERS for r in ROLLBACK_RESULTS}
    for record in _of(facts.records, "rollback"):
        result = record.get("result")
        if result in ("ok", "failed"):
            counts["manual", "succeeded" if result == "ok" else "failed"] += 1
    for record in _of(facts.records, "apply"):
        if _automatic(record):
            counts["automatic", "succeeded" if _switched_back(record) else "failed"] += 1
    family = _counter("specctl_rollbacks", ["trigger", "result"])
    for (trigger, result), count in counts.items():
        family.add_metric([facts.project, trigger, result], count)
    return family


def _apply_durations(facts: Facts, applies: Sequence[Mapping[str, Any]]) -> Iterator[Metric]:
    name = "specctl_apply_duration_seconds"
    family = HistogramMetricFamily(name, METRICS[name][1], labels=["project", "result"])
    observed: dict[str, list[float]] = {r: [] for r in APPLY_RESULTS}
    last: float | None = None
    for record in applies:
        seconds = _duration(record)
        if seconds is None:
            continue
        result = _result(record)
        observed[result].append(seconds)
        if result != "noop":
            last = seconds
    for result, values in observed.items():
        buckets = [
            (str(float(bound)), float(sum(1 for v in values if v <= bound)))
            for bound in APPLY_BUCKETS
        ]
        buckets.append(("+Inf", float(len(values))))
        family.add_metric([facts.project, result], buckets, round(sum(values), 3))
    yield family
    if last is not None:
        gauge = _gauge("specctl_last_apply_duration_seconds")
        gauge.add_metric([facts.project], last)
        yield gauge


def _step_durations(facts: Facts) -> Iterator[Metric]:
    runs = [r for r in facts.records if r.get("kind") in ("apply", "rollback")]
    totals: dict[str, tuple[int, float]] = {}
    switch: float | None = None
    for record in runs:
        for step in _steps(record):
            seconds = _number(step.get("seconds"))
            if seconds is None or step.get("status") == "skipped":
                continue
            label = _step_label(step.get("name"))
            count, total = totals.get(label, (0, 0.0))
            totals[label] = (count + 1, total + seconds)
            if label == StepName.SWITCH.value:
                switch = seconds
    name = "specctl_step_duration_seconds"
    family = SummaryMetricFamily(name, METRICS[name][1], labels=["project", "step"])
    for label in STEPS:  # a fixed order, so the output is stable
        if label in totals:
            count, total = totals[label]
            family.add_metric([facts.project, label], count, round(total, 3))
    yield family
    if switch is not None:
        gauge = _gauge("specctl_switch_duration_seconds")
        gauge.add_metric([facts.project], switch)
        yield gauge


def _last_successes(facts: Facts) -> GaugeMetricFamily:
    def newest(records: Iterable[Mapping[str, Any]]) -> float | None:
        return max((t for r in records if (t := _ended(r)) is not None), default=None)

    backup_times = [
        newest(r for r in _of(facts.records, "backup") if r.get("result") == "ok"),
        newest(r for r in _of(facts.records, "apply") if r.get("backup_id")),
        _number(facts.newest_backup.get("created")) if facts.newest_backup else None,
    ]
    times = {
        "apply": newest(r for r in _of(facts.records, "apply") if r.get("result") == "ok"),
        "rollback": newest(r for r in _of(facts.records, "rollback") if r.get("result") == "ok"),
        "backup": max((t for t in backup_times if t is not None), default=None),
    }
    family = _gauge("specctl_last_success_timestamp_seconds", ["command"])
    for command in COMMANDS:
        if (value := times[command]) is not None:
            family.add_metric([facts.project, command], value)
    return family


def _state(facts: Facts) -> Iterator[Metric]:
    if facts.newest_backup is not None:
        size = _gauge("specctl_last_backup_size_bytes")
        size.add_metric([facts.project], float(total_size(facts.newest_backup)))
        yield size
    finals = [r["final"] for r in facts.records if isinstance(r.get("final"), Mapping)]
    finals = [f for f in finals if "active" in f]
    if finals:
        active = finals[-1]["active"]
        family = _gauge("specctl_active_color", ["color"])
        for color in COLORS:
            family.add_metric([facts.project, color], 1.0 if active == color else 0.0)
        yield family
    plan = facts.last_plan
    if plan is None:
        return
    switch = plan.get("switch")
    for name, value in (
        ("specctl_plan_changes", _number(plan.get("changes"))),
        ("specctl_plan_switch", float(switch) if isinstance(switch, bool) else None),
        ("specctl_plan_timestamp_seconds", _number(plan.get("time"))),
    ):
        if value is not None:
            gauge = _gauge(name)
            gauge.add_metric([facts.project], value)
            yield gauge


def metric_families(facts: Facts) -> list[Metric]:
    """Every family, in a stable order; one without samples is left out."""
    applies = _of(facts.records, "apply")
    info = _gauge("specctl_build_info", ["version", "python"])
    info.add_metric([facts.project, facts.version, facts.python], 1.0)
    families = [
        info,
        *_applies(facts, applies),
        _rollbacks(facts),
        *_apply_durations(facts, applies),
        *_step_durations(facts),
        _last_successes(facts),
        *_state(facts),
    ]
    return [f for f in families if f.samples]


class FactsCollector:
    """A prometheus_client collector yielding the families of `facts`."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def collect(self) -> Iterable[Metric]:
        return metric_families(self.facts)


def registry(facts: Facts) -> CollectorRegistry:
    """A fresh registry holding only these facts (never the process-wide default one)."""
    fresh = CollectorRegistry(auto_describe=False)
    fresh.register(FactsCollector(facts))
    return fresh


def exposition(facts: Facts) -> str:
    """The Prometheus text exposition format (0.0.4), as node_exporter's textfile reads it."""
    return generate_latest(registry(facts)).decode("utf-8")
