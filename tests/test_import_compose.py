"""`specctl import` of Compose files, run as a user runs it, and the round trip: Compose files ->
import -> spec -> compile -> compose files that `docker compose config` shows equal to the
originals in every setting that matters; each difference is listed here with its reason.

Needs the docker CLI with Compose v2 (no engine): `docker compose config` reads the files."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, run_cli

DATA = REPO / "tests" / "data"
SHOP = DATA / "compose"
REFERENCE = DATA / "cell-segmentation-hub"


def _has_compose() -> bool:
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


pytestmark = pytest.mark.skipif(not _has_compose(), reason="needs the docker CLI with Compose v2")


def config(files: list[Path], cwd: Path, project: str, **env: str) -> dict[str, Any]:
    """`docker compose config` as Compose runs the files: interpolated (only `env` set, so
    defaults apply), paths made absolute."""
    argv = ["docker", "compose", "-p", project]
    for file in files:
        argv += ["-f", str(file)]
    done = subprocess.run(
        [*argv, "config", "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def settings(svc: dict[str, Any], volumes: dict[str, Any]) -> dict[str, Any]:
    """What matters of one service: what runs, with what, where its data lives, how it is
    checked and limited."""
    env = svc.get("environment") or {}
    mounts = []
    for volume in svc.get("volumes") or []:
        source = volume.get("source")
        if volume.get("type") == "volume":
            source = (volumes.get(source) or {}).get("name", source)
        mounts.append((volume.get("type"), source, volume["target"], bool(volume.get("read_only"))))
    health = svc.get("healthcheck") or {}
    return {
        "image": svc.get("image"),
        "build": {k: v for k, v in (svc.get("build") or {}).items() if k != "args"} or None,
        "build.args": (svc.get("build") or {}).get("args"),
        "command": svc.get("command"),
        "entrypoint": svc.get("entrypoint"),
        "environment": {k: v for k, v in env.items()},
        "env_file": [e["path"] for e in svc.get("env_file") or []],
        "ports": [
            (p["target"], p.get("published"), p.get("host_ip")) for p in svc.get("ports") or []
        ],
        "volumes": sorted(mounts),
        "healthcheck": {k: health.get(k) for k in ("test", "interval", "timeout", "retries")},
        "depends_on": {k: v.get("condition") for k, v in (svc.get("depends_on") or {}).items()},
        "deploy": svc.get("deploy"),
        "restart": svc.get("restart"),
        "runtime": svc.get("runtime"),
        "logging": svc.get("logging"),
    }


def differences(
    original: dict[str, Any], generated: dict[str, Any], names: dict[str, str]
) -> dict[tuple[str, str], tuple[Any, Any]]:
    """{(service, setting): (original, generated)} for each setting that differs; `names` maps
    an original service name to the spec's (depends_on is compared under the spec's names)."""
    found = {}
    for old, new in names.items():
        before = settings(original["services"][old], original.get("volumes") or {})
        before["depends_on"] = {names.get(k, k): v for k, v in before["depends_on"].items()}
        after = settings(generated["services"][new], generated.get("volumes") or {})
        for key in before:
            if before[key] != after[key]:
                found[(new, key)] = (before[key], after[key])
    return found


def import_(tmp: Path, *args: str) -> tuple[Path, str]:
    spec = tmp / "config" / "spec.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    done = run_cli("import", *args, "-o", str(spec), cwd=tmp)
    assert done.code == 0, done.err
    return spec, done.err


def compiled(spec: Path, project: str, color: str) -> dict[str, Any]:
    """The colour's generated compose file and the shared one, as Compose reads them."""
    done = run_cli("-f", str(spec), "compile", cwd=spec.parent.parent)
    assert done.code == 0, done.err
    folder = spec.parent.parent / "generated" / project
    colour = config([folder / f"compose.{color}.yml"], folder, f"{project}-{color}")
    shared = folder / "compose.shared.yml"
    if shared.exists():
        both = config([shared], folder, f"{project}-shared")
        colour["services"] |= both.get("services") or {}
        colour["volumes"] = {**(colour.get("volumes") or {}), **(both.get("volumes") or {})}
    return colour


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The hand-written app in a folder of its own, with its env file (bind sources on disk)."""
    app = tmp_path / "shop"
    shutil.copytree(SHOP, app)
    (app / ".env").write_text("DATABASE_URL=postgresql://shop:pw@db:5432/shop\n")
    (app / ".env.local").write_text("")
    return app


def test_a_plain_compose_file_round_trips(shop: Path) -> None:
    """One file for both colours: anchors, an x- block, env_file lists, long and short ports
    and volumes, ${VAR:-default}, a secret from the shell, a database and a cache volume."""
    spec, notes = import_(shop, "docker-compose.yml")
    text = spec.read_text()
    assert "project: shop" in text
    assert "dbdata: {scope: shared, name: shop_dbdata}" in text, text  # the data stays
    assert "scope: shared  # a database" in text, text
    assert "docker-compose.yml:36: api: DATABASE_URL is built from ${DB_PASSWORD}" in notes
    assert "docker-compose.yml:23: web: Compose published its port on every address" in notes
    original = config([shop / "docker-compose.yml"], shop, "shop", DB_PASSWORD="pw")
    names = {"web": "web", "api": "api", "db": "db"}
    blue = differences(original, compiled(spec, "shop", "blue"), names)
    assert blue == {
        # Compose published web on every address; specctl binds it to 127.0.0.1 (nginx is
        # the way in), and a note says how to keep it open
        ("web", "ports"): ([(8080, "8080", None)], [(8080, "8080", "127.0.0.1")]),
        # db runs in the shared project (one database for both colours): specctl starts it,
        # and waits for it to be healthy, before any colour; Compose cannot depend across
        # projects
        ("api", "depends_on"): ({"db": "service_healthy"}, {}),
        # the password came from the shell; specctl never writes a secret into generated
        # files: it belongs in an env file of db (a note says so; required_env names it)
        ("db", "environment"): (
            {"POSTGRES_DB": "shop", "POSTGRES_PASSWORD": "pw", "POSTGRES_USER": "shop"},
            {"POSTGRES_DB": "shop", "POSTGRES_USER": "shop"},
        ),
    }
    # green: the same, its host ports 1000 up (one file serves both colours)
    green = differences(original, compiled(spec, "shop", "green"), {"web": "web", "api": "api"})
    assert green.pop(("web", "ports")) == ([(8080, "8080", None)], [(8080, "9080", "127.0.0.1")])
    assert green.pop(("api", "ports")) == (
        [(8080, "8081", "127.0.0.1")],
        [(8080, "9081", "127.0.0.1")],
    )
    assert green == {("api", "depends_on"): ({"db": "service_healthy"}, {})}


def test_the_reference_blue_file_and_nginx_config_round_trip(tmp_path: Path) -> None:
    """The real docker-compose.blue.yml and nginx.prod.conf of the Cell Segmentation Hub."""
    app = tmp_path / "csh"
    app.mkdir()
    for name in ("docker-compose.blue.yml", "nginx.prod.conf"):
        shutil.copy(REFERENCE / name, app / name)
    for color in ("blue", "green"):
        (app / f".env.{color}.production").write_text("DB_PASSWORD=pw\nJWT_SECRET=x\n")
    spec, notes = import_(
        app, "docker-compose.blue.yml", "--nginx", "nginx.prod.conf", "-p", "spheroseg"
    )
    text = spec.read_text()
    for line in (
        'postgres_data: {name: "spheroseg_postgres_{color}"}',  # the data volumes adopted
        "base: ../nginx.prod.conf",
        "backend: {service: backend}",
        "ml_service: {service: ml}",
        "certificate: live/spherosegapp.utia.cas.cz/fullchain.pem",
        "ports: [{host: 80, container: 80}, {host: 443, container: 443}]",
        'env_files: [".env.{color}.production"]',
    ):
        assert line in text, line
    assert "nesting the old scripts had to repair" in notes
    original = config([app / "docker-compose.blue.yml"], app, "csh", DB_PASSWORD="pw")
    names = {
        "blue-frontend": "frontend",
        "blue-backend": "backend",
        "blue-ml": "ml",
        "postgres-blue": "postgres",
        "redis-blue": "redis",
    }
    found = differences(original, compiled(spec, "spheroseg", "blue"), names)
    # published on every address before; 127.0.0.1 now (nginx is the way in; a note says so)
    for svc, port, inside in (
        ("frontend", "4000", 80),
        ("backend", "4001", 3001),
        ("ml", "4008", 8000),
    ):
        assert found.pop((svc, "ports")) == ([(inside, port, None)], [(inside, port, "127.0.0.1")])
    # ml mounted backend/uploads/blue/blue, the nested folder the old scripts repaired
    before, after = found.pop(("ml", "volumes"))
    assert [v for v in before if v not in after] == [
        ("bind", str(app / "backend/uploads/blue/blue"), "/app/uploads", False)
    ]
    assert [v for v in after if v not in before] == [
        ("bind", str(app / "backend/uploads/blue"), "/app/uploads", False)
    ]
    # the colour's services are reached by their spec names on the colour's network
    # (redis://redis-blue:6379 -> redis://redis:6379); DATABASE_URL embedded the database
    # password: it belongs in an env file of ml (a note says so)
    before, after = found.pop(("ml", "environment"))
    assert {k: v for k, v in before.items() if after.get(k) != v} == {
        "DATABASE_URL": "postgresql://spheroseg:pw@postgres-blue:5432/spheroseg_blue",
        "REDIS_URL": "redis://redis-blue:6379",
    }
    assert after["REDIS_URL"] == "redis://redis:6379" and "DATABASE_URL" not in after
    # POSTGRES_PASSWORD came from the shell: an env file's now
    before, after = found.pop(("postgres", "environment"))
    assert set(before) - set(after) == {"POSTGRES_PASSWORD"}
    assert found == {}


def test_two_colour_files_give_per_colour_overrides(tmp_path: Path) -> None:
    """A blue and a green file that differ beyond the colour's name: the difference becomes
    per_color, the rest is one service."""
    for color, tag, port in (("blue", "1.0", 4000), ("green", "1.1", 5000)):
        (tmp_path / f"docker-compose.{color}.yml").write_text(
            f"""\
