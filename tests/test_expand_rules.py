"""compiler/expand.py, rule by rule: names, ports, mounts, health checks, paths and the hashes
that decide a recreate, for each colour and for the shared services; pure."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from specctl.compiler.expand import (
    expand,
    finish,
    healthcheck,
    network_name,
    port_mapping,
    project_names,
    recipe,
    spec_hash,
    view_json,
    view_of,
    volume_name,
)
from specctl.schemas.desired import Desired, DesiredMount, DesiredService
from specctl.schemas.spec import Spec

DIGEST = "0" * 64


def make_spec(services: dict[str, Any], **top: Any) -> Spec:
    doc: dict[str, Any] = {"project": "shop", "services": services, "proxy": {"image": "nginx"}}
    return Spec.model_validate({**doc, **top})


def expanded(spec: Spec, color: str = "blue") -> Desired:
    return expand(spec, color, spec_digest=DIGEST)


def one(services: dict[str, Any], color: str | None = "blue", **top: Any) -> DesiredService:
    """The only service of a spec, as `color` runs it (None: the shared one)."""
    desired = expanded(make_spec(services, **top), color or "blue")
    (svc,) = desired.services if color else desired.shared
    return svc


# --- names, port mappings and the spec hash -------------------------------------------------------


def test_a_port_mapping_names_its_address_only_when_given_one() -> None:
    assert list(port_mapping(8080, 80).items()) == [
        ("target", 80),
        ("published", "8080"),
        ("protocol", "tcp"),
    ]
    assert list(port_mapping(8080, 80, "127.0.0.1").items()) == [
        ("target", 80),
        ("published", "8080"),
        ("host_ip", "127.0.0.1"),
        ("protocol", "tcp"),
    ]


def test_each_colour_and_the_shared_services_have_their_own_project() -> None:
    spec = make_spec({"web": {"image": "w"}}, project="my-shop")
    assert project_names(spec) == {
        "blue": "my-shop-blue",
        "green": "my-shop-green",
        "shared": "my-shop-shared",
    }
    assert network_name(spec) == "my-shop-edge"


def test_the_spec_hash_is_of_what_differs_from_the_defaults_then_each_extra_text() -> None:
    spec = make_spec({"web": {"image": "w", "port": 80}})
    meaning = (
        b'{"project":"shop","services":{"web":{"image":"w","port":80}},"proxy":{"image":"nginx"}}'
    )
    assert spec_hash(spec) == hashlib.sha256(meaning).hexdigest()
    assert spec_hash(spec, "a", "b") == hashlib.sha256(meaning + b"\0a\0b").hexdigest()
    assert spec_hash(spec, "ab") != spec_hash(spec, "a", "b")


def test_writing_out_a_default_does_not_change_the_spec_hash() -> None:
    plain = make_spec({"web": {"image": "w"}})
    spelled = make_spec({"web": {"image": "w", "restart": "unless-stopped", "scope": "color"}})
    assert spec_hash(plain) == spec_hash(spelled)


# --- one colour expanded ---------------------------------------------------------------------------


def test_a_colour_gets_its_own_services_and_the_shared_ones_in_name_order() -> None:
    spec = make_spec(
        {
            "web": {"image": "w"},
            "api": {"image": "a"},
            "redis": {"image": "r", "scope": "shared"},
            "mail": {"image": "m", "scope": "shared"},
        },
        state_dir="/var/lib/shop",
    )
    green = expand(spec, "green", spec_digest="abc")
    assert (green.project, green.color, green.color_project, green.shared_project) == (
        "shop",
        "green",
        "shop-green",
        "shop-shared",
    )
    assert (green.network, green.spec_hash, green.live_config_dir) == (
        "shop-edge",
        "abc",
        "/var/lib/shop/nginx",
    )
    assert [(s.name, s.address, s.project) for s in green.services] == [
        ("api", "green.service.api", "shop-green"),
        ("web", "green.service.web", "shop-green"),
    ]
    assert [(s.name, s.address, s.project, s.color) for s in green.shared] == [
        ("mail", "shared.service.mail", "shop-shared", None),
        ("redis", "shared.service.redis", "shop-shared", None),
    ]
    assert [(s.scope, s.color, s.aliases) for s in green.services] == [
        ("color", "green", ["green-api"]),
        ("color", "green", ["green-web"]),
    ]
    assert [(s.scope, s.aliases) for s in green.shared] == [
        ("shared", ["mail"]),
        ("shared", ["redis"]),
    ]


def test_project_and_colour_are_filled_in_for_a_colour_and_only_project_for_shared() -> None:
    service = {
        "image": "reg/{project}:{color}",
        "command": ["run", "{project}-{color}"],
        "compose": {"x-{color}": {"{project}": ["{color}", 3, True, None]}},
    }
    blue = one({"web": service})
    assert blue.image == "reg/shop:blue"
    assert blue.command == ["run", "shop-blue"]
    assert blue.compose == {"x-blue": {"shop": ["blue", 3, True, None]}}
    shared = one({"web": {**service, "scope": "shared"}}, color=None)
    assert shared.image == "reg/shop:{color}"
    assert shared.command == ["run", "shop-{color}"]
    assert shared.compose == {"x-{color}": {"shop": ["{color}", 3, True, None]}}


def test_a_command_written_as_one_string_is_filled_in_too() -> None:
    assert one({"web": {"image": "w", "command": "serve --as {color}"}}, "green").command == (
        "serve --as green"
    )
    assert one({"web": {"image": "w"}}).command is None


def test_a_build_keeps_only_what_was_written_with_the_colour_filled_in() -> None:
    build = {"context": "./{color}", "args": {"FLAVOUR": "{project}-{color}"}}
    assert one({"web": {"build": build}}, "green").build == {
        "context": "./green",
        "args": {"FLAVOUR": "shop-green"},
    }
    assert one({"web": {"image": "w"}}).build is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (3, "3"), (1.5, "1.5"), ("db_{color}", "db_green")],
)
def test_an_environment_value_reaches_the_container_as_text(value: object, text: str) -> None:
    svc = one({"web": {"image": "w", "environment": {"X": value}}}, "green")
    assert svc.environment == {"X": text}


def test_env_files_are_per_colour_paths_for_a_colour_and_as_written_for_shared() -> None:
    files = ["./env/.env.{color}", "env/../.env"]
    assert one({"web": {"image": "w", "env_files": files}}, "green").env_files == [
        "env/.env.green",
        ".env",
    ]
    shared = one({"web": {"image": "w", "env_files": files, "scope": "shared"}}, None)
    assert shared.env_files == files


def test_required_env_restart_and_port_are_carried_over() -> None:
    svc = one(
        {"web": {"image": "w", "port": 80, "required_env": ["B", "A"], "restart": "on-failure"}}
    )
    assert (svc.port, svc.required_env, svc.restart) == (80, ["B", "A"], "on-failure")


def test_depends_on_is_kept_in_name_order() -> None:
    svc = one(
        {
            "web": {"image": "w", "depends_on": {"redis": "started", "db": "healthy"}},
            "db": {"image": "d", "scope": "shared"},
            "redis": {"image": "r", "scope": "shared"},
        }
    )
    assert list(svc.depends_on.items()) == [("db", "healthy"), ("redis", "started")]


def test_resources_keep_only_what_was_set() -> None:
    svc = one({"web": {"image": "w", "resources": {"memory": "512M", "cpus": 1.5}}})
    assert svc.resources == {"memory": "512M", "cpus": 1.5}
    assert one({"web": {"image": "w"}}).resources == {}


# --- host ports ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host_port", "color", "expected"),
    [
        (None, "blue", None),
        (8080, "blue", 8080),
        (8080, None, 8080),
        ({"offset": 3}, "blue", 4003),
        ({"offset": 3}, "green", 5003),
        ({"offset": 0}, "green", 5000),
        ({"blue": 7001, "green": 7002}, "blue", 7001),
        ({"blue": 7001, "green": 7002}, "green", 7002),
        ({"offset": 3}, None, None),
        ({"blue": 7001, "green": 7002}, None, None),
    ],
)
def test_the_host_port_of_each_colour(
    host_port: object, color: str | None, expected: int | None
) -> None:
    web: dict[str, Any] = {"image": "w", "port": 80, "host_port": host_port}
    if color is None:
        web["scope"] = "shared"
    assert one({"web": web}, color).host_port == expected


def test_a_colours_port_base_is_its_own() -> None:
    colors = {"blue": {"port_base": 6000}, "green": {"port_base": 9000}}
    web = {"image": "w", "port": 80, "host_port": {"offset": 7}}
    assert one({"web": web}, "blue", colors=colors).host_port == 6007
    assert one({"web": web}, "green", colors=colors).host_port == 9007


def test_a_host_port_is_published_on_loopback_unless_bound_to_every_address() -> None:
    web = {"image": "w", "port": 80, "host_port": 8080}
    assert one({"web": web}).host_ip == "127.0.0.1"
    assert one({"web": {**web, "bind": "10.0.0.5"}}).host_ip == "10.0.0.5"
    assert one({"web": {**web, "bind": "0.0.0.0"}}).host_ip is None
    assert one({"web": {"image": "w", "port": 80}}).host_ip is None
    shared = {**web, "host_port": {"offset": 1}, "scope": "shared"}
    assert one({"web": shared}, None).host_ip is None


# --- mounts and volumes ----------------------------------------------------------------------------


PATHS = {"uploads": {"path": "./data/{color}/uploads"}, "logs": {"path": "./logs"}}


def test_a_managed_path_is_mounted_per_colour_and_as_written_for_shared() -> None:
    volumes = [
        {"path": "uploads", "target": "/app/uploads"},
        {"path": "logs", "target": "/app/logs", "read_only": True},
    ]
    blue = one({"web": {"image": "w", "volumes": volumes}}, "blue", paths=PATHS)
    assert blue.mounts == [
        DesiredMount(kind="bind", source="data/blue/uploads", target="/app/uploads"),
        DesiredMount(kind="bind", source="logs", target="/app/logs", read_only=True),
    ]
    shared = one({"web": {"image": "w", "volumes": volumes, "scope": "shared"}}, None, paths=PATHS)
    assert shared.mounts == [
        DesiredMount(kind="bind", source="./data/{color}/uploads", target="/app/uploads"),
        DesiredMount(kind="bind", source="./logs", target="/app/logs", read_only=True),
    ]


VOLUMES = {
    "data": {},
    "cache": {"scope": "shared"},
    "named": {"name": "{project}_{color}_named"},
}


def test_a_named_volume_is_per_colour_unless_shared_or_named() -> None:
    spec = make_spec({"web": {"image": "w"}}, volumes=VOLUMES)
    assert volume_name(spec, "data", "green") == "shop-green-data"
    assert volume_name(spec, "data", None) == "shop-data"
    assert volume_name(spec, "cache", "green") == "shop-cache"
    assert volume_name(spec, "named", "green") == "shop_green_named"
    assert volume_name(spec, "named", None) == "shop_{color}_named"


def test_a_volume_mount_names_the_docker_volume() -> None:
    volumes = [
        {"volume": "data", "target": "/data", "read_only": True},
        {"volume": "cache", "target": "/c"},
    ]
    svc = one({"web": {"image": "w", "volumes": volumes}}, "green", volumes=VOLUMES)
    assert svc.mounts == [
        DesiredMount(kind="volume", source="shop-green-data", target="/data", read_only=True),
        DesiredMount(kind="volume", source="shop-cache", target="/c"),
    ]


# --- health checks ---------------------------------------------------------------------------------


def test_no_health_check_is_none_and_no_url() -> None:
    spec = make_spec({"web": {"image": "w"}})
    assert healthcheck(spec.services["web"]) == (None, None)


def test_a_command_check_runs_in_a_shell_when_one_string_and_directly_when_a_list() -> None:
    spec = make_spec(
        {
            "a": {"image": "w", "healthcheck": {"command": "pg_isready -d {color}"}},
            "b": {"image": "w", "healthcheck": {"command": ["pg_isready", "-d", "{color}"]}},
        }
    )
    assert healthcheck(spec.services["a"]) == (
        {
            "test": ["CMD-SHELL", "pg_isready -d {color}"],
            "interval": "10s",
            "timeout": "5s",
            "retries": 5,
            "start_period": "0s",
        },
        None,
    )
    test, url = healthcheck(spec.services["b"])
    assert (test and test["test"], url) == (["CMD", "pg_isready", "-d", "{color}"], None)
    (a, b) = expanded(spec, "green").services
    assert a.healthcheck and a.healthcheck["test"] == ["CMD-SHELL", "pg_isready -d green"]
    assert b.healthcheck and b.healthcheck["test"] == ["CMD", "pg_isready", "-d", "green"]
    assert (a.health_url_path, b.health_url_path) == (None, None)


def test_a_check_s_durations_are_what_compose_accepts() -> None:
    check = {"command": "true", "interval": "1m", "timeout": "1500ms", "start_period": "2d"}
    spec = make_spec({"web": {"image": "w", "healthcheck": {**check, "retries": 2}}})
    health, _ = healthcheck(spec.services["web"])
    assert health == {
        "test": ["CMD-SHELL", "true"],
        "interval": "60s",
        "timeout": "1500ms",
        "retries": 2,
        "start_period": "172800s",
    }


def test_an_http_check_asks_the_service_port_and_names_its_path() -> None:
    svc = one({"web": {"image": "w", "port": 3000, "healthcheck": {"http": "/health"}}})
    url = "http://127.0.0.1:3000/health"
    assert svc.healthcheck is not None
    assert svc.healthcheck["test"] == [
        "CMD-SHELL",
        f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url}",
    ]
    assert svc.health_url_path == "/health"


# --- what only some services set -------------------------------------------------------------------


def test_settings_left_alone_are_not_set_so_old_config_hashes_stay() -> None:
    svc = one({"web": {"image": "w", "port": 80}})
    assert svc.model_fields_set == {
        "name",
        "address",
        "scope",
        "color",
        "project",
        "image",
        "build",
        "command",
        "port",
        "host_port",
        "environment",
        "env_files",
        "required_env",
        "mounts",
        "healthcheck",
        "health_url_path",
        "depends_on",
        "resources",
        "restart",
        "compose",
        "aliases",
        "view",
        "config_hash",
    }


def test_aliases_container_name_pull_and_swarm_settings_are_set_when_asked() -> None:
    web = {
        "image": "w",
        "aliases": ["web-{color}", "{project}-web"],
        "container_name": "{color}-web",
        "pull": "always",
        "replicas": 3,
        "gpus": 2,
        "placement": {"role": "worker", "labels": {"gpu": "yes"}, "max_per_node": 2},
    }
    svc = one({"web": web}, "green")
    assert svc.extra_aliases == ["web-green", "shop-web"]
    assert svc.container_name == "green-web"
    assert (svc.pull, svc.replicas, svc.gpus, svc.max_per_node) == ("always", 3, 2, 2)
    assert svc.placement == ["node.labels.gpu == yes", "node.role == worker"]


def test_zero_replicas_is_kept_and_one_is_the_default() -> None:
    assert one({"web": {"image": "w", "replicas": 0}}).replicas == 0
    assert one({"web": {"image": "w", "replicas": 1}}).replicas is None


def test_a_placement_without_a_cap_per_node_sets_none() -> None:
    svc = one({"web": {"image": "w", "placement": {"node": "db1"}}})
    assert (svc.placement, svc.max_per_node) == (["node.hostname == db1"], None)
    assert "max_per_node" not in svc.model_fields_set


def test_a_pull_policy_of_never_is_kept() -> None:
    assert one({"web": {"image": "w", "pull": "never"}}).pull == "never"
    assert one({"web": {"image": "w", "pull": "missing"}}).pull == "missing"


# --- the view and the config hash ------------------------------------------------------------------


def test_the_config_hash_of_a_plain_service_never_changes() -> None:
    """It is a label on every running container: a new specctl that hashed differently would
    recreate them all on its first apply."""
    svc = one({"web": {"image": "w", "port": 80}})
    assert svc.view == {
        "build": None,
        "command": None,
        "compose": {},
        "depends_on": {},
        "env_files": [],
        "environment": {},
        "healthcheck": None,
        "host_port": None,
        "image": "w",
        "mounts": [],
        "port": 80,
        "resources": {},
        "restart": "unless-stopped",
    }
    assert svc.config_hash == "3efc9eee1a319aa1"
    assert svc.config_hash == hashlib.sha256(view_json(svc.view).encode()).hexdigest()[:16]


def test_the_view_holds_its_keys_in_order_at_every_level_as_its_label_does() -> None:
    svc = one({"web": {"image": "w", "environment": {"B": "1", "A": "2"}}})
    assert list(svc.view) == sorted(svc.view)
    assert list(svc.view["environment"]) == ["A", "B"]
    assert list(svc.environment) == ["B", "A"]  # the service keeps the spec's order


def test_the_view_json_is_compact_with_sorted_keys() -> None:
    assert view_json({"b": 1, "a": [1, {"d": 2, "c": None}]}) == (
        '{"a":[1,{"c":null,"d":2}],"b":1}'
    )


def test_mounts_enter_the_view_as_plain_values() -> None:
    mount = DesiredMount(kind="volume", source="v", target="/v")
    assert view_of({"name": "web", "mounts": [mount], "image": "w"}) == {
        "image": "w",
        "mounts": [{"kind": "volume", "source": "v", "target": "/v", "read_only": False}],
    }


def test_a_value_json_cannot_hold_is_refused_with_its_type() -> None:
    with pytest.raises(TypeError) as caught:
        view_of({"image": object()})
    assert str(caught.value) == "<class 'object'>"


@pytest.mark.parametrize("change", [{"pull": "always"}, {"required_env": ["KEY"]}])
def test_what_only_specctl_reads_does_not_change_the_config_hash(change: dict[str, Any]) -> None:
    base = {"image": "w", "port": 80}
    assert one({"web": {**base, **change}}).config_hash == one({"web": base}).config_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "www"),
        ("address", "green.service.www"),
        ("scope", "shared"),
        ("color", "green"),
        ("project", "shop-green"),
        ("aliases", ["green-www"]),
        ("health_url_path", "/up"),
    ],
)
def test_identity_fields_do_not_change_the_config_hash(field: str, value: object) -> None:
    svc = one({"web": {"image": "w", "port": 80}})
    assert finish({**recipe(svc), field: value}).config_hash == svc.config_hash


def test_extra_aliases_change_the_config_hash() -> None:
    """They are the container's names on the network: only a new container gets them."""
    plain = one({"web": {"image": "w"}})
    assert one({"web": {"image": "w", "aliases": ["www"]}}).config_hash != plain.config_hash


