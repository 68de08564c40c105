"""compiler/diff.py, compiler/exposure.py and compiler/show/plan.py, rule by rule: the plan from
desired state x live state built by hand (no captured Docker output), and how a plan reads; pure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from specctl.compiler.diff import (
    diff,
    diff_path,
    diff_service,
    field_changes,
    held_back,
    leftover_changes,
    maintenance_notes,
    per_color_notes,
    plan_apply,
    plan_rollback,
    takeover_notes,
    takeover_warnings,
)
from specctl.compiler.expand import expand
from specctl.compiler.exposure import is_public, live_exposure, reach_host, url_host
from specctl.compiler.load import load_spec
from specctl.compiler.show.plan import describe, render, render_text, show_value, summary_line
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import (
    Active,
    Live,
    LiveContainer,
    LiveFile,
    LiveNginx,
    LivePath,
    LivePort,
    Takeover,
)
from specctl.schemas.plan import Action, Change, FieldChange, Plan, Step, StepName
from specctl.schemas.spec import Spec

SPEC = """\
version: 1
project: shop
services:
  web:
    image: app:1
    port: 8080
    healthcheck: {command: "true"}
  db:
    image: postgres:15
    scope: shared
proxy:
  image: nginx:1.22
  ports: [{host: 31999, container: 80, bind: 127.0.0.1}]
  upstreams:
    web: {service: web}
  locations:
    - {path: /, upstream: web}
"""
BLUE = Active(color="blue", state="blue", detail="nginx routes to blue")
GREEN = Active(color="green", state="green", detail="nginx routes to green")


def shop(text: str = SPEC) -> Spec:
    return load_spec(text, filename="spec.yaml")


def expanded(the_spec: Spec, color: str = "blue") -> Desired:
    return expand(the_spec, color, spec_digest="x" * 64)


def own(svc: DesiredService, **fields: Any) -> LiveContainer:
    """specctl's container of `svc`, running exactly what the spec says."""
    labels = {"specctl.config": json.dumps(svc.view), **fields.pop("labels", {})}
    return LiveContainer(
        **{
            "id": f"id-{svc.address}",
            "name": f"{svc.project}-{svc.name}-1",
            "project": svc.project,
            "service": svc.name,
            "color": svc.color,
            "image": svc.image,
            "state": "running",
            **fields,
            "labels": labels,
        }
    )


def serving(desired: Desired, *extra: LiveContainer, **nginx: Any) -> Live:
    """`desired` deployed and served: its services, shared services and proxy all up to date."""
    containers = [own(s) for s in (*desired.services, *desired.shared, desired.proxy)]
    upstreams = {u.name: [u.server] for u in desired.upstreams}
    return Live(
        project=desired.project,
        containers=[*containers, *extra],
        nginx=LiveNginx(running=True, config_present=True, upstreams=upstreams, **nginx),
        images=["app:1", "postgres:15", "nginx:1.22"],
    )


def planned(the_spec: Spec, desired: Desired, live: Live, active: Active = BLUE, **kw: Any) -> Plan:
    return diff(the_spec, desired, live, env_prints={}, active=active, **kw)


def rows(plan: Plan) -> list[tuple[str, str, str, str]]:
    return [(c.address, c.action.value, c.kind, c.reason) for c in plan.changes]


def with_container(live: Live, address: str, **update: Any) -> Live:
    containers = [
        c.model_copy(update=update) if c.id == f"id-{address}" else c for c in live.containers
    ]
    return live.model_copy(update={"containers": containers})


# --- exposure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "reach", "url"),
    [
        (None, "127.0.0.1", "127.0.0.1"),
        ("", "127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1", "127.0.0.1"),
        ("::", "::1", "[::1]"),
        ("10.0.0.5", "10.0.0.5", "10.0.0.5"),
        ("fd00::5", "fd00::5", "[fd00::5]"),
    ],
)
def test_specctl_reaches_a_published_port_on_loopback_unless_bound_to_one_address(
    ip: str | None, reach: str, url: str
) -> None:
    assert (reach_host(ip), url_host(ip)) == (reach, url)


