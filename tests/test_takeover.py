"""Taking over a system specctl did not create, the pure part: which running containers serve as
the spec's services, how the user's nginx config is switched in place, and the takeover plan.
No Docker needed; the end-to-end takeover under load is in test_import_compose."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.adopt import match_takeovers, present, switched_text, translate
from specctl.compiler.compile import Inputs, digest
from specctl.compiler.diff import plan_apply
from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import Active, Live, LiveContainer, LiveMount, LiveNginx, LivePort
from specctl.schemas.plan import StepName
from specctl.schemas.spec import COLORS, Spec

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
    volumes: [{volume: pgdata, target: /var/lib/postgresql/data}]
volumes:
  pgdata: {scope: shared, name: shop_pgdata}
proxy:
  image: nginx:1.22
  ports: [{host: 31999, container: 80, bind: 127.0.0.1}]
  base: nginx.conf
  upstreams:
    web: {service: web}
"""
BASE = """\
events {}
http {
  upstream web { server web:8080; }
  server { listen 80; location / { proxy_pass http://web; } }
}
"""


def _spec() -> Spec:
    return load_spec(SPEC, filename="spec.yaml")


def _desired(spec: Spec) -> dict[str, Any]:
    return {c: expand(spec, c, spec_digest="x" * 64) for c in COLORS}


def container(name: str, **fields: Any) -> LiveContainer:
    labels = fields.pop("labels", {})
    project, service = fields.pop("compose", (None, None))
    if project:
        labels = {
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            **labels,
        }
    return LiveContainer(
        id=f"id-{name}",
        name=name,
        project=project,
        service=service,
        state=fields.pop("state", "running"),
        labels=labels,
        **fields,
    )


LEGACY = [
    container("shop-web-1", compose=("shop", "web")),
    container("shop-db-1", compose=("shop", "db")),
    container(
        "shop-nginx-1",
        compose=("shop", "nginx"),
        published=[LivePort(ip="127.0.0.1", host=31999, container=80)],
        mounts=[
            LiveMount(source="/srv/shop/nginx.conf", target="/etc/nginx/nginx.conf", kind="bind")
        ],
    ),
]


def test_a_compose_project_of_the_spec_name_is_matched_service_by_service() -> None:
    spec = _spec()
    found = match_takeovers(spec, _desired(spec), LEGACY, base=None, network="shop-edge")
    by_address = {t.address: t for t in found}
    assert sorted(by_address) == ["blue.service.web", "proxy.nginx", "shared.service.db"]
    assert by_address["proxy.nginx"].why == "holds port 31999 of proxy.nginx"
    assert by_address["proxy.nginx"].config == "/srv/shop/nginx.conf"
    assert by_address["proxy.nginx"].aliases == []  # nginx never joins: its ports would move
    assert by_address["shared.service.db"].aliases == ["db"]
    assert by_address["blue.service.web"].aliases == []
    assert by_address["blue.service.web"].why == "Compose project shop, service web"


def test_names_carry_the_colour_and_what_is_not_theirs_is_left_alone() -> None:
    spec = _spec()
    others = [
        container("green-web"),  # by name, green's
        container("web-7", compose=("another", "web")),  # another project's web
        container("shop-web-2", compose=("shop", "web"), state="exited"),  # not serving
        container("x", compose=("shop", "db"), labels={"specctl.project": "shop"}),  # specctl's
        container("blue-worker"),  # no such service
        container("db"),  # a bare name: maybe another app's database
        container("web"),
    ]
    found = match_takeovers(spec, _desired(spec), others, base=None, network="shop-edge")
    assert [(t.address, t.container, t.why) for t in found] == [
        ("green.service.web", "green-web", "named green-web")
    ]


def test_a_taken_over_container_is_presented_as_the_service_it_serves_as() -> None:
    spec = _spec()
    desired = _desired(spec)
    found = match_takeovers(spec, desired, LEGACY, base=None, network="shop-edge")
    by_id = {c.id: c for c in LEGACY}
    shown = {t.address: present(by_id[t.id], t, desired["blue"]) for t in found}
    web = shown["blue.service.web"]
    assert (web.project, web.service, web.color, web.adopted) == (
        "shop-blue",
        "web",
        "blue",
        "shop-web-1",
    )
    proxy = shown["proxy.nginx"]
    assert (proxy.project, proxy.service, proxy.color) == ("shop-shared", "proxy", None)
    # The user's `server web:8080` names their blue web: in specctl's words, blue-web.
    assert translate("web:8080", list(shown.values()), desired) == "blue-web:8080"
    assert translate("cache:6379", list(shown.values()), desired) == "cache:6379"


