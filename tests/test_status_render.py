"""`specctl status` as text: every line a person reads there (compiler/show/status.py)."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.show.status import render_status
from specctl.schemas.live import Active
from specctl.schemas.status import (
    BackupAge,
    BakeStatus,
    ColorStatus,
    HeldLock,
    MaintenanceStatus,
    NginxStatus,
    RollbackStatus,
    ServiceStatus,
    Status,
)

pytestmark = pytest.mark.usefixtures("new_york")  # times shown in UTC whatever the zone

NOON = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC

WEB = ServiceStatus(state="running", health="healthy", image="app:1.1", uptime="3 minutes")


def status(**changes: Any) -> Status:
    fields: dict[str, Any] = {
        "project": "shop",
        "active": Active(color="blue", state="blue", detail="nginx routes app to blue"),
        "colors": {
            "blue": ColorStatus(services={"web": WEB}, running=True, healthy=True),
            "green": ColorStatus(
                services={"web": ServiceStatus(state="absent")}, running=False, healthy=False
            ),
        },
        "shared": {"postgres": ServiceStatus(state="running", health="healthy", image="pg:15")},
        "nginx": NginxStatus(running=True, config_present=True, upstreams={"app": ["blue-web"]}),
        "rollback": RollbackStatus(
            color=None, ready=False, running=False, healthy=False, missing_images=[]
        ),
    }
    fields.update(changes)
    return Status(**fields)


def lines(doc: Status) -> list[str]:
    text = render_status(doc)
    assert text.endswith("\n") and not text.endswith("\n\n")
    return text.split("\n")[:-1]


def test_the_whole_status_of_a_blue_deployment() -> None:
    assert render_status(status()) == (
        "shop: active blue (nginx routes app to blue)\n"
        "\n"
        "* blue\n"
        "    web            running   healthy   up 3 minutes       app:1.1\n"
        "  green\n"
        "    web            absent    -         -\n"
        "  shared\n"
        "    postgres       running   healthy   -                  pg:15\n"
        "\n"
        "nginx: running; app → blue-web\n"
        "last backup: none\n"
    )


def test_a_service_without_state_or_health_shows_dashes() -> None:
    doc = status(shared={"x": ServiceStatus(state=None)})
    assert lines(doc)[7] == "    x              -         -         -"


def test_nothing_deployed_marks_no_colour_and_says_no_config() -> None:
    doc = status(
        active=Active(),
        colors={
            c: ColorStatus(services={}, running=False, healthy=False) for c in ("blue", "green")
        },
        shared={},
        nginx=NginxStatus(running=False, config_present=False, upstreams={}),
    )
    assert lines(doc) == [
        "shop: active none (nothing deployed yet)",
        "",
        "  blue",
        "  green",
        "  shared",
        "",
        "nginx: not running; no config",
        "last backup: none",
    ]


def test_services_are_sorted_and_green_is_marked_when_active() -> None:
    doc = status(
        active=Active(color="green", state="blue", detail="d"),
        colors={
            "blue": ColorStatus(services={}, running=False, healthy=False),
            "green": ColorStatus(
                services={"worker": WEB, "api": ServiceStatus(state="exited")},
                running=True,
                healthy=True,
            ),
        },
    )
    assert lines(doc)[2:6] == [
        "  blue",
        "* green",
        "    api            exited    -         -",
        "    worker         running   healthy   up 3 minutes       app:1.1",
    ]


def test_a_swarm_service_shows_its_tasks_and_a_taken_over_one_says_so() -> None:
    swarm = ServiceStatus(state="running", image="app:2", tasks="2/2 tasks on w1, w2")
    taken = ServiceStatus(state="running", container="legacy-web-1", adopted=True)
    doc = status(shared={"a": swarm, "b": taken})
    assert lines(doc)[7:9] == [
        "    a              running   -         -                  app:2  (2/2 tasks on w1, w2)",
        "    b              running   -         -" + " " * 20 + "(taken over: legacy-web-1, not "
        "created by specctl)",
    ]


def test_upstreams_are_sorted_and_a_config_never_loaded_is_named() -> None:
    nginx = NginxStatus(
        running=True,
        config_present=True,
        upstreams={"ml": ["green-ml"], "app": ["blue-web", "green-web"]},
        pending_reload=True,
    )
    assert lines(status(nginx=nginx))[9] == (
        "nginx: running; app → blue-web, green-web, ml → green-ml (the config on disk was never "
        "loaded; apply reloads it)"
    )


def test_ports_exposed_beyond_loopback_are_listed_one_per_line() -> None:
    doc = status(exposed=["blue web 0.0.0.0:8000", "postgres 0.0.0.0:5432"])
    assert lines(doc)[10:12] == [
        "exposed beyond loopback: blue web 0.0.0.0:8000",
        "exposed beyond loopback: postgres 0.0.0.0:5432",
    ]


@pytest.mark.parametrize(
    ("running", "healthy", "missing", "ready", "expected"),
    [
        (True, True, [], True, "rollback to green: ready"),
        (False, False, [], False, "rollback to green: not ready (green is not running)"),
        (True, False, [], False, "rollback to green: not ready (green is not healthy)"),
        (
            False,
            False,
            ["app:1.0", "ml:1.0"],
            False,
            "rollback to green: not ready (green is not running; missing images: app:1.0, ml:1.0)",
        ),
        (True, True, ["app:1.0"], False, "rollback to green: not ready (missing images: app:1.0)"),
        (False, True, [], True, "rollback to green: ready"),
    ],
)
def test_rollback_readiness_names_every_reason(
    running: bool, healthy: bool, missing: list[str], ready: bool, expected: str
) -> None:
    rb = RollbackStatus(
        color="green", ready=ready, running=running, healthy=healthy, missing_images=missing
    )
    assert lines(status(rollback=rb))[-2:] == [expected, "last backup: none"]


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (86399, "23h"),
        (86400, "1d"),
        (3 * 86400 + 5, "3d"),
    ],
)
def test_the_last_backup_is_named_with_its_age(age: int, shown: str) -> None:
    rb = RollbackStatus(
        color=None,
        ready=False,
        running=False,
        healthy=False,
        missing_images=[],
        last_backup=BackupAge(id="20261203-0400", age_seconds=age),
    )
    assert lines(status(rollback=rb))[-1] == f"last backup: 20261203-0400, {shown} ago"


def bake(**changes: Any) -> BakeStatus:
    fields: dict[str, Any] = {
        "color": "green",
        "previous": "blue",
        "until": NOON,
        "seconds_left": 42,
        "watching": True,
        "pid": 4242,
    }
    fields.update(changes)
    return BakeStatus(**fields)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            "bake: green watched until 22:13:20 UTC (42s left) by specctl (pid 4242); a breach "
            "switches back to blue",
        ),
        (
            {"previous": None},
            "bake: green watched until 22:13:20 UTC (42s left) by specctl (pid 4242)",
        ),
        (
            {"watching": False, "verdict": "5xx rate 12% > 1%"},
            "bake: green's bake was interrupted after finding: 5xx rate 12% > 1% (until 22:13:20 "
            "UTC); `specctl apply` resumes or concludes it; a breach switches back to blue",
        ),
        (
            {"watching": False, "previous": None},
            "bake: green's bake was interrupted (until 22:13:20 UTC); `specctl apply` resumes or "
            "concludes it",
        ),
    ],
)
def test_a_bake_in_progress_or_interrupted(changes: dict[str, Any], expected: str) -> None:
    assert lines(status(bake=bake(**changes)))[-1] == expected


def test_a_preview_names_the_cookie_the_header_and_the_way_out() -> None:
    assert lines(status(preview="green"))[-1] == (
        "preview: green for requests with cookie specctl_preview=green or header "
        "X-Specctl-Preview: green; everyone else blue (specctl promote / specctl abort)"
    )


@pytest.mark.parametrize(
    ("maintenance", "expected"),
    [
        (
            MaintenanceStatus(since=NOON, retry_after=120, allow=["10.0.0.0/8", "127.0.0.1"]),
            "maintenance: ON since 2023-11-14 22:13:20 UTC, 503 with Retry-After: 120; "
            "10.0.0.0/8, 127.0.0.1 still reach the app (specctl maintenance off ends it)",
        ),
        (
            MaintenanceStatus(),
            "maintenance: ON since ?, 503 with Retry-After: ? (specctl maintenance off ends it)",
        ),
    ],
)
def test_maintenance_says_since_when_and_who_still_gets_through(
    maintenance: MaintenanceStatus, expected: str
) -> None:
    assert lines(status(maintenance=maintenance))[-1] == expected


@pytest.mark.parametrize(
    ("lock", "expected"),
    [
        (
            HeldLock(user="ana", host="ops1", since=NOON, message="db migration"),
            "locked: by ana on ops1 since 2023-11-14 22:13:20 UTC: db migration "
            "(specctl lock release frees it)",
        ),
        (
            HeldLock(),
            "locked: by ? on ? since ?: (no message) (specctl lock release frees it)",
        ),
    ],
)
def test_a_held_lock_says_who_where_since_when_and_why(lock: HeldLock, expected: str) -> None:
    assert lines(status(lock=lock))[-1] == expected


def test_every_extra_line_comes_in_order() -> None:
    rb = RollbackStatus(color="green", ready=True, running=True, healthy=True, missing_images=[])
    doc = status(
        rollback=rb,
        bake=bake(),
        preview="green",
        maintenance=MaintenanceStatus(since=NOON, retry_after=30),
        lock=HeldLock(user="ana"),
    )
    starts = [line.split(" ")[0] for line in lines(doc)[10:]]
    assert starts == ["rollback", "last", "bake:", "preview:", "maintenance:", "locked:"]


def test_the_document_is_the_json_form_with_its_format_version() -> None:
    doc = status(exposed=["x"])
    out = doc.document()
    assert out["format_version"] == 1
    assert out["project"] == "shop"
    assert out["exposed"] == ["x"]
    assert out["colors"]["blue"]["services"]["web"] == {
        "state": "running",
        "health": "healthy",
        "image": "app:1.1",
        "uptime": "3 minutes",
        "container": None,
        "tasks": None,
        "adopted": False,
    }