@pytest.mark.parametrize(
    ("ip", "public"),
    [(None, True), ("0.0.0.0", True), ("127.0.0.1", False), ("::1", False), ("eth0", True)],
)
def test_anything_but_loopback_is_public(ip: str | None, public: bool) -> None:
    assert is_public(ip) is public


def test_the_proxy_is_left_out_of_the_exposure_but_not_what_follows_it() -> None:
    port = [LivePort(ip="0.0.0.0", host=80), LivePort(ip="::", host=80)]
    containers = [
        LiveContainer(id="1", name="proxy", project="p", service="proxy", published=port),
        LiveContainer(id="2", name="db", project="p", service="db", published=port),
    ]
    assert live_exposure(containers, proxy=("p", "proxy")) == ["db publishes 80 on 0.0.0.0, ::"]


# --- one service ----------------------------------------------------------------------------


def test_a_stopped_container_is_started_from_its_state() -> None:
    svc = expanded(shop()).services[0]
    change = diff_service(svc, own(svc, state="exited"), {}, kind="service")
    assert change is not None
    assert (change.action, change.reason) == (Action.UPDATE, "start")
    assert change.fields == [FieldChange(key="state", before="exited", after="running")]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("service", "replace the container taken over"),
        ("shared", "taken over as it runs; apply --recreate-shared replaces it"),
    ],
)
def test_a_container_taken_over_is_replaced_by_specctls(kind: Any, reason: str) -> None:
    svc = expanded(shop()).services[0]
    change = diff_service(svc, own(svc, adopted="legacy-web"), {}, kind=kind)
    assert change is not None
    assert (change.action, change.kind, change.reason) == (Action.REPLACE, kind, reason)
    assert change.fields == [
        FieldChange(
            key="container", before="legacy-web (not created by specctl)", after="specctl's"
        )
    ]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("service", "recreate"), ("shared", "recreate with apply --recreate-shared")],
)
def test_a_changed_image_is_a_recreate(kind: Any, reason: str) -> None:
    svc = expanded(shop()).services[0]
    change = diff_service(svc, own(svc, image="app:0"), {}, kind=kind)
    assert change is not None
    assert (change.action, change.reason) == (Action.REPLACE, reason)
    assert change.fields == [FieldChange(key="image", before="app:0", after="app:1")]


def test_a_container_without_specctls_label_is_recreated_as_not_created_by_specctl() -> None:
    svc = expanded(shop()).services[0]
    bare = own(svc).model_copy(update={"labels": {}})
    change = diff_service(svc, bare, {}, kind="service")
    assert change is not None
    assert change.fields == [
        FieldChange(key="config", before="(not created by specctl)", after="(spec)")
    ]


def test_env_fingerprints_say_which_key_came_went_or_changed_never_the_value() -> None:
    svc = expanded(shop()).services[0]
    labels = {"specctl.env.GONE": "1", "specctl.env.SAME": "2", "specctl.env.NEW_VALUE": "3"}
    wanted = {"ADDED": "9", "SAME": "2", "NEW_VALUE": "4"}
    change = diff_service(svc, own(svc, labels=labels), wanted, kind="service")
    assert change is not None
    assert change.fields == [
        FieldChange(key="env.ADDED", before=None, after="(set)"),
        FieldChange(key="env.GONE", before="(set)", after=None),
        FieldChange(key="env.NEW_VALUE", before="(value)", after="(new value)"),
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # Same JSON, keys in another order: no change, whatever the types say.
        ({"b": 1, "a": [1]}, {"b": 1, "a": (1,)}, []),
        ({"a": [1, 2]}, {"a": [2, 1]}, [("a", [1, 2], [2, 1])]),
        ({"hc": {"interval": "1s"}}, {"hc": {"interval": "2s"}}, [("hc.interval", "1s", "2s")]),
        (
            {"a": {"b": [1, {"c": 1}]}},
            {"a": {"b": [1, {"c": 2}]}},
            [("a.b", [1, {"c": 1}], [1, {"c": 2}])],
        ),
    ],
    ids=["same-json", "list-order", "nested-key", "list-as-a-whole"],
)
def test_field_changes_are_flattened_to_dotted_keys(
    before: dict[str, Any], after: dict[str, Any], expected: list[tuple[str, Any, Any]]
) -> None:
    assert [(f.key, f.before, f.after) for f in field_changes(before, after)] == expected


