"""Prometheus metrics: the pure collector on hand-written audit records (counts, rollback
triggers, histogram buckets, active colour, last plan, names a Prometheus parser accepts, a
snapshot of the exposition); the .prom file the CLI writes after a command; the Grafana
dashboard names only exported metrics; and end to end, a real apply, apply and rollback read
back through a real node_exporter (textfile collector) and a real Prometheus (project
metricse2e, app ports 31000…31080, Prometheus 31090, node_exporter 31091)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from syrupy.assertion import SnapshotAssertion

from specctl.compiler.metrics import APPLY_BUCKETS, METRICS, STEPS, Facts, exposition
from tests.conftest import REPO, Sandbox, new_sandbox, remove_project

# --- the collector, pure ---------------------------------------------------------------------


def step(name: str, status: str = "ok", seconds: float = 1.0) -> dict[str, Any]:
    return {"name": name, "status": status, "seconds": seconds, "detail": ""}


RECORDS: list[dict[str, Any]] = [
    {  # the first deploy, with a backup
        "kind": "apply",
        "result": "ok",
        "started": 1_700_000_000.0,
        "finished": 1_700_000_042.5,
        "seconds": 42.5,
        "target": "blue",
        "previous": None,
        "backup_id": "20231114-221320-abcdef",
        "steps": [
            step("detect", seconds=0.5),
            step("backup", seconds=3.0),
            step("deploy", seconds=20.0),
            step("health", seconds=12.0),
            step("switch", seconds=1.25),
        ],
        "final": {"active": "blue"},
    },
    {  # nothing to do
        "kind": "apply",
        "result": "noop",
        "started": 1_700_000_100.0,
        "finished": 1_700_000_101.0,
        "seconds": 1.0,
        "steps": [step("detect", seconds=1.0)],
    },
    {  # green never got traffic: a failure, not a rollback
        "kind": "apply",
        "result": "failed",
        "started": 1_700_000_200.0,
        "finished": 1_700_000_290.0,
        "seconds": 90.0,
        "target": "green",
        "previous": "blue",
        "switched": False,
        "error": "green.service.web: not healthy after 30s",
        "steps": [step("detect"), step("deploy", seconds=8.0), step("health", "failed", 30.0)],
    },
    {  # a bake breach: switched back automatically
        "kind": "apply",
        "result": "failed",
        "started": 1_700_000_300.0,
        "finished": 1_700_000_700.0,
        "seconds": 400.0,
        "target": "green",
        "previous": "blue",
        "steps": [step("detect"), step("switch", seconds=2.0), step("bake", "failed", 300.0)],
        "rolled_back": "traffic back on blue (proven)",
        "bake": {"breach": "5xx 12% > 1%"},
    },
    {  # switched, then verify-proxy failed and the switch back could not be made
        "kind": "apply",
        "result": "failed",
        "started": 1_700_000_800.0,
        "finished": 1_700_000_900.0,
        "seconds": 100.0,
        "target": "green",
        "previous": "blue",
        "switched": True,
        "steps": [step("switch", seconds=1.75), step("verify-proxy", "failed", 5.0)],
        "rolled_back": "could NOT switch traffic back to blue: nginx -t failed",
    },
    {  # a release that passes
        "kind": "apply",
        "result": "ok",
        "started": 1_700_001_000.0,
        "finished": 1_700_001_600.0,
        "seconds": 600.0,
        "target": "green",
        "previous": "blue",
        "backup_id": "20231114-223000-123456",
        "steps": [step("switch", seconds=0.75), step("retire", "skipped", 0.0)],
        "final": {"active": "green"},
    },
    {"kind": "maintenance-on", "result": "ok", "started": 1_700_001_700.0, "seconds": 2.0},
    {  # a manual rollback
        "kind": "rollback",
        "result": "ok",
        "started": 1_700_002_000.0,
        "finished": 1_700_002_003.0,
        "seconds": 3.0,
        "target": "blue",
        "previous": "green",
        "steps": [step("detect", seconds=0.25), step("switch-back", seconds=0.5)],
        "final": {"active": "blue"},
    },
    {  # one that failed
        "kind": "rollback",
        "result": "failed",
        "started": 1_700_002_100.0,
        "finished": 1_700_002_110.0,
        "seconds": 10.0,
        "steps": [step("start", "failed", 9.0)],
    },
    {"kind": "backup", "result": "ok", "started": 1_700_003_000.0, "finished": 1_700_003_030.0},
    {"kind": "backup", "result": "failed", "started": 1_700_004_000.0, "finished": 1_700_004_001},
]
NEWEST_BACKUP = {
    "id": "20231114-223000-123456",
    "created": 1_700_001_100.0,
    "files": [{"name": "database.dump", "size": 1000}, {"name": "nginx.conf", "size": 234}],
}
LAST_PLAN = {"time": 1_700_005_000.0, "changes": 3, "switch": True}
FACTS = Facts(
    project="shop",
    records=RECORDS,
    newest_backup=NEWEST_BACKUP,
    last_plan=LAST_PLAN,
    version="0.1.0",
    python="3.11.2",
)


def samples(facts: Facts) -> list[Sample]:
    """The exposition parsed back by prometheus_client's own parser."""
    return [s for f in text_string_to_metric_families(exposition(facts)) for s in f.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    matching = [
        s for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matching) == 1, (name, labels, matching)
    return matching[0].value


def names(facts: Facts) -> set[str]:
    return {s.name for s in samples(facts)}


def test_applies_are_counted_by_result_and_failures_by_their_step() -> None:
    found = samples(FACTS)
    assert value(found, "specctl_applies_total", project="shop", result="succeeded") == 2
    assert value(found, "specctl_applies_total", result="failed") == 3
    assert value(found, "specctl_applies_total", result="noop") == 1
    assert value(found, "specctl_apply_failures_total", step="health") == 1
    assert value(found, "specctl_apply_failures_total", step="bake") == 1
    assert value(found, "specctl_apply_failures_total", step="verify-proxy") == 1
    assert value(found, "specctl_apply_failures_total", step="deploy") == 0
    # Every step is there from the start (a counter that appears at 1 loses its first increase).
    failures = {s.labels["step"] for s in found if s.name == "specctl_apply_failures_total"}
    assert failures == set(STEPS)


def test_rollbacks_are_manual_or_automatic_and_succeed_or_fail() -> None:
    found = samples(FACTS)
    rollbacks = {
        (s.labels["trigger"], s.labels["result"]): s.value
        for s in found
        if s.name == "specctl_rollbacks_total"
    }
    assert rollbacks == {
        ("manual", "succeeded"): 1,
        ("manual", "failed"): 1,
        ("automatic", "succeeded"): 1,  # the bake breach
        ("automatic", "failed"): 1,  # switched, and the undo could not switch back
    }


def test_a_failed_apply_that_never_switched_is_not_a_rollback() -> None:
    facts = replace(FACTS, records=[RECORDS[2]])
    found = samples(facts)
    assert sum(s.value for s in found if s.name == "specctl_rollbacks_total") == 0
    assert value(found, "specctl_applies_total", result="failed") == 1


@pytest.mark.parametrize(
    ("fields", "result"),
    [
        ({"final": {"active": "blue"}}, "succeeded"),
        ({"final": {"active": "green"}}, "failed"),
        ({"rolled_back": "stop green; traffic back on blue (proven)"}, "succeeded"),
        ({"rolled_back": "restored blue's nginx config; not proven: timeout"}, "failed"),
        ({"rolled_back": "nothing to undo; traffic stays on green"}, "failed"),
    ],
    ids=["final-previous", "final-target", "proven", "not-proven", "contract"],
)
def test_an_automatic_rollback_succeeds_only_when_the_previous_colour_serves_again(
    fields: dict[str, Any], result: str
) -> None:
    record = {**RECORDS[4], **fields}
    found = samples(replace(FACTS, records=[record]))
    assert value(found, "specctl_rollbacks_total", trigger="automatic", result=result) == 1
    assert sum(s.value for s in found if s.name == "specctl_rollbacks_total") == 1


def test_the_apply_duration_histogram_is_cumulative_per_result() -> None:
    found = samples(FACTS)
    name = "specctl_apply_duration_seconds"
    failed = [s for s in found if s.name == f"{name}_bucket" and s.labels["result"] == "failed"]
    bounds = [float(s.labels["le"]) for s in failed]
    assert bounds == [*map(float, APPLY_BUCKETS), float("inf")]
    counts = [s.value for s in failed]
    assert counts == sorted(counts), "buckets must be cumulative"
    # failed applies took 90 s, 400 s and 100 s
    by_bound = dict(zip(bounds, counts, strict=True))
    assert by_bound[60.0] == 0 and by_bound[120.0] == 2 and by_bound[300.0] == 2
    assert by_bound[600.0] == 3 and by_bound[float("inf")] == 3
    assert value(found, f"{name}_count", result="failed") == 3
    assert value(found, f"{name}_sum", result="failed") == 590
    assert value(found, f"{name}_count", result="succeeded") == 2
    assert value(found, f"{name}_sum", result="succeeded") == 642.5
    assert value(found, f"{name}_count", result="noop") == 1
    assert value(found, "specctl_last_apply_duration_seconds") == 600  # noops left out


def test_step_durations_and_the_last_switch() -> None:
    found = samples(FACTS)
    name = "specctl_step_duration_seconds"
    assert value(found, f"{name}_count", step="switch") == 4
    assert value(found, f"{name}_sum", step="switch") == 1.25 + 2.0 + 1.75 + 0.75
    assert value(found, f"{name}_count", step="switch-back") == 1  # the rollback's
    assert value(found, f"{name}_count", step="detect") == 5
    assert not [s for s in found if s.name.startswith(name) and s.labels["step"] == "retire"]
    assert value(found, "specctl_switch_duration_seconds") == 0.75  # the newest switch step


def test_last_successes_active_colour_backup_and_plan() -> None:
    found = samples(FACTS)
    name = "specctl_last_success_timestamp_seconds"
    assert value(found, name, command="apply") == 1_700_001_600
    assert value(found, name, command="rollback") == 1_700_002_003
    assert value(found, name, command="backup") == 1_700_003_030  # the backup command's
    assert value(found, "specctl_last_backup_size_bytes") == 1234
    assert value(found, "specctl_active_color", color="blue") == 1
    assert value(found, "specctl_active_color", color="green") == 0
    assert value(found, "specctl_plan_changes") == 3
    assert value(found, "specctl_plan_switch") == 1
    assert value(found, "specctl_plan_timestamp_seconds") == 1_700_005_000
    assert value(found, "specctl_build_info", version="0.1.0", python="3.11.2") == 1


def test_the_backup_time_comes_from_an_apply_or_the_disk_without_backup_records() -> None:
    name = "specctl_last_success_timestamp_seconds"
    applies = [r for r in RECORDS if r["kind"] == "apply"]
    found = samples(replace(FACTS, records=applies, newest_backup=None))
    assert value(found, name, command="backup") == 1_700_001_600  # the apply with a backup_id
    found = samples(replace(FACTS, records=[], newest_backup={"created": 5.0, "files": []}))
    assert value(found, name, command="backup") == 5.0


def test_without_records_only_what_is_known_is_shown() -> None:
    found = samples(Facts(project="empty", version="0.1.0", python="3.11.2"))
    shown = {s.name for s in found}
    assert "specctl_active_color" not in shown
    assert "specctl_last_success_timestamp_seconds" not in shown
    assert "specctl_plan_changes" not in shown
    assert "specctl_last_backup_size_bytes" not in shown
    assert value(found, "specctl_applies_total", result="succeeded") == 0
    assert value(found, "specctl_rollbacks_total", trigger="automatic", result="failed") == 0
    assert value(found, "specctl_apply_duration_seconds_count", result="succeeded") == 0


def test_active_colour_none_after_a_preview_of_a_first_deploy() -> None:
    facts = replace(FACTS, records=[*RECORDS, {"kind": "apply", "final": {"active": None}}])
    found = samples(facts)
    assert value(found, "specctl_active_color", color="blue") == 0
    assert value(found, "specctl_active_color", color="green") == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "apply", "result": "ok", "seconds": "fast", "started": None, "steps": "none"},
        {"kind": "apply", "result": "failed", "steps": [{"name": "run-42"}, "x", 3]},
        {"kind": "apply", "result": "failed", "seconds": float("nan"), "switched": "yes"},
        {"kind": "rollback", "result": "noop", "final": "blue"},
        {"kind": "apply", "result": "weird", "steps": [{"name": "a user's step", "seconds": -1}]},
        {"kind": "backup", "result": "ok", "finished": True},
    ],
    ids=["strings", "odd-steps", "nan", "noop-rollback", "unknown-result", "bool-time"],
)
def test_odd_records_never_break_the_metrics_nor_add_labels(bad: dict[str, Any]) -> None:
    before = samples(FACTS)
    after = samples(replace(FACTS, records=[*RECORDS, bad]))
    labels = {(k, v) for s in after for k, v in s.labels.items() if k != "le"}
    assert labels <= {(k, v) for s in before for k, v in s.labels.items()} | {
        ("step", "other"),
        ("result", "failed"),
    }
    assert value(after, "specctl_applies_total", result="succeeded") >= 2


