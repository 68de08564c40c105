"""diff: (spec, captured real Docker list output, live nginx config) -> the rendered plan, in all
three formats, as snapshots. Pure: no Docker needed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from specctl.appliers.observe import container_from_row
from specctl.compiler.active import detect_active
from specctl.compiler.diff import diff
from specctl.compiler.expand import expand
from specctl.compiler.exposure import live_exposure
from specctl.compiler.load import load_spec
from specctl.compiler.nginx import find_upstreams
from specctl.compiler.show.plan import render
from specctl.schemas.live import Live, LiveNginx, LivePath
from specctl.schemas.spec import Spec
from tests.conftest import REPO

DATA = REPO / "tests" / "data"
ROWS: list[dict[str, Any]] = json.loads((DATA / "containers-demo-blue.json").read_text())
NGINX = (DATA / "nginx-demo-blue.conf").read_text()
SPEC_TEXT = (DATA / "demo-spec.yaml").read_text()


def spec(text: str | None = None) -> Spec:
    return load_spec(text or SPEC_TEXT, filename="demo.yaml")


# Every image the demo spec names, as the engine lists it: the host has them all.
HERE = [
    f"specctl-testbed/{name}"
    for name in ("app:1.0", "app:1.1", "nginx:1.22", "postgres:15", "redis:7")
]


def live(rows: list[dict[str, Any]] = ROWS, paths: list[LivePath] | None = None) -> Live:
    upstreams = {
        name: list(blocks[0].servers)
        for name, blocks in find_upstreams(NGINX, filename="nginx.conf").items()
    }
    return Live(
        project="demo",
        containers=[container_from_row(r) for r in rows],
        nginx=LiveNginx(running=True, config_present=True, config_sha256="x", upstreams=upstreams),
        paths=paths if paths is not None else right_paths(),
        images=HERE,
    )


def right_paths() -> list[LivePath]:
    common = {"exists": True, "kind": "directory", "uid": 1001, "gid": 1001, "mode": "0755"}
    return [
        LivePath(address="path.uploads.blue", path="uploads/blue", **common),
        LivePath(address="path.uploads.green", path="uploads/green", **common),
        LivePath(address="path.weights", path="weights", **common),
    ]


def plan_for(
    the_spec: Spec, target: str, the_live: Live, prints: dict[str, Any] | None = None
) -> Any:
    desired = expand(the_spec, target, spec_digest="0" * 64)
    active = detect_active(desired, the_live)
    return diff(
        the_spec,
        desired,
        the_live,
        env_prints=prints if prints is not None else PRINTS,
        active=active,
    )


# The fingerprints the captured containers carry (specctl.env.* labels), as apply wrote them.
PRINTS = {
    "backend": {
        k.removeprefix("specctl.env."): v
        for r in ROWS
        if r["Labels"].get("com.docker.compose.service") == "backend"
        for k, v in r["Labels"].items()
        if k.startswith("specctl.env.")
    },
    "postgres": {
        k.removeprefix("specctl.env."): v
        for r in ROWS
        if r["Labels"].get("com.docker.compose.service") == "postgres"
        for k, v in r["Labels"].items()
        if k.startswith("specctl.env.")
    },
}


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_same_colour_no_changes(fmt: str, text_snapshot: SnapshotAssertion) -> None:
    plan = plan_for(spec(), "blue", live())
    assert plan.empty
    assert render(plan, fmt) == text_snapshot


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_other_colour_creates_and_switches(fmt: str, text_snapshot: SnapshotAssertion) -> None:
    plan = plan_for(spec(), "green", live())
    assert plan.active == "blue" and plan.target == "green"
    assert render(plan, fmt) == text_snapshot


def test_one_image_change_is_one_recreate(text_snapshot: SnapshotAssertion) -> None:
    text = SPEC_TEXT
    backend = text.index("  backend:")
    changed = text[:backend] + text[backend:].replace("${DEMO_VERSION:-1.0}", "1.1", 1)
    plan = plan_for(spec(changed), "blue", live())
    assert [(c.address, c.action.value) for c in plan.changes] == [("blue.service.backend", "±")]
    assert [(f.key, f.before, f.after) for f in plan.changes[0].fields] == [
        ("image", "specctl-testbed/app:1.0", "specctl-testbed/app:1.1")
    ]
    assert render(plan, "text") == text_snapshot


def test_stopped_container_is_started_not_recreated() -> None:
    rows = [
        {**r, "State": "exited", "Status": "Exited (0) 1 minute ago"}
        if r["Labels"].get("com.docker.compose.service") == "ml"
        else r
        for r in ROWS
    ]
    plan = plan_for(spec(), "blue", live(rows))
    assert [(c.address, c.action.value, c.reason) for c in plan.changes] == [
        ("blue.service.ml", "~", "start")
    ]


def test_changed_secret_shows_the_key_never_the_value() -> None:
    prints = {**PRINTS, "backend": {**PRINTS["backend"], "DB_PASSWORD": "0123456789ab"}}
    plan = plan_for(spec(), "blue", live(), prints)
    (change,) = plan.changes
    assert change.address == "blue.service.backend"
    assert [(f.key, f.before, f.after) for f in change.fields] == [
        ("env.DB_PASSWORD", "(value)", "(new value)")
    ]


def test_path_fixes(text_snapshot: SnapshotAssertion) -> None:
    paths = right_paths()
    paths[0] = paths[0].model_copy(
        update={
            "uid": 0,
            "gid": 0,
            "mode": "0700",
            "missing_subdirs": ["temp"],
            "nested_duplicate": True,
            "stale_temp_files": 2,
            "pending": ["~ chown uploads/blue 0:0 → 1001:1001", "~ chmod uploads/blue 0700 → 0755"]
            + [
                "+ mkdir uploads/blue/temp (1001:1001 0755)",
                "~ move uploads/blue/blue/a → uploads/blue/a",
            ]
            + ["- remove uploads/blue/temp/x (older than 24h)"] * 2,
        }
    )
    paths[2] = LivePath(address="path.weights", path="weights")
    plan = plan_for(spec(), "blue", live(paths=paths))
    assert [c.address for c in plan.changes] == ["path.uploads.blue", "path.weights"]
    assert plan.changes[0].fields[-1].after == "6 (fix-permissions --dry-run)"
    assert render(plan, "text") == text_snapshot


def test_a_path_with_nothing_pending_is_unchanged() -> None:
    paths = right_paths()
    paths[0] = paths[0].model_copy(update={"pending": []})
    plan = plan_for(spec(), "blue", live(paths=paths))
    assert plan.empty


def test_a_missing_secret_file_is_a_warning_not_a_change() -> None:
    text = SPEC_TEXT.replace(
        "paths:\n", "paths:\n  token:\n    path: secrets/token\n    kind: secret\n", 1
    )
    plan = plan_for(spec(text), "blue", live())
    assert plan.empty
    assert "path.token: secrets/token is missing; put it in place" in plan.warnings


def test_nginx_pointing_at_two_colours_is_named_mixed() -> None:
    the_live = live()
    upstreams = dict(the_live.nginx.upstreams)
    upstreams["backend"] = ["green-backend:8080"]
    mixed = the_live.model_copy(
        update={"nginx": the_live.nginx.model_copy(update={"upstreams": upstreams})}
    )
    plan = plan_for(spec(), "green", mixed)
    assert plan.active_state == "mixed"
    assert "upstreams point at different colours" in plan.warnings[0]


def test_a_service_port_beyond_loopback_is_a_warning_the_proxy_is_not() -> None:
    loopback = SPEC_TEXT.replace("    bind: 0.0.0.0\n", "")
    backend = loopback.index("    host_port: {offset: 1}\n")
    text = loopback[:backend] + loopback[backend:].replace(
        "    host_port: {offset: 1}\n", "    host_port: {offset: 1}\n    bind: 0.0.0.0\n", 1
    )
    plan = plan_for(spec(text), "green", live())
    assert [w for w in plan.warnings if " publishes " in w] == [
        "green.service.backend publishes 19001 on 0.0.0.0"
    ]
    assert "warning: green.service.backend publishes 19001 on 0.0.0.0\n" in render(plan, "text")


def test_captured_containers_published_on_every_address_are_listed_but_the_proxy() -> None:
    containers = [container_from_row(r) for r in ROWS]
    assert live_exposure(containers, proxy=("demo-shared", "proxy")) == [
        "demo-blue-backend-1 publishes 18001 on 0.0.0.0, ::",
        "demo-blue-frontend-1 publishes 18000 on 0.0.0.0, ::",
        "demo-blue-ml-1 publishes 18008 on 0.0.0.0, ::",
        "demo-shared-postgres-1 publishes 18432 on 0.0.0.0, ::",
    ]
    loopback = [{**r, "Ports": [{**p, "IP": "127.0.0.1"} for p in r["Ports"]]} for r in ROWS]
    assert live_exposure([container_from_row(r) for r in loopback], proxy=("x", "y")) == []


def test_a_changed_mount_is_a_recreate_that_shows_both_mount_lists() -> None:
    text = SPEC_TEXT.replace(
        "{path: weights, target: /app/weights, read_only: true}",
        "{path: weights, target: /app/weights}",
    )
    plan = plan_for(spec(text), "blue", live())
    (change,) = plan.changes
    assert (change.address, change.action.value, change.reason) == (
        "blue.service.ml",
        "±",
        "recreate",
    )
    mount = {"kind": "bind", "source": "weights", "target": "/app/weights"}
    assert [(f.key, f.before, f.after) for f in change.fields] == [
        ("mounts", [{**mount, "read_only": True}], [{**mount, "read_only": False}])
    ]


def test_an_upstream_on_both_colours_is_switched_to_the_target_alone() -> None:
    """Both colours in one upstream (a hand edit, or a half switch): the target's server being
    among them is not enough, the upstream must hold it alone."""
    the_live = live()
    upstreams = {**the_live.nginx.upstreams, "backend": ["blue-backend:8080", "green-backend:8080"]}
    both = the_live.model_copy(
        update={"nginx": the_live.nginx.model_copy(update={"upstreams": upstreams})}
    )
    for target in ("blue", "green"):
        plan = plan_for(spec(), target, both)
        switches = {c.address: (c.before, c.after) for c in plan.of_kind("upstream")}
        assert switches["nginx.upstream.backend"] == (
            "blue-backend:8080, green-backend:8080",
            f"{target}-backend:8080",
        )


def _cells(row: str) -> list[str]:
    """A Markdown table row split on the pipes that are not escaped."""
    return re.split(r"(?<!\\)\|", row)[1:-1]


def test_a_pipe_in_a_change_does_not_break_the_markdown_table() -> None:
    text = SPEC_TEXT.replace(
        "{command: [redis-cli, ping], interval: 1s",
        '{command: "redis-cli ping || exit 1", interval: 1s',
    )
    plan = plan_for(spec(text), "blue", live())
    assert [c.address for c in plan.changes] == ["blue.service.redis"]
    rows = [line for line in render(plan, "markdown").splitlines() if line.startswith("|")]
    assert len(rows) == 3 and all(len(_cells(row)) == 3 for row in rows), rows
    assert "redis-cli ping \\|\\| exit 1" in rows[2]
