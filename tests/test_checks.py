"""Pre-deployment checks and `specctl check`: each check passes and fails against real things
(Docker engine, PostgreSQL, nginx, sockets, certificates made here). Projects chk1..chk14, host
ports 21000-21999 only."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from specctl.appliers.checks.base import Context, summarize, worst
from specctl.appliers.checks.engine import compose_config_argv, compose_version_argv
from specctl.appliers.checks.host import listening_inodes, mem_available
from specctl.appliers.checks.run import (
    CHECKS,
    CheckResult,
    mask_secrets,
    run_checks,
    run_pre_checks,
)
from specctl.appliers.checks.services import database_name, psql_argv
from specctl.appliers.checks.tls import certificate_dates
from specctl.appliers.compose import ensure_network
from specctl.appliers.project import load_project, write_generated
from specctl.compiler.show.checks import document, render_json, render_text
from specctl.schemas.desired import DesiredService
from specctl.schemas.spec import PRE_CHECKS, Database
from tests.certbot import self_signed
from tests.conftest import Sandbox

Make = Callable[..., Sandbox]
SECRET = "s3cr3t-value-never-shown-7781"


def spec_text(
    name: str,
    base: int,
    extra: str = "",
    *,
    services: str = "",
    proxy: str = "",
    backups: str = "{enabled: false}",
) -> str:
    """A small spec: one per-colour app service behind nginx, plus what the test adds.
    Host ports: blue `base`, green base+20, proxy base+40 (postgres, when added: base+45)."""
    return f"""\