def test_bad_last_plan_values_are_left_out() -> None:
    found = names(replace(FACTS, last_plan={"time": "now", "changes": -1, "switch": 1}))
    assert not {"specctl_plan_changes", "specctl_plan_switch"} & found
    assert "specctl_plan_timestamp_seconds" not in found


def test_names_follow_prometheus_conventions() -> None:
    families = list(text_string_to_metric_families(exposition(FACTS)))
    assert {f.name for f in families} == {n.removesuffix("_total") for n in METRICS}
    for family in families:
        kind, help_text = METRICS[family.name]
        assert family.type == kind, family.name
        assert family.documentation == help_text
        assert re.fullmatch(r"specctl_[a-z0-9_]+", family.name), family.name
        assert not family.name.endswith("_total"), family.name  # the parser strips it
        if kind == "counter":
            assert all(s.name == f"{family.name}_total" for s in family.samples)
        if "duration" in family.name or "timestamp" in family.name:
            assert family.name.endswith("_seconds"), family.name
        if "size" in family.name:
            assert family.name.endswith("_bytes"), family.name
        if family.name.endswith("_info"):
            assert {s.value for s in family.samples} == {1.0}
        for sample in family.samples:
            assert "project" in sample.labels, sample
            assert not {"id", "user", "host", "error", "pid", "run"} & set(sample.labels)