services:
  {color}-web:
    image: specctl-testbed/app:{tag}
    environment: [APP_COLOR={color}, LOG_LEVEL={"debug" if color == "green" else "info"}]
    ports: ["127.0.0.1:{port}:8080"]
    volumes: [./data/{color}:/data]
{"    stop_grace_period: 30s" if color == "green" else ""}
"""
        )
    spec, notes = import_(tmp_path, "docker-compose.blue.yml", "docker-compose.green.yml")
    assert (
        "docker-compose.green.yml:7: web: stop_grace_period differs between the colour files "
        "beyond the colour's name: the blue file's is kept"
    ) in notes, notes
    doc = YAML(typ="safe").load(spec.read_text())
    web = doc["services"]["web"]
    assert web["image"] == "specctl-testbed/app:1.0"
    assert web["environment"] == {"APP_COLOR": "{color}", "LOG_LEVEL": "info"}
    assert web["per_color"] == {
        "green": {"image": "specctl-testbed/app:1.1", "environment": {"LOG_LEVEL": "debug"}}
    }
    assert doc["colors"] == {"blue": {"port_base": 4000}, "green": {"port_base": 5000}}
    assert web["host_port"] == {"offset": 0}
    assert doc["paths"]["data"]["path"] == "data/{color}"
    for color in ("blue", "green"):
        original = config([tmp_path / f"docker-compose.{color}.yml"], tmp_path, color)
        generated = compiled(spec, doc["project"], color)
        # no restart policy in Compose (its default: none); specctl's default, with a note
        assert differences(original, generated, {f"{color}-web": "web"}) == {
            ("web", "restart"): (None, "unless-stopped")
        }


def test_what_is_not_compose_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("services: {web: {image: x, ports: ['8080:80'}}\n")
    done = run_cli("import", "a.yml", cwd=tmp_path)
    assert done.code == 1
    assert "docker compose config: a.yml:" in done.err, done.err


def test_shapes_specctl_cannot_map_are_listed_not_lost(tmp_path: Path) -> None:
    """Port ranges, ports Docker picks, host networking, Compose secrets, replicas, a health
    check turned off: the spec still validates, and each is a note with its line."""
    (tmp_path / "compose.yml").write_text(
        """\