version: 1
project: {name}
root: ..
colors:
  blue: {{port_base: {base}}}
  green: {{port_base: {base + 20}}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}"}}
    env_files: [".env.{{color}}"]
    required_env: [API_KEY]
    resources: {{memory: 64M}}
{services}proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {base + 40}, container: 80}}]
  upstreams:
    web: {{service: web}}
  locations: [{{path: /, upstream: web}}]
{proxy}backups: {backups}
{extra}"""


ENV = {".env.blue": f"API_KEY={SECRET}\n", ".env.green": f"API_KEY={SECRET}\n"}


def run_one(box: Sandbox, name: str, color: str = "blue") -> tuple[str, str]:
    project = box.project()
    return CHECKS[name](Context(project=project, desired=project.desired(color)))


def recompile(box: Sandbox) -> None:
    """What `specctl compile` does, in this process (faster than the CLI)."""
    project = box.project()
    write_generated(project, project.compile())


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def compose(box: Sandbox, which: str, *args: str) -> None:
    file = box.root / "generated" / box.name / f"compose.{which}.yml"
    ensure_network(f"{box.name}-edge", project_name=box.name)
    proc = subprocess.run(
        ["docker", "compose", "-f", str(file), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


# --- pure parts -----------------------------------------------------------------------------------


def test_argv_builders() -> None:
    assert " ".join(compose_version_argv()) == "docker compose version --short"
    assert " ".join(compose_config_argv(Path("/x/compose.blue.yml"))) == (
        "docker compose -f /x/compose.blue.yml config -q"
    )
    assert " ".join(psql_argv("demo", "app_blue")) == (
        "psql -U demo -d app_blue -tAX -v ON_ERROR_STOP=1 -c SELECT 1"
    )


def test_database_name_uses_the_colour_whose_database_it_is() -> None:
    db = Database(service="db", name="app_{color}")

    def svc(color: str | None) -> DesiredService:
        return DesiredService.model_construct(color=color)

    assert database_name(db, svc("green"), "blue") == "app_green"
    assert database_name(db, svc(None), "blue") == "app_blue"


def test_statuses_and_summaries() -> None:
    assert worst(["pass", "warn", "pass"]) == "warn"
    assert worst(["warn", "fail"]) == "fail"
    assert worst([]) == "pass"
    assert summarize([], "all good") == ("pass", "all good")
    assert summarize([("warn", "a"), ("fail", "b")], "x") == ("fail", "a; b")


def test_proc_net_tcp_and_meminfo_parsers() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 00000000:5208 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 4242 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:5208 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0 "
        "       0 5151 1 0000000000000000 100 0 0 10 0\n"
        "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 6363 1 0000000000000000 100 0 0 10 0\n"
    )
    assert listening_inodes(table, 0x5208) == {4242}  # the established one (01) is not a holder
    assert listening_inodes(table, 8080) == {6363}
    assert listening_inodes(table, 21999) == set()
    assert mem_available("MemTotal: 100 kB\nMemAvailable:    2048 kB\n") == 2 * 1024 * 1024
    assert mem_available("MemTotal: 100 kB\n") is None


def test_render_text_and_json() -> None:
    rows = [
        CheckResult("docker", "pass", "engine 24 reachable; Compose 2.26", 0.1234),
        CheckResult("ports", "fail", "21001 (blue.service.web) is taken by pid 7 (nc)", 0.01),
        CheckResult("paths", "warn", "path.uploads.blue (uploads/blue): missing", 0.0),
    ]
    text = render_text(rows, title="specctl check pre: chk, target blue")
    assert text.splitlines() == [
        "specctl check pre: chk, target blue",
        "",
        "  ✓ docker  engine 24 reachable  (0.12s)",
        "            Compose 2.26",
        "  ✗ ports   21001 (blue.service.web) is taken by pid 7 (nc)  (0.01s)",
        "  ! paths   path.uploads.blue (uploads/blue): missing  (0.00s)",
        "",
        "Checks: 1 passed, 1 warning, 1 failed.",
    ]
    doc = json.loads(render_json(rows, kind="pre", project="chk", target="blue"))
    assert doc == document(rows, kind="pre", project="chk", target="blue")
    assert doc["format_version"] == 1
    assert doc["summary"] == {"pass": 1, "warn": 1, "fail": 1, "total": 3}
    assert doc["checks"][0] == {
        "name": "docker",
        "status": "pass",
        "detail": "engine 24 reachable; Compose 2.26",
        "seconds": 0.123,
    }
    assert render_text([], title="t", noun="probes").endswith("No probes to run.\n")


# --- certificates made here ---------------------------------------------------------------------


def make_cert(
    folder: Path, *, days_left: float, key: ec.EllipticCurvePrivateKey | None = None
) -> ec.EllipticCurvePrivateKey:
    """A self-signed certificate in folder/fullchain.pem, its key in folder/privkey.pem."""
    return self_signed(folder, "chk.example", days_left=days_left, key=key)


def test_certificate_dates_at_a_fixed_time(tmp_path: Path) -> None:
    make_cert(tmp_path, days_left=10)
    cert = x509.load_pem_x509_certificate((tmp_path / "fullchain.pem").read_bytes())
    now = datetime.now(UTC)
    assert certificate_dates(cert, now=now, warn_days=5)[0] == "pass"
    status, detail = certificate_dates(cert, now=now, warn_days=30)
    assert status == "warn" and "CN=chk.example expires on" in detail and "in 9 days" in detail
    status, detail = certificate_dates(cert, now=now + timedelta(days=11), warn_days=30)
    assert status == "fail" and "expired on" in detail


TLS = """\
paths:
  certs: {path: certs, kind: certificate}
checks:
  pre: {cert_warn_days: 30}
