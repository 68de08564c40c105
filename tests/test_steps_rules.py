"""compiler/steps.py and compiler/active.py rule by rule: the steps apply executes for hand-made
changes, and the colour that serves as the live nginx config and the containers tell it; pure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from specctl.compiler.active import (
    default_target,
    detect_active,
    server_color,
    upstream_colors,
)
from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from specctl.compiler.steps import apply_steps, bake_step, is_current, preview_steps
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import (
    Active,
    Live,
    LiveBake,
    LiveContainer,
    LiveNginx,
    Takeover,
)
from specctl.schemas.plan import Action, Change, FieldChange, Plan, Step, StepName
from specctl.schemas.spec import Spec

SPEC = """\
version: 1
project: p
services:
  web: {image: web:1, port: 8080}
  api: {image: api:1, port: 3001}
  db: {image: db:1, scope: shared, port: 5432}
proxy:
  image: nginx:1
  upstreams: {web: web, api: api}
  locations: [{path: /, upstream: web}, {path: /api/, upstream: api}]
"""
IMAGES = ["web:1", "api:1", "db:1", "nginx:1"]
BLUE = Active(state="blue", color="blue", detail="nginx routes to blue")
GREEN = Active(state="green", color="green", detail="nginx routes to green")
NONE = Active()


def make_spec(extra: str = "", text: str = SPEC) -> Spec:
    return load_spec(text + extra, filename="spec.yaml")


def make_live(**fields: Any) -> Live:
    nginx = {"running": True, "config_present": True, **fields.pop("nginx", {})}
    return Live(**{"project": "p", "nginx": LiveNginx(**nginx), "images": IMAGES, **fields})


def change(address: str, action: Action, kind: str, **fields: Any) -> Change:
    return Change(address=address, action=action, kind=kind, **fields)  # type: ignore[arg-type]


SWITCH = change("nginx.upstream.web", Action.SWITCH, "upstream")
CREATE_WEB = change("green.service.web", Action.CREATE, "service")


def steps(
    changes: list[Change],
    *,
    the_spec: Spec | None = None,
    active: Active = BLUE,
    live: Live | None = None,
    color: str = "green",
    recreate_shared: bool = False,
) -> list[Step]:
    the_spec = the_spec or make_spec()
    desired = expand(the_spec, color, spec_digest="0" * 64)
    return apply_steps(
        the_spec,
        desired,
        changes,
        active=active,
        live=live or make_live(),
        recreate_shared=recreate_shared,
    )


def table(the_steps: list[Step]) -> list[tuple[str, str | None, str, str | None]]:
    return [(s.name.value, s.color, s.detail, s.undo) for s in the_steps]


def named(the_steps: list[Step], name: StepName) -> Step:
    (step,) = [s for s in the_steps if s.name is name]
    return step


def names(the_steps: list[Step]) -> list[str]:
    return [s.name.value for s in the_steps]


# --- apply's steps ------------------------------------------------------------------------------


BUILT = """\
version: 1
project: p
services:
  web: {image: web:1, port: 8080}
  api: {build: {context: api}, image: reg/api, port: 3001}
  db: {image: db:1, scope: shared, port: 5432}
proxy:
  image: nginx:1
  upstreams: {web: web}
  locations: [{path: /, upstream: web}]
hooks:
  migrate: {service: api, command: x}
