"""Preview before promotion on the real engine and a real nginx (the user's own base config),
under load: a client pinned by the preview cookie always lands on the previewed colour and every
other client on the serving one (10,000 pinned requests, 0 crossings), `promote` moves everyone
with 0 failed requests, and `abort` ends a preview and stops the previewed colour.

The pinned client keeps its connections alive, as a browser does (and retries once on a closed
idle connection, as a browser does); the others open a new connection per request and never
retry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from specctl.appliers.loadgen import Load, describe
from tests.conftest import Sandbox, new_sandbox, remove_project
from tests.e2e_spec import files, spec_text

NAME = "preview1"
BASE = 30600
PUBLIC = BASE + 80
URL = f"http://127.0.0.1:{PUBLIC}"
PINNED = 10_000


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    sandbox = new_sandbox(tmp_path_factory.mktemp("preview"), NAME, spec_text(NAME, BASE), files())
    first = sandbox.run("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    yield sandbox
    remove_project(NAME)


def colour(headers: dict[str, str] | None = None) -> str:
    answer = httpx.get(f"{URL}/api/version", headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.headers["x-app-color"]


def test_the_preview_cookie_pins_a_client_and_promote_moves_everyone(box: Sandbox) -> None:
    with Load(PUBLIC, path="/api/version", rate=100, seconds=300) as others:
        time.sleep(1.0)
        started = box.run("apply", "--preview", "--target", "green", "--yes", WEB_VERSION="1.1")
        assert started.code == 0, started.out + started.err
        assert "preview" in started.out and "done: preview of green" in started.out
        assert box.active() == "blue" and box.status()["preview"] == "green"
        assert colour({"X-Specctl-Preview": "green"}) == "green"
        assert colour({"Cookie": "specctl_preview=blue"}) == "blue"
        assert "a preview of green is in progress" in box.run("plan", WEB_VERSION="1.1").out
        refused = box.run("rollback", WEB_VERSION="1.1")
        assert refused.code != 0 and "specctl abort ends the preview" in refused.err
        pinned_load = Load(
            PUBLIC,
            path="/api/version",
            rate=200,
            keep_alive=True,
            seconds=120,
            max_requests=PINNED,
            cookie="specctl_preview=green",
        )
        with pinned_load:
            while pinned_load.report.total < PINNED and pinned_load._thread.is_alive():
                time.sleep(0.5)
            pinned = pinned_load.stop()
        during = others.stop()
    assert pinned.total == PINNED
    assert pinned.failed == 0 and pinned.colors() == {"green": PINNED}, describe(pinned)
    assert during.failed == 0 and set(during.colors()) == {"blue"}, describe(during)

    with Load(PUBLIC, path="/api/version", rate=100, seconds=300) as everyone:
        time.sleep(1.0)
        promoted = box.run("promote", "--yes", WEB_VERSION="1.1")
        time.sleep(1.0)
        report = everyone.stop()
    assert promoted.code == 0, promoted.out + promoted.err
    assert box.active() == "green" and box.status()["preview"] is None
    assert report.failed == 0, describe(report)
    assert set(report.colors()) == {"blue", "green"}, describe(report)
    assert colour() == "green"
    assert box.run("plan", WEB_VERSION="1.1").out.count("No changes") == 1


def test_abort_removes_the_routes_and_stops_the_previewed_colour(box: Sandbox) -> None:
    assert box.active() == "green"
    with Load(PUBLIC, path="/api/version", rate=100, seconds=300) as load:
        time.sleep(1.0)
        started = box.run("apply", "--preview", "--target", "blue", "--yes", WEB_VERSION="1.0")
        assert started.code == 0, started.out + started.err
        assert colour({"Cookie": "specctl_preview=blue"}) == "blue"
        aborted = box.run("abort", WEB_VERSION="1.0")
        time.sleep(1.0)
        report = load.stop()
    assert aborted.code == 0, aborted.out + aborted.err
    assert report.failed == 0 and set(report.colors()) == {"green"}, describe(report)
    doc = box.status()
    assert doc["preview"] is None and not doc["colors"]["blue"]["running"]
    assert colour({"Cookie": "specctl_preview=blue"}) == "green"
    again = box.run("abort", WEB_VERSION="1.0")
    assert again.code == 0 and "no preview in progress" in again.out
    history = box.cli("history").out
    assert "abort" in history


def test_a_preview_needs_the_other_colour_serving(box: Sandbox) -> None:
    refused = box.run("apply", "--preview", "--target", "green", "--yes", WEB_VERSION="1.0")
    assert refused.code != 0 and "nothing to preview" in refused.err, refused.err
    nothing = box.cli("promote", "--yes")
    assert nothing.code != 0 and "no preview in progress" in nothing.err