"""


def test_tls(sandbox_factory: Make) -> None:
    text = spec_text("chk1", 21000, TLS, proxy="  tls: {path: certs}\n")
    box = sandbox_factory("chk1", text, files=ENV)
    certs = box.root / "certs"
    assert run_one(box, "tls")[0] == "fail"  # nothing there yet
    key = make_cert(certs, days_left=90)
    status, detail = run_one(box, "tls")
    assert status == "pass", detail
    assert "CN=chk.example valid until" in detail and "key matches" in detail

    make_cert(certs, days_left=10, key=key)
    status, detail = run_one(box, "tls")
    assert status == "warn" and "warn at 30" in detail

    make_cert(certs, days_left=-2)
    status, detail = run_one(box, "tls")
    assert status == "fail" and "expired on" in detail and "days ago" in detail

    make_cert(certs, days_left=90)
    other = ec.generate_private_key(ec.SECP256R1())
    (certs / "privkey.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    status, detail = run_one(box, "tls")
    assert (status, detail) == ("fail", "certs/privkey.pem does not match certs/fullchain.pem")

    (certs / "privkey.pem").write_text("garbage\n")
    assert run_one(box, "tls") == ("fail", "certs/privkey.pem: not a PEM private key")


# --- files ----------------------------------------------------------------------------------------


def test_env_files_report_names_never_values(sandbox_factory: Make) -> None:
    text = spec_text("chk3", 21100).replace(
        "required_env: [API_KEY]", "required_env: [API_KEY, DB_PASSWORD]"
    )
    box = sandbox_factory("chk3", text, files=ENV)
    result = box.cli("check", "pre", "--target", "blue", "--format", "json")
    assert result.code == 1, result.err
    doc = json.loads(result.out)
    env = next(c for c in doc["checks"] if c["name"] == "env_files")
    assert env == {
        "name": "env_files",
        "status": "fail",
        "detail": "blue.service.web: DB_PASSWORD is missing or empty",
        "seconds": env["seconds"],
    }
    assert "error: 1 pre-deployment check failed: env_files" in result.err
    logs = list((box.root / "logs" / "deployment").glob("pre-deployment-*.log"))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert "env_files" in log and "DB_PASSWORD" in log
    project = box.project()
    text = render_text(run_checks(project, project.desired("blue")), title="t")
    for shown in (result.out, result.err, text, log):
        assert SECRET not in shown
    # the net under that rule: tool output quoted in a detail is masked too
    quoted = CheckResult("compose_files", "fail", f"compose said: API_KEY={SECRET} is odd")
    masked = mask_secrets(project, project.desired("blue"), [quoted])
    assert masked[0].detail == "compose said: API_KEY=*** is odd"

    box.write(".env.blue", f"API_KEY={SECRET}\nDB_PASSWORD=\n")
    assert run_one(box, "env_files") == (
        "fail",
        "blue.service.web: DB_PASSWORD is missing or empty",
    )
    box.write(".env.blue", f"API_KEY={SECRET}\nDB_PASSWORD=other-secret-value\n")
    assert run_one(box, "env_files") == ("pass", "every required variable is set (2 checked)")
    (box.root / ".env.blue").unlink()
    status, detail = run_one(box, "env_files")
    assert status == "fail" and "blue.service.web: .env.blue is missing" in detail


def test_compose_files_current_and_valid(sandbox_factory: Make) -> None:
    box = sandbox_factory("chk4", spec_text("chk4", 21150), files=ENV)
    status, detail = run_one(box, "compose_files")
    assert status == "pass", detail
    assert "compose.blue.yml, compose.green.yml, compose.shared.yml valid" in detail

    (box.root / ".env.green").unlink()  # the other colour's env file: not validated, a warning
    status, detail = run_one(box, "compose_files")
    assert status == "warn"
    assert detail == "compose.green.yml not validated: env file .env.green missing (env_files)"

    generated = box.root / "generated" / "chk4" / "compose.blue.yml"
    generated.write_text(generated.read_text().replace("APP_NAME: web", "APP_NAME: edited"))
    status, detail = run_one(box, "compose_files")
    assert status == "fail"
    assert "generated/chk4 is stale: compose.blue.yml (run specctl compile)" in detail

    # A nested pass-through key Compose does not know (validate knows only the top-level keys):
    # the spec loads, `docker compose config` refuses.
    bad = spec_text("chk4", 21150, services="    compose: {deploy: {bogus_key: 1}}\n")
    box.spec_path.write_text(bad)
    recompile(box)
    box.write(".env.green", ENV[".env.green"])
    status, detail = run_one(box, "compose_files")
    assert status == "fail"
    assert "compose.blue.yml: docker compose config rejected it" in detail and "bogus_key" in detail


PATHS = """\
paths:
  uploads:
    path: uploads/{color}
    subdirs: [images, temp]
  weights:
    path: weights
    files:
      - {name: model.bin, min_size: 1K}
      - {name: labels.txt, sha256: %s}
  token: {path: secrets/token, kind: secret}
