"""compiler/active.py: which colour serves, and which colour apply targets by default, from
captured Docker list output and the live nginx upstreams; pure."""

from __future__ import annotations

import pytest

from specctl.compiler.active import default_target, detect_active, other_color
from specctl.compiler.expand import expand
from specctl.schemas.live import Active, Live
from tests.test_diff import ROWS, live, spec


def with_upstreams(the_live: Live, **servers: list[str]) -> Live:
    upstreams = {**the_live.nginx.upstreams, **servers}
    return the_live.model_copy(
        update={"nginx": the_live.nginx.model_copy(update={"upstreams": upstreams})}
    )


def detected(the_live: Live) -> Active:
    return detect_active(expand(spec(), "blue", spec_digest="0" * 64), the_live)


@pytest.mark.parametrize(
    ("active", "target"),
    [
        (Active(state="none"), "blue"),
        (Active(state="blue", color="blue"), "green"),
        (Active(state="green", color="green"), "blue"),
        # Traffic already goes to the dangling colour: repair it in place, never the other one.
        (Active(state="dangling", color="blue"), "blue"),
        (Active(state="dangling", color="green"), "green"),
    ],
    ids=["none", "blue", "green", "dangling-blue", "dangling-green"],
)
def test_default_target(active: Active, target: str) -> None:
    assert default_target(active) == target


def test_other_color() -> None:
    assert (other_color("blue"), other_color("green")) == ("green", "blue")


def test_the_captured_deployment_serves_blue() -> None:
    assert (detected(live()).state, detected(live()).color) == ("blue", "blue")


def test_an_upstream_listing_both_colours_is_mixed() -> None:
    """Half switched by hand: nginx balances over both colours, so neither one serves."""
    both = with_upstreams(live(), backend=["blue-backend:8080", "green-backend:8080"])
    active = detected(both)
    assert (active.state, active.color) == ("mixed", None)
    assert "backend → ?" in active.detail


def test_a_stopped_upstream_service_leaves_its_colour_dangling() -> None:
    rows = [
        {**r, "State": "exited", "Status": "Exited (1) 1 minute ago"}
        if r["Labels"].get("com.docker.compose.service") == "backend"
        else r
        for r in ROWS
    ]
    active = detected(live(rows))
    assert (active.state, active.color) == ("dangling", "blue")
    assert active.detail == "nginx routes to blue, but blue-backend is not running"
