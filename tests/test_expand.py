"""compiler/expand.py: one colour of a spec expanded into services and upstreams; pure."""

from __future__ import annotations

from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from specctl.schemas.desired import Desired

SPEC = """\
project: shop
services:
  web:
    image: shop/web:1
    port: 8080
    healthcheck: {http: "/health?deep=1&quiet=1"}
  admin:
    image: shop/admin:1
    port: 8080
proxy:
  image: nginx
  ports: [{host: 8080}]
  upstreams:
    web: web
    admin: {service: admin, port: 9090}
  locations: [{path: /admin/, upstream: admin}, {path: /, upstream: web}]
"""


def expanded(color: str) -> Desired:
    return expand(load_spec(SPEC, filename="spec.yaml"), color, spec_digest="0" * 64)


def test_the_health_url_is_one_shell_word() -> None:
    """The check runs in a shell: an unquoted `&` would background curl and pass every time."""
    (web,) = [s for s in expanded("blue").services if s.name == "web"]
    assert web.healthcheck is not None
    url = "'http://127.0.0.1:8080/health?deep=1&quiet=1'"
    assert web.healthcheck["test"] == [
        "CMD-SHELL",
        f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url}",
    ]


def test_an_upstream_port_wins_over_the_service_port() -> None:
    for color in ("blue", "green"):
        servers = {u.name: u.server for u in expanded(color).upstreams}
        assert servers == {"admin": f"{color}-admin:9090", "web": f"{color}-web:8080"}


COLOURED = """\
project: shop
services:
  db:
    image: "shop/db:{color}"
    build: {context: ., args: {FLAVOUR: "{color}"}}
    command: [serve, --name, "db_{color}"]
    healthcheck: {command: "pg_isready -d shop_{color}"}
    port: 5432
    compose: {hostname: "db-{color}", extra_hosts: ["{color}.local:127.0.0.1"]}
proxy:
  image: nginx
  upstreams: {db: db}
  locations: [{path: /, upstream: db}]
"""


def test_color_is_filled_in_everywhere_a_colour_differs() -> None:
    """The PostgreSQL health check of the real app is `pg_isready -d spheroseg_{color}`."""
    spec = load_spec(COLOURED, filename="spec.yaml")
    (db,) = expand(spec, "green", spec_digest="0" * 64).services
    assert db.image == "shop/db:green"
    assert db.build == {"context": ".", "args": {"FLAVOUR": "green"}}
    assert db.command == ["serve", "--name", "db_green"]
    assert db.healthcheck is not None
    assert db.healthcheck["test"] == ["CMD-SHELL", "pg_isready -d shop_green"]
    assert db.compose == {"hostname": "db-green", "extra_hosts": ["green.local:127.0.0.1"]}


NAMED = """\
project: csh
services:
  backend: {image: b, port: 3001, container_name: "{color}-backend"}
  postgres: {image: p, port: 5432, aliases: ["postgres-{color}"]}
  mail: {image: m, scope: shared, aliases: [mailhog]}
proxy:
  image: nginx
  networks: [monitoring]
  upstreams: {backend: backend}
  locations: [{path: /, upstream: backend}]
"""


def test_operators_names_reach_the_compose_files() -> None:
    """The old system's names: `blue-backend` as a container, `postgres-blue` on the network."""
    from ruamel.yaml import YAML

    from specctl.compiler.compose import render_color_compose, render_shared_compose

    spec = load_spec(NAMED, filename="spec.yaml")
    green = expand(spec, "green", spec_digest="0" * 64)
    doc = YAML(typ="safe").load(render_color_compose(green, root_ref="..", header=""))
    assert doc["services"]["backend"]["container_name"] == "green-backend"
    assert doc["services"]["postgres"]["networks"]["edge"] == {
        "aliases": ["green-postgres", "postgres-green"]
    }
    shared = YAML(typ="safe").load(render_shared_compose(green, root_ref="..", header=""))
    assert shared["services"]["mail"]["networks"]["edge"]["aliases"] == ["mail", "mailhog"]
    assert shared["services"]["proxy"]["networks"] == {
        "edge": {"aliases": ["proxy"]},
        "monitoring": {},
    }
    assert shared["networks"]["monitoring"] == {"name": "monitoring", "external": True}


def test_a_service_without_the_new_names_keeps_its_config_hash() -> None:
    """Upgrading specctl must not recreate running containers."""
    plain = load_spec(NAMED.replace(', container_name: "{color}-backend"', ""), filename="s.yaml")
    named = load_spec(NAMED, filename="s.yaml")
    hashes = [
        {s.name: s.config_hash for s in expand(spec, "blue", spec_digest="0" * 64).services}
        for spec in (plain, named)
    ]
    assert hashes[0]["postgres"] == hashes[1]["postgres"]
    assert hashes[0]["backend"] != hashes[1]["backend"]


PER_COLOR = """\
project: shop
services:
  web:
    image: shop/web:1
    port: 8080
    environment: {A: "1", B: "2"}
    per_color:
      green: {image: "shop/web:2", environment: {B: "3"}, env_files: [.env.migrating]}
proxy:
  image: nginx
  upstreams: {web: web}
  locations: [{path: /, upstream: web}]
"""


def test_per_color_differences_apply_to_their_colour_only() -> None:
    spec = load_spec(PER_COLOR, filename="spec.yaml")
    blue, green = (expand(spec, c, spec_digest="0" * 64).services[0] for c in ("blue", "green"))
    assert (blue.image, blue.environment, blue.env_files) == (
        "shop/web:1",
        {"A": "1", "B": "2"},
        [],
    )
    assert (green.image, green.environment, green.env_files) == (
        "shop/web:2",
        {"A": "1", "B": "3"},
        [".env.migrating"],
    )


def test_the_plan_notes_per_color_differences() -> None:
    from specctl.compiler.diff import per_color_notes

    spec = load_spec(PER_COLOR, filename="spec.yaml")
    expected = "service.web differs from {} by per_color: env_files, environment, image"
    assert per_color_notes(spec, "green") == ["green." + expected.format("blue")]
    assert per_color_notes(spec, "blue") == ["blue." + expected.format("green")]
