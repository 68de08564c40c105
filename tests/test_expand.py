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
