"""compiler/adopt (pure): which running containers a takeover matches, how their names and the
user's nginx config read in specctl's words; and compiler/pick (pure): which containers an
operator command means and how its options read."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from specctl.compiler.adopt import (
    config_mount,
    match_takeovers,
    own_address,
    switched_text,
    translate,
)
from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from specctl.compiler.pick import (
    exec_argv,
    grep_pattern,
    parse_since,
    pick,
    shared_names,
    split_stamp,
)
from specctl.schemas.desired import Desired
from specctl.schemas.errors import CompileError, SpecctlError
from specctl.schemas.live import LiveContainer, LiveMount, LivePort
from specctl.schemas.spec import COLORS, Spec

SPEC = """\
version: 1
project: shop
services:
  web:
    image: app:1
    port: 8080
  shop:
    image: app:1
    port: 8081
  legacy:
    image: app:1
    container_name: "{color}-legacy-1"
  main_db:
    image: postgres:15
    scope: shared
proxy:
  image: nginx:1.22
  ports: [{host: 31998, container: 80}, {host: 31999, container: 443}]
  upstreams:
    web: {service: web}
  locations: [{path: /, upstream: web}]
"""
NETWORK = "shop-edge"
BASE = "/srv/shop/site.conf"


@cache
def spec() -> Spec:
    return load_spec(SPEC, filename="spec.yaml")


@cache
def desired() -> dict[str, Desired]:
    loaded = spec()
    return {c: expand(loaded, c, spec_digest="x" * 64) for c in COLORS}


def running(
    name: str | None, *, compose: tuple[str, str | None] | None = None, **fields: Any
) -> LiveContainer:
    """A running container; `compose` is its (project, service) labels, service None: none."""
    labels: dict[str, str] = {}
    if compose is not None:
        labels["com.docker.compose.project"] = compose[0]
        if compose[1] is not None:
            labels["com.docker.compose.service"] = compose[1]
    return LiveContainer(
        id=fields.pop("id", f"id-{name}"),
        name=name,
        project=compose[0] if compose else None,
        service=compose[1] if compose else None,
        state=fields.pop("state", "running"),
        labels=labels,
        **fields,
    )


def matched(containers: list[LiveContainer], **kw: Any) -> list[tuple[str, str, str]]:
    kw.setdefault("base", None)
    found = match_takeovers(spec(), desired(), containers, network=NETWORK, **kw)
    return [(t.address, t.container, t.why) for t in found]


# Which containers are taken over -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("shop-main-db-1", "shared.service.main_db"),  # project prefix and replica number off
        ("main-db-1", "shared.service.main_db"),  # no project prefix to take off
        ("shop-1", "blue.service.shop"),  # a service named like the project keeps its name
    ],
)
def test_a_container_of_the_project_without_a_service_label_is_matched_by_its_name(
    name: str, address: str
) -> None:
    found = matched([running(name, compose=("shop", None))])
    assert found == [(address, name, "Compose project shop, service None")]


@pytest.mark.parametrize(
    ("compose", "name", "address", "why"),
    [
        (("shop", "web"), "legacy1", "blue.service.web", "Compose project shop, service web"),
        (
            ("shop-green", "web"),
            "legacy1",
            "green.service.web",
            "Compose project shop-green, service web",
        ),
        (
            ("shop", "web-green"),
            "legacy1",
            "green.service.web",
            "Compose project shop, service web-green",
        ),
        # Another app's project: only the container's own name counts, its colour too.
        (("green-tools", "green-web"), "blue-web", "blue.service.web", "named blue-web"),
        (("another", "web"), "shop-main_db", "shared.service.main_db", "named shop-main_db"),
    ],
)
def test_the_colour_and_service_come_from_the_project_the_service_or_the_name(
    compose: tuple[str, str], name: str, address: str, why: str
) -> None:
    assert matched([running(name, compose=compose)]) == [(address, name, why)]


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("shop-web", "blue.service.web"),
        ("shop_web", "blue.service.web"),
        ("web-green", "green.service.web"),
        ("blue-legacy-1", "blue.service.legacy"),  # the spec's container_name
    ],
)
def test_a_plain_container_is_matched_by_the_names_that_mean_the_service(
    name: str, address: str
) -> None:
    assert matched([running(name)]) == [(address, name, f"named {name}")]


def test_a_plain_container_named_only_like_the_service_is_not_matched() -> None:
    assert matched([running("legacy-1"), running("main-db"), running("web-1")]) == []


def test_the_first_container_by_name_wins_an_address_and_the_others_still_count() -> None:
    containers = [
        running("web-green", id="m1"),
        running("web-blue", id="a1"),  # blue's web again: blue-web came first
        running("blue-web", id="z1"),
    ]
    assert matched(containers) == [
        ("blue.service.web", "blue-web", "named blue-web"),
        ("green.service.web", "web-green", "named web-green"),
    ]


def test_a_container_that_is_not_running_is_skipped_and_the_next_one_matched() -> None:
    containers = [running("blue-web", state="exited"), running("web-blue")]
    assert matched(containers) == [("blue.service.web", "web-blue", "named web-blue")]


def test_a_container_without_a_name_is_shown_by_its_short_id() -> None:
    nameless = running(None, compose=("shop", "web"), id="0123456789abcdef0123")
    assert matched([nameless]) == [
        ("blue.service.web", "0123456789ab", "Compose project shop, service web")
    ]


def test_a_takeover_says_whether_it_is_on_the_projects_network_already() -> None:
    containers = [
        running("blue-web", networks=[NETWORK]),
        running("shop-main_db", networks=["bridge"]),
        running("edge", image="nginx:1.25", published=[LivePort(host=31999)], networks=[NETWORK]),
    ]
    found = match_takeovers(spec(), desired(), containers, base=None, network=NETWORK)
    assert [(t.address, t.joined, t.aliases) for t in found] == [
        ("blue.service.web", True, []),
        ("proxy.nginx", True, []),
        ("shared.service.main_db", False, ["main_db"]),
    ]


# The proxy ---------------------------------------------------------------------------------------


def test_an_nginx_on_every_port_of_the_proxy_names_them_all() -> None:
    ports = [LivePort(host=31999), LivePort(host=8443), LivePort(host=31998)]
    edge = running("edge", image="nginx:1.25", published=ports)
    assert matched([edge]) == [("proxy.nginx", "edge", "holds port 31998, 31999 of proxy.nginx")]


def test_an_nginx_on_other_ports_is_not_the_proxy() -> None:
    assert matched([running("edge", image="nginx:1.25", published=[LivePort(host=8080)])]) == []


def test_a_second_nginx_on_the_proxys_port_is_skipped_and_the_next_one_matched() -> None:
    port = [LivePort(host=31999)]
    containers = [
        running("edge-a", image="nginx:1.25", published=port),
        running("edge-b", image="nginx:1.25", published=port),
        running("shop-main_db"),
    ]
    assert matched(containers) == [
        ("proxy.nginx", "edge-a", "holds port 31999 of proxy.nginx"),
        ("shared.service.main_db", "shop-main_db", "named shop-main_db"),
    ]


def test_a_proxy_that_loads_proxy_base_counts_whatever_its_image() -> None:
    mounted = [
        LiveMount(source=BASE, target="/usr/local/openresty/nginx/conf/site.conf", kind="bind")
    ]
    edge = running(
        "edge", image="openresty/openresty:1", published=[LivePort(host=31998)], mounts=mounted
    )
    found = match_takeovers(spec(), desired(), [edge], base=BASE, network=NETWORK)
    assert [(t.address, t.config) for t in found] == [("proxy.nginx", BASE)]


def bind(source: str, target: str, kind: str = "bind") -> LiveMount:
    return LiveMount(source=source, target=target, kind=kind)


HTML = bind("/srv/shop/html", "/usr/share/nginx/html")
MAIN = bind("/srv/shop/nginx.conf", "/etc/nginx/nginx.conf")
AT_BASE = bind(BASE, "/etc/nginx/conf.d/default.conf")


@pytest.mark.parametrize(
    ("mounts", "base", "config"),
    [
        ([HTML, MAIN], None, "/srv/shop/nginx.conf"),
        ([HTML, MAIN], BASE, "/srv/shop/nginx.conf"),
        ([HTML, AT_BASE], BASE, BASE),
        ([MAIN, AT_BASE], BASE, BASE),  # proxy.base first
        ([HTML, AT_BASE], None, None),
        ([bind("pgdata", "/etc/nginx/nginx.conf", kind="volume")], None, None),
        ([], BASE, None),
    ],
)
def test_the_config_a_proxy_loads_is_proxy_base_else_its_main_config(
    mounts: list[LiveMount], base: str | None, config: str | None
) -> None:
    assert config_mount(running("edge", mounts=mounts), base) == config


# Names in the user's nginx config ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "adopted", "server", "address"),
    [
        ({"com.docker.compose.service": "web"}, "shop-web-1", "blue-web:8080", "web:8080"),
        ({}, "shop-web-1", "blue-web:8080", "shop-web-1:8080"),
        ({}, None, "blue-web:8080", "0123456789ab:8080"),
        ({"com.docker.compose.service": "web"}, None, "blue-web", "web"),
        ({"com.docker.compose.service": "web"}, None, "blue-web:http", "web"),
        ({"com.docker.compose.service": "web"}, None, "[::1]:8080", "web:8080"),
    ],
)
def test_a_taken_over_container_keeps_the_address_it_had(
    labels: dict[str, str], adopted: str | None, server: str, address: str
) -> None:
    c = LiveContainer(id="0123456789abcdef", labels=labels, adopted=adopted)
    assert own_address(c, server) == address


def presented(adopted: str, labels: dict[str, str] | None = None) -> LiveContainer:
    """A container taken over as blue's web, as present() shows it."""
    return LiveContainer(
        id=f"id-{adopted}",
        name=adopted,
        project="shop-blue",
        service="web",
        color="blue",
        adopted=adopted,
        labels=labels or {},
    )