def test_only_replacements_of_shared_services_and_the_proxy_are_held_back() -> None:
    def change(address: str, action: Action, kind: Any) -> Change:
        return Change(address=address, action=action, kind=kind)

    held = [
        change("shared.service.db", Action.REPLACE, "shared"),
        change("proxy.nginx", Action.REPLACE, "proxy"),
    ]
    others = [
        change("blue.service.web", Action.REPLACE, "service"),
        change("shared.service.cache", Action.CREATE, "shared"),
        change("proxy.nginx", Action.UPDATE, "proxy"),
    ]
    plan = Plan(
        project="shop",
        target="blue",
        active=None,
        active_state="none",
        spec_hash="h",
        live_fingerprint="f",
        changes=[others[0], held[0], others[1], held[1], others[2]],
    )
    assert held_back(plan) == held


# --- the whole plan -------------------------------------------------------------------------


def test_what_runs_the_spec_is_no_change() -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    plan = planned(the_spec, desired, serving(desired))
    assert (plan.changes, plan.unchanged, plan.warnings, plan.notes) == ([], 4, [], [])


def test_an_unhealthy_container_that_runs_the_spec_is_a_warning() -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    live = with_container(serving(desired), "blue.service.web", health="unhealthy")
    plan = planned(the_spec, desired, live)
    assert (plan.changes, plan.warnings) == ([], ["blue.service.web is running but unhealthy"])


def test_a_service_no_longer_in_the_spec_is_deleted_and_a_leftover_removed_once() -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    old = LiveContainer(id="o", name="shop-blue-old-1", project="shop-blue", service="old")
    old = old.model_copy(update={"image": "old:1", "state": "running"})
    leftover = old.model_copy(
        update={"id": "l", "name": "0123456789ab_shop-blue-old-1", "image": "old:0"}
    )
    plan = planned(the_spec, desired, serving(desired, old, leftover))
    assert rows(plan) == [
        ("blue.service.old", "-", "service", "no longer in the spec"),
        ("blue.service.old", "-", "service", "left behind by an interrupted Compose run"),
    ]
    assert [(c.before, c.after) for c in plan.changes] == [
        ({"image": "old:1"}, None),
        ({"container": "0123456789ab_shop-blue-old-1"}, None),
    ]


def test_leftovers_are_addressed_by_their_project_and_others_are_not_ours() -> None:
    desired = expanded(shop())
    name = "0123456789ab_{}"
    theirs = LiveContainer(id="t", name=name.format("x"), project="another", service="x")
    shared = LiveContainer(id="s", name=name.format("db"), project="shop-shared", service="db")
    mine = LiveContainer(id="m", name=name.format("web"), project="shop-blue", service="web")
    alive = LiveContainer(id="a", name="shop-blue-web-1", project="shop-blue", service="web")
    live = Live(project="shop", containers=[theirs, shared, alive, mine])
    assert [
        (c.address, c.action.value, c.kind, c.before, c.reason)
        for c in leftover_changes(desired, live)
    ] == [
        (
            "shared.service.db",
            "-",
            "shared",
            {"container": "0123456789ab_db"},
            "left behind by an interrupted Compose run",
        ),
        (
            "blue.service.web",
            "-",
            "service",
            {"container": "0123456789ab_web"},
            "left behind by an interrupted Compose run",
        ),
    ]


@pytest.mark.parametrize(
    ("proxy", "change", "warnings"),
    [
        (
            "missing",
            ("proxy.nginx", "+", "proxy", "create"),
            ["blue.service.web is running but unhealthy"],
        ),
        (
            "older",
            ("proxy.nginx", "±", "proxy", "recreate with apply --recreate-shared"),
            [
                "blue.service.web is running but unhealthy",
                "replacing proxy.nginx interrupts traffic for a moment",
            ],
        ),
        (
            "theirs",
            (
                "proxy.nginx",
                "±",
                "proxy",
                "taken over as it runs; apply --recreate-shared replaces it",
            ),
            ["blue.service.web is running but unhealthy"],
        ),
    ],
)
def test_replacing_specctls_proxy_warns_of_the_interruption(
    proxy: str, change: tuple[str, str, str, str], warnings: list[str]
) -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    live = with_container(serving(desired), "blue.service.web", health="unhealthy")
    address = "proxy.nginx"
    if proxy == "missing":
        live = live.model_copy(
            update={"containers": [c for c in live.containers if c.id != f"id-{address}"]}
        )
    elif proxy == "older":
        live = with_container(live, address, image="nginx:1.21")
    else:
        live = with_container(live, address, adopted="their-nginx", color=None)
    plan = planned(the_spec, desired, live)
    assert rows(plan) == [change]
    assert plan.warnings == warnings