deploy: {keep_builds: 2}
"""


def test_a_deploy_and_switch_runs_every_step_in_order_with_its_undo() -> None:
    changes = [
        CREATE_WEB,
        change("green.service.api", Action.REPLACE, "service"),
        SWITCH,
    ]
    live = make_live(images=["web:1"])
    assert table(steps(changes, the_spec=make_spec(text=BUILT), live=live)) == [
        ("pre-checks", "green", "pre-deployment checks", None),
        ("images", "green", "build api → reg/api; pull db:1, nginx:1 (not on this host)", None),
        ("backup", None, "database, uploads and nginx config", None),
        ("deploy", "green", "green: create web; recreate api", "stop green"),
        ("health", "green", "green healthy", None),
        ("migrate", "green", "api: migrate", None),
        ("verify-direct", "green", "green answers directly", None),
        (
            "stage",
            "green",
            "green's nginx config, checked by `nginx -t` inside the running proxy",
            None,
        ),
        ("switch", "green", "nginx → green: install, reload, prove", "switch back to blue"),
        ("verify-proxy", "green", "green answers through nginx", None),
        (
            "prune-builds",
            None,
            "remove builds of reg/api beyond the newest 2 that no container uses",
            None,
        ),
    ]


def test_the_deploy_step_lists_each_kind_of_change_by_compose_service() -> None:
    changes = [
        change("green.service.web", Action.UPDATE, "service"),
        change("green.service.api", Action.CREATE, "service"),
        change("green.service.old", Action.DELETE, "service"),
        change("green.service.gone", Action.DELETE, "service", before={"image": "x"}),
        change("green.service.web-1", Action.DELETE, "service", before={"container": "c1"}),
        change("shared.service.db", Action.DELETE, "shared", before={"container": "c0"}),
    ]
    deploy = named(steps(changes, active=GREEN), StepName.DEPLOY)
    assert (
        deploy.detail
        == "green: create api; start web; remove gone, old; clean up 2 leftover containers"
    )
    assert deploy.undo is None  # green serves: stopping it would take the site down
    assert (deploy.services, deploy.remove, deploy.leftovers, deploy.recreate) == (
        ["api", "web"],
        ["gone", "old"],
        ["c0", "c1"],
        [],
    )


def test_leftovers_alone_are_a_deploy_that_only_cleans_up() -> None:
    leftover = change("green.service.web", Action.DELETE, "service", before={"container": "c1"})
    the_steps = steps([leftover], active=GREEN)
    assert names(the_steps) == ["pre-checks", "backup", "deploy", "health", "verify-direct"]
    assert named(the_steps, StepName.DEPLOY).detail == "green: clean up 1 leftover container"


@pytest.mark.parametrize("action", [Action.CREATE, Action.UPDATE])
def test_a_shared_service_created_or_updated_is_a_deploy_that_names_no_service(
    action: Action,
) -> None:
    the_steps = steps([change("shared.service.db", action, "shared")], active=GREEN)
    deploy = named(the_steps, StepName.DEPLOY)
    assert (deploy.detail, deploy.services) == ("green: up to date", [])


@pytest.mark.parametrize(
    "changes",
    [
        [change("shared.service.db", Action.REPLACE, "shared")],
        [change("shared.service.db", Action.DELETE, "shared")],
        [change("proxy.nginx", Action.REPLACE, "proxy")],
        [change("proxy.nginx", Action.DELETE, "proxy")],
    ],
    ids=["shared-replace", "shared-delete", "proxy-replace", "proxy-delete"],
)
def test_changes_held_back_without_recreate_shared_move_nothing(changes: list[Change]) -> None:
    assert steps(changes, active=GREEN) == []


def test_shared_replacements_are_held_back_unless_asked_for() -> None:
    the_spec = make_spec()
    desired = expand(the_spec, "green", spec_digest="0" * 64)
    replace = [change("shared.service.db", Action.REPLACE, "shared")]
    assert apply_steps(the_spec, desired, replace, active=GREEN, live=make_live()) == []


def test_path_fixes_alone_are_only_the_permissions_step() -> None:
    paths = [change(f"path.{n}", Action.UPDATE, "path") for n in ("a", "b")]
    assert table(steps(paths, active=GREEN)) == [("permissions", None, "fix 2 managed paths", None)]


def test_recreate_shared_recreates_the_shared_services_and_the_running_proxy() -> None:
    changes = [
        change("shared.service.db", Action.REPLACE, "shared"),
        change("proxy.nginx", Action.REPLACE, "proxy"),
        change("shared.service.x", Action.UPDATE, "shared"),
    ]
    deploy = named(steps(changes, active=GREEN, recreate_shared=True), StepName.DEPLOY)
    assert (deploy.detail, deploy.recreate) == ("green: recreate db, proxy", ["db", "proxy"])
    stopped = make_live(nginx={"running": False})
    deploy = named(
        steps(changes, active=GREEN, live=stopped, recreate_shared=True), StepName.DEPLOY
    )
    assert (deploy.detail, deploy.recreate) == ("green: recreate db", ["db"])
    only_proxy = steps(changes[1:2], active=GREEN, live=stopped, recreate_shared=True)
    assert only_proxy == []


def test_a_stopped_proxy_is_started_by_the_switch_not_recreated() -> None:
    proxy = change("proxy.nginx", Action.CREATE, "proxy")
    the_steps = steps([proxy], active=GREEN)
    assert names(the_steps) == [
        "pre-checks",
        "backup",
        "health",
        "verify-direct",
        "stage",
        "switch",
        "verify-proxy",
    ]


def test_a_switch_of_upstreams_wins_over_a_proxy_change() -> None:
    proxy = change("proxy.nginx", Action.REPLACE, "proxy")
    assert "switch" not in names(steps([proxy], active=GREEN, recreate_shared=True))
    assert "switch" in names(steps([proxy, SWITCH], active=GREEN))
    update = change("proxy.nginx", Action.UPDATE, "proxy")
    assert "switch" in names(steps([update], active=GREEN))


TAKEN = FieldChange(key="container", before="old-db", after="p-shared-db-1")


def test_replacing_a_taken_over_container_is_refused_while_a_taken_over_colour_runs() -> None:
    taken = change("shared.service.db", Action.REPLACE, "shared", fields=[TAKEN])
    running = [
        LiveContainer(id="1", color="blue", state="running", adopted="old-web"),
        LiveContainer(id="2", color="blue", state="running", adopted="old-api"),
        LiveContainer(id="3", color="blue", state="exited", adopted="old-x"),
        LiveContainer(id="4", state="running", adopted="old-db"),
        LiveContainer(id="5", color="blue", state="running"),
    ]
    with pytest.raises(SpecctlError) as caught:
        steps([taken], live=make_live(containers=running), recreate_shared=True)
    assert caught.value.message == (
        "cannot replace shared.service.db (taken over) while old-api, old-web, taken over too, "
        "still runs: it reaches them the way it always did, not through specctl's network"
    )
    assert caught.value.hint == (
        "deploy both colours with specctl first (`specctl apply`, then `specctl apply --target` "
        "the other colour), then `specctl apply --recreate-shared`"
    )


def test_every_taken_over_container_to_replace_is_named() -> None:
    taken = [
        change("shared.service.db", Action.REPLACE, "shared", fields=[TAKEN]),
        change("proxy.nginx", Action.REPLACE, "proxy", fields=[TAKEN]),
    ]
    running = [LiveContainer(id="1", color="blue", state="running", adopted="old-web")]
    with pytest.raises(
        SpecctlError, match=r"^cannot replace shared\.service\.db, proxy\.nginx \(taken"
    ):
        steps(taken, live=make_live(containers=running), recreate_shared=True)


def test_replacing_a_taken_over_container_goes_ahead_once_specctl_runs_the_colours() -> None:
    taken = change("shared.service.db", Action.REPLACE, "shared", fields=[TAKEN])
    other_field = change(
        "shared.service.db", Action.REPLACE, "shared", fields=[FieldChange(key="image"), TAKEN]
    )
    mine = [LiveContainer(id="1", color="blue", state="running")]
    adopted_web = [LiveContainer(id="1", color="blue", state="running", adopted="old-web")]
    assert "deploy" in names(steps([taken], live=make_live(containers=mine), recreate_shared=True))
    assert "deploy" in names(
        steps([other_field], live=make_live(containers=adopted_web), recreate_shared=True)
    )


def test_taken_over_containers_joining_the_network_are_adopted_first() -> None:
    takeovers = [
        Takeover(address="blue.service.web", container="old-web", id="1", why="w", aliases=["x"]),
        Takeover(address="blue.service.api", container="old-api", id="2", why="w", aliases=["y"]),
        Takeover(address="shared.service.db", container="old-db", id="3", why="w"),
        Takeover(
            address="proxy.nginx",
            container="old-nginx",
            id="4",
            why="w",
            aliases=["z"],
            joined=True,
        ),
    ]
    the_steps = steps([SWITCH], live=make_live(takeovers=takeovers))
    assert table(the_steps)[:2] == [
        ("pre-checks", "green", "pre-deployment checks", None),
        ("adopt", None, "take over old-web, old-api in place: join p-edge", "leave p-edge"),
    ]
    assert steps([], live=make_live(takeovers=takeovers)) == []


def test_images_are_only_fetched_for_a_deploy() -> None:
    assert "images" not in names(steps([SWITCH], live=make_live(images=[])))
    assert named(steps([CREATE_WEB], live=make_live(images=[])), StepName.IMAGES).detail == (
        "pull db:1, api:1, web:1, nginx:1 (not on this host)"
    )
    assert "images" not in names(steps([CREATE_WEB]))


SWARM = "engine: {kind: swarm, nodes: {n1: 'ssh://n1'}}\n"


def test_a_swarm_loading_images_always_has_an_images_step_for_a_deploy() -> None:
    swarm = make_spec(SWARM)
    assert named(steps([CREATE_WEB], the_spec=swarm), StepName.IMAGES).detail == (
        "load into the nodes what they lack"
    )
    missing = make_live(images=["web:1", "api:1", "db:1"])
    assert named(steps([CREATE_WEB], the_spec=swarm, live=missing), StepName.IMAGES).detail == (
        "pull nginx:1 (not on this host); load into the nodes what they lack"
    )
    assert "images" not in names(steps([SWITCH], the_spec=swarm))
    registry = make_spec("engine: {kind: swarm, images: registry, registry: 'r:5000'}\n")
    assert "images" not in names(steps([CREATE_WEB], the_spec=registry))


def test_a_swarm_deploy_is_undone_by_scaling_to_zero() -> None:
    deploy = named(steps([CREATE_WEB], the_spec=make_spec(SWARM)), StepName.DEPLOY)
    assert deploy.undo == "scale green to 0"


def test_without_backups_no_backup_step() -> None:
    assert "backup" not in names(
        steps([CREATE_WEB], the_spec=make_spec("backups: {enabled: false}\n"))
    )


def test_containers_of_a_taken_over_system_are_named_in_the_deploy() -> None:
    containers = [
        LiveContainer(id="1", project="p-shared", service="db", adopted="old-db"),
        LiveContainer(id="2", project="p-shared", service="cache"),
        LiveContainer(id="3", project="p-shared", adopted="old-unknown"),
        LiveContainer(id="4", project="p-green", service="web", adopted="old-web-g"),
        LiveContainer(id="5", project="p-green", service="api", adopted="old-api-g"),
        LiveContainer(id="6", project="p-green", service="x"),
        LiveContainer(id="7", project="p-blue", service="web", adopted="old-web-b"),
    ]
    deploy = named(steps([CREATE_WEB], live=make_live(containers=containers)), StepName.DEPLOY)
    assert deploy.adopted == {"db": "old-db"}
    assert deploy.detail == "green: create web; replace old-api-g, old-web-g (taken over)"
    assert deploy.leftovers == ["old-api-g", "old-web-g"]


def test_taken_over_containers_of_blue_give_way_while_green_serves() -> None:
    containers = [LiveContainer(id="7", project="p-blue", service="web", adopted="old-web-b")]
    create = change("blue.service.web", Action.CREATE, "service")
    the_steps = steps([create], color="blue", active=GREEN, live=make_live(containers=containers))
    deploy = named(the_steps, StepName.DEPLOY)
    assert (deploy.detail, deploy.leftovers) == (
        "blue: create web; replace old-web-b (taken over)",
        ["old-web-b"],
    )


@pytest.mark.parametrize(
    "active",
    [NONE, GREEN, Active(state="dangling", color="blue")],
    ids=["none", "green", "dangling"],
)
def test_taken_over_containers_of_the_target_stay_unless_another_colour_serves(
    active: Active,
) -> None:
    containers = [LiveContainer(id="4", project="p-green", service="web", adopted="old-web-g")]
    the_steps = steps([CREATE_WEB], active=active, live=make_live(containers=containers))
    deploy = named(the_steps, StepName.DEPLOY)
    assert (deploy.detail, deploy.leftovers) == ("green: create web", [])


CONTRACT = "hooks:\n  migrate: {service: api, command: x, contract: true}\n"


def test_a_contract_migration_puts_up_the_page_on_the_serving_colour() -> None:
    the_steps = steps([CREATE_WEB, SWITCH], the_spec=make_spec(CONTRACT))
    assert table(the_steps)[4:7] == [
        (
            "maintenance",
            "blue",
            "maintenance page instead of blue until the switch (a contract migration follows)",
            "maintenance off, unless the migration has run",
        ),
        ("migrate", "green", "api: migrate", None),
        ("verify-direct", "green", "green answers directly", None),
    ]
    assert named(the_steps, StepName.SWITCH).undo is None


@pytest.mark.parametrize(
    ("changes", "active"),
    [([CREATE_WEB], BLUE), ([CREATE_WEB, SWITCH], NONE), ([CREATE_WEB, SWITCH], GREEN)],
    ids=["no-switch", "nothing-serves", "target-serves"],
)
def test_no_page_without_a_switch_away_from_a_serving_colour(
    changes: list[Change], active: Active
) -> None:
    the_steps = steps(changes, the_spec=make_spec(CONTRACT), active=active)
    assert "maintenance" not in names(the_steps)
    assert "migrate" in names(the_steps)


def test_a_contract_migration_needs_specctls_own_proxy() -> None:
    live = make_live(nginx={"adopted": "old-nginx"})
    with pytest.raises(SpecctlError) as caught:
        steps([CREATE_WEB, SWITCH], the_spec=make_spec(CONTRACT), live=live)
    assert caught.value.message == (
        "a contract migration puts up the maintenance page, which needs specctl's own proxy; "
        "nginx is old-nginx, taken over"
    )
    assert caught.value.hint == (
        "replace it first (specctl apply --recreate-shared, once specctl runs both colours), or "
        "make hooks.migrate not a contract migration"
    )


def test_a_plain_migration_keeps_the_switch_back() -> None:
    plain = make_spec("hooks:\n  migrate: {service: api, command: x}\n")
    the_steps = steps([CREATE_WEB, SWITCH], the_spec=plain)
    assert "maintenance" not in names(the_steps)
    assert named(the_steps, StepName.SWITCH).undo == "switch back to blue"


@pytest.mark.parametrize("active", [NONE, GREEN], ids=["none", "green"])
def test_a_switch_with_nothing_else_serving_has_no_undo(active: Active) -> None:
    assert named(steps([SWITCH], active=active), StepName.SWITCH).undo is None


RETIRE = change("blue.service.web", Action.UPDATE, "retire")


def test_retiring_the_other_colour_is_verified_through_nginx_first() -> None:
    the_steps = steps([RETIRE, change("blue.service.api", Action.UPDATE, "retire")], active=GREEN)
    assert table(the_steps) == [
        ("verify-proxy", "green", "green answers through nginx", None),
        ("retire", "blue", "stop blue after 5s drain (containers and data kept)", None),
    ]
    assert named(the_steps, StepName.RETIRE).services == ["api", "web"]
    swarm = steps([RETIRE], the_spec=make_spec(SWARM + "deploy: {drain: 9s}\n"), active=GREEN)
    assert named(swarm, StepName.RETIRE).detail == (
        "scale blue to 0 after 9s drain (service specs kept)"
    )
    blue = steps([change("green.service.web", Action.UPDATE, "retire")], color="blue", active=BLUE)
    assert named(blue, StepName.RETIRE).color == "green"


def test_builds_are_pruned_only_after_a_deploy_of_built_images() -> None:
    two = make_spec(text=BUILT.replace("image: web:1", "build: {context: web}, image: reg/web"))
    assert named(steps([CREATE_WEB], the_spec=two), StepName.PRUNE_BUILDS).detail == (
        "remove builds of reg/api, reg/web beyond the newest 2 that no container uses"
    )
    built = make_spec(text=BUILT)
    assert "prune-builds" not in names(steps([SWITCH], the_spec=built))
    assert "prune-builds" not in names(steps([CREATE_WEB]))
    assert names(steps([CREATE_WEB], the_spec=built))[-1] == "prune-builds"


def test_a_bake_follows_the_switch_and_its_verification() -> None:
    baking = make_spec("deploy: {bake: {duration: 5m, max_p95: 400ms}}\n")
    the_steps = steps([CREATE_WEB, SWITCH, RETIRE], the_spec=baking)
    assert names(the_steps)[-4:] == ["switch", "verify-proxy", "bake", "retire"]
    assert named(the_steps, StepName.BAKE) == Step(
        name=StepName.BAKE,
        color="green",
        detail="watch green's requests in nginx's access log for 5m; switch back on a breach: "
        "5xx ≤ 1%, p95 ≤ 400ms (judged on the last 30s, ≥ 20 requests)",
    )


def test_the_names_of_the_proxy_and_of_unknown_addresses_are_their_compose_services() -> None:
    changes = [
        change("proxy.nginx", Action.REPLACE, "proxy"),
        change("shared.service.db", Action.REPLACE, "shared"),
        change("green.service.ghost", Action.REPLACE, "service"),
    ]
    deploy = named(steps(changes, recreate_shared=True), StepName.DEPLOY)
    assert (deploy.services, deploy.recreate) == (["ghost"], ["db", "proxy"])


# --- the bake ------------------------------------------------------------------------------------


BAKE_SPEC = "deploy: {bake: 5m}\n"
RULES = "switch back on a breach: 5xx ≤ 1% (judged on the last 30s, ≥ 20 requests)"


def resumed(**changes: Any) -> Live:
    bake = LiveBake(
        color="green", previous="blue", switched_at=0, until=3723, config_sha256="c", verdict=None
    )
    fields = {"color", "previous", "until", "config_sha256", "verdict"}
    bake = bake.model_copy(update={k: v for k, v in changes.items() if k in fields})
    nginx = {k: v for k, v in changes.items() if k not in fields}
    return make_live(bake=bake, nginx={"config_sha256": "c", **nginx})


def baked(
    live: Live, active: Active = GREEN, *, switch: bool = False, extra: str = BAKE_SPEC
) -> Step | None:
    return bake_step(make_spec(extra), "green", switch=switch, active=active, live=live)


def test_an_interrupted_bake_is_resumed_with_its_switch_back() -> None:
    assert baked(resumed()) == Step(
        name=StepName.BAKE,
        color="green",
        detail=f"resume green's interrupted bake (until 01:02:03 UTC); {RULES}",
        undo="switch back to blue",
    )
    step = baked(resumed(previous=None, verdict="5xx 7%"))
    assert step is not None
    assert (
        step.detail
        == f"resume green's interrupted bake (until 01:02:03 UTC); found before: 5xx 7%; {RULES}"
    )
    assert step.undo is None


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's clock in another time zone than UTC."""
    monkeypatch.setenv("TZ", "JST-9")  # POSIX form: no zone files needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_end_of_a_resumed_bake_is_shown_in_utc_whatever_the_hosts_zone(tokyo: None) -> None:
    step = baked(resumed())
    assert step is not None and "(until 01:02:03 UTC)" in step.detail