services:
  "my.app":
    image: busybox
    network_mode: host
    ports: ["8000-8001:8000-8001", "9000"]
    secrets: [token]
    healthcheck: {disable: true}
    restart: on-failure:3
    deploy: {replicas: 3}
    environment: {DOLLAR: "$$HOME", FROM_SHELL: null}
secrets:
  token: {file: ./token}
"""
    )
    done = run_cli("import", "compose.yml", cwd=tmp_path)
    assert done.code == 0, done.err
    doc = YAML(typ="safe").load(done.out)
    app = doc["services"]["my_app"]
    assert app["environment"] == {"DOLLAR": "$$HOME"}  # `$$` is a `$` to both
    assert app["required_env"] == ["FROM_SHELL"]
    assert app["compose"] == {"restart": "on-failure:3"}
    for note in (
        "compose.yml:5: my_app: host port 8001:8001 not kept",
        "compose.yml:5: my_app: port 9000 was published on a host port Docker picks",
        "compose.yml:4: network_mode not carried over",
        "compose.yml:6: secrets not carried over",
        "compose.yml:9: my_app: replicas 3 not kept",
        "compose.yml:10: my_app: FROM_SHELL came from the shell",
    ):
        assert f"note: {note}" in done.err, note


def test_the_nginx_conf_the_compose_files_mount_is_the_base(tmp_path: Path) -> None:
    """No --nginx given, but the nginx service mounts its nginx.conf: that is proxy.base. A
    proxy_pass that names a service instead of an upstream block cannot be switched: the
    note says what to write."""
    (tmp_path / "docker-compose.yml").write_text(
        """\