def takeover_live(desired: Desired) -> Live:
    """Their web (in blue), their database and their nginx serve, taken over."""
    base = serving(desired)
    for address, name in [
        ("blue.service.web", "legacy-web"),
        ("shared.service.db", "legacy-db"),
        ("proxy.nginx", "legacy-nginx"),
    ]:
        base = with_container(base, address, adopted=name)
    # Their web first: a container taken over outside the shared project is skipped, not the end.
    order = ["id-blue.service.web", "id-shared.service.db", "id-proxy.nginx"]
    containers = sorted(base.containers, key=lambda c: order.index(c.id))
    return base.model_copy(update={"containers": containers})


BAKE = SPEC + "deploy:\n  bake: 5m\n"
NO_BAKE = (
    "no bake while nginx is legacy-nginx, taken over: it does not write the access log a bake "
    "reads (apply --recreate-shared gives specctl's proxy)"
)
REPLACING_DB = (
    "replacing legacy-db (taken over) by specctl's shared.service.db: it stops before "
    "specctl's starts on the same volumes"
)
REPLACING_NGINX = (
    "replacing legacy-nginx (taken over) by specctl's proxy.nginx: requests fail from its stop "
    "until specctl's answers on the same ports (apply measures it)"
)


@pytest.mark.parametrize(
    ("text", "recreate_shared", "expected"),
    [
        (SPEC, False, []),
        (BAKE, False, [NO_BAKE]),
        (SPEC, True, [REPLACING_DB, REPLACING_NGINX]),
        (BAKE, True, [REPLACING_DB, NO_BAKE, REPLACING_NGINX]),
    ],
    ids=["as-they-run", "bake", "recreate", "bake-recreate"],
)
def test_what_changes_while_containers_taken_over_serve(
    text: str, recreate_shared: bool, expected: list[str]
) -> None:
    the_spec = shop(text)
    desired = expanded(the_spec)
    warnings = takeover_warnings(
        the_spec, desired, takeover_live(desired), recreate_shared=recreate_shared
    )
    assert warnings == expected


def test_specctls_own_proxy_and_database_give_no_takeover_warning() -> None:
    the_spec = shop(BAKE)
    desired = expanded(the_spec)
    assert takeover_warnings(the_spec, desired, serving(desired), recreate_shared=True) == []


def test_the_plan_warns_of_replacing_what_was_taken_over_only_when_asked() -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    live = with_container(serving(desired), "shared.service.db", adopted="legacy-db")
    live = with_container(live, "blue.service.web", health="unhealthy")
    assert planned(the_spec, desired, live).warnings == [
        "blue.service.web is running but unhealthy"
    ]
    plan = planned(the_spec, desired, live, recreate_shared=True)
    assert plan.warnings == ["blue.service.web is running but unhealthy", REPLACING_DB]


@pytest.mark.parametrize(
    ("healthcheck", "host_port", "warned"),
    [
        ("", "", True),
        ("", "    host_port: {offset: 1}\n", False),
        ('    healthcheck: {command: "true"}\n', "", False),
    ],
    ids=["neither", "host-port", "healthcheck"],
)
def test_an_upstream_service_nothing_can_check_is_a_warning(
    healthcheck: str, host_port: str, warned: bool
) -> None:
    text = SPEC.replace('    healthcheck: {command: "true"}\n', healthcheck + host_port, 1)
    text += "colors:\n  blue: {port_base: 31000}\n  green: {port_base: 32000}\n"
    the_spec = shop(text)
    desired = expanded(the_spec)
    warning = (
        "blue.service.web has no health check and no host port: nothing tells when it is "
        "ready, so the switch may send it requests before it listens (give it a healthcheck)"
    )
    assert planned(the_spec, desired, serving(desired)).warnings == ([warning] if warned else [])