def test_the_exposition_is_stable(text_snapshot: SnapshotAssertion) -> None:
    text = exposition(FACTS)
    assert text == exposition(FACTS)
    assert text == text_snapshot


# --- the .prom file the CLI writes after a command (no Docker) -------------------------------

PROJECT_SPEC = """\
version: 1
project: {name}
root: ..
colors:
  blue: {{port_base: 31000}}
  green: {{port_base: 31010}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
paths:
  data: {{path: "data/{{color}}", mode: "0755"}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: 31080, bind: 127.0.0.1}}]
  upstreams:
    web: {{service: web, probe: /health}}
  locations:
    - {{path: /, upstream: web}}
deploy: {{health_timeout: 30s, health_interval: 1s, drain: 0s, retire: keep}}
backups: {{enabled: true, dir: backups, paths: [data]}}
metrics: {{textfile: "{textfile}"}}
"""


def write_spec(root: Path, name: str, textfile: str) -> Path:
    spec = root / "config" / "spec.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(PROJECT_SPEC.format(name=name, textfile=textfile))
    return spec


def test_after_command_writes_the_file_atomically_and_readable(tmp_path: Path) -> None:
    from specctl.appliers.metrics import after_command, render
    from specctl.appliers.project import load_project

    project = load_project(write_spec(tmp_path, "metricsfile", "metrics/out/specctl.prom"))
    (tmp_path / "logs" / "deployment").mkdir(parents=True)
    audit = tmp_path / "logs" / "deployment" / "audit.jsonl"
    audit.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:3]) + '{"kind": "ap')
    (tmp_path / ".specctl").mkdir()
    (tmp_path / ".specctl" / "last-plan.json").write_text(json.dumps(LAST_PLAN))
    backup = tmp_path / "backups" / "20231114-223000-123456"
    backup.mkdir(parents=True)
    (backup / "manifest.json").write_text(json.dumps(NEWEST_BACKUP))
    warnings: list[str] = []
    old = os.umask(0o077)  # an operator's strict umask must not hide the file from node_exporter
    try:
        after_command(project, warn=warnings.append)
    finally:
        os.umask(old)
    assert warnings == []
    out = tmp_path / "metrics" / "out"
    written = out / "specctl.prom"
    assert [p.name for p in out.iterdir()] == ["specctl.prom"]  # no temporary file left
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    text = written.read_text()
    assert text == render(project)
    assert 'specctl_applies_total{project="metricsfile",result="succeeded"} 1.0' in text
    assert 'specctl_applies_total{project="metricsfile",result="failed"} 1.0' in text
    assert 'specctl_last_backup_size_bytes{project="metricsfile"} 1234.0' in text
    assert 'specctl_plan_changes{project="metricsfile"} 3.0' in text


