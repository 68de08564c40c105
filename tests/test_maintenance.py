"""Maintenance mode on the real engine and a real nginx (the user's own base config), under load:
every request gets the application or the 503 page with Retry-After, never a connection error;
an allow-list still reaches the application; a deploy during maintenance ends it, and a rollback
after that goes back to the config that served before maintenance, not to the page.

The load client opens a new connection per request and never retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from specctl.appliers.loadgen import Load, Report, describe
from tests.conftest import Sandbox, new_sandbox, remove_project
from tests.e2e_spec import files, spec_text

NAME = "maint1"
BASE = 30400
PUBLIC = BASE + 80
URL = f"http://127.0.0.1:{PUBLIC}"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    sandbox = new_sandbox(tmp_path_factory.mktemp("maint"), NAME, spec_text(NAME, BASE), files())
    assert sandbox.cli("compile").code == 0
    first = sandbox.cli("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    yield sandbox
    remove_project(NAME)


def not_app_nor_page(report: Report) -> list[str]:
    """Requests that got neither an answer of the app nor the 503 page."""
    return [
        f"{s.status} {s.error}"
        for s in report.samples
        if not s.ok and not (s.status == 503 and not s.color)
    ]


def test_maintenance_on_and_off_under_load(box: Sandbox) -> None:
    assert box.active() == "blue"
    with Load(PUBLIC, path="/api/version", rate=200, seconds=120) as load:
        time.sleep(1.0)
        on = box.cli(
            "maintenance", "on", "--message", "Back at 5 $USD <soon>", "--retry-after", "90"
        )
        assert on.code == 0, on.out + on.err
        time.sleep(1.5)
        page = httpx.get(f"{URL}/api/version", timeout=5)
        doc = box.status()
        off = box.cli("maintenance", "off")
        assert off.code == 0, off.out + off.err
        time.sleep(1.0)
        report = load.stop()
    assert page.status_code == 503
    assert page.headers["retry-after"] == "90"
    assert page.headers["content-type"].startswith("text/html")
    assert "Back at 5 &#36;USD &lt;soon&gt;" in page.text
    assert doc["maintenance"] == {
        "allow": [],
        "retry_after": 90,
        "since": pytest.approx(time.time(), abs=60),
    }
    assert not_app_nor_page(report) == [], describe(report)
    pages = sum(1 for s in report.samples if s.status == 503)
    assert pages > 100, describe(report)
    assert report.colors().get("blue", 0) > 100, describe(report)
    assert httpx.get(f"{URL}/api/version", timeout=5).status_code == 200
    assert box.status()["maintenance"] is None
    history = box.cli("history").out
    assert "maintenance on" in history and "maintenance off" in history


def test_an_allowed_address_still_reaches_the_app(box: Sandbox) -> None:
    """Everything is allowed here (the test's own requests arrive from Docker's gateway)."""
    on = box.cli("maintenance", "on", "--allow", "0.0.0.0/0", "--allow", "::/0")
    try:
        assert on.code == 0, on.out + on.err
        answer = httpx.get(f"{URL}/api/version", timeout=5)
        assert answer.status_code == 200 and answer.headers["x-app-color"] == "blue"
        assert box.status()["maintenance"]["allow"] == ["0.0.0.0/0", "::/0"]  # type: ignore[index]
    finally:
        assert box.cli("maintenance", "off").code == 0
    bad = box.cli("maintenance", "on", "--allow", "the office")
    assert bad.code != 0 and "not an address or a CIDR range" in bad.err


def test_a_deploy_ends_maintenance_and_a_rollback_does_not_bring_the_page_back(
    box: Sandbox,
) -> None:
    assert box.cli("maintenance", "on").code == 0
    plan = box.run("plan", "--target", "green", WEB_VERSION="1.1")
    assert "maintenance mode is on: the switch ends it" in plan.out, plan.out
    applied = box.run("apply", "--target", "green", "--yes", WEB_VERSION="1.1")
    assert applied.code == 0, applied.out + applied.err
    assert box.active() == "green" and box.status()["maintenance"] is None
    assert httpx.get(f"{URL}/api/version", timeout=5).headers["x-app-color"] == "green"
    back = box.run("rollback", WEB_VERSION="1.1")
    assert back.code == 0, back.out + back.err
    answer = httpx.get(f"{URL}/api/version", timeout=5)
    assert (answer.status_code, answer.headers["x-app-color"]) == (200, "blue")
    assert box.status()["maintenance"] is None


def test_maintenance_needs_something_serving(box: Sandbox) -> None:
    off = box.cli("maintenance", "off")
    assert off.code == 0 and "not on" in off.out
    wrong = box.cli("maintenance", "sideways")
    assert wrong.code != 0 and "say on or off" in wrong.err


def contract(box: Sandbox) -> None:
    text = box.spec_path.read_text()
    if "contract: true" not in text:
        box.spec_path.write_text(
            text.replace("    timeout: 30s\n", "    timeout: 30s\n    contract: true\n")
        )


def test_a_contract_migration_runs_behind_the_maintenance_page_and_blocks_rollback(
    box: Sandbox,
) -> None:
    """Under load: blue, then the page (from the migration to the switch), then green; never a
    connection error. Rollback past it is refused until forced."""
    assert box.active() == "blue"
    contract(box)
    plan = box.run("plan", "--target", "green", WEB_VERSION="1.1", RELEASE="c1")
    assert "contract migration" in plan.out and "maintenance page instead of blue" in plan.out
    with Load(PUBLIC, path="/api/version", rate=200, seconds=120) as load:
        time.sleep(1.0)
        applied = box.run("apply", "--target", "green", "--yes", WEB_VERSION="1.1", RELEASE="c1")
        time.sleep(1.0)
        report = load.stop()
    assert applied.code == 0, applied.out + applied.err
    assert box.active() == "green" and box.status()["maintenance"] is None
    assert not_app_nor_page(report) == [], describe(report)
    order = [s.color or "page" for s in sorted(report.samples, key=lambda s: s.start)]
    first_page, last_page = order.index("page"), len(order) - 1 - order[::-1].index("page")
    assert set(order[:first_page]) == {"blue"} and set(order[last_page + 1 :]) == {"green"}
    refused = box.run("rollback", WEB_VERSION="1.1", RELEASE="c1")
    assert refused.code != 0 and "ran a contract migration" in refused.err, refused.err
    assert box.active() == "green"
    forced = box.run("rollback", "--force", WEB_VERSION="1.1", RELEASE="c1")
    assert forced.code == 0, forced.out + forced.err
    assert box.active() == "blue"


def test_a_failure_after_a_contract_migration_keeps_the_page_up_until_fixed(
    box: Sandbox,
) -> None:
    assert box.active() == "blue"
    contract(box)
    broken = {"WEB_VERSION": "1.1", "RELEASE": "c2", "FAIL_HEALTH": "1", "HEALTH_CMD": "true"}
    failed = box.run("apply", "--target", "green", "--yes", **broken)
    assert failed.code != 0
    assert "the maintenance page stays up" in failed.out + failed.err, failed.out + failed.err
    page = httpx.get(f"{URL}/api/version", timeout=5)
    assert (page.status_code, "retry-after" in page.headers) == (503, True)
    assert box.status()["maintenance"] is not None
    fixed = box.run("apply", "--target", "green", "--yes", WEB_VERSION="1.1", RELEASE="c2")
    assert fixed.code == 0, fixed.out + fixed.err
    assert box.active() == "green" and box.status()["maintenance"] is None
    assert httpx.get(f"{URL}/api/version", timeout=5).headers["x-app-color"] == "green"