CONTRACT = SPEC + "hooks:\n  migrate: {service: web, command: migrate, contract: true}\n"
CONTRACT_WARNING = (
    "hooks.migrate is a contract migration: the colour serving now cannot run on the migrated "
    "schema, so the maintenance page is up from the migration to the switch, and once it has "
    "run neither a failed step nor rollback switches back"
)


def test_a_contract_migration_is_a_warning_whenever_it_runs() -> None:
    the_spec = shop(CONTRACT)
    blue, green = expanded(the_spec), expanded(the_spec, "green")
    # Green deployed while blue serves: the page goes up.
    to_green = planned(the_spec, green, serving(blue), active=BLUE)
    assert to_green.step(StepName.MAINTENANCE) is not None
    assert to_green.warnings == [CONTRACT_WARNING]
    # A first deploy: nothing serves, no page, the migration still runs.
    first = planned(the_spec, blue, Live(project="shop"), active=Active())
    assert first.step(StepName.MAINTENANCE) is None
    assert first.warnings == [CONTRACT_WARNING]
    # Only a path to fix: no migration, no warning.
    fix = shop(CONTRACT + "paths:\n  data: {path: data, mode: '0755'}\n")
    desired = expanded(fix)
    missing = serving(desired).model_copy(
        update={"paths": [LivePath(address="path.data", path="data")]}
    )
    plan = planned(fix, desired, missing)
    assert [s.name for s in plan.steps] == [StepName.PERMISSIONS]
    assert plan.warnings == []


def test_a_dangling_colour_says_so_first() -> None:
    the_spec = shop()
    desired = expanded(the_spec)
    live = with_container(serving(desired), "blue.service.web", health="unhealthy")
    for state in ("dangling", "mixed"):
        active = Active(color="blue", state=state, detail=f"{state} detail")
        plan = planned(the_spec, desired, live, active=active)
        assert plan.warnings == [f"{state} detail", "blue.service.web is running but unhealthy"]


PER_COLOR = SPEC.replace(
    "    image: app:1\n", "    image: app:1\n    per_color: {green: {image: 'app:2'}}\n", 1
)


def test_per_color_differences_are_noted_for_either_colour() -> None:
    the_spec = shop(PER_COLOR)
    assert per_color_notes(the_spec, "blue") == [
        "blue.service.web differs from green by per_color: image"
    ]
    assert per_color_notes(the_spec, "green") == [
        "green.service.web differs from blue by per_color: image"
    ]
    desired = expanded(the_spec, "green")
    assert planned(the_spec, desired, serving(desired)).notes == [
        "green.service.web differs from blue by per_color: image"
    ]


def test_per_color_keys_of_both_colours_are_listed_once_in_order() -> None:
    text = SPEC.replace(
        "    image: app:1\n",
        "    image: app:1\n    per_color:\n"
        "      green: {image: 'app:2', environment: {A: '1'}}\n"
        "      blue: {image: 'app:3'}\n",
        1,
    )
    assert per_color_notes(shop(text), "blue") == [
        "blue.service.web differs from green by per_color: environment, image"
    ]


def test_a_shared_service_differs_per_colour_in_no_note() -> None:
    text = SPEC.replace(
        "    scope: shared\n", "    scope: shared\n    per_color: {green: {image: 'pg:16'}}\n", 1
    )
    assert per_color_notes(shop(text), "blue") == []


MAINTENANCE_ON = "maintenance mode is on (specctl maintenance off ends it)"
MAINTENANCE_SWITCH = (
    "maintenance mode is on: the switch ends it (the colour switched to serves all)"
)