def test_after_command_never_raises_and_warns_once(tmp_path: Path) -> None:
    from specctl.appliers.metrics import after_command
    from specctl.appliers.project import load_project

    (tmp_path / "blocked").write_text("a file where the folder should be")
    project = load_project(write_spec(tmp_path, "metricsbad", "blocked/specctl.prom"))
    warnings: list[str] = []
    after_command(project, warn=warnings.append)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("metrics.textfile: could not write ")
    assert str(tmp_path / "blocked" / "specctl.prom") in warnings[0]


def test_the_cli_writes_the_file_after_a_command(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    spec = write_spec(tmp_path, "metricscli", str(tmp_path / "prom" / "specctl.prom"))
    result = run_cli("-f", str(spec), "history", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "warning" not in result.err
    text = (tmp_path / "prom" / "specctl.prom").read_text()
    assert 'specctl_applies_total{project="metricscli",result="succeeded"} 0.0' in text


# --- the Grafana dashboard -------------------------------------------------------------------

DASHBOARD = REPO / "docs" / "grafana" / "specctl.json"


def expressions(node: object) -> Iterator[str]:
    """Every PromQL string of the dashboard: panel targets and the variables' queries."""
    if isinstance(node, Mapping):
        for key, item in node.items():
            # A variable's `query` is PromQL; the datasource variable's is a plugin name.
            promql = key in ("expr", "definition") or (key == "query" and "(" in str(item))
            if promql and isinstance(item, str):
                yield item
            else:
                yield from expressions(item)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def test_the_dashboard_names_only_exported_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "specctl_build_info" in variables["project"]["definition"]
    tags = [a.get("target", {}).get("tags") for a in dashboard["annotations"]["list"]]
    assert ["specctl"] in tags
    found = samples(FACTS)
    exported: dict[str, set[str]] = {}
    for sample in found:
        exported.setdefault(sample.name, set()).update(sample.labels)
    exprs = list(expressions(dashboard))
    assert len(exprs) >= 15
    used: set[str] = set()
    for expr in exprs:
        metrics = re.findall(r"\bspecctl_[a-z0-9_]+", expr)
        assert metrics, f"no specctl metric in {expr!r}"
        for name in metrics:
            assert name in exported, f"{name} is not exported (in {expr!r})"
            used.add(name)
        for name, matchers in re.findall(r"\b(specctl_[a-z0-9_]+)\{([^}]*)\}", expr):
            labels = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers))
            assert labels <= exported[name], f"{name}{{{matchers}}}: unknown labels"
        for grouped in re.findall(r"by \(([^)]*)\)", expr):
            for label in (g.strip() for g in grouped.split(",")):
                assert any(label in exported[m] for m in metrics), f"by {label} in {expr!r}"
    # Every family is on the dashboard somewhere.
    families = {n.removesuffix("_total") for n in METRICS}
    charted = {f for f in families if any(u == f or u.startswith(f + "_") for u in used)}
    assert charted == families