@pytest.mark.parametrize(
    ("live", "active"),
    [
        (make_live(), GREEN),
        (resumed(color="blue"), GREEN),
        (resumed(), BLUE),
        (resumed(pending_reload=True), GREEN),
        (resumed(config_sha256="other"), GREEN),
        (resumed(adopted="old-nginx"), GREEN),
    ],
    ids=["no-bake", "other-colour", "not-serving", "never-loaded", "other-config", "taken-over"],
)
def test_a_bake_is_only_resumed_where_its_switch_left_things(live: Live, active: Active) -> None:
    assert baked(live, active) is None


def test_no_bake_without_rules_or_without_a_colour_to_switch_back_to() -> None:
    assert baked(resumed(), extra="") is None
    assert baked(make_live(), BLUE, switch=True) is not None
    assert baked(make_live(), GREEN, switch=True) is None
    assert baked(make_live(), NONE, switch=True) is None
    assert baked(make_live(nginx={"adopted": "old"}), BLUE, switch=True) is None


# --- plans -------------------------------------------------------------------------------------


def plan(*the_steps: Step, active: str | None = "blue", target: str = "green") -> Plan:
    return Plan(
        project="p",
        target=target,
        active=active,
        active_state=active or "none",
        spec_hash="h",
        live_fingerprint="f",
        steps=list(the_steps),
    )