@pytest.mark.parametrize(
    ("nginx", "steps", "notes"),
    [
        ({}, [StepName.SWITCH], []),
        ({"maintenance": True}, [], [MAINTENANCE_ON]),
        ({"maintenance": True}, [StepName.HEALTH], [MAINTENANCE_ON]),
        ({"maintenance": True}, [StepName.SWITCH], [MAINTENANCE_SWITCH]),
        ({"maintenance": True}, [StepName.HEALTH, StepName.SWITCH_BACK], [MAINTENANCE_SWITCH]),
        (
            {"maintenance": True, "preview": "green"},
            [StepName.SWITCH],
            [
                "a preview of green is in progress (cookie specctl_preview=green): specctl "
                "promote switches everyone to it, specctl abort ends it"
            ],
        ),
    ],
)
def test_maintenance_and_preview_notes(
    nginx: dict[str, Any], steps: list[StepName], notes: list[str]
) -> None:
    live = Live(project="shop", nginx=LiveNginx(**nginx))
    assert maintenance_notes(live, [Step(name=name) for name in steps]) == notes


def test_the_plan_notes_maintenance_mode_the_switch_ends() -> None:
    the_spec = shop()
    blue, green = expanded(the_spec), expanded(the_spec, "green")
    plan = planned(the_spec, green, serving(blue, maintenance=True))
    assert plan.notes == [MAINTENANCE_SWITCH]


@pytest.mark.parametrize(
    ("fields", "how"),
    [
        (
            {"config": "/srv/nginx.conf"},
            "switches rewrite the server lines of /srv/nginx.conf and reload it",
        ),
        ({"aliases": ["db", "postgres"]}, "joins the project's network as db, postgres"),
        ({"aliases": ["db"], "joined": True}, "joined the project's network as db"),
        ({}, "left as it runs"),
    ],
    ids=["proxy", "joins", "joined", "as-it-runs"],
)
def test_takeover_notes_say_how_each_is_taken_over(fields: dict[str, Any], how: str) -> None:
    found = Takeover(
        address="shared.service.db", container="legacy-db", id="1", why="named shop-db", **fields
    )
    assert takeover_notes(Live(project="shop", takeovers=[found])) == [
        f"unmanaged, serving: legacy-db (named shop-db) is shared.service.db, taken over in "
        f"place ({how}); never recreated unless asked"
    ]


# --- paths ----------------------------------------------------------------------------------


PATHS = SPEC + (
    "paths:\n"
    "  data: {path: data, mode: '0755', subdirs: [a, b]}\n"
    "  key: {path: key.pem, kind: file}\n"
)


def paths() -> dict[str, Any]:
    return {p.name: p for p in expanded(shop(PATHS)).paths}


def test_a_missing_directory_is_created_with_its_owner_and_mode() -> None:
    data = paths()["data"]
    change, notes = diff_path(data, None)
    assert notes == []
    assert change == Change(
        address="path.data",
        action=Action.CREATE,
        kind="path",
        after={"path": "data", "owner": f"{data.uid}:{data.gid}", "mode": "0755"},
        reason="create",
    )


def test_a_missing_file_is_for_a_person_to_put_in_place() -> None:
    key = paths()["key"]
    gone = LivePath(address="path.key", path="key.pem", problems=["unreadable"])
    assert diff_path(key, gone) == (
        None,
        ["path.key: unreadable", "path.key: key.pem is missing; put it in place"],
    )


def test_a_directory_to_fix_lists_every_difference_and_what_a_person_must_look_at() -> None:
    data = paths()["data"]
    current = LivePath(
        address="path.data",
        path="data",
        exists=True,
        kind="directory",
        uid=0,
        gid=0,
        mode="0700",
        missing_subdirs=["a", "b"],
        files=[LiveFile(name="model.bin"), LiveFile(name="ok.bin", exists=True)],
        stale_temp_files=3,
        pending=["chown", "chmod", "mkdir a", "mkdir b"],
        problems=["data/x is a symlink"],
    )
    change, notes = diff_path(data, current)
    assert notes == [
        "path.data: required file model.bin is missing",
        "path.data: data/x is a symlink",
    ]
    assert change is not None
    assert (change.action, change.reason) == (Action.UPDATE, "fix")
    assert [(f.key, f.before, f.after) for f in change.fields] == [
        ("owner", "0:0", f"{data.uid}:{data.gid}"),
        ("mode", "0700", "0755"),
        ("subdirs", None, "a, b"),
        ("stale temp files", 3, 0),
        ("actions", None, "4 (fix-permissions --dry-run)"),
    ]