# --- end to end: node_exporter and Prometheus, real processes --------------------------------

PROMETHEUS_DIR = Path("/opt/specctl-prometheus/usr/bin")
PROMETHEUS_PORT = 31090
EXPORTER_PORT = 31091
NAME = "metricse2e"


def binary(name: str) -> Path:
    """testbed/prometheus.sh unpacks it; in CI a missing binary fails the test."""
    for path in (PROMETHEUS_DIR / name, Path(shutil.which(name) or "/nonexistent")):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    message = f"{name} not found in {PROMETHEUS_DIR}; run: bash testbed/prometheus.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Monitoring:
    textfiles: Path
    logs: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query",
            params={"query": promql},
            timeout=10,
        )
        response.raise_for_status()
        doc = response.json()
        assert doc["status"] == "success", doc
        result: list[dict[str, Any]] = doc["data"]["result"]
        return result

    def wait_for(self, promql: str, expected: float, *, deadline: float = 120) -> None:
        """Poll until the query gives exactly one series with `expected` (scrapes every 1 s)."""
        end = time.monotonic() + deadline
        seen: list[dict[str, Any]] = []
        while time.monotonic() < end:
            seen = self.query(promql)
            if len(seen) == 1 and float(seen[0]["value"][1]) == expected:
                return
            time.sleep(0.5)
        files = {p.name: p.read_text() for p in self.textfiles.glob("*.prom")}
        pytest.fail(f"{promql}: wanted {expected}, Prometheus has {seen}\nfiles: {files}")