@pytest.mark.parametrize(
    ("server", "address"),
    [
        ("legacy-web:8080", "blue-web:8080"),
        ("Legacy-Web:8080", "blue-web:8080"),
        ("legacy-web", "blue-web"),
        ("legacy-web:http", "legacy-web:http"),  # not a port: the server as written
        ("other:8080", "other:8080"),
    ],
)
def test_a_server_naming_a_taken_over_container_is_its_colours_alias(
    server: str, address: str
) -> None:
    containers = [
        LiveContainer(id="mine", name="blue-web", project="shop-blue", service="web", color="blue"),
        presented("legacy-web"),
    ]
    assert translate(server, containers, desired()) == address


def test_a_server_naming_the_compose_service_of_a_taken_over_container_is_its_alias() -> None:
    containers = [presented("shop-web-1", {"com.docker.compose.service": "App"})]
    assert translate("app:80", containers, desired()) == "blue-web:80"


CONFIG = """\
events {}
http {
  upstream web { server web:8080; }
  server { listen 80; root /srv/blue; # specctl: per-colour
    location / { proxy_pass http://web; } }
}
"""


def test_the_users_config_is_switched_with_its_per_colour_lines() -> None:
    green = switched_text(CONFIG, desired()["green"], filename="nginx.conf")
    assert green == CONFIG.replace("web:8080", "green-web:8080").replace("/srv/blue", "/srv/green")


