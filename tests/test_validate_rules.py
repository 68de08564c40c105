"""Checks of meaning (compiler/validate.py, compiler/validate_engine.py): each rule, its message.

The checks run on a Spec that already passed its types, so these tests build the Spec directly
and compare every finding, (where, message), in the order the checks report them."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.validate import Finding, host_ports, validate_meaning
from specctl.schemas.spec import Spec

PLACEHOLDER_HELP = "(the placeholders are {color} and {project})"


def web(**fields: Any) -> dict[str, Any]:
    """A per-colour service with an image and a port, plus `fields`."""
    return {"image": "shop/web:1", "port": 8080, **fields}


def make(*, services: dict[str, Any] | None = None, proxy: Any = None, **top: Any) -> Spec:
    """A valid spec (the service `web` behind the proxy, and `services`) with the given parts
    replaced."""
    doc: dict[str, Any] = {
        "project": "shop",
        "services": {"web": web(), **(services or {})},
        "proxy": {
            "image": "nginx",
            "ports": [{"host": 8080}],
            "upstreams": {"web": {"service": "web"}},
            "locations": [{"path": "/", "upstream": "web"}],
            **(proxy or {}),
        },
        **top,
    }
    return Spec.model_validate(doc)


def findings(**parts: Any) -> list[Finding]:
    return validate_meaning(make(**parts))


def test_the_plain_spec_has_no_findings() -> None:
    assert findings() == []


# --- checks.pre.skip and private paths -----------------------------------------------------------


def test_skipping_known_pre_checks_is_fine_and_an_unknown_one_is_named_at_its_index() -> None:
    checks = {"pre": {"skip": ["disk", "volumes", "nginx_confg", "coffee"]}}
    assert findings(checks=checks) == [
        (("checks", "pre", "skip", 2), "unknown check 'nginx_confg'; did you mean 'nginx_config'?"),
        (("checks", "pre", "skip", 3), "unknown check 'coffee'"),
    ]


OWNER_ONLY = "must be readable by its owner only (got {}; use 0600 for a file, 0700 for a folder)"


@pytest.mark.parametrize("kind", ["secret", "certificate"])
@pytest.mark.parametrize("mode", ["0601", "0610", "0604", "0750", "4755"])
def test_a_private_path_that_others_may_read_is_refused(kind: str, mode: str) -> None:
    paths = {"key": {"path": "k", "kind": kind, "mode": mode}}
    assert findings(paths=paths) == [
        (("paths", "key", "mode"), f"a {kind} {OWNER_ONLY.format(mode)}")
    ]


@pytest.mark.parametrize("kind", ["secret", "certificate"])
@pytest.mark.parametrize("mode", ["0600", "0700", "0400", "4700", None])
def test_a_private_path_for_its_owner_only_is_fine(kind: str, mode: str | None) -> None:
    paths = {"key": {"path": "k", "kind": kind, **({"mode": mode} if mode else {})}}
    assert findings(paths=paths) == []


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_an_ordinary_path_may_be_readable_by_everyone(kind: str) -> None:
    assert findings(paths={"data": {"path": "d", "kind": kind, "mode": "0777"}}) == []


# --- host ports ----------------------------------------------------------------------------------


def test_host_ports_lists_every_published_port_with_its_owner() -> None:
    spec = make(
        services={
            "web": web(host_port={"offset": 7}),
            "none": web(),
            "db": web(scope="shared", host_port=5432),
            "api": web(host_port={"blue": 4100, "green": 5100}),
        },
        proxy={"ports": [{"host": 80}, {"host": 443}]},
        colors={"blue": {"port_base": 3000}, "green": {"port_base": 6000}},
    )
    assert list(host_ports(spec)) == [
        (("services", "web", "host_port"), "blue.service.web", 3007),
        (("services", "web", "host_port"), "green.service.web", 6007),
        (("services", "db", "host_port"), "services.db", 5432),
        (("services", "api", "host_port"), "blue.service.api", 4100),
        (("services", "api", "host_port"), "green.service.api", 5100),
        (("proxy", "ports", 0, "host"), "proxy", 80),
        (("proxy", "ports", 1, "host"), "proxy", 443),
    ]


def test_a_whole_number_host_port_of_a_per_colour_service_is_claimed_by_both_colours() -> None:
    spec = make(services={"ml": web(host_port=9000), "db": web(scope="shared", host_port=5432)})
    assert list(host_ports(spec)) == [
        (("services", "ml", "host_port"), "blue.service.ml", 9000),
        (("services", "ml", "host_port"), "green.service.ml", 9000),
        (("services", "db", "host_port"), "services.db", 5432),
        (("proxy", "ports", 0, "host"), "proxy", 8080),
    ]
    assert validate_meaning(spec) == [
        (
            ("services", "ml", "host_port"),
            "host port 9000 of green.service.ml collides with blue.service.ml",
        )
    ]


@pytest.mark.parametrize(
    ("base", "offset", "port"), [(1, 0, 1), (65535, 0, 65535), (65000, 535, 65535)]
)
def test_host_ports_at_the_ends_of_the_range_are_fine(base: int, offset: int, port: int) -> None:
    spec = make(
        services={"web": web(host_port={"offset": offset})},
        colors={"blue": {"port_base": base}, "green": {"port_base": 20000}},
    )
    assert next(host_ports(spec))[2] == port
    assert validate_meaning(spec) == []


def test_a_host_port_past_the_range_is_refused_and_not_counted_as_taken() -> None:
    spec = make(
        services={"web": web(host_port={"offset": 1}), "api": web(host_port={"offset": 1})},
        colors={"blue": {"port_base": 65535}, "green": {"port_base": 3000}},
    )
    assert validate_meaning(spec) == [
        (
            ("services", "web", "host_port"),
            "host port 65536 of blue.service.web is outside 1-65535",
        ),
        (
            ("services", "api", "host_port"),
            "host port 65536 of blue.service.api is outside 1-65535",
        ),
        (
            ("services", "api", "host_port"),
            "host port 3001 of green.service.api collides with green.service.web",
        ),
    ]


def test_a_port_taken_twice_names_the_first_owner_each_time() -> None:
    spec = make(
        services={"db": web(scope="shared", host_port=8080)},
        proxy={"ports": [{"host": 8080}, {"host": 443}]},
    )
    assert validate_meaning(spec) == [
        (("proxy", "ports", 0, "host"), "host port 8080 of proxy collides with services.db"),
    ]


def test_the_proxy_may_publish_one_host_port_on_two_addresses() -> None:
    ports = [{"host": 80, "bind": "127.0.0.1"}, {"host": 80, "bind": "10.0.0.1"}]
    assert findings(proxy={"ports": ports}) == []


# --- references: depends_on, mounts, upstreams, locations and the rest ---------------------------


def test_a_service_cannot_depend_on_itself() -> None:
    assert findings(services={"web": web(depends_on={"web": "started"})}) == [
        (("services", "web", "depends_on", "web"), "a service cannot depend on itself"),
        (("services", "web", "depends_on"), "depends_on goes round in a circle: web → web"),
    ]


def test_an_unknown_dependency_is_named_with_the_nearest_service() -> None:
    assert findings(services={"api": web(), "db": web(depends_on={"apj": "started"})}) == [
        (("services", "db", "depends_on", "apj"), "unknown service 'apj'; did you mean 'api'?"),
    ]


def test_a_shared_service_cannot_depend_on_a_per_colour_one() -> None:
    services = {"db": web(scope="shared", depends_on={"web": "healthy"})}
    assert findings(services=services) == [
        (
            ("services", "db", "depends_on", "web"),
            "shared service 'db' cannot depend on per-colour service 'web'",
        ),
    ]


def test_dependencies_within_a_scope_or_on_a_shared_service_are_fine() -> None:
    services = {
        "web": web(depends_on={"api": "started", "db": "healthy"}),
        "api": web(depends_on={"db": "healthy"}),
        "db": web(scope="shared", depends_on={"cache": "started"}),
        "cache": web(scope="shared"),
    }
    assert findings(services=services) == []


PATHS = {"uploads": {"path": "uploads/{color}"}, "conf": {"path": "conf"}}
VOLUMES = {"data": {"name": "shop-data-{color}"}, "pg": {"scope": "shared"}}


def test_mounts_of_known_paths_and_volumes_are_fine() -> None:
    services = {
        "web": web(
            volumes=[
                {"path": "uploads", "target": "/u"},
                {"path": "conf", "target": "/c"},
                {"volume": "data", "target": "/d"},
                {"volume": "pg", "target": "/p"},
            ]
        ),
        "db": web(
            scope="shared",
            volumes=[{"path": "conf", "target": "/c"}, {"volume": "pg", "target": "/p"}],
        ),
    }
    proxy = {"volumes": [{"path": "conf", "target": "/c"}, {"volume": "pg", "target": "/p"}]}
    assert findings(services=services, proxy=proxy, paths=PATHS, volumes=VOLUMES) == []


def test_a_mount_of_an_unknown_path_or_volume_is_named_at_its_source() -> None:
    services = {
        "web": web(volumes=[{"path": "upload", "target": "/u"}, {"volume": "dta", "target": "/d"}])
    }
    proxy = {"volumes": [{"path": "logs", "target": "/l"}, {"volume": "www", "target": "/w"}]}
    assert findings(services=services, proxy=proxy, paths=PATHS, volumes=VOLUMES) == [
        (
            ("services", "web", "volumes", 0, "path"),
            "unknown managed path 'upload'; did you mean 'uploads'?",
        ),
        (("services", "web", "volumes", 1, "volume"), "unknown volume 'dta'; did you mean 'data'?"),
        (("proxy", "volumes", 0, "path"), "unknown managed path 'logs'"),
        (("proxy", "volumes", 1, "volume"), "unknown volume 'www'"),
    ]


def test_a_shared_service_or_the_proxy_cannot_mount_per_colour_data() -> None:
    services = {
        "db": web(
            scope="shared",
            volumes=[{"path": "uploads", "target": "/u"}, {"volume": "data", "target": "/d"}],
        )
    }
    proxy = {"volumes": [{"volume": "data", "target": "/d"}, {"path": "uploads", "target": "/u"}]}
    shared_volume = (
        "a shared service cannot mount per-colour volume 'data'; give the volume scope: shared"
    )
    assert findings(services=services, proxy=proxy, paths=PATHS, volumes=VOLUMES) == [
        (
            ("services", "db", "volumes", 0, "path"),
            "a shared service cannot mount per-colour path 'uploads'",
        ),
        (("services", "db", "volumes", 1, "volume"), shared_volume),
        (("proxy", "volumes", 0, "volume"), shared_volume),
        (
            ("proxy", "volumes", 1, "path"),
            "a shared service cannot mount per-colour path 'uploads'",
        ),
    ]


def test_an_upstream_needs_a_known_per_colour_service_with_a_port() -> None:
    services = {
        "db": web(scope="shared"),
        "worker": {"image": "shop/worker:1"},
        "ml": {"image": "shop/ml:1"},
    }
    proxy = {
        "upstreams": {
            "web": "web",
            "api": {"service": "wbe"},
            "db": {"service": "db"},
            "worker": {"service": "worker"},
            "ml": {"service": "ml", "port": 9000},
        },
        "locations": [
            {"path": p, "upstream": u}
            for p, u in [("/", "web"), ("/a", "api"), ("/d", "db"), ("/w", "worker"), ("/m", "ml")]
        ],
    }
    assert findings(services=services, proxy=proxy) == [
        (("proxy", "upstreams", "api"), "unknown service 'wbe'; did you mean 'web'?"),
        (("proxy", "upstreams", "db"), "upstream 'db' must point at a per-colour service"),
        (
            ("proxy", "upstreams", "worker"),
            "service 'worker' has no port; give port here or there",
        ),
    ]


def test_a_location_must_route_to_a_known_upstream() -> None:
    locations = [{"path": "/", "upstream": "web"}, {"path": "/x", "upstream": "wbe"}]
    assert findings(proxy={"locations": locations}) == [
        (("proxy", "locations", 1, "upstream"), "unknown upstream 'wbe'; did you mean 'web'?"),
    ]


def test_every_upstream_of_the_built_in_template_needs_a_location() -> None:
    proxy = {"upstreams": {"web": "web", "api": "web", "ml": "web"}}
    unrouted = (
        "no location routes to upstream {!r}; add one in proxy.locations (or give your own nginx "
        "config as proxy.base)"
    )
    assert findings(proxy=proxy) == [
        (("proxy", "upstreams", "api"), unrouted.format("api")),
        (("proxy", "upstreams", "ml"), unrouted.format("ml")),
    ]


def test_with_its_own_nginx_config_the_proxy_needs_no_locations() -> None:
    proxy = {"base": "nginx.conf", "upstreams": {"web": "web", "api": "web"}, "locations": []}
    assert findings(proxy=proxy) == []


def test_the_proxy_needs_at_least_one_upstream() -> None:
    assert findings(proxy={"upstreams": {}, "locations": []}) == [
        (("proxy", "upstreams"), "at least one upstream is needed to route traffic"),
    ]
    assert findings(proxy={"upstreams": {}, "locations": [], "base": "nginx.conf"}) == [
        (("proxy", "upstreams"), "at least one upstream is needed to route traffic"),
    ]


def test_every_other_reference_to_a_service_or_a_managed_path_is_checked() -> None:
    assert findings(
        paths={"certs": {"path": "certs", "kind": "certificate"}, "uploads": {"path": "up"}},
        proxy={"tls": {"path": "cert"}},
        hooks={"migrate": {"service": "wbe", "command": "migrate"}},
        backups={"database": {"service": "db"}, "paths": ["uploads", "upload"]},
        checks={
            "post": [
                {"name": "home", "kind": "http"},
                {"name": "api", "kind": "http", "service": "api"},
                {"name": "up", "kind": "upload", "service": "web", "upload_dir": "uplods"},
            ]
        },
    ) == [
        (("proxy", "tls", "path"), "unknown managed path 'cert'; did you mean 'certs'?"),
        (("hooks", "migrate", "service"), "unknown service 'wbe'; did you mean 'web'?"),
        (("backups", "database", "service"), "unknown service 'db'"),
        (("backups", "paths", 1), "unknown managed path 'upload'; did you mean 'uploads'?"),
        (("checks", "post", 1, "service"), "unknown service 'api'"),
        (
            ("checks", "post", 2, "upload_dir"),
            "unknown managed path 'uplods'; did you mean 'uploads'?",
        ),
    ]


def test_references_to_known_services_and_paths_are_fine() -> None:
    assert (
        findings(
            paths={"certs": {"path": "certs", "kind": "certificate"}, "uploads": {"path": "up"}},
            proxy={"tls": {"path": "certs"}},
            hooks={"migrate": {"service": "web", "command": "migrate"}},
            backups={"database": {"service": "web"}, "paths": ["uploads"]},
            checks={
                "post": [
                    {"name": "up", "kind": "upload", "service": "web", "upload_dir": "uploads"}
                ]
            },
        )
        == []
    )


# --- managed paths: colours nested or inside each other, paths out of the project ----------------

NESTED = (
    "{} nests a colour directory inside another colour's directory ({}): the duplicate path "
    "structure the old scripts had to repair; use a single {{color}} level"
)


def test_each_nested_colour_template_is_reported_once_for_blue() -> None:
    paths = {
        "up": {"path": "data/{color}/green/{color}"},
        "ok": {"path": "cache/{color}"},
        "old": {"path": "old/green/{color}/x"},
    }
    assert findings(paths=paths) == [
        (("paths", "up", "path"), NESTED.format("data/blue/green/blue", "data/blue")),
        (("paths", "old", "path"), NESTED.format("old/green/blue/x", "old/green")),
    ]


def test_a_fixed_path_naming_two_colours_is_reported() -> None:
    assert findings(paths={"odd": {"path": "./blue//green/"}}) == [
        (("paths", "odd", "path"), NESTED.format("blue/green", "blue")),
    ]


def test_one_colours_path_inside_the_others_is_refused() -> None:
    paths = {"a": {"path": "up-{color}"}, "b": {"path": "up-green/{color}"}}
    assert findings(paths=paths) == [
        (
            ("paths", "b", "path"),
            "up-green/blue (blue) lies inside up-green (green's 'a'): one colour would write "
            "into the other's files",
        ),
    ]


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param({"a": {"path": "{color}"}, "b": {"path": "{color}/cache"}}, id="same-colour"),
        pytest.param({"a": {"path": "up/{color}"}, "b": {"path": "up/blue/x"}}, id="fixed-inside"),
        pytest.param({"a": {"path": "up"}, "b": {"path": "up/{color}"}}, id="inside-fixed"),
        pytest.param({"a": {"path": "up-{color}"}, "b": {"path": "up-greenhouse"}}, id="prefix"),
    ],
)
def test_paths_inside_their_own_colour_or_a_fixed_folder_are_fine(paths: dict[str, Any]) -> None:
    assert findings(paths=paths) == []


def escapes(path: str) -> str:
    return f"{path!r} escapes the project root; keep paths inside it"


def test_every_path_of_the_spec_must_stay_inside_the_project() -> None:
    assert findings(
        state_dir="../state",
        backups={"dir": "b/../../b"},
        logs={"dir": ".."},
        paths={"up": {"path": "{color}/../../up"}, "ok": {"path": "x/../y"}},
        services={
            "web": web(env_files=[".env", "../.env.{color}"]),
            "api": {"build": {"context": "../api"}, "port": 80},
        },
    ) == [
        (("state_dir",), escapes("../state")),
        (("backups", "dir"), escapes("b/../../b")),
        (("logs", "dir"), escapes("..")),
        (("paths", "up", "path"), escapes("{color}/../../up")),
        (("services", "web", "env_files", 1), escapes("../.env.{color}")),
        (("services", "api", "build", "context"), escapes("../api")),
    ]


@pytest.mark.parametrize("path", ["/srv/../../state", "..state", "./..x", "a/..", "{color}/.."])
def test_absolute_paths_and_names_that_only_start_with_dots_stay_inside(path: str) -> None:
    assert findings(state_dir=path, backups={"dir": "../b"}) == [
        (("backups", "dir"), escapes("../b"))
    ]


def test_a_colours_own_env_files_and_build_are_checked_where_it_overrides_them() -> None:
    per_color = {
        "blue": {"env_files": ["../.env.blue"]},
        "green": {"build": {"context": "../green"}, "image": "x"},
    }
    services = {"web": web(env_files=[".env"], build={"context": "."}, per_color=per_color)}
    assert findings(services=services) == [
        (("services", "web", "per_color", "blue", "env_files", 0), escapes("../.env.blue")),
        (("services", "web", "per_color", "green", "build", "context"), escapes("../green")),
    ]


def test_a_problem_of_the_service_as_written_is_not_repeated_for_each_colour() -> None:
    per_color = {"blue": {"image": "a"}, "green": {"environment": {"MODE": "green"}}}
    services = {"web": web(env_files=["../.env"], per_color=per_color)}
    assert findings(services=services) == [
        (("services", "web", "env_files", 0), escapes("../.env")),
    ]


# --- secrets written into the spec ---------------------------------------------------------------


def secret(key: str) -> str:
    return f"{key} looks like a secret; secrets belong in env files (env_files), never in the spec"


def url_password(key: str) -> str:
    return (
        f"{key} holds a URL with a password, which would be written into the generated files and "
        f"a container label; put {key} in an env file (env_files)"
    )


@pytest.mark.parametrize(
    "key", ["PASSWORD", "DB_PASSWD", "jwt_secret", "GITHUB_TOKEN", "STRIPE_KEY", "apikey"]
)
def test_a_variable_named_like_a_secret_must_come_from_an_env_file(key: str) -> None:
    services = {"web": web(environment={key: "s3cr3t", "MODE": "x"})}
    assert findings(services=services) == [(("services", "web", "environment", key), secret(key))]


@pytest.mark.parametrize("value", [0, False, "x"])
def test_any_value_of_a_secret_variable_counts(value: object) -> None:
    services = {"web": web(environment={"SECRET": value})}
    assert findings(services=services) == [
        (("services", "web", "environment", "SECRET"), secret("SECRET"))
    ]


@pytest.mark.parametrize("key", ["PASSWORD_FILE", "KEYS", "MONKEY", "TOKENS", "KEY"])
def test_an_empty_secret_or_a_name_that_only_mentions_one_is_fine(key: str) -> None:
    services = {"web": web(environment={key: "x", "API_TOKEN": ""})}
    assert findings(services=services) == []


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://app:hunter2@db/app",
        "redis://:hunter2@cache:6379",
        "AMQP://guest:guest@rabbit",
        "see https://user:pw@example.com/x",
    ],
)
def test_a_url_with_a_password_must_come_from_an_env_file(value: str) -> None:
    services = {"web": web(environment={"URL": value})}
    assert findings(services=services) == [
        (("services", "web", "environment", "URL"), url_password("URL"))
    ]


@pytest.mark.parametrize(
    "value", ["postgresql://app@db/app", "https://example.com/a:b@c", "user:pw@host", "a://b:c/@d"]
)
def test_a_url_without_a_password_is_fine(value: str) -> None:
    assert findings(services={"web": web(environment={"URL": value})}) == []


def test_a_colours_secret_is_reported_at_its_override() -> None:
    per_color = {
        "blue": {"image": "shop/web:2"},
        "green": {"environment": {"DB_URL": "mysql://a:b@db/x", "MODE": "green"}},
    }
    services = {"web": web(environment={"MODE": "any"}, per_color=per_color)}
    assert findings(services=services) == [
        (
            ("services", "web", "per_color", "green", "environment", "DB_URL"),
            url_password("DB_URL"),
        ),
    ]


# --- the Compose pass-through --------------------------------------------------------------------


def test_the_pass_through_takes_compose_keys_and_extensions_only() -> None:
    services = {
        "web": web(compose={"hostname": "web", "x-team": "shop", "labels": {"a": "b"}, "zzz": 1}),
        "api": web(per_color={"green": {"compose": {"init": True, "pid": "host", "shm": "1g"}}}),
    }
    proxy = {"compose": {"ulimits": {}, "x-note": "edge", "ports": ["80:80"], "dnss": ["1.1.1.1"]}}
    assert findings(services=services, proxy=proxy) == [
        (
            ("services", "web", "compose", "labels"),
            "'labels' is set by specctl from the generated labels; use that instead",
        ),
        (("services", "web", "compose", "zzz"), "unknown Compose service key 'zzz'"),
        (
            ("services", "api", "per_color", "green", "compose", "shm"),
            "unknown Compose service key 'shm'",
        ),
        (("proxy", "compose", "ports"), "'ports' is set by specctl; use the proxy keys"),
        (("proxy", "compose", "dnss"), "unknown Compose service key 'dnss'; did you mean 'dns'?"),
    ]


def test_a_problem_in_the_written_pass_through_is_not_repeated_for_a_colour() -> None:
    services = {"web": web(compose={"tty": True, "ttty": True}, per_color={"blue": {"image": "b"}})}
    assert findings(services=services) == [
        (
            ("services", "web", "compose", "ttty"),
            "unknown Compose service key 'ttty'; did you mean 'tty'?",
        ),
    ]


ONE_VOLUME = (
    "{!r} would give both colours one volume; put {{color}} in it, or set scope: shared when both "
    "colours must share its data"
)


def test_a_per_colour_volume_name_must_hold_the_colour() -> None:
    volumes = {
        "data": {"name": "shop_data"},
        "ok": {"name": "shop_{color}"},
        "anon": {},
        "pg": {"scope": "shared", "name": "pg"},
    }
    assert findings(volumes=volumes) == [
        (("volumes", "data", "name"), ONE_VOLUME.format("shop_data"))
    ]


# --- placeholders --------------------------------------------------------------------------------


def unknown_placeholder(written: str, hint: str = "") -> str:
    near = f"; did you mean {hint!r}?" if hint else ""
    return f"unknown placeholder {written} {PLACEHOLDER_HELP}{near}"


def test_any_unknown_placeholder_in_a_name_or_path_is_refused() -> None:
    assert findings(
        services={
            "web": web(
                image="shop/{print}:{color}",
                env_files=[".env.{color}.{colr}", ".env.{name}"],
                build={"context": ".", "args": {"{colour}": "1"}},
            )
        },
        paths={"up": {"path": "{project}/{projet}"}},
        volumes={"data": {"name": "d-{color}-{nom}"}, "anon": {}},
        backups={"database": {"service": "web", "name": "app_{colour}"}},
    ) == [
        (("services", "web", "image"), unknown_placeholder("{print}", "{project}")),
        (
            ("services", "web", "build", "args", "{colour}"),
            unknown_placeholder("{colour}", "{color}"),
        ),
        (("services", "web", "env_files", 0), unknown_placeholder("{colr}", "{color}")),
        (("services", "web", "env_files", 1), unknown_placeholder("{name}")),
        (("paths", "up", "path"), unknown_placeholder("{projet}", "{project}")),
        (("volumes", "data", "name"), unknown_placeholder("{nom}")),
        (("backups", "database", "name"), unknown_placeholder("{colour}", "{color}")),
        (
            ("volumes", "data", "name"),
            "'d-{color}-{nom}' is not a Docker volume name (letters, digits, _ . -)",
        ),
    ]


def test_shell_braces_in_loose_fields_pass_and_near_misses_there_do_not() -> None:
    services = {
        "web": web(
            command=["sh", "-c", "awk '{print}' {x} {colr} {proj}"],
            healthcheck={"command": "test {cmd} {clr}"},
            environment={"FMT": "{name} {colour}", "SHELL_VAR": "${HOME} {{color}} {color}x"},
            compose={"annotations": {"{colr}": "{value}"}},
        )
    }
    assert findings(services=services) == [
        (("services", "web", "command", 2), unknown_placeholder("{colr}", "{color}")),
        (("services", "web", "command", 2), unknown_placeholder("{proj}", "{project}")),
        (("services", "web", "environment", "FMT"), unknown_placeholder("{colour}", "{color}")),
        (("services", "web", "healthcheck", "command"), unknown_placeholder("{clr}", "{color}")),
        (
            ("services", "web", "compose", "annotations", "{colr}"),
            unknown_placeholder("{colr}", "{color}"),
        ),
    ]


def test_mounts_and_dependencies_are_not_read_for_placeholders() -> None:
    services = {"web": web(volumes=[{"volume": "data", "target": "/srv/{colour}"}])}
    assert findings(services=services, volumes={"data": {"name": "d-{color}"}}) == []
    services = {"web": web(depends_on={"db-{colour}": "started"})}
    assert findings(services=services) == [
        (("services", "web", "depends_on", "db-{colour}"), "unknown service 'db-{colour}'"),
    ]


# --- container names, aliases and networks -------------------------------------------------------


def alike(value: str) -> str:
    return (
        f"{value!r} would name both colours' containers alike; put {{color}} in it "
        f"(e.g. {value}-{{color}})"
    )


def not_docker(value: str) -> str:
    return f"{value!r} is not a Docker name (letters, digits, _ . -)"


def test_names_of_a_per_colour_service_must_hold_the_colour() -> None:
    services = {
        "web": web(container_name="{project}-{color}-web", aliases=["web-{color}", "web.{color}"]),
        "api": web(container_name="api", aliases=["{color}_api", "api", "-api-{color}"]),
        "ml": web(container_name=""),
    }
    assert findings(services=services) == [
        (("services", "api", "container_name"), alike("api")),
        (("services", "api", "aliases", 1), alike("api")),
        (("services", "api", "aliases", 2), not_docker("-api-{color}")),
    ]


def test_names_of_a_shared_service_must_not_hold_a_colour() -> None:
    services = {
        "db": web(
            scope="shared", container_name="{project}-db", aliases=["postgres", "pg-{color}"]
        ),
        "cache": web(scope="shared", container_name="{color}-cache", aliases=["{colour}"]),
    }
    assert findings(services=services) == [
        (("services", "cache", "aliases", 0), unknown_placeholder("{colour}", "{color}")),
        (("services", "db", "aliases", 1), "a shared service has no colour; drop {color}"),
        (("services", "cache", "container_name"), "a shared service has no colour; drop {color}"),
        (("services", "cache", "aliases", 0), not_docker("{colour}")),
    ]


def test_a_network_the_proxy_joins_must_be_a_docker_name() -> None:
    networks = ["other_default", "edge.net-1", "bad net", "_x"]
    assert findings(proxy={"networks": networks}) == [
        (("proxy", "networks", 2), "'bad net' is not a Docker network name"),
        (("proxy", "networks", 3), "'_x' is not a Docker network name"),
    ]


# --- values that pass the types but break a deploy later -----------------------------------------


def test_an_http_health_check_needs_the_service_port() -> None:
    services = {
        "web": web(healthcheck={"http": "/health"}),
        "worker": {"image": "w", "healthcheck": {"http": "/health"}},
        "cron": {"image": "c", "healthcheck": {"command": "true"}},
    }
    assert findings(services=services) == [
        (
            ("services", "worker", "healthcheck", "http"),
            "an HTTP health check needs the service's port (set port)",
        ),
    ]


def test_a_memory_size_without_a_unit_would_be_bytes() -> None:
    resources = {"memory": 512, "memory_reservation": "256"}
    assert findings(services={"web": web(resources=resources)}) == [
        (
            ("services", "web", "resources", "memory"),
            "512 would be bytes; give a unit such as 512M or 512G",
        ),
        (
            ("services", "web", "resources", "memory_reservation"),
            "256 would be bytes; give a unit such as 256M or 256G",
        ),
    ]


@pytest.mark.parametrize(
    "resources",
    [
        {"memory": "1G", "memory_reservation": "1024M"},
        {"memory": "512M", "memory_reservation": "256M"},
        {"memory_reservation": "8G"},
        {"memory": "1G"},
        {"cpus": 0.5},
    ],
)
def test_a_reservation_up_to_the_limit_is_fine(resources: dict[str, Any]) -> None:
    assert findings(services={"web": web(resources=resources)}) == []


def test_a_reservation_above_the_limit_is_refused() -> None:
    resources = {"memory": "1G", "memory_reservation": "1025M"}
    assert findings(services={"web": web(resources=resources)}) == [
        (
            ("services", "web", "resources", "memory_reservation"),
            "1025M is above the limit 1G",
        ),
    ]


def test_a_colours_resources_are_checked_at_its_override_and_once_as_written() -> None:
    per_color = {
        "blue": {"resources": {"memory": "1G", "memory_reservation": "2G"}},
        "green": {"image": "shop/web:2"},
    }
    services = {"web": web(resources={"memory": "64"}, per_color=per_color)}
    assert findings(services=services) == [
        (
            ("services", "web", "resources", "memory"),
            "64 would be bytes; give a unit such as 64M or 64G",
        ),
        (
            ("services", "web", "per_color", "blue", "resources", "memory_reservation"),
            "2G is above the limit 1G",
        ),
    ]


def location(path: str, upstream_path: str | None = None, **more: Any) -> dict[str, Any]:
    extra = {} if upstream_path is None else {"upstream_path": upstream_path}
    return {"path": path, "upstream": "web", **extra, **more}


UPSTREAM_PATH = (
    "{!r} must start with /, hold no spaces, quotes, ; or braces, and end with / exactly when "
    "path does (nginx swaps one prefix for the other)"
)


def test_locations_nginx_can_read_are_fine() -> None:
    locations = [
        location("/"),
        location("/api/", "/v1/"),
        location("/ml", "/infer", max_body="500m"),
        location("/up", max_body="10"),
        location("/big", max_body="2G"),
    ]
    assert findings(proxy={"locations": locations}) == []


def test_locations_nginx_would_refuse_are_named() -> None:
    locations = [
        location("/"),
        location("api"),
        location("/a b"),
        location("/api/", "/v1"),
        location("/ml", "/v1/"),
        location("/x", "v1"),
        location("/", max_body="1.5g"),
        location("/api/", "/v2/"),
    ]
    assert findings(proxy={"locations": locations}) == [
        (
            ("proxy", "locations", 1, "path"),
            "'api' must start with / and hold no spaces, quotes, ; or braces",
        ),
        (
            ("proxy", "locations", 2, "path"),
            "'/a b' must start with / and hold no spaces, quotes, ; or braces",
        ),
        (("proxy", "locations", 3, "upstream_path"), UPSTREAM_PATH.format("/v1")),
        (("proxy", "locations", 4, "upstream_path"), UPSTREAM_PATH.format("/v1/")),
        (("proxy", "locations", 5, "upstream_path"), UPSTREAM_PATH.format("v1")),
        (("proxy", "locations", 6, "path"), "/ is already routed by location 0"),
        (
            ("proxy", "locations", 6, "max_body"),
            "nginx reads sizes as a whole number with k, m or g (got '1.5g'; e.g. 500m)",
        ),
    ]  # location 7 repeats /api/ of location 3, which was refused and routes nothing


def test_a_named_volume_must_be_a_docker_name_once_filled_in() -> None:
    volumes = {
        "data": {"name": "{project}_{color}.data"},
        "pg": {"scope": "shared", "name": "{project}-pg"},
        "bad": {"scope": "shared", "name": "pg data"},
        "odd": {"scope": "shared", "name": "{color}"},
    }
    assert findings(volumes=volumes) == [
        (
            ("volumes", "bad", "name"),
            "'pg data' is not a Docker volume name (letters, digits, _ . -)",
        ),
    ]


def test_a_shared_service_cannot_be_called_proxy() -> None:
    proxy_service = (
        "'proxy' is the name of specctl's nginx service in the shared project; rename this service"
    )
    assert findings(services={"proxy": web(scope="shared")}) == [
        (("services", "proxy"), proxy_service)
    ]
    assert findings(services={"proxy": web()}) == []


# --- depends_on cycles ---------------------------------------------------------------------------


def needs(*names: str) -> dict[str, Any]:
    return web(depends_on={name: "started" for name in names})


def circle(*names: str) -> Finding:
    return (
        ("services", names[0], "depends_on"),
        f"depends_on goes round in a circle: {' → '.join(names)}",
    )


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        pytest.param({"a": needs("b"), "b": needs("a")}, circle("a", "b", "a"), id="two"),
        pytest.param(
            {"c": needs("a"), "a": needs("b"), "b": needs("c")},
            circle("a", "b", "c", "a"),
            id="three",
        ),
        pytest.param(
            {"a": needs("b"), "b": needs("c"), "c": needs("d"), "d": needs("b")},
            circle("b", "c", "d", "b"),
            id="tail-into-loop",
        ),
        pytest.param(
            {"c": needs("e", "f"), "e": web(), "f": needs("c")},
            circle("c", "f", "c"),
            id="after-a-finished-branch",
        ),
        pytest.param(
            {"a": needs("d"), "c": needs("d"), "d": needs("c")},
            circle("d", "c", "d"),
            id="entered-from-outside",
        ),
        pytest.param(
            {"p": needs("q"), "q": needs("p"), "m": needs("n"), "n": needs("m")},
            circle("m", "n", "m"),
            id="only-the-first-of-two",
        ),
    ],
)
def test_a_dependency_circle_is_named_once_from_its_first_service(
    graph: dict[str, Any], expected: Finding
) -> None:
    assert findings(services=graph) == [expected]


def test_a_circle_behind_an_unknown_dependency_is_found_from_where_it_is_entered() -> None:
    services = {"a": needs("b", "d"), "c": needs("d"), "d": needs("c")}
    assert findings(services=services) == [
        (("services", "a", "depends_on", "b"), "unknown service 'b'"),
        (("services", "d", "depends_on"), "depends_on goes round in a circle: d → c → d"),
    ]


def test_a_deep_lattice_of_dependencies_is_walked_once_per_service() -> None:
    """Each level needs both services of the next: 2**40 paths, which a check that walked every
    path would never finish."""
    depth = 40
    services = {f"s{i}": needs(f"l{i + 1}", f"r{i + 1}") for i in range(depth)}
    services |= {f"l{i}": needs(f"s{i}") for i in range(1, depth + 1)}
    services |= {f"r{i}": needs(f"s{i}") for i in range(1, depth + 1)}
    services[f"s{depth}"] = web()
    assert findings(services=services) == []


def test_shared_dependencies_without_a_circle_are_fine() -> None:
    services = {
        "web": needs("a", "b"),
        "a": needs("c", "d"),
        "b": needs("c", "d"),
        "c": needs("d"),
        "d": web(),
    }
    assert findings(services=services) == []


# --- what the engine can run (validate_engine.py) ------------------------------------------------


def test_on_compose_several_tasks_placement_and_shared_storage_need_a_swarm() -> None:
    services = {
        "one": web(replicas=1),
        "none": web(replicas=0),
        "many": web(replicas=2, placement={"node": "n1"}),
        "gpu": web(placement={"labels": {"gpu": "true"}}),
    }
    paths = {"nfs": {"path": "nfs", "shared": True}, "local": {"path": "local"}}
    tail = "tasks need engine: swarm (Compose runs exactly one container per service and colour)"
    placement = "placement needs engine: swarm (one host here)"
    assert findings(services=services, paths=paths) == [
        (("services", "none", "replicas"), f"0 {tail}"),
        (("services", "many", "replicas"), f"2 {tail}"),
        (("services", "many", "placement"), placement),
        (("services", "gpu", "placement"), placement),
        (("paths", "nfs", "shared"), "shared storage matters on engine: swarm only"),
    ]


@pytest.mark.parametrize(
    ("ports", "found"),
    [
        ([{"host": 80}, {"host": 443, "container": 443}], []),
        ([{"host": 80}, {"host": 80, "container": 8080}], [(1, "0.0.0.0", 0, "0.0.0.0")]),
        ([{"host": 80, "bind": "127.0.0.1"}, {"host": 80}], [(1, "0.0.0.0", 0, "127.0.0.1")]),
        ([{"host": 80, "bind": "::"}, {"host": 80, "bind": "::1"}], [(1, "::1", 0, "::")]),
        ([{"host": 80, "bind": "10.0.0.5"}, {"host": 80, "bind": "127.0.0.1"}], []),
        ([{"host": 80, "bind": "0.0.0.0"}, {"host": 80, "bind": "::"}], []),
        ([{"host": 80, "bind": "::1"}, {"host": 80, "bind": "127.0.0.1"}], []),
        (
            [{"host": 80}, {"host": 80}, {"host": 80, "bind": "127.0.0.1"}],
            [(1, "0.0.0.0", 0, "0.0.0.0"), (2, "127.0.0.1", 0, "0.0.0.0")],
        ),
    ],
)
def test_the_proxy_cannot_publish_a_host_port_twice_on_one_address(
    ports: list[dict[str, Any]], found: list[tuple[int, str, int, str]]
) -> None:
    assert [f for f in findings(proxy={"ports": ports}) if f[0][0] == "proxy"] == [
        (
            ("proxy", "ports", index, "host"),
            f"host port 80 on {bind} is published already by proxy.ports[{earlier}] (on {other})",
        )
        for index, bind, earlier, other in found
    ]


def on_swarm(**parts: Any) -> list[Finding]:
    return findings(
        engine="swarm", proxy={"ports": [{"host": 80}], **parts.pop("proxy", {})}, **parts
    )


def test_a_plain_service_on_a_swarm_has_no_findings() -> None:
    assert on_swarm(services={"web": web(replicas=3, placement={"labels": {"a": "b"}})}) == []


def test_a_swarm_publishes_proxy_ports_on_every_address() -> None:
    ports = [{"host": 80}, {"host": 443, "bind": "127.0.0.1"}, {"host": 8443, "bind": "::"}]
    assert on_swarm(proxy={"ports": ports}) == [
        (
            ("proxy", "ports", 1, "bind"),
            "a Swarm publishes a port on every address of the node (got 127.0.0.1); drop bind, "
            "or firewall the node",
        ),
        (
            ("proxy", "ports", 2, "bind"),
            "a Swarm publishes a port on every address of the node (got ::); drop bind, or "
            "firewall the node",
        ),
    ]


def test_what_a_swarm_cannot_do_for_a_service_is_named() -> None:
    services = {
        "web": web(container_name="web-{color}", host_port={"offset": 1}),
        "api": {
            "build": {"context": "api"},
            "compose": {"restart": "no", "init": True, "privileged": True, "links": []},
        },
    }
    assert on_swarm(services=services) == [
        (
            ("services", "web", "container_name"),
            "a Swarm names its tasks itself (several may run): drop container_name",
        ),
        (
            ("services", "web", "host_port"),
            "on a Swarm specctl reaches services over the overlay network, and a published port "
            "would listen on every address of a node: drop host_port (nginx is the way in)",
        ),
        (
            ("services", "api", "build"),
            "specctl does not build for a Swarm yet: build the image yourself (docker build on the "
            "manager), name it in image:, and images: load copies it to the nodes",
        ),
        (
            ("services", "api", "compose", "links"),
            "docker stack deploy ignores links; it would silently not apply on a Swarm",
        ),
        (
            ("services", "api", "compose", "privileged"),
            "docker stack deploy ignores privileged; it would silently not apply on a Swarm",
        ),
        (
            ("services", "api", "compose", "restart"),
            "docker stack deploy ignores restart; it would silently not apply on a Swarm",
        ),
    ]


def test_data_on_one_nodes_disk_needs_a_pinned_service_or_shared_storage() -> None:
    mounts = [
        {"volume": "data", "target": "/d"},
        {"path": "local", "target": "/l"},
        {"path": "nfs", "target": "/n"},
    ]
    services = {
        "web": web(volumes=mounts),
        "db": web(volumes=mounts, placement={"node": "n1"}),
        "ml": web(volumes=mounts, placement={"labels": {"gpu": "true"}}),
    }
    paths = {"local": {"path": "local/{color}"}, "nfs": {"path": "nfs/{color}", "shared": True}}
    volume = (
        "volume data lives on the disk of the node a task runs on; a task started on another node "
        "would find it empty: pin the service (placement: {node: NAME})"
    )
    local = (
        "path local is a folder on one node's disk: pin the service (placement: {node: NAME}), "
        "or put the folder on storage every node mounts and say so (paths.local.shared: true)"
    )
    assert on_swarm(services=services, paths=paths, volumes={"data": {"name": "d-{color}"}}) == [
        (("services", "web", "volumes", 0, "volume"), volume),
        (("services", "web", "volumes", 1, "path"), local),
        (("services", "ml", "volumes", 0, "volume"), volume),
        (("services", "ml", "volumes", 1, "path"), local),
    ]


def test_an_unknown_mounted_path_is_left_to_the_reference_check_on_a_swarm() -> None:
    services = {"web": web(volumes=[{"path": "nowhere", "target": "/n"}])}
    assert on_swarm(services=services) == [
        (("services", "web", "volumes", 0, "path"), "unknown managed path 'nowhere'"),
    ]