DEPLOYED = Step(name=StepName.DEPLOY, services=["web"])
UP_TO_DATE = Step(name=StepName.DEPLOY)
SWITCHED = Step(name=StepName.SWITCH)


def test_a_plan_is_current_without_a_switch_or_services_to_deploy() -> None:
    assert is_current(plan())
    assert is_current(plan(UP_TO_DATE, Step(name=StepName.RETIRE)))
    assert not is_current(plan(DEPLOYED))
    assert not is_current(plan(SWITCHED))


def test_a_preview_keeps_the_steps_before_traffic_then_adds_the_routes() -> None:
    before = [
        Step(name=name)
        for name in (
            StepName.PRE_CHECKS,
            StepName.ADOPT,
            StepName.IMAGES,
            StepName.PERMISSIONS,
            StepName.BACKUP,
            StepName.DEPLOY,
            StepName.HEALTH,
            StepName.MIGRATE,
            StepName.VERIFY_DIRECT,
            StepName.STAGE,
            StepName.SWITCH,
            StepName.VERIFY_PROXY,
            StepName.BAKE,
            StepName.RETIRE,
            StepName.PRUNE_BUILDS,
        )
    ]
    the_steps = preview_steps(plan(*before))
    assert names(the_steps) == [
        "pre-checks",
        "images",
        "permissions",
        "backup",
        "deploy",
        "health",
        "migrate",
        "verify-direct",
        "preview",
    ]
    assert the_steps[-1] == Step(
        name=StepName.PREVIEW,
        color="green",
        detail="cookie specctl_preview=green or header X-Specctl-Preview: green reach green; "
        "everyone else stays on blue (an nginx map, checked by `nginx -t`, proven)",
        undo="remove the preview routes",
    )


