"""compiler/steps.py and the target choice of compiler/diff.py: which steps a plan executes, in
which order, with which undo, from captured Docker list output; pure."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from specctl.compiler.active import detect_active
from specctl.compiler.diff import plan_apply, plan_rollback
from specctl.compiler.expand import expand
from specctl.compiler.show.plan import render
from specctl.schemas.live import Live, LiveNginx
from specctl.schemas.plan import Plan, StepName
from specctl.schemas.spec import Spec
from tests.test_diff import PRINTS, ROWS, SPEC_TEXT, live, spec

STOP = SPEC_TEXT.replace("retire: keep", "retire: stop")


def in_green(row: dict[str, Any], *, state: str = "running") -> dict[str, Any]:
    """A blue container as if it ran in green (its config label says blue: it differs)."""
    labels = {
        **row["Labels"],
        "com.docker.compose.project": "demo-green",
        "specctl.color": "green",
    }
    name = row["Names"][0].replace("demo-blue-", "demo-green-")
    status = "Up 1 minute" if state == "running" else "Exited (0) 1 minute ago"
    return {
        **row,
        "Id": "g" + row["Id"][1:],
        "Names": [name],
        "Labels": labels,
        "State": state,
        "Status": status,
    }


BLUE = [r for r in ROWS if r["Labels"]["com.docker.compose.project"] == "demo-blue"]


def planned(the_spec: Spec, the_live: Live, requested: str | None = None) -> Plan:
    desired = {c: expand(the_spec, c, spec_digest="0" * 64) for c in ("blue", "green")}
    active = detect_active(desired["blue"], the_live)
    prints = {"blue": PRINTS, "green": PRINTS}
    return plan_apply(
        the_spec, desired, the_live, active=active, env_prints=prints, requested=requested
    )


def names(plan: Plan) -> list[str]:
    return [s.name.value for s in plan.steps]


def test_a_second_apply_is_a_no_op() -> None:
    """The serving colour runs exactly the spec: no target switch, nothing to do."""
    plan = planned(spec(), live())
    assert (plan.target, plan.empty, plan.steps) == ("blue", True, [])


def test_a_changed_spec_goes_to_the_colour_not_serving() -> None:
    changed = SPEC_TEXT.replace("${DEMO_VERSION:-1.0}", "1.1")
    plan = planned(spec(changed), live())
    assert plan.target == "green"
    assert names(plan) == [
        "pre-checks",
        "backup",
        "deploy",
        "health",
        "migrate",
        "verify-direct",
        "stage",
        "switch",
        "verify-proxy",
    ]
    deploy, switch = plan.step(StepName.DEPLOY), plan.step(StepName.SWITCH)
    assert deploy is not None and switch is not None
    assert (deploy.undo, switch.undo) == ("stop green", "switch back to blue")
    assert deploy.services == ["backend", "frontend", "ml", "redis"]


def test_retire_stop_puts_the_old_colour_in_the_plan(text_snapshot: SnapshotAssertion) -> None:
    changed = STOP.replace("${DEMO_VERSION:-1.0}", "1.1")
    plan = planned(spec(changed), live())
    retire = plan.step(StepName.RETIRE)
    assert names(plan)[-2:] == ["verify-proxy", "retire"]
    assert retire is not None and retire.color == "blue"
    assert retire.services == ["backend", "frontend", "ml", "redis"]
    assert plan.summary()["retire"] == 4
    assert render(plan, "text") == text_snapshot


def test_a_retire_cut_short_is_finished_by_the_next_apply(text_snapshot: SnapshotAssertion) -> None:
    """Killed after the switch: blue serves and runs the spec, green still runs."""
    rows = [*ROWS, in_green(BLUE[0]), in_green(BLUE[1], state="exited")]
    plan = planned(spec(STOP), live(rows))
    assert plan.target == "blue"
    assert names(plan) == ["verify-proxy", "retire"]
    retire = plan.step(StepName.RETIRE)
    assert retire is not None and (retire.color, retire.services) == ("green", ["backend"])
    assert render(plan, "text") == text_snapshot


def test_keep_leaves_the_old_colour_running() -> None:
    rows = [*ROWS, *(in_green(r) for r in BLUE)]
    assert planned(spec(), live(rows)).empty


def test_compose_leftovers_are_removed_before_compose_runs() -> None:
    """Compose renames a container to `<12 hex>_<name>` while recreating it; a kill at that
    moment leaves it behind, and the next `compose up` fails on it."""
    backend = BLUE[0]
    leftover = {**backend, "Id": "f" * 64, "Names": ["/0123456789ab_demo-blue-backend-1"]}
    plan = planned(spec(), live([*ROWS, leftover]))
    assert plan.target == "blue"
    deploy = plan.step(StepName.DEPLOY)
    assert deploy is not None
    assert (deploy.leftovers, deploy.services, deploy.remove) == (
        ["0123456789ab_demo-blue-backend-1"],
        [],
        [],
    )
    (change,) = plan.changes
    assert (change.address, change.action.value) == ("blue.service.backend", "-")


def test_a_config_never_loaded_is_switched_again() -> None:
    """Killed between installing green's config and reloading nginx: nginx still serves the
    previous (blue) config, which observe read; the switch must run again."""
    base = live()
    the_live = base.model_copy(
        update={"nginx": base.nginx.model_copy(update={"pending_reload": True})}
    )
    plan = planned(spec(), the_live, requested="blue")
    assert plan.step(StepName.SWITCH) is not None
    assert {c.reason for c in plan.of_kind("upstream")} == {
        "the config on disk was never loaded by nginx"
    }


def test_a_dangling_colour_is_repaired_in_place() -> None:
    """nginx routes to blue but blue's backend stopped: apply restarts blue, it does not deploy
    green and switch away from a colour that serves the rest of the traffic."""
    rows = [
        {**r, "State": "exited", "Status": "Exited (1) 1 minute ago"}
        if r["Labels"].get("com.docker.compose.service") == "backend"
        else r
        for r in ROWS
    ]
    plan = planned(spec(), live(rows))
    assert (plan.active_state, plan.active, plan.target) == ("dangling", "blue", "blue")
    assert [(c.address, c.action.value, c.reason) for c in plan.changes] == [
        ("blue.service.backend", "~", "start")
    ]


def test_a_first_deploy() -> None:
    empty = Live(project="demo", nginx=LiveNginx())
    plan = planned(spec(), empty)
    assert plan.target == "blue" and plan.active is None
    switch = plan.step(StepName.SWITCH)
    assert switch is not None and switch.undo is None  # nothing served before
    assert names(plan)[-1] == "verify-proxy"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_rollback_starts_the_stopped_colour_then_switches(
    fmt: str, text_snapshot: SnapshotAssertion
) -> None:
    rows = [*ROWS, *(in_green(r, state="exited") for r in BLUE)]
    the_spec = spec()
    the_live = live(rows)
    desired = expand(the_spec, "green", spec_digest="0" * 64)
    active = detect_active(desired, the_live)
    base = planned(the_spec, the_live, requested="green")
    plan = plan_rollback(desired, the_live, active=active, base=base)
    assert names(plan) == ["start", "health", "stage", "switch-back"]
    assert plan.rollback and plan.target == "green" and plan.active == "blue"
    assert render(plan, fmt) == text_snapshot


def test_recreate_shared_names_the_proxy_by_its_compose_service() -> None:
    """`proxy.nginx` is the proxy's address; Compose knows the service by its own name."""
    rows = [
        {**r, "Image": "specctl-testbed/nginx:older"}
        if r["Labels"]["com.docker.compose.service"] == "proxy"
        else r
        for r in ROWS
    ]
    the_spec = spec()
    desired = {c: expand(the_spec, c, spec_digest="0" * 64) for c in ("blue", "green")}
    the_live = live(rows)
    plan = plan_apply(
        the_spec,
        desired,
        the_live,
        active=detect_active(desired["blue"], the_live),
        env_prints={"blue": PRINTS, "green": PRINTS},
        requested="blue",
        recreate_shared=True,
    )
    deploy = plan.step(StepName.DEPLOY)
    assert deploy is not None and deploy.recreate == [desired["blue"].proxy.name]


def test_a_contract_migration_runs_behind_the_page_and_nothing_switches_back_past_it() -> None:
    text = SPEC_TEXT.replace("${DEMO_VERSION:-1.0}", "1.1")
    contract = text.replace("    timeout: 2m\n", "    timeout: 2m\n    contract: true\n", 1)
    assert contract != text
    plan = planned(spec(contract), live())
    assert names(plan)[names(plan).index("health") :][:3] == ["health", "maintenance", "migrate"]
    page, switch = plan.step(StepName.MAINTENANCE), plan.step(StepName.SWITCH)
    assert page is not None and page.color == "blue" and page.undo is not None
    assert switch is not None and switch.undo is None
    assert any("contract migration" in w for w in plan.warnings)
    first_deploy = planned(spec(contract), live([]))  # nothing serves: no page, a switch undo
    assert first_deploy.step(StepName.MAINTENANCE) is None
