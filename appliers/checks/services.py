"""Checks that talk to running services: the database answers a query, nginx accepts the target's
config (side effects: PostgreSQL connections, `docker exec`, a temporary file beside the live
nginx config; the live nginx.conf itself is never touched)."""

from __future__ import annotations

import os
from pathlib import Path

import crossplane
from docker.errors import DockerException

from specctl.appliers.checks.base import FAIL, PASS, WARN, Context, Outcome
from specctl.appliers.engine import client_for
from specctl.appliers.envfiles import read_env
from specctl.appliers.nginx import exec_in, nginx_test_argv
from specctl.appliers.observe import live_config_path
from specctl.appliers.project import Project
from specctl.compiler.expand import NGINX_CONFIG_DIR
from specctl.compiler.exposure import reach_host, url_host
from specctl.schemas.desired import DesiredService
from specctl.schemas.errors import SpecctlError
from specctl.schemas.spec import Database

# --- database -------------------------------------------------------------------------------------


def psql_argv(user: str, database: str) -> list[str]:
    return ["psql", "-U", user, "-d", database, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1"]


def database_name(db: Database, svc: DesiredService, target: str) -> str:
    """`{color}` in the name is the colour whose database it is: the service's own colour, or the
    target's when the database server is shared."""
    return db.name.replace("{color}", svc.color or target)


def check_database(ctx: Context) -> Outcome:
    db = ctx.project.spec.backups.database
    if db is None:
        return PASS, "no database configured (backups.database)"
    svc = ctx.desired.service(db.service)
    container = ctx.running(svc)
    if container is None:
        return WARN, f"{svc.address} is not running yet (first deploy?), connection not tried"
    name = database_name(db, svc, ctx.desired.color)
    password = None
    if db.password_env is not None:
        env: dict[str, str | None] = {**read_env(ctx.project, svc), **svc.environment}
        password = env.get(db.password_env) or None
        if password is None:
            return FAIL, (
                f"{svc.address}: {db.password_env} (backups.database.password_env) is not set "
                "in its env files"
            )
    if svc.host_port is not None:
        host = reach_host(svc.host_ip)
        where = f"{db.user}@{url_host(svc.host_ip)}:{svc.host_port}/{name}"
        problem, version = _query_over_tcp(host, svc.host_port, db.user, name, password)
    else:
        where = f"{db.user}@{container.name}/{name} (psql inside the container)"
        problem, version = _query_in_container(ctx.exec_id(container, svc), db.user, name, password)
    if problem is not None:
        if password:
            problem = problem.replace(password, "***")
        return FAIL, f"{where}: {problem}"
    return PASS, f"{where} answered SELECT 1{version}"


def _query_over_tcp(
    host: str, port: int, user: str, dbname: str, password: str | None
) -> tuple[str | None, str]:
    import psycopg  # 0.15 s to import: only a database check over TCP pays

    try:
        with psycopg.connect(
            host=host,
            port=port,
            user=user,
            dbname=dbname,
            password=password,
            connect_timeout=5,
            application_name="specctl-check",
        ) as conn:
            row = conn.execute("SELECT 1").fetchone()
            version = conn.info.server_version
    except psycopg.Error as exc:
        return _one_line(str(exc)) or type(exc).__name__, ""
    if row != (1,):
        return f"SELECT 1 returned {row!r}", ""
    return None, f" (PostgreSQL {version // 10000}.{version % 10000})"


def _query_in_container(
    container_id: str, user: str, dbname: str, password: str | None
) -> tuple[str | None, str]:
    env = {"PGPASSWORD": password} if password else None
    try:
        client = client_for(container_id)  # on a Swarm, maybe another node's engine
        created = client.exec_create(
            container_id, psql_argv(user, dbname), stdout=True, stderr=True, environment=env
        )
        raw = client.exec_start(created["Id"])
        code = client.exec_inspect(created["Id"]).get("ExitCode")
    except DockerException as exc:
        return _one_line(str(exc)), ""
    text = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else str(raw)
    if code != 0 or text.splitlines()[-1:] != ["1"]:
        return f"psql exited {code}: {_one_line(text)}", ""
    return None, ""


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " / ".join(lines)[:300]


# --- nginx ----------------------------------------------------------------------------------------


def check_nginx_config(ctx: Context) -> Outcome:
    project, desired = ctx.project, ctx.desired
    file = project.nginx_file(desired.color)
    if not file.is_file():
        return FAIL, f"{file.name} is missing (run specctl compile)"
    problem, count = crossplane_problem(file)
    if problem is not None:
        return FAIL, problem
    parsed = f"{file.name} parses ({count} directives)"
    try:
        proxy = ctx.running(desired.proxy)
    except SpecctlError as exc:
        return WARN, f"{parsed}; nginx -t not run: {exc.message.splitlines()[0]}"
    if proxy is None:
        return PASS, f"{parsed}; nginx -t not run: {desired.proxy.address} is not running"
    if proxy.adopted is not None:
        return PASS, (
            f"{parsed}; nginx is {proxy.adopted}, taken over: the switch checks its own config "
            "with `nginx -t` inside it"
        )
    down = sorted(
        {
            f"{desired.color}-{u.service}"
            for u in desired.upstreams
            if ctx.running(desired.service(u.service)) is None
        }
    )
    if down:
        return PASS, (
            f"{parsed}; nginx -t not run: {', '.join(down)} not running yet "
            "(nginx resolves upstream hosts when it loads a config)"
        )
    code, output = validate_in_proxy(project, ctx.exec_id(proxy, desired.proxy), file)
    if code != 0:
        return FAIL, f"nginx -t in {proxy.name} rejected {file.name} (exit {code}): {output}"
    return PASS, f"{parsed}; nginx -t in {proxy.name} accepts it"


def crossplane_problem(file: Path) -> tuple[str | None, int]:
    """(the first parse error as `FILE:LINE: error`, or None; how many directives)."""
    payload = crossplane.parse(str(file), single=True, catch_errors=True, comments=False)
    for cfg in payload.get("config", []):
        for error in cfg.get("errors", []):
            return f"{file.name}:{error.get('line')}: {error.get('error')}", 0
    if payload.get("status") != "ok":
        return f"{file.name}: crossplane could not parse it", 0
    count = sum(_count(cfg.get("parsed", [])) for cfg in payload.get("config", []))
    return None, count


def _count(block: list[dict[str, object]]) -> int:
    total = 0
    for directive in block:
        total += 1
        inner = directive.get("block")
        if isinstance(inner, list):
            total += _count(inner)
    return total


def validate_in_proxy(project: Project, proxy_id: str, file: Path) -> tuple[int, str]:
    """`nginx -t` of `file` inside the running proxy. It is staged under a name of its own beside
    the live config (the folder the proxy mounts), so neither the live nginx.conf nor the file an
    apply stages is ever touched, then removed."""
    folder = live_config_path(project).parent
    staged = folder / f"nginx.conf.check-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    staged.write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    try:
        code, output = exec_in(proxy_id, nginx_test_argv(f"{NGINX_CONFIG_DIR}/{staged.name}"))
    finally:
        staged.unlink(missing_ok=True)
    return code, _one_line(output.replace(f"{NGINX_CONFIG_DIR}/{staged.name}", file.name))