def test_a_service_made_again_from_its_recipe_is_the_same() -> None:
    svc = one({"web": {"image": "w", "port": 80, "aliases": ["x"]}})
    again = finish(recipe(svc))
    assert again == svc
    assert again.model_fields_set == svc.model_fields_set
    changed = finish({**recipe(svc), "image": "w2"})
    expected = one({"web": {"image": "w2", "port": 80, "aliases": ["x"]}})
    assert changed.config_hash == expected.config_hash


def test_a_recipe_leaves_out_the_view_and_the_hash() -> None:
    svc = one({"web": {"image": "w"}})
    assert "view" not in recipe(svc)
    assert "config_hash" not in recipe(svc)
    assert recipe(svc)["image"] == "w"


# --- the proxy -------------------------------------------------------------------------------------


def test_the_proxy_runs_nginx_on_the_live_config_behind_its_ports() -> None:
    spec = make_spec(
        {"web": {"image": "w"}},
        state_dir="state",
        proxy={
            "image": "nginx:1.27",
            "ports": [{"host": 80}, {"host": 8443, "container": 443, "bind": "127.0.0.1"}],
        },
    )
    proxy = expanded(spec).proxy
    assert (proxy.name, proxy.address, proxy.scope, proxy.color, proxy.project) == (
        "proxy",
        "proxy.nginx",
        "shared",
        None,
        "shop-shared",
    )
    assert (proxy.image, proxy.build, proxy.port, proxy.host_port) == (
        "nginx:1.27",
        None,
        None,
        None,
    )
    assert proxy.command == ["nginx", "-c", "/etc/nginx/specctl/nginx.conf", "-g", "daemon off;"]
    assert proxy.mounts == [
        DesiredMount(kind="bind", source="state/nginx", target="/etc/nginx/specctl", read_only=True)
    ]
    assert proxy.compose == {
        "ports": [
            {"target": 80, "published": "80", "protocol": "tcp"},
            {"target": 443, "published": "8443", "host_ip": "127.0.0.1", "protocol": "tcp"},
        ],
        "stop_signal": "SIGQUIT",
    }
    assert (proxy.environment, proxy.env_files, proxy.required_env) == ({}, [], [])
    assert (proxy.healthcheck, proxy.health_url_path, proxy.depends_on) == (None, None, {})
    assert (proxy.resources, proxy.restart, proxy.aliases) == ({}, "unless-stopped", ["proxy"])
    assert (proxy.networks, proxy.pull) == (None, "missing")
    assert "networks" not in proxy.model_fields_set
    assert "pull" not in proxy.model_fields_set