def test_a_directory_with_nothing_pending_keeps_its_notes() -> None:
    current = LivePath(
        address="path.data", path="data", exists=True, kind="directory", problems=["odd"]
    )
    assert diff_path(paths()["data"], current) == (None, ["path.data: odd"])


# --- the target apply chooses ----------------------------------------------------------------


@pytest.mark.parametrize("state", ["mixed", "unknown"])
def test_apply_refuses_to_guess_a_target(state: Any) -> None:
    the_spec = shop()
    desired = {c: expanded(the_spec, c) for c in ("blue", "green")}
    active = Active(state=state, detail="upstreams point at different colours: web → ?")
    with pytest.raises(SpecctlError) as caught:
        plan_apply(
            the_spec,
            desired,
            Live(project="shop"),
            active=active,
            env_prints={"blue": {}, "green": {}},
        )
    assert caught.value.render() == (
        "cannot choose a target: upstreams point at different colours: web → ?\n"
        "hint: name it: --target blue|green"
    )


def test_a_second_apply_while_green_serves_stays_on_green() -> None:
    the_spec = shop()
    desired = {c: expanded(the_spec, c) for c in ("blue", "green")}
    plan = plan_apply(
        the_spec,
        desired,
        serving(desired["green"]),
        active=GREEN,
        env_prints={"blue": {}, "green": {}},
    )
    assert (plan.target, plan.empty) == ("green", True)


# --- rollback --------------------------------------------------------------------------------


def base_plan(**update: Any) -> Plan:
    identity = {
        "project": "shop",
        "target": "green",
        "active": "blue",
        "active_state": "blue",
        "spec_hash": "h",
        "live_fingerprint": "f",
    }
    return Plan(**{**identity, **update})


def stopped_green(*extra: LiveContainer) -> tuple[Desired, Live]:
    green = expanded(shop(), "green")
    live = serving(expanded(shop()))
    web = own(green.services[0], state="exited")
    return green, live.model_copy(update={"containers": [*live.containers, web, *extra]})


def test_rollback_needs_a_colour_serving_and_one_deployed_before() -> None:
    green, live = stopped_green()
    with pytest.raises(SpecctlError) as caught:
        plan_rollback(green, live, active=Active(), base=base_plan())
    assert caught.value.render() == "nothing to roll back: nothing deployed yet"
    never = serving(expanded(shop()))
    with pytest.raises(SpecctlError) as caught:
        plan_rollback(green, never, active=BLUE, base=base_plan())
    assert caught.value.render() == "cannot roll back to green: it was never deployed on this host"


def test_rollback_starts_only_what_stopped_in_name_order() -> None:
    nameless = LiveContainer(id="n", project="shop-green", service="zz", state="exited")
    named = LiveContainer(id="a", name="A-first", project="shop-green", service="aa", state="dead")
    running = LiveContainer(id="r", name="B", project="shop-green", service="up", state="running")
    green, live = stopped_green(named, running, nameless)
    plan = plan_rollback(green, live, active=BLUE, base=base_plan(target="blue"))
    assert plan.target == "green"
    assert [(c.address, c.fields[0].before) for c in plan.changes[:3]] == [
        ("green.service.zz", "exited"),
        ("green.service.aa", "dead"),
        ("green.service.web", "exited"),
    ]
    assert plan.steps[0].services == ["aa", "web", "zz"]


def test_rollback_notes_keep_those_of_the_base_but_maintenance_and_preview() -> None:
    green, live = stopped_green()
    notes = ["kept", "maintenance mode is on (old)", "a preview of green (old)"]
    plan = plan_rollback(green, live, active=BLUE, base=base_plan(notes=notes))
    assert plan.notes == ["kept"]
    on = live.model_copy(update={"nginx": live.nginx.model_copy(update={"maintenance": True})})
    plan = plan_rollback(green, on, active=BLUE, base=base_plan(notes=notes))
    assert plan.notes == ["kept", MAINTENANCE_SWITCH]