services:
  web:
    image: specctl-testbed/app:1.0
    expose: ["8080"]
  nginx:
    image: specctl-testbed/nginx:1.22
    ports: ["8088:80"]
    volumes: [./nginx.conf:/etc/nginx/nginx.conf:ro]
"""
    )
    conf = "events {}\nhttp {\n  server {\n    listen 80;\n    location / { proxy_pass http://web:8080; }\n  }\n}\n"
    (tmp_path / "nginx.conf").write_text(conf)
    done = run_cli("import", "docker-compose.yml", cwd=tmp_path)
    assert done.code == 1  # no upstream block to manage: the spec does not validate
    assert "which the Compose files mount as nginx.conf, is proxy.base" in done.err
    assert (
        "note: nginx.conf:5: proxy_pass http://web:8080 names the service, not an upstream "
        "block, so specctl cannot switch it: add `upstream web { server web:8080; }`"
    ) in done.err, done.err
    assert "proxy.upstreams: at least one upstream is needed" in done.err

    (tmp_path / "nginx.conf").write_text(
        conf.replace(
            "events {}\nhttp {\n", "events {}\nhttp {\n  upstream web { server web:8080; }\n"
        ).replace("http://web:8080;", "http://web;")
    )
    done = run_cli("import", "docker-compose.yml", "-o", "spec.yaml", cwd=tmp_path)
    assert done.code == 0, done.err
    doc = YAML(typ="safe").load((tmp_path / "spec.yaml").read_text())
    assert doc["proxy"]["base"] == "nginx.conf"
    assert doc["proxy"]["upstreams"] == {"web": {"service": "web"}}
    assert doc["proxy"]["ports"] == [{"host": 8088, "container": 80}]
    assert doc["services"]["web"]["port"] == 8080


LEGACY = """\
services:
  web:
    image: specctl-testbed/app:1.0
    environment: {APP_NAME: web, APP_COLOR: blue}
    expose: ["8080"]
    depends_on: {db: {condition: service_healthy}}
    healthcheck:
      test: [CMD, python3, -c, "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/')"]
      interval: 1s
      retries: 30
  db:
    image: specctl-testbed/postgres:15
    environment: {POSTGRES_USER: app, POSTGRES_DB: app, POSTGRES_PASSWORD: "${DB_PASSWORD}"}
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck: {test: "pg_isready -h 127.0.0.1 -U app -d app", interval: 1s, retries: 60}
  nginx:
    image: specctl-testbed/nginx:1.22
    ports: ["127.0.0.1:31710:80"]
    volumes: [./nginx.conf:/etc/nginx/nginx.conf:ro]
    depends_on: [web]