"""
LABELS = b"cat\\ndog\\n"


def test_paths(sandbox_factory: Make) -> None:
    text = spec_text("chk5", 21200, PATHS % hashlib.sha256(LABELS).hexdigest())
    box = sandbox_factory("chk5", text, files=ENV)
    status, detail = run_one(box, "paths")
    assert status == "fail"
    assert "path.uploads.blue (uploads/blue): missing, will be created by fix-permissions" in detail
    assert "path.token (secrets/token): missing secret (specctl does not create it)" in detail

    box.write("secrets/token", "x")
    (box.root / "weights").mkdir()
    status, detail = run_one(box, "paths")
    assert status == "warn", detail  # missing folders alone are created by the next step
    (box.root / "uploads" / "blue" / "images").mkdir(parents=True)
    assert run_one(box, "paths") == (
        "warn",
        "path.uploads.blue (uploads/blue): subdirs temp missing, fix-permissions creates them",
    )
    box.write("uploads/blue/temp", "a file where a folder belongs")
    assert run_one(box, "paths") == (
        "fail",
        "path.uploads.blue (uploads/blue): temp is a file, a directory is expected",
    )
    (box.root / "uploads" / "blue" / "temp").unlink()
    (box.root / "uploads" / "blue" / "temp").mkdir()
    assert run_one(box, "paths") == ("pass", "3 managed paths and their subdirs exist")
    box.write("uploads/green", "a file")
    assert run_one(box, "paths", "green")[1].startswith(
        "path.uploads.green (uploads/green): is a file, a directory is expected"
    )


def test_required_files(sandbox_factory: Make) -> None:
    text = spec_text("chk6", 21250, PATHS % hashlib.sha256(LABELS).hexdigest())
    box = sandbox_factory("chk6", text, files=ENV)
    status, detail = run_one(box, "required_files")
    assert status == "fail"
    assert detail == "weights/model.bin: missing; weights/labels.txt: missing"

    weights = box.root / "weights"
    weights.mkdir()
    (weights / "model.bin").write_bytes(b"")
    (weights / "labels.txt").write_bytes(b"bird\\n")
    status, detail = run_one(box, "required_files")
    assert detail.startswith("weights/model.bin: empty; weights/labels.txt: sha256 ")
    assert "does not match the declared" in detail and status == "fail"

    (weights / "model.bin").write_bytes(b"w" * 100)
    status, detail = run_one(box, "required_files")
    assert "weights/model.bin: 100 bytes, smaller than min_size 1K" in detail

    (weights / "model.bin").write_bytes(b"w" * 2048)
    (weights / "labels.txt").write_bytes(LABELS)
    assert run_one(box, "required_files") == ("pass", "2 required files present and as declared")


def test_nothing_declared_passes(sandbox_factory: Make) -> None:
    box = sandbox_factory("chk7", spec_text("chk7", 21300), files=ENV)
    assert run_one(box, "tls") == ("pass", "no TLS configured")
    assert run_one(box, "required_files") == ("pass", "no required files declared")
    assert run_one(box, "paths") == ("pass", "0 managed paths and their subdirs exist")
    assert run_one(box, "database") == ("pass", "no database configured (backups.database)")


# --- host -----------------------------------------------------------------------------------------


def test_disk_and_memory_thresholds(sandbox_factory: Make) -> None:
    box = sandbox_factory(
        "chk8",
        spec_text("chk8", 21350, "checks:\n  pre: {min_disk: 1M, min_memory: 1M}\n"),
        files=ENV,
    )
    status, detail = run_one(box, "disk")
    assert status == "pass" and "free for the project root" in detail
    status, detail = run_one(box, "memory")
    assert status == "pass" and "the memory limits of blue sum to 64.0 MiB" in detail

    huge = spec_text("chk8", 21350, "checks:\n  pre: {min_disk: 900T, min_memory: 900T}\n")
    box.spec_path.write_text(huge)
    status, detail = run_one(box, "disk")
    assert status == "fail" and "below checks.pre.min_disk 900T" in detail
    status, detail = run_one(box, "memory")
    assert status == "fail" and "below checks.pre.min_memory 900T" in detail

    # Enough for the minimum, not for the target's limits (both colours run during the overlap).
    greedy = spec_text("chk8", 21350, "checks:\n  pre: {min_disk: 1M, min_memory: 1M}\n")
    box.spec_path.write_text(
        greedy.replace("resources: {memory: 64M}", "resources: {memory: 900T}")
    )
    status, detail = run_one(box, "memory")
    assert status == "fail"
    assert "the memory limits of blue sum to 900.0 TiB, needed while both colours run" in detail


@pytest.fixture
def holder_container(docker_engine: None) -> Iterator[Callable[[str, int], Any]]:
    """Start containers that publish a host port (not part of any specctl project)."""
    import docker

    client = docker.from_env(timeout=60)
    started: list[Any] = []

    def start(name: str, port: int) -> Any:
        for old in client.containers.list(all=True, filters={"name": f"^{name}$"}):
            old.remove(force=True)
        container = client.containers.run(
            "specctl-testbed/app:1.0",
            ["sleep", "60"],
            name=name,
            detach=True,
            ports={"8080/tcp": port},
        )
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)


def test_ports_taken_by_a_process_and_by_a_container(
    sandbox_factory: Make, holder_container: Callable[[str, int], Any]
) -> None:
    box = sandbox_factory("chk9", spec_text("chk9", 21400), files=ENV)
    assert run_one(box, "ports") == ("pass", "21400 free; 21440 free")

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 21400))
        listener.listen()
        status, detail = run_one(box, "ports")
        assert status == "fail"
        assert detail.startswith(f"21400 (blue.service.web) is taken by pid {os.getpid()} (")

    holder_container("chk9-holder", 21420)
    status, detail = run_one(box, "ports", "green")
    assert (status, detail) == (
        "fail",
        "21420 (green.service.web) is taken by container chk9-holder",
    )
    assert run_one(box, "ports", "blue") == ("pass", "21400 free; 21440 free")


def test_a_volume_used_by_a_container_specctl_did_not_start(
    docker_engine: None, sandbox_factory: Make
) -> None:
    """After `specctl import` adopts an existing volume, the old container on it must stop
    before specctl starts its own: two databases on one data directory corrupt it."""
    import docker

    services = """\
  cache:
    image: specctl-testbed/redis:7
    scope: shared
    port: 6379
    volumes: [{volume: data, target: /data}]