def test_the_proxy_mounts_its_certificates_and_volumes_and_joins_its_networks() -> None:
    spec = make_spec(
        {"web": {"image": "w"}},
        paths={"certs": {"path": "./certs", "kind": "certificate"}, "logs": {"path": "./logs"}},
        proxy={
            "image": "nginx",
            "pull": "always",
            "tls": {"path": "certs"},
            "volumes": [{"path": "logs", "target": "/var/log/nginx"}],
            "networks": ["monitoring"],
            "compose": {"stop_signal": "SIGTERM", "shm_size": "1g"},
        },
    )
    proxy = expanded(spec).proxy
    assert proxy.mounts == [
        DesiredMount(
            kind="bind", source=".specctl/nginx", target="/etc/nginx/specctl", read_only=True
        ),
        DesiredMount(kind="bind", source="./certs", target="/etc/nginx/certs", read_only=True),
        DesiredMount(kind="bind", source="./logs", target="/var/log/nginx"),
    ]
    assert (proxy.networks, proxy.pull) == (["monitoring"], "always")
    assert proxy.compose == {
        "ports": [{"target": 80, "published": "80", "protocol": "tcp"}],
        "stop_signal": "SIGTERM",
        "shm_size": "1g",
    }


# --- upstreams and paths ---------------------------------------------------------------------------