volumes:
  pgdata:
"""
LEGACY_NGINX = """\
events {}
http {
  upstream web { server web:8080; }
  server { listen 80; location / { proxy_pass http://web; } }
}
"""


@pytest.mark.docker
def test_a_running_compose_app_is_taken_over_under_load_keeping_its_data(
    tmp_path: Path, docker_engine: None
) -> None:
    """A plain Compose app (its own nginx, a database with a named volume, no specctl labels)
    serves on 31710. Imported, then: `plan` shows its containers as unmanaged, serving, and the
    takeover; `apply` deploys green under specctl and switches the user's own nginx to it in
    place, under load: 0 failed requests (no retries, a new connection each); rollback goes
    back to the user's blue, restoring their nginx.conf byte for byte; `apply --target blue`
    replaces their blue; `apply --recreate-shared` replaces their nginx (outage measured and
    reported) and database (on the same volume): the rows are still there and status shows a
    plain specctl deployment."""
    from specctl.appliers.loadgen import Load
    from tests.conftest import remove_project

    project = "impleg"
    (tmp_path / "docker-compose.yml").write_text(LEGACY)
    (tmp_path / "nginx.conf").write_text(LEGACY_NGINX)
    compose = ["docker", "compose", "-p", project, "-f", str(tmp_path / "docker-compose.yml")]
    env = {"PATH": "/usr/bin:/bin", "DB_PASSWORD": "pw"}

    def sh(*argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def rows(container: str) -> str:
        sql = ["psql", "-U", "app", "-d", "app", "-tAc", "SELECT x FROM kept"]
        return sh("docker", "exec", container, *sql).strip()

    def under_load(*argv: str) -> tuple[Any, Any]:
        with Load(31710, rate=50, seconds=600) as load:
            done = run_cli(*argv, cwd=tmp_path)
        report = load.stop()
        assert done.code == 0, done.out + done.err
        t0 = report.samples[0].start if report.samples else 0
        bad = [(round(s.start - t0, 2), s.status, s.error) for s in report.samples if not s.ok]
        assert report.total > 0 and report.failed == 0, (argv, bad, done.out)
        return done, report

    try:
        sh(*compose, "up", "-d", "--wait")
        sql = "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"
        sh("docker", "exec", f"{project}-db-1", "psql", "-U", "app", "-d", "app", "-c", sql)
        spec, _ = import_(tmp_path, "docker-compose.yml", "-p", project)
        text = spec.read_text().replace(
            "    required_env: [POSTGRES_PASSWORD]",
            "    env_files: [.env.db]\n    required_env: [POSTGRES_PASSWORD]",
        )
        spec.write_text(text)
        (tmp_path / ".env.db").write_text("POSTGRES_PASSWORD=pw\n")
        (tmp_path / ".env.db").chmod(0o600)
        assert run_cli("compile", cwd=tmp_path).code == 0

        plan = run_cli("plan", cwd=tmp_path)
        assert "target green (active: blue" in plan.out, plan.out
        for line in (
            f"unmanaged, serving: {project}-nginx-1 (holds port 31710 of proxy.nginx) is "
            "proxy.nginx, taken over in place (switches rewrite the server lines of",
            f"unmanaged, serving: {project}-db-1 (Compose project {project}, service db) is "
            "shared.service.db, taken over in place (joins the project's network as db)",
            f"unmanaged, serving: {project}-web-1 (Compose project {project}, service web) is "
            "blue.service.web",
            f"take over {project}-db-1 in place: join {project}-edge",
            "nginx.upstream.web  blue-web:8080 → green-web:8080",
        ):
            assert line in plan.out, plan.out

        # Killed after the takeover began (their database joined, green deployed and joined
        # their nginx's network), before the switch: the re-run finishes the job.
        with Load(31710, rate=50, seconds=600) as load:
            killed = run_cli("apply", "--yes", cwd=tmp_path, env={"SPECCTL_TEST_KILL_AT": "stage"})
        assert killed.code == -signal.SIGKILL and load.stop().failed == 0
        assert "take over" not in run_cli("plan", cwd=tmp_path).out  # joined already

        applied, report = under_load("apply", "--yes")
        assert f"accepted by `nginx -t` inside {project}-nginx-1 (taken over)" in applied.out
        assert set(report.colors()) == {"blue", "green"}, report.summary()
        assert "server green-web:8080;" in (tmp_path / "nginx.conf").read_text()
        assert rows(f"{project}-db-1") == "42"
        status = run_cli("status", cwd=tmp_path)
        assert "active green" in status.out, status.out
        assert f"(taken over: {project}-db-1, not created by specctl)" in status.out
        again = run_cli("apply", "--yes", cwd=tmp_path).out
        assert "Nothing to do for the colour" in again and "kept as it runs" in again, again

        under_load("rollback")
        assert (tmp_path / "nginx.conf").read_text() == LEGACY_NGINX  # theirs, as it was
        under_load("apply", "--yes")  # green again
        refused = run_cli("apply", "--yes", "--recreate-shared", cwd=tmp_path)
        assert refused.code == 1 and f"while {project}-web-1, taken over too" in refused.err

        replaced, _ = under_load("apply", "--yes", "--target", "blue")
        assert f"replace {project}-web-1 (taken over)" in replaced.out
        sh("docker", "inspect", f"{project}-blue-web-1")  # specctl's blue serves now

        with Load(31710, rate=50, seconds=600) as load:
            recreated = run_cli("apply", "--yes", "--recreate-shared", cwd=tmp_path)
        outage = load.stop()
        assert recreated.code == 0, recreated.out + recreated.err
        assert f"replacing {project}-nginx-1 (taken over) by specctl's proxy.nginx" in recreated.out
        assert "proxy.nginx answered again after" in recreated.out
        assert outage.total > 0  # the outage is what apply measured and reported
        assert rows(f"{project}-shared-db-1") == "42"
        status = run_cli("status", cwd=tmp_path)
        assert "active blue" in status.out and "taken over" not in status.out, status.out
        assert "No changes" in run_cli("plan", cwd=tmp_path).out
    finally:  # theirs first: their database is on specctl's network, specctl's on theirs
        subprocess.run([*compose, "down", "-v"], capture_output=True, env=env, check=False)
        remove_project(project)
        subprocess.run([*compose, "down", "-v"], capture_output=True, env=env, check=False)


def test_a_static_frontend_on_nginx_is_a_service_the_proxy_in_front_is_the_proxy(
    tmp_path: Path,
) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        """\
services:
  frontend:
    image: nginx:1.25-alpine
    expose: ["80"]
  api:
    image: app:1
    expose: ["8080"]
  proxy:
    image: nginx:1.25-alpine
    ports: ["80:80"]
    depends_on: [frontend, api]
"""
    )
    done = run_cli("import", "docker-compose.yml", cwd=tmp_path)
    assert done.code == 0, done.err
    doc = YAML(typ="safe").load(done.out)
    assert sorted(doc["services"]) == ["api", "frontend"]
    assert doc["proxy"]["ports"] == [{"host": 80, "container": 80}]
    assert doc["proxy"]["upstreams"] == {"frontend": {"service": "frontend"}}