"""
    extra = "volumes:\n  data: {scope: shared, name: chk11_legacy_data}\n"
    box = sandbox_factory("chk11", spec_text("chk11", 21760, extra, services=services), files=ENV)
    assert run_one(box, "volumes") == ("pass", "1 named volume, none used elsewhere")
    client = docker.from_env(timeout=60)
    for old in client.containers.list(all=True, filters={"name": "^chk11-legacy$"}):
        old.remove(force=True)
    legacy = client.containers.run(
        "specctl-testbed/app:1.0",
        ["sleep", "60"],
        name="chk11-legacy",
        detach=True,
        volumes={"chk11_legacy_data": {"bind": "/data", "mode": "rw"}},
    )
    try:
        assert run_one(box, "volumes") == (
            "fail",
            "volume chk11_legacy_data (shared.service.cache) is in use by container "
            "chk11-legacy, which specctl did not start: two containers on one data directory "
            "corrupt it; stop it first (docker stop chk11-legacy)",
        )
    finally:
        legacy.remove(force=True, v=False)
        client.volumes.get("chk11_legacy_data").remove(force=True)
    assert run_one(box, "volumes")[0] == "pass"


# --- services: PostgreSQL and nginx ---------------------------------------------------------------

DB = """\
  db:
    image: specctl-testbed/postgres:15
    scope: shared
    port: 5432
    host_port: 21645
    command: [postgres, -c, fsync=off]
    environment: {POSTGRES_USER: app, POSTGRES_DB: app_blue, POSTGRES_INITDB_ARGS: --no-sync}
    env_files: [.env.shared]
    required_env: [POSTGRES_PASSWORD]
    healthcheck: {command: "pg_isready -h 127.0.0.1 -U app -d app_blue", interval: 1s, timeout: 2s, retries: 60}