def test_each_upstream_routes_to_the_colours_service_in_name_order() -> None:
    spec = make_spec(
        {"web": {"image": "w", "port": 8080}, "api": {"image": "a", "port": 3000}},
        proxy={
            "image": "nginx",
            "upstreams": {
                "web": "web",
                "api": {"service": "api", "port": 3001, "keepalive": 8, "probe": "/ping"},
            },
        },
    )
    assert [u.model_dump() for u in expanded(spec, "green").upstreams] == [
        {
            "name": "api",
            "address": "nginx.upstream.api",
            "service": "api",
            "server": "green-api:3001",
            "keepalive": 8,
            "probe": "/ping",
        },
        {
            "name": "web",
            "address": "nginx.upstream.web",
            "service": "web",
            "server": "green-web:8080",
            "keepalive": None,
            "probe": "/",
        },
    ]


def test_a_managed_path_per_colour_is_addressed_with_its_colour() -> None:
    spec = make_spec(
        {"web": {"image": "w"}},
        owner={"uid": 1000, "gid": 1001},
        paths={
            "uploads": {
                "path": "./data/{color}/uploads",
                "subdirs": ["a", "b"],
                "files": [{"name": "x.bin", "min_size": "1K"}],
                "cleanup": {"subdir": "tmp"},
            },
            "config": {"path": "./config", "kind": "file", "uid": 0, "gid": 0, "mode": "0640"},
        },
    )
    assert [p.model_dump() for p in expanded(spec, "green").paths] == [
        {
            "name": "config",
            "address": "path.config",
            "color": None,
            "path": "config",
            "kind": "file",
            "uid": 0,
            "gid": 0,
            "mode": "0640",
            "subdirs": [],
            "files": [],
            "cleanup": None,
        },
        {
            "name": "uploads",
            "address": "path.uploads.green",
            "color": "green",
            "path": "data/green/uploads",
            "kind": "directory",
            "uid": 1000,
            "gid": 1001,
            "mode": "0755",
            "subdirs": ["a", "b"],
            "files": [{"name": "x.bin", "min_size": "1K"}],
            "cleanup": {"subdir": "tmp", "older_than": "24h"},
        },
    ]


@pytest.mark.parametrize(
    ("kind", "mode"),
    [("directory", "0755"), ("file", "0644"), ("secret", "0600"), ("certificate", "0700")],
)
def test_each_kind_of_path_has_its_default_mode(kind: str, mode: str) -> None:
    spec = make_spec({"web": {"image": "w"}}, paths={"p": {"path": "p", "kind": kind}})
    (path,) = expanded(spec).paths
    assert path.mode == mode