def started(argv: list[str], log: Path, url: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{argv[0]} exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(proc)
    pytest.fail(f"{argv[0]} not ready at {url}: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """By its pid, never by name: other Prometheus processes may run on this host."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitoring]:
    exporter, prometheus = binary("prometheus-node-exporter"), binary("prometheus")
    folder = tmp_path_factory.mktemp("monitoring")
    textfiles = folder / "textfile"
    textfiles.mkdir()
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: node\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{EXPORTER_PORT}']}}]\n"
    )
    procs = [
        started(
            [
                str(exporter),
                f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={textfiles}",
            ],
            folder / "node_exporter.log",
            f"http://127.0.0.1:{EXPORTER_PORT}/metrics",
        )
    ]
    try:
        procs.append(
            started(
                [
                    str(prometheus),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                ],
                folder / "prometheus.log",
                f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready",
            )
        )
        yield Monitoring(textfiles=textfiles, logs=folder)
    finally:
        for proc in reversed(procs):
            stop(proc)


@pytest.fixture
def box(tmp_path: Path, docker_engine: None, monitoring: Monitoring) -> Iterator[Sandbox]:
    textfile = monitoring.textfiles / f"{NAME}.prom"
    spec = PROJECT_SPEC.format(name=NAME, textfile=textfile)
    sandbox = new_sandbox(tmp_path, NAME, spec)
    try:
        yield sandbox
    finally:
        remove_project(NAME)


def test_apply_and_rollback_reach_prometheus_through_node_exporter(
    box: Sandbox, monitoring: Monitoring
) -> None:
    first = box.run("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    second = box.run("apply", "--target", "green", "--yes")
    assert second.code == 0, second.out + second.err
    back = box.cli("rollback")
    assert back.code == 0, back.out + back.err
    assert "warning: metrics" not in first.err + second.err + back.err
    assert box.active() == "blue"
    drift = box.cli("plan", "--target", "green")  # green runs; blue serves: a switch to plan
    assert drift.code == 0, drift.err

    p = f'project="{NAME}"'
    monitoring.wait_for(f'specctl_applies_total{{{p},result="succeeded"}}', 2)
    monitoring.wait_for(f'specctl_rollbacks_total{{{p},trigger="manual",result="succeeded"}}', 1)
    monitoring.wait_for(f'specctl_rollbacks_total{{{p},trigger="automatic",result="succeeded"}}', 0)
    monitoring.wait_for(f'specctl_active_color{{{p},color="blue"}}', 1)
    monitoring.wait_for(f'specctl_active_color{{{p},color="green"}}', 0)
    monitoring.wait_for(f'specctl_step_duration_seconds_count{{{p},step="switch"}}', 2)
    monitoring.wait_for(f'specctl_step_duration_seconds_count{{{p},step="switch-back"}}', 1)
    monitoring.wait_for(f'specctl_apply_duration_seconds_count{{{p},result="succeeded"}}', 2)
    monitoring.wait_for(f"count(specctl_last_success_timestamp_seconds{{{p}}} > 0)", 3)
    monitoring.wait_for(f"specctl_last_backup_size_bytes{{{p}}} > bool 0", 1)
    monitoring.wait_for(f"specctl_switch_duration_seconds{{{p}}} > bool 0", 1)
    monitoring.wait_for(f'count(specctl_build_info{{{p},version!=""}})', 1)
    # node_exporter parsed the file without complaint (it says so as a metric).
    monitoring.wait_for("node_textfile_scrape_error", 0)
    monitoring.wait_for(f"specctl_plan_switch{{{p}}}", 1)
    monitoring.wait_for(f"specctl_plan_timestamp_seconds{{{p}}} > bool 0", 1)
    # Prometheus computes a quantile from the buckets (they are cumulative, or it says NaN).
    result = monitoring.query(
        "histogram_quantile(0.5, sum by (le) "
        f"(specctl_apply_duration_seconds_bucket{{{p},result='succeeded'}}))"
    )
    assert len(result) == 1 and float(result[0]["value"][1]) > 0, result

    # Every expression of the dashboard is PromQL this Prometheus accepts, and shows data unless
    # it is about a plan (none ran) or about failures (none happened).
    dashboard = json.loads(DASHBOARD.read_text())
    grafana = {"$project": NAME, "$__range_s": "3600", "$__range": "1h"}
    empty = []
    for expr in {e for e in expressions(dashboard) if not e.startswith("label_values(")}:
        promql = expr
        for variable, replacement in grafana.items():
            promql = promql.replace(variable, replacement)
        if not monitoring.query(promql):
            empty.append(expr)
    assert all("specctl_apply_failures" in e for e in empty), empty

    written = monitoring.textfiles / f"{NAME}.prom"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert [p.name for p in monitoring.textfiles.iterdir()] == [written.name]
    from specctl.appliers.metrics import render

    assert written.read_text() == render(box.project())