NOTHING_HINT = "a preview needs the other colour serving; plain `specctl apply` deploys"


@pytest.mark.parametrize(
    ("the_plan", "message"),
    [
        (plan(SWITCHED, active=None), "nothing to preview: green would not be switched to"),
        (
            plan(SWITCHED, active="green"),
            "nothing to preview: green would not be switched to (green serves already)",
        ),
        (plan(DEPLOYED), "nothing to preview: green would not be switched to"),
    ],
    ids=["nothing-serves", "target-serves", "no-switch"],
)
def test_a_preview_needs_a_switch_from_the_other_colour(the_plan: Plan, message: str) -> None:
    with pytest.raises(SpecctlError) as caught:
        preview_steps(the_plan)
    assert (caught.value.message, caught.value.hint) == (message, NOTHING_HINT)


def test_a_contract_migration_cannot_be_previewed() -> None:
    with pytest.raises(SpecctlError) as caught:
        preview_steps(plan(Step(name=StepName.MAINTENANCE), SWITCHED))
    assert caught.value.message == (
        "a contract migration cannot be previewed: the serving colour could not run on the "
        "migrated schema meanwhile"
    )
    assert (
        caught.value.hint == "apply without --preview (the maintenance page covers the migration)"
    )


# --- which colour serves -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "color"),
    [
        ("green-backend:8080", "green"),
        ("blue-backend", "blue"),
        ("backend:8080", None),
        ("red-backend:1", None),
        ("blue", "blue"),
        ("green-my-api:1", "green"),
    ],
)
def test_the_colour_of_a_server_is_its_first_word(server: str, color: str | None) -> None:
    assert server_color(server) == color