@pytest.mark.parametrize(
    ("change", "warned"),
    [
        (Change(address="green.service.web", action=Action.UPDATE, kind="service"), False),
        (Change(address="path.data", action=Action.CREATE, kind="path"), False),
        (Change(address="green.service.web", action=Action.REPLACE, kind="service"), True),
    ],
    ids=["started", "path", "recreated"],
)
def test_rollback_warns_when_the_colour_does_not_run_the_spec(change: Change, warned: bool) -> None:
    green, live = stopped_green()
    plan = plan_rollback(green, live, active=BLUE, base=base_plan(changes=[change]))
    assert plan.warnings == (
        [
            "green does not run what the spec says now: the next `specctl apply` deploys the "
            "spec again (change the spec first to stay on green's release)"
        ]
        if warned
        else []
    )


# --- how a plan reads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "(none)"),
        ({"b": 1, "a": "é"}, '{"a": "é", "b": 1}'),
        (["x", 2], '["x", 2]'),
        ("x" * 60, "x" * 60),
        ("x" * 61, "x" * 59 + "…"),
        ("abc", "abc"),
    ],
    ids=["none", "dict", "list", "at-limit", "over-limit", "text"],
)
def test_values_are_shown_as_sorted_json_and_cut_at_sixty_characters(
    value: Any, shown: str
) -> None:
    assert show_value(value) == shown


def test_a_change_known_only_by_what_it_removes_shows_that() -> None:
    change = Change(
        address="blue.service.old",
        action=Action.DELETE,
        kind="service",
        before={"image": "old:1", "ports": None},
    )
    assert describe(change) == ["image: old:1, ports: (none)"]


@pytest.mark.parametrize(
    ("switches", "fixes", "line"),
    [
        (
            0,
            0,
            "Plan: 0 to add, 0 to change, 0 to destroy, 0 traffic switches, 0 permission fixes.",
        ),
        (1, 1, "Plan: 0 to add, 0 to change, 0 to destroy, 1 traffic switch, 1 permission fix."),
        (
            2,
            2,
            "Plan: 0 to add, 0 to change, 0 to destroy, 2 traffic switches, 2 permission fixes.",
        ),
    ],
)
def test_the_summary_counts_in_singular_and_plural(switches: int, fixes: int, line: str) -> None:
    changes = [
        Change(address=f"nginx.upstream.u{n}", action=Action.SWITCH, kind="upstream")
        for n in range(switches)
    ] + [Change(address=f"path.p{n}", action=Action.CREATE, kind="path") for n in range(fixes)]
    assert summary_line(base_plan(changes=changes)) == line


def rendered_plan() -> Plan:
    return base_plan(
        active=None,
        active_state="none",
        changes=[
            Change(
                address="green.service.web",
                action=Action.REPLACE,
                kind="service",
                fields=[
                    FieldChange(key="image", before="app:1", after="app:2"),
                    FieldChange(key="port", before=1, after=2),
                ],
                reason="recreate",
            ),
            Change(address="green.service.db", action=Action.UPDATE, kind="service", reason="x"),
        ],
        notes=["a | note"],
        warnings=["é"],
    )


def test_the_text_plan_colours_its_symbols_only_when_asked() -> None:
    plan = rendered_plan()
    assert render(plan, "text") == (
        "specctl plan: shop, target green (active: none, none)\n"
        "\n"
        "  ± green.service.web  image: app:1 → app:2  (recreate)\n"
        "                       port: 1 → 2\n"
        "  ~ green.service.db\n"
        "\n"
        "Plan: 0 to add, 2 to change, 0 to destroy, 0 traffic switches, 0 permission fixes.\n"
        "warning: é\n"
        "note: a | note\n"
    )
    coloured = render(plan, "text", color=True)
    assert "  \033[35m±\033[0m green.service.web  image" in coloured
    assert "  \033[33m~\033[0m green.service.db\n" in coloured


def test_the_text_plan_has_no_colour_by_default() -> None:
    assert "\033" not in render_text(rendered_plan())


def test_the_markdown_plan_joins_parts_with_breaks_and_escapes_notes() -> None:
    text = render(rendered_plan(), "markdown")
    assert "| `±` | `green.service.web` | image: app:1 → app:2<br>port: 1 → 2 |" in text
    assert "| `~` | `green.service.db` | x |" in text
    assert text.endswith("> ⚠️ é\n> ℹ️ a \\| note\n")


def test_the_json_plan_keeps_non_ascii_text() -> None:
    assert '"warnings": [\n    "é"\n  ]' in render(rendered_plan(), "json")