"""
DB_BACKUPS = (
    "{enabled: false, database: "
    "{service: db, user: app, name: 'app_{color}', password_env: POSTGRES_PASSWORD}}"
)
DB_PASSWORD = "db-pass-8a7c1e"


def test_database_up_wrong_password_and_stopped(sandbox_factory: Make) -> None:
    text = spec_text("chk10", 21600, services=DB, backups=DB_BACKUPS)
    files = {**ENV, ".env.shared": f"POSTGRES_PASSWORD={DB_PASSWORD}\n"}
    box = sandbox_factory("chk10", text, files=files)
    status, detail = run_one(box, "database")
    assert (status, detail) == (
        "warn",
        "shared.service.db is not running yet (first deploy?), connection not tried",
    )
    compose(box, "shared", "up", "-d", "--wait", "db")

    status, detail = run_one(box, "database")
    assert status == "pass", detail
    assert detail.startswith("app@127.0.0.1:21645/app_blue answered SELECT 1 (PostgreSQL 15.")
    # `{color}` in the name: green's database does not exist on this server
    status, detail = run_one(box, "database", "green")
    assert status == "fail" and 'database "app_green" does not exist' in detail

    # Without a host port, psql runs inside the container.
    inside = box.root / "config" / "inside.yaml"
    inside.write_text(text.replace("    host_port: 21645\n", ""))
    project = load_project(inside)
    status, detail = CHECKS["database"](Context(project=project, desired=project.desired("blue")))
    assert status == "pass", detail
    assert detail == "app@chk10-shared-db-1/app_blue (psql inside the container) answered SELECT 1"
    status, detail = CHECKS["database"](Context(project=project, desired=project.desired("green")))
    assert status == "fail" and "psql exited 2" in detail and "app_green" in detail

    box.write(".env.shared", "POSTGRES_PASSWORD=wrong-pass-5f3b\n")
    status, detail = run_one(box, "database")
    assert status == "fail" and 'password authentication failed for user "app"' in detail
    assert "wrong-pass-5f3b" not in detail

    compose(box, "shared", "stop", "db")
    assert run_one(box, "database")[0] == "warn"


MINIMAL_NGINX = """\
events {}
http { server { listen 80; location / { return 200 "ok\\n"; } } }
"""


def test_nginx_config_and_ports_with_a_running_stack(sandbox_factory: Make) -> None:
    box = sandbox_factory("chk11", spec_text("chk11", 21500), files=ENV)
    generated = box.root / "generated" / "chk11" / "nginx.blue.conf"
    status, detail = run_one(box, "nginx_config")
    assert status == "pass" and "nginx -t not run: proxy.nginx is not running" in detail

    live = box.write(".specctl/nginx/nginx.conf", MINIMAL_NGINX)
    compose(box, "shared", "up", "-d", "proxy")
    status, detail = run_one(box, "nginx_config")
    assert status == "pass"
    assert "nginx -t not run: blue-web not running yet (nginx resolves upstream" in detail

    compose(box, "blue", "up", "-d", "web")
    status, detail = run_one(box, "nginx_config")
    assert (status, detail.split("; ")[1]) == (
        "pass",
        "nginx -t in chk11-shared-proxy-1 accepts it",
    )
    # The target's own container holds its port; the running proxy keeps its port unchecked.
    assert run_one(box, "ports") == ("pass", "21500 held by chk11-blue-web-1 (this project)")
    # green is not running: parse only
    assert "green-web not running yet" in run_one(box, "nginx_config", "green")[1]

    # crossplane accepts a host it cannot resolve; nginx inside the proxy does not
    good = generated.read_text()
    generated.write_text(good.replace("server blue-web:8080;", "server chk11-nohost:8080;"))
    status, detail = run_one(box, "nginx_config")
    assert status == "fail"
    assert detail.startswith("nginx -t in chk11-shared-proxy-1 rejected nginx.blue.conf (exit 1)")
    assert 'host not found in upstream "chk11-nohost:8080" in nginx.blue.conf:' in detail

    generated.write_text(good.replace("events {", "events {{", 1))
    status, detail = run_one(box, "nginx_config")
    assert status == "fail" and detail.startswith("nginx.blue.conf:")

    assert live.read_text() == MINIMAL_NGINX  # the live config was never touched
    assert sorted(p.name for p in live.parent.iterdir()) == ["nginx.conf"]


# --- the runner and the CLI -----------------------------------------------------------------------


def test_json_lists_every_check_and_the_exit_code(sandbox_factory: Make) -> None:
    box = sandbox_factory(
        "chk12",
        spec_text("chk12", 21700, "checks:\n  pre: {min_disk: 1M, min_memory: 1M}\n"),
        files=ENV,
    )
    result = box.cli("check", "pre", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert (doc["format_version"], doc["kind"], doc["target"]) == (1, "pre", "blue")
    assert [c["name"] for c in doc["checks"]] == list(CHECKS)
    assert all(c["status"] == "pass" and c["detail"] for c in doc["checks"]), doc["checks"]
    assert doc["summary"] == {"pass": 13, "warn": 0, "fail": 0, "total": 13}

    # No engine: the docker check fails, every other check still runs and reports.
    no_engine = {"DOCKER_HOST": "unix:///tmp/chk12-no-engine.sock"}
    result = box.cli("check", "pre", "--target", "green", "--format", "json", env=no_engine)
    assert result.code == 1
    doc = json.loads(result.out)
    checks = {c["name"]: c for c in doc["checks"]}
    assert list(checks) == list(CHECKS)
    assert all(c["status"] in ("pass", "warn", "fail") and c["detail"] for c in checks.values())
    assert checks["docker"]["status"] == "fail"
    assert "cannot reach the Docker engine" in checks["docker"]["detail"]
    assert checks["ports"] == {
        **checks["ports"],
        "status": "pass",
        "detail": "21720 free; 21740 free",
    }
    assert "error: 1 pre-deployment check failed: docker" in result.err
    assert "hint: " in result.err and "Traceback" not in result.err
    logs = sorted((box.root / "logs" / "deployment").glob("pre-deployment-*.log"))
    assert logs and "docker" in logs[-1].read_text()


def test_skip_and_a_check_that_raises(
    sandbox_factory: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = "checks:\n  pre: {min_disk: 1M, min_memory: 1M, skip: [disk]}\n"
    box = sandbox_factory("chk13", spec_text("chk13", 21750, extra), files=ENV)

    def broken(ctx: Context) -> tuple[str, str]:
        raise RuntimeError("boom")

    monkeypatch.setitem(CHECKS, "broken", broken)
    project = box.project()
    results = by_name(run_pre_checks(project, project.desired("blue")))
    assert list(results) == list(CHECKS)
    assert (results["disk"].status, results["disk"].detail) == (
        "pass",
        "skipped by checks.pre.skip",
    )
    assert (results["broken"].status, results["broken"].detail) == ("fail", "RuntimeError: boom")
    assert results["ports"].status == "pass"  # the checks after a broken one still ran
    log = next((box.root / "logs" / "deployment").glob("pre-deployment-*.log")).read_text()
    assert "chk13: pre-deployment checks, target blue" in log
    assert "✗ broken" in log and "RuntimeError: boom" in log


def test_check_names_match_the_spec() -> None:
    assert tuple(CHECKS) == PRE_CHECKS


def test_check_post(sandbox_factory: Make) -> None:
    probe = "checks:\n  post:\n    - {name: home, kind: http, service: web, path: /, timeout: 2s}\n"
    box = sandbox_factory("chk14", spec_text("chk14", 21800, probe), files=ENV)
    result = box.cli("check", "post", "--target", "blue", "--format", "json")
    doc = json.loads(result.out)
    assert (doc["format_version"], doc["kind"], doc["target"]) == (1, "post", "blue")
    checks = {c["name"]: c["status"] for c in doc["checks"]}
    assert checks == {"direct.home": "fail", "proxy.home": "fail"}  # nothing is running
    assert result.code == 1
    assert "error: 2 post-deployment probes failed: direct.home, proxy.home" in result.err
    assert list((box.root / "logs" / "deployment").glob("post-deployment-verify-*.log"))

    result = box.cli("check", "post")
    assert result.code == 1
    assert "error: cannot choose a target: nothing deployed yet" in result.err
    assert "hint: name it: specctl check post --target blue|green" in result.err


def test_a_port_proxy_into_this_projects_network_is_known_as_ours(docker_engine: None) -> None:
    """Docker's port proxy starts before a restarted container counts as running; the ports
    check ties it to the project by the network it forwards into."""
    from types import SimpleNamespace

    from specctl.appliers.checks.host import _forwards_into_project, process_on_port

    def docker(*args: str) -> None:
        subprocess.run(["docker", *args], capture_output=True, check=False)

    docker("rm", "-f", "chkfw-probe")
    docker("network", "rm", "chkfw-edge")
    try:
        docker("network", "create", "chkfw-edge")
        docker(
            "run", "-d", "--name", "chkfw-probe", "--network", "chkfw-edge",
            "-p", "127.0.0.1:21790:8080", "specctl-testbed/app:1.0",
        )  # fmt: skip
        holder = process_on_port(21790)
        assert "docker-proxy" in holder, holder

        def ctx(project: str) -> Any:
            return SimpleNamespace(project=SimpleNamespace(spec=SimpleNamespace(project=project)))

        assert _forwards_into_project(ctx("chkfw"), holder)
        assert not _forwards_into_project(ctx("someone-else"), holder)
        assert not _forwards_into_project(ctx("chkfw"), "pid 1 (python3 -m http.server)")
    finally:
        docker("rm", "-f", "chkfw-probe")
        docker("network", "rm", "chkfw-edge")