DESIRED_SPEC = make_spec()


def desired() -> Desired:
    return expand(DESIRED_SPEC, "blue", spec_digest="0" * 64)


def running(*names: str) -> list[LiveContainer]:
    return [
        LiveContainer(
            id=name, project=f"p-{name.split('-')[0]}", service=name.split("-")[1], state="running"
        )
        for name in names
    ]


def routed(upstreams: dict[str, list[str]], **fields: Any) -> Live:
    containers = fields.pop("containers", running("blue-web", "blue-api", "green-web", "green-api"))
    return make_live(nginx={"upstreams": upstreams, **fields}, containers=containers)


def test_a_preview_tells_the_colour_by_its_serving_block() -> None:
    live = routed(
        {"web": ["127.0.0.1:65001"], "api": ["blue-api:1", "maintenance:1"]},
        serving={"web": ["green-web:1"]},
    )
    assert upstream_colors(desired(), live) == {"web": "green", "api": "blue"}
    assert upstream_colors(desired(), routed({})) == {"web": None, "api": None}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            Live(
                project="p",
                containers=[
                    LiveContainer(id="x", color="blue", state="exited"),
                    LiveContainer(id="y", color="green", state="running"),
                    LiveContainer(id="z", state="running"),
                ],
            ),
            Active(state="none", detail="no live nginx config; green containers are running"),
        ),
        (
            Live(
                project="p",
                containers=[
                    LiveContainer(id="x", color="blue", state="running"),
                    LiveContainer(id="y", color="green", state="running"),
                    LiveContainer(id="w", color="blue", state="running"),
                ],
            ),
            Active(
                state="none", detail="no live nginx config; blue and green containers are running"
            ),
        ),
        (Live(project="p"), Active(state="none", detail="nothing deployed yet")),
        (
            routed({}, parse_error="line 3: unexpected }"),
            Active(
                state="unknown",
                detail="the live nginx config does not parse (line 3: unexpected }); nginx "
                "keeps serving what it loaded last",
            ),
        ),
        (
            routed({"web": ["green-web:1"], "api": ["blue-api:1"]}),
            Active(
                state="mixed",
                detail="upstreams point at different colours: api → blue, web → green",
            ),
        ),
        (
            routed({"web": ["green-web:1"]}),
            Active(
                state="mixed", detail="upstreams point at different colours: api → ?, web → green"
            ),
        ),
        (
            routed({"web": ["green-web:1"], "api": ["green-api:1"]}),
            Active(state="green", color="green", detail="nginx routes to green"),
        ),
        (
            routed({"web": ["blue-web:1"], "api": ["blue-api:1"]}, running=False),
            Active(
                state="blue",
                color="blue",
                detail="nginx routes to blue (the nginx container is not running)",
            ),
        ),
        (
            routed(
                {"web": ["green-web:1"], "api": ["green-api:1"]},
                containers=[
                    *running("blue-web", "blue-api"),
                    LiveContainer(id="g", project="p-green", service="web", state="exited"),
                ],
            ),
            Active(
                state="dangling",
                color="green",
                detail="nginx routes to green, but green-api, green-web are not running",
            ),
        ),
    ],
    ids=[
        "one-colour-running",
        "both-running",
        "nothing",
        "parse-error",
        "mixed",
        "one-unknown",
        "green",
        "nginx-stopped",
        "dangling",
    ],
)
def test_the_serving_colour_is_read_from_nginx_and_confirmed_by_containers(
    live: Live, expected: Active
) -> None:
    assert detect_active(desired(), live) == expected


@pytest.mark.parametrize(
    "active",
    [
        Active(state="mixed"),
        Active(state="unknown"),
        Active(state="dangling"),
        Active(state="none", color="green"),
    ],
    ids=["mixed", "unknown", "dangling-without-colour", "none"],
)
def test_without_a_serving_colour_blue_is_the_default_target(active: Active) -> None:
    assert default_target(active) == "blue"