def test_the_users_config_changes_only_on_the_server_line() -> None:
    desired = _desired(_spec())
    green = switched_text(BASE, desired["green"], filename="nginx.conf")
    assert green == BASE.replace("server web:8080;", "server green-web:8080;")
    # Back to their own blue container: the address it had.
    back = switched_text(green, desired["blue"], filename="nginx.conf", servers={"web": "web:8080"})
    assert back == BASE


def test_the_spec_hash_ignores_the_address_specctl_writes_on_the_server_line() -> None:
    """The base of a taken-over nginx is its live config: each switch rewrites the server line,
    and the generated files must not go stale for it."""
    spec = _spec()
    one = digest(spec, Inputs(spec_name="s", root_ref="..", base_nginx=BASE))
    two = digest(
        spec,
        Inputs(spec_name="s", root_ref="..", base_nginx=BASE.replace("web:8080", "green-web:8080")),
    )
    three = digest(
        spec, Inputs(spec_name="s", root_ref="..", base_nginx=BASE.replace("80;", "81;"))
    )
    assert one == two != three


def _live(spec: Spec, nginx_upstreams: dict[str, list[str]]) -> Live:
    desired = _desired(spec)
    found = match_takeovers(spec, desired, LEGACY, base=None, network="shop-edge")
    by_id = {c.id: c for c in LEGACY}
    return Live(
        project="shop",
        containers=[present(by_id[t.id], t, desired["blue"]) for t in found],
        nginx=LiveNginx(
            running=True, config_present=True, upstreams=nginx_upstreams, adopted="shop-nginx-1"
        ),
        takeovers=found,
    )


def test_the_takeover_plan_deploys_the_other_colour_and_keeps_theirs() -> None:
    spec = _spec()
    desired = _desired(spec)
    live = _live(spec, {"web": ["blue-web:8080"]})
    active = Active(color="blue", state="blue", detail="nginx routes to blue")
    plan = plan_apply(spec, desired, live, active=active, env_prints={"blue": {}, "green": {}})
    assert plan.target == "green"
    assert [s.name for s in plan.steps][:2] == [StepName.PRE_CHECKS, StepName.ADOPT]
    assert plan.step(StepName.ADOPT).detail == "take over shop-db-1 in place: join shop-edge"
    deploy = plan.step(StepName.DEPLOY)
    assert deploy.adopted == {"db": "shop-db-1", "proxy": "shop-nginx-1"}
    assert deploy.leftovers == []  # their blue keeps running
    assert plan.step(StepName.RETIRE) is None
    assert any(n.startswith("unmanaged, serving: shop-nginx-1") for n in plan.notes)


def test_theirs_are_replaced_only_once_specctl_runs_both_colours() -> None:
    spec = _spec()
    desired = _desired(spec)
    live = _live(spec, {"web": ["green-web:8080"]})
    active = Active(color="green", state="green", detail="nginx routes to green")
    with pytest.raises(SpecctlError, match="while shop-web-1, taken over too, still runs"):
        plan_apply(
            spec,
            desired,
            live,
            active=active,
            env_prints={"blue": {}, "green": {}},
            requested="green",
            recreate_shared=True,
        )
    blue = plan_apply(
        spec, desired, live, active=active, env_prints={"blue": {}, "green": {}}, requested="blue"
    )
    assert blue.step(StepName.DEPLOY).leftovers == ["shop-web-1"]  # gives way to specctl's


def test_only_an_nginx_on_the_proxys_port_is_taken_for_it() -> None:
    spec = _spec()
    desired = _desired(spec)
    port = [LivePort(ip="0.0.0.0", host=31999, container=3478)]
    turn = container("coturn", image="coturn/coturn:4", published=port)
    theirs = container("edge", image="nginx:1.25", published=port)
    assert match_takeovers(spec, desired, [turn], base=None, network="n") == []
    assert [
        t.container for t in match_takeovers(spec, desired, [theirs], base=None, network="n")
    ] == ["edge"]
    # specctl's own proxy runs: nothing else is ever nginx for it.
    assert (
        match_takeovers(spec, desired, [theirs], base=None, network="n", proxy_running=True) == []
    )


def test_a_plain_container_named_for_the_project_is_matched() -> None:
    spec = _spec()
    found = match_takeovers(spec, _desired(spec), [container("shop-db")], base=None, network="n")
    assert [(t.address, t.why) for t in found] == [("shared.service.db", "named shop-db")]