def test_an_upstream_in_a_stream_block_is_left_as_it_is() -> None:
    text = "stream {\n  upstream web { server web:9000; }\n}\n" + CONFIG
    green = switched_text(text, desired()["green"], filename="nginx.conf")
    assert green.split("\n")[1] == "  upstream web { server web:9000; }"
    assert green.split("\n")[5] == "  upstream web { server green-web:8080; }"


def test_a_config_without_the_upstream_is_left_as_it_is() -> None:
    text = "events {}\nhttp {\n  upstream api { server api:80; }\n}\n"
    assert switched_text(text, desired()["green"], filename="nginx.conf") == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http {\n  upstream web { server web:8080;\n", "nginx.conf:"),
        (
            "http {\n  upstream web {\n    server blue-web:8080;\n    server green-web:8080;\n  }\n}\n",
            "nginx.conf:4: upstream 'web' lists blue-web:8080 and green-web:8080",
        ),
    ],
)
def test_a_config_specctl_cannot_switch_names_the_file(text: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        switched_text(text, desired()["green"], filename="nginx.conf")
    assert caught.value.message.startswith(message)


# Which containers an operator command means ------------------------------------------------------


def mine(
    service: str | None, color: str | None, name: str, project: str | None = "shop"
) -> LiveContainer:
    return LiveContainer(id=f"id-{name}", name=name, project=project, service=service, color=color)


FLEET = [
    mine("web", "green", "shop-green-web-1"),
    mine("web", "blue", "shop-blue-web-1"),
    mine("shop", "blue", "shop-blue-shop-1"),
    mine("main_db", None, "shop-shared-main_db-1"),
    mine("main_db", "blue", "stray-main_db"),  # a colour's copy of a shared name: not it
    mine("proxy", None, "shop-shared-proxy-1"),
    mine("proxy", "blue", "odd-proxy"),
    mine("web", "blue", "theirs-web", project=None),  # not a project's: never picked
]


def picked(service: str | None, color: str, containers: list[LiveContainer] = FLEET) -> list[str]:
    found = pick(containers, spec=spec(), proxy="proxy", service=service, color=color)
    return [c.name or "" for c in found]


def test_the_shared_names_are_the_shared_services_and_the_proxy() -> None:
    assert shared_names(spec(), "proxy") == ["main_db", "proxy"]


@pytest.mark.parametrize(
    ("service", "color", "names"),
    [
        (None, "blue", ["shop-blue-shop-1", "shop-blue-web-1"]),
        (None, "green", ["shop-green-web-1"]),
        ("web", "green", ["shop-green-web-1"]),
        ("web", "blue", ["shop-blue-web-1"]),
        ("main_db", "green", ["shop-shared-main_db-1"]),
        ("proxy", "blue", ["shop-shared-proxy-1"]),
    ],
)
def test_a_command_picks_a_service_of_the_colour_or_a_shared_one_whatever_the_colour(
    service: str | None, color: str, names: list[str]
) -> None:
    assert picked(service, color) == names


def test_the_containers_picked_are_sorted_by_service_then_name() -> None:
    containers = [
        mine("web", "blue", "b"),
        mine("web", "blue", "a"),
        mine("A", "blue", "c"),
        mine(None, "blue", "z"),
        mine(None, "blue", "y"),
    ]
    assert picked(None, "blue", containers) == ["y", "z", "c", "a", "b"]


def test_containers_without_a_name_sort_first() -> None:
    containers = [
        mine("web", "blue", "1-web"),
        LiveContainer(id="n", project="shop", service="web", color="blue"),
    ]
    assert [
        c.id for c in pick(containers, spec=spec(), proxy="proxy", service="web", color="blue")
    ] == ["n", "id-1-web"]


@pytest.mark.parametrize(
    ("service", "color", "message", "hint"),
    [
        (
            "cache",
            "blue",
            "no service 'cache' in the spec",
            "services: legacy, main_db, proxy, shop, web",
        ),
        (
            None,
            "green",
            "green has no containers",
            "specctl status shows what runs; is green deployed?",
        ),
        (
            "legacy",
            "blue",
            "blue.service.legacy has no container",
            "specctl status shows what runs; is blue deployed?",
        ),
        (
            "main_db",
            "blue",
            "shared.service.main_db has no container",
            "specctl status shows what runs; is blue deployed?",
        ),
    ],
)
def test_an_unknown_name_or_a_service_with_no_container_is_an_error(
    service: str | None, color: str, message: str, hint: str
) -> None:
    containers = [mine("web", "blue", "shop-blue-web-1"), mine("main_db", "green", "x")]
    with pytest.raises(SpecctlError) as caught:
        pick(containers, spec=spec(), proxy="proxy", service=service, color=color)
    assert (caught.value.message, caught.value.hint) == (message, hint)


def test_grep_is_a_regular_expression() -> None:
    assert grep_pattern(None) is None
    pattern = grep_pattern("err(or)?")
    assert pattern is not None and pattern.pattern == "err(or)?"
    with pytest.raises(SpecctlError) as caught:
        grep_pattern("err(")
    assert caught.value.message == (
        "--grep 'err(': not a regular expression (missing ), unterminated subpattern at position 3)"
    )
    assert caught.value.hint is None


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        (
            "2026-12-02T04:50:01.123456789Z GET / 200",
            ("2026-12-02T04:50:01.123456789Z", "GET / 200"),
        ),
        ("2026-12-02T04:50:01Z", ("2026-12-02T04:50:01Z", "")),
    ],
)
def test_a_log_line_splits_into_its_stamp_and_text(line: str, parts: tuple[str, str]) -> None:
    assert split_stamp(line) == parts


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "since"),
    [
        (None, None),
        ("10m", NOW - 600),
        ("1h30m", NOW - 5400),
        ("2026-12-02T04:00:00Z", 1796184000.0),
        ("2026-12-02T05:00:00+01:00", 1796184000.0),
    ],
)
def test_since_is_a_duration_ago_or_a_time(text: str | None, since: float | None) -> None:
    assert parse_since(text, now=NOW) == since


def test_since_a_date_with_z_is_that_midnight_in_utc(new_york: None) -> None:
    assert parse_since("2026-12-02Z", now=NOW) == 1_796_169_600.0
    assert parse_since("2026-12-02T00:00:00Z", now=NOW) == 1_796_169_600.0
    assert parse_since("2026-12-02T00:00:00+00:00", now=NOW) == 1_796_169_600.0
    assert parse_since("2026-12-02", now=NOW) == 1_796_169_600.0 + 5 * 3600  # local midnight
    assert parse_since("2026-12-02T00:00:00", now=NOW) == 1_796_169_600.0 + 5 * 3600


def test_since_that_is_neither_is_an_error() -> None:
    with pytest.raises(SpecctlError) as caught:
        parse_since("yesterday", now=NOW)
    assert caught.value.message == (
        "--since 'yesterday': not a duration (10m, 2h) or a time (2026-12-02T04:00:00Z)"
    )


@pytest.mark.parametrize(
    ("kw", "argv"),
    [
        ({"interactive": False, "tty": False}, "docker exec shop-web-1 sh -c ls"),
        (
            {"interactive": True, "tty": True, "user": "root", "workdir": "/app"},
            "docker exec --interactive --tty --user root --workdir /app shop-web-1 sh -c ls",
        ),
        ({"interactive": True, "tty": False}, "docker exec --interactive shop-web-1 sh -c ls"),
        ({"interactive": False, "tty": True}, "docker exec --tty shop-web-1 sh -c ls"),
    ],
)
def test_the_exec_command_line(kw: dict[str, Any], argv: str) -> None:
    assert " ".join(exec_argv("shop-web-1", ["sh", "-c", "ls"], **kw)) == argv
