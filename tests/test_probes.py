"""Post-deployment probes: the pure rules, then every probe kind passing and failing against a
real deployment (app double, Redis, PostgreSQL, nginx) made by `specctl apply`."""

from __future__ import annotations

import dataclasses
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from specctl.appliers.probes.run import ProbeResult, run_probes
from specctl.appliers.project import Project
from specctl.compiler import probe_rules as rules
from specctl.schemas.spec import Database, Probe
from tests.conftest import Sandbox, remove_project, run_cli

# --- pure rules -----------------------------------------------------------------------------------


def probe(**fields: Any) -> Probe:
    return Probe.model_validate({"name": "p", "kind": "http", **fields})


def test_urls() -> None:
    assert rules.direct_url(22100, "/health") == "http://127.0.0.1:22100/health"
    assert rules.direct_url(22100, "health") == "http://127.0.0.1:22100/health"
    assert rules.direct_url(22100, "/h", ip="0.0.0.0") == "http://127.0.0.1:22100/h"
    assert rules.direct_url(22100, "/h", ip="10.0.0.5") == "http://10.0.0.5:22100/h"
    assert rules.direct_url(22100, "/h", ip="::") == "http://[::1]:22100/h"
    assert rules.proxy_url("http://127.0.0.1:22080/", "/ws") == "http://127.0.0.1:22080/ws"
    assert rules.websocket_url("http://127.0.0.1:22080/ws") == "ws://127.0.0.1:22080/ws"
    assert rules.websocket_url("https://example.org/ws") == "wss://example.org/ws"


def test_skip_reason_per_pass() -> None:
    assert rules.skip_reason("routing", through_proxy=False) == "checked through nginx"
    assert rules.skip_reason("routing", through_proxy=True) is None
    for kind in ("postgres", "redis", "resources"):
        assert rules.skip_reason(kind, through_proxy=True) == "checked directly"
        assert rules.skip_reason(kind, through_proxy=False) is None
    for kind in ("http", "upload", "websocket", "inference", "logs"):
        assert rules.skip_reason(kind, through_proxy=True) is None
        assert rules.skip_reason(kind, through_proxy=False) is None


def test_request_method() -> None:
    assert rules.request_method(probe(kind="inference")) == "POST"
    assert rules.request_method(probe(kind="upload", method="put")) == "PUT"
    assert rules.request_method(probe(method="delete")) == "DELETE"
    assert rules.request_method(probe()) == "GET"


HEALTHY = '{"status": "ok", "color": "blue", "n": 1}'


@pytest.mark.parametrize(
    ("fields", "status", "text", "headers", "expected"),
    [
        ({}, 200, "", {}, None),
        ({}, 503, '{"status":"failing"}', {}, 'HTTP 503, expected 200: "{"status":"failing"}"'),
        ({"expect_status": 201}, 200, "", {}, "HTTP 200, expected 201"),
        ({"expect_body": "ok"}, 200, HEALTHY, {}, None),
        ({"expect_body": "nope"}, 200, "fine", {}, "body does not contain 'nope': \"fine\""),
        ({"expect_json": {"status": "ok", "n": 1}}, 200, HEALTHY, {}, None),
        (
            {"expect_json": {"status": "down"}},
            200,
            HEALTHY,
            {},
            "JSON field 'status' is 'ok', expected 'down'",
        ),
        ({"expect_json": {"x": 1}}, 200, HEALTHY, {}, "JSON field 'x' missing"),
        ({"expect_json": {"x": 1}}, 200, "<html>", {}, "answer is not JSON: '<html>'"),
        ({"expect_json": {"x": 1}}, 200, "[1]", {}, "answer is JSON list, not an object"),
        ({}, 200, "", {"x-app-color": "green"}, "answered from green (X-App-Color), expected blue"),
        ({}, 200, "", {"X-App-Color": "blue"}, None),
    ],
)
def test_judge_response(
    fields: dict[str, Any], status: int, text: str, headers: dict[str, str], expected: str | None
) -> None:
    verdict = rules.judge_response(
        probe(**fields),
        status=status,
        text=text,
        headers=headers,
        color_header="X-App-Color",
        color="blue",
    )
    assert verdict == expected


def test_judge_response_ignores_colour_when_not_asked() -> None:
    answer = rules.judge_response(probe(), status=200, text="", headers={"X-App-Color": "green"})
    assert answer is None


def test_routing_follows_the_loaded_config_and_the_colour_header_when_sent() -> None:
    header = "X-App-Color"

    def problem(status: int, headers: dict[str, str], routed_to: str | None = "blue") -> str | None:
        return rules.routing_problem(
            status, headers, header=header, color="blue", routed_to=routed_to
        )

    assert problem(200, {header: "blue"}) is None
    assert problem(404, {header: "blue"}) is None
    assert problem(200, {}) is None  # most real applications do not name their colour
    assert problem(502, {}) == "HTTP 502"
    assert problem(200, {}, routed_to="green") == "nginx routes it to green, expected blue"
    assert problem(200, {}, routed_to=None) == "nginx routes it to no single colour, expected blue"
    assert problem(200, {header: "green"}) == "answered from green (X-App-Color), expected blue"


def test_echo_problem() -> None:
    assert rules.echo_problem("ping", "ping") is None
    assert rules.echo_problem("ping", "pong") == "received 'pong', expected 'ping'"
    assert rules.echo_problem("ping", b"ping") == (
        "received a binary frame of 4 bytes, expected 'ping'"
    )


def _stats(usage: int, limit: int, **extra: int) -> dict[str, Any]:
    return {"memory_stats": {"usage": usage, "limit": limit, "stats": extra}}


def test_memory_usage_leaves_out_reclaimable_cache() -> None:
    assert rules.memory_usage(_stats(100, 1000, total_inactive_file=30)) == 70  # cgroup v1
    assert rules.memory_usage(_stats(100, 1000, inactive_file=40)) == 60  # cgroup v2
    assert rules.memory_usage(_stats(100, 1000)) == 100
    assert rules.memory_usage({}) == 0
    assert rules.memory_limit(_stats(1, 1000)) == 1000


@pytest.mark.parametrize(
    ("usage", "limit", "fails"),
    [
        (0, 128 * 2**20, False),
        (121 * 2**20, 128 * 2**20, False),  # 94.5%
        (122 * 2**20, 128 * 2**20, True),  # 95.3%
        (128 * 2**20, 128 * 2**20, True),
        (10**12, 0, False),  # no limit known: nothing to exceed
    ],
)
def test_memory_threshold(usage: int, limit: int, fails: bool) -> None:
    problem = rules.memory_problem(usage, limit)
    assert (problem is not None) is fails
    if fails:
        assert problem is not None and "above 95% of its limit" in problem


def test_memory_problem_text() -> None:
    assert rules.memory_problem(127 * 2**20, 128 * 2**20) == (
        "memory 127.0MiB/128.0MiB (99%) is above 95% of its limit"
    )
    assert rules.human_bytes(512) == "512B"
    assert rules.human_bytes(3 * 2**30) == "3.0GiB"


def test_cpu_percent() -> None:
    stats = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 300},
            "system_cpu_usage": 2000,
            "online_cpus": 2,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
    }
    assert rules.cpu_percent(stats) == pytest.approx(40.0)
    assert rules.cpu_percent({}) == 0.0


def test_docker_time() -> None:
    assert rules.docker_time("1970-01-01T00:00:10.5Z") == 10.5
    assert rules.docker_time("2024-05-01T10:00:00.123456789Z") == pytest.approx(1714557600.123456)
    assert rules.docker_time("2024-05-01T12:00:00+02:00") == 1714557600.0
    with pytest.raises(ValueError, match="not a Docker timestamp"):
        rules.docker_time("yesterday")


def test_logs_since_starts_a_little_before_docker_says() -> None:
    assert rules.logs_since("1970-01-01T00:00:10Z") == 10.0 - rules.START_SLACK


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', True),
        ("connection failed: server closed the connection unexpectedly", True),
        ("failed: FATAL:  the database system is starting up", True),
        ('failed: FATAL:  password authentication failed for user "app"', False),
        ('failed: FATAL:  database "nope" does not exist', False),
    ],
)
def test_pg_transient(message: str, transient: bool) -> None:
    assert rules.pg_transient(message) is transient


def test_first_critical() -> None:
    lines = ["app listening", "warning: slow", "Error: ECONNREFUSED 10.0.0.1:5432", "FATAL x"]
    keywords = ["FATAL", "ECONNREFUSED"]
    assert rules.first_critical(lines, keywords) == (
        "ECONNREFUSED",
        "Error: ECONNREFUSED 10.0.0.1:5432",
    )
    assert rules.first_critical(["fatal in lower case"], keywords) is None
    assert rules.first_critical(["FATAL"], []) is None


def test_first_critical_matches_whole_words_and_skips_specctls_own_requests() -> None:
    keywords = ["ERROR", "FATAL"]
    assert rules.first_critical(["0 ERRORS found", "NOERROR", "error_count=0"], keywords) is None
    assert rules.first_critical(["ERROR_CODE=0", "ERRORS: none"], keywords) is None
    assert rules.first_critical(["[ERROR] db down"], keywords) == ("ERROR", "[ERROR] db down")
    probe = f'GET /health 500 "{rules.PROBE_AGENT}/0.1.0" ERROR handler failed'
    assert rules.first_critical([probe], keywords) is None
    assert rules.first_critical([probe, "FATAL: out of memory"], keywords) == (
        "FATAL",
        "FATAL: out of memory",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login with hunter22 refused", "login with *** refused"),
        ("DB_PASSWORD=abc123 rest", "DB_PASSWORD=*** rest"),
        ('token: "a b c", next', "token: ***, next"),
        ("Authorization: Bearer xyz.abc", "Authorization: ***"),
        ("postgresql://app:pa55@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("password authentication failed for user", "password authentication failed for user"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert rules.redact(text, ["hunter22", "abc"]) == expected


def test_safe_line_clips_after_redacting() -> None:
    line = "FATAL " + "x" * 300 + " secret-value-1"
    shown = rules.safe_line(line, ["secret-value-1"])
    assert len(shown) == rules.LINE_LIMIT and shown.endswith("…")
    assert rules.safe_line("a\nb\r\n", []) == "a b"


def test_database_login() -> None:
    env = {"DB_PW": "pw", "POSTGRES_USER": "u", "POSTGRES_DB": "d", "POSTGRES_PASSWORD": "pp"}
    db = Database(service="postgres", user="app", name="app_{color}", password_env="DB_PW")
    assert rules.database_login(db, "postgres", env, color="green", project="x") == (
        "app",
        "app_green",
        "pw",
    )
    assert rules.database_login(db, "other", env, color="blue", project="x") == ("u", "d", "pp")
    assert rules.database_login(None, "pg", {}, color="blue", project="x") == (
        "postgres",
        "postgres",
        None,
    )
    plain = Database(service="postgres")
    assert rules.database_login(plain, "postgres", env, color="blue", project="x")[2] == "pp"


def test_upload_name_and_fill_name() -> None:
    assert rules.upload_name("abc") == "specctl-probe-abc.bin"
    assert rules.fill_name("{project}_{color}", color="blue", project="prb") == "prb_blue"


# --- a real deployment ----------------------------------------------------------------------------

PROJECT = "prb1"
PASSWORD = "prb-s3cret-pw"  # in .env.shared; must never show in a detail
SPEC = f"""\
version: 1
project: {PROJECT}
root: ..
colors:
  blue: {{port_base: 22100}}
  green: {{port_base: 22200}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", UPLOAD_DIR: /data/uploads}}
    volumes:
      - {{path: uploads, target: /data/uploads}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
    resources: {{memory: 128M}}
  sick:
    image: specctl-testbed/app:1.0
    command:
      - sh
      - -c
      - 'echo "FATAL: licence check failed for key {PASSWORD}" >&2; exec python3 /app/app.py'
    port: 8080
    host_port: {{offset: 1}}
    environment: {{APP_NAME: sick, APP_COLOR: "{{color}}", APP_FAIL_HEALTH: "1"}}
  hog:
    image: specctl-testbed/app:1.0
    # 61.5 MiB of /dev/shm (memory that cannot be reclaimed) under a 64M limit: ~96%, with 2 MiB
    # to spare before the kernel's OOM killer (a 16M limit left 0.5 MiB and sometimes fired).
    command: [sh, -c, "head -c 64500000 /dev/zero > /dev/shm/fill; exec sleep infinity"]
    resources: {{memory: 64M}}
    restart: "no"
  redis:
    image: specctl-testbed/redis:7
    port: 6379
    host_port: {{offset: 2}}
    healthcheck: {{command: [redis-cli, ping], interval: 1s, timeout: 2s, retries: 30}}
  postgres:
    image: specctl-testbed/postgres:15
    scope: shared
    port: 5432
    host_port: 22300
    environment: {{POSTGRES_USER: prb, POSTGRES_DB: prb}}
    env_files: [.env.shared]
    required_env: [POSTGRES_PASSWORD]
    healthcheck: {{command: "pg_isready -h 127.0.0.1 -U prb -d prb", interval: 1s, timeout: 2s, retries: 60}}
paths:
  uploads: {{path: "uploads/{{color}}", mode: "0755"}}
  elsewhere: {{path: "elsewhere/{{color}}", mode: "0755"}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: 22080, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
  locations:
    - {{path: /ws, upstream: web, websocket: true}}
    - {{path: /, upstream: web}}
deploy: {{health_timeout: 60s, health_interval: 1s, drain: 0s, retire: keep}}
checks:
  pre: {{min_disk: 1G, min_memory: 256M}}
  post:
    - {{name: health, kind: http, service: web, path: /health, expect_json: {{status: ok}}}}
    - {{name: upload, kind: upload, service: web, path: /upload, expect_status: 201,
        upload_dir: uploads}}
    - {{name: websocket, kind: websocket, service: web, path: /ws, message: hello}}
    - {{name: database, kind: postgres, service: postgres, query: "SELECT count(*) FROM pg_class"}}
    - {{name: cache, kind: redis, service: redis}}
    - {{name: predict, kind: inference, service: web, path: /predict, body: {{x: 1}},
        expect_json: {{prediction: ok}}}}
    - {{name: routing, kind: routing}}
    - {{name: resources, kind: resources, service: web}}
    - {{name: logs, kind: logs, service: web}}
backups:
  enabled: false
  database: {{service: postgres, user: prb, name: prb, password_env: POSTGRES_PASSWORD}}
"""
DECLARED = ["health", "upload", "websocket", "database", "cache", "predict", "routing"]
DECLARED += ["resources", "logs"]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    """prb1 deployed to blue by the real `specctl apply`, shared by the tests below."""
    root = tmp_path_factory.mktemp("probes")
    remove_project(PROJECT)
    box = Sandbox(root=root, spec_path=root / "config" / "spec.yaml", name=PROJECT)
    box.write("config/spec.yaml", SPEC)
    box.write(".env.shared", f"POSTGRES_PASSWORD={PASSWORD}\nWRONG_PASSWORD=not-the-password\n")
    try:
        assert run_cli("-f", str(box.spec_path), "compile", cwd=root).code == 0
        result = box.cli("apply", "--target", "blue", "--yes")
        assert result.code == 0, result.out + result.err
        yield box
    finally:
        remove_project(PROJECT)


def with_probe(project: Project, fields: dict[str, Any], **spec_update: Any) -> Project:
    """The deployed project, with only this probe declared (and other spec fields replaced)."""
    checks = project.spec.checks.model_copy(update={"post": [Probe.model_validate(fields)]})
    spec = project.spec.model_copy(update={"checks": checks, **spec_update})
    return dataclasses.replace(project, spec=spec)


def run_one(
    box: Sandbox,
    fields: dict[str, Any],
    *,
    color: str = "blue",
    through_proxy: bool = False,
    **spec_update: Any,
) -> ProbeResult:
    project = with_probe(box.project(), fields, **spec_update)
    [result] = run_probes(project, project.desired(color), through_proxy=through_proxy)
    assert result.seconds > 0 or result.skipped
    return result


def container(service: str, compose_project: str = f"{PROJECT}-blue") -> Any:
    client = docker.from_env(timeout=60)
    labels = [f"com.docker.compose.project={compose_project}"]
    labels.append(f"com.docker.compose.service={service}")
    [found] = client.containers.list(all=True, filters={"label": labels})
    return found


def wait_until_ok(box: Sandbox, fields: dict[str, Any], *, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not (result := run_one(box, fields)).ok:
        assert time.monotonic() < deadline, result.detail
        time.sleep(0.5)


def probe_files(root: Path) -> list[Path]:
    return sorted(root.rglob("specctl-probe-*"))


@pytest.mark.docker
def test_apply_ran_the_declared_probes(deployed: Sandbox) -> None:
    logs = deployed.root / "logs" / "deployment"
    [deployment] = sorted(logs.glob("deployment-*.log"))
    text = deployment.read_text()
    assert "9 probes answered directly" in text
    assert "9 probes answered through nginx" in text
    verify = "".join(p.read_text() for p in sorted(logs.glob("post-deployment-verify-*.log")))
    assert "post-deployment verification of blue (prb1-blue) directly: 9 probes" in verify
    assert "8 passed, 1 skipped, 0 failed" in verify  # routing is only checked through nginx
    assert "6 passed, 3 skipped, 0 failed" in verify  # postgres, redis, resources only directly
    for name in DECLARED:
        assert re.search(rf"✓ {name} +: .* \(\d+\.\ds\)$", verify, re.MULTILINE), name
    assert PASSWORD not in verify
    assert probe_files(deployed.root) == []


@pytest.mark.docker
@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "nginx"])
def test_declared_probes_pass(deployed: Sandbox, through_proxy: bool) -> None:
    project = deployed.project()
    results = run_probes(project, project.desired("blue"), through_proxy=through_proxy)
    assert [r.name for r in results] == DECLARED
    assert [(r.name, r.detail) for r in results if not r.ok] == []
    skipped = {r.name for r in results if r.skipped}
    assert skipped == ({"database", "cache", "resources"} if through_proxy else {"routing"})
    assert all(r.seconds > 0 for r in results if not r.skipped)
    details = {r.name: r.detail for r in results}
    port = 22080 if through_proxy else 22100
    assert details["health"] == f"GET http://127.0.0.1:{port}/health: HTTP 200"
    assert details["upload"] == (
        f"POST http://127.0.0.1:{port}/upload: HTTP 201; 4096 bytes saved in uploads/blue"
    )
    assert details["websocket"] == f"ws://127.0.0.1:{port}/ws: echoed 5 characters"
    assert details["predict"] == f"POST http://127.0.0.1:{port}/predict: HTTP 200 (JSON body)"
    assert details["logs"].endswith("in the logs of web since they started")
    if through_proxy:
        assert details["routing"] == "web answered from blue through http://127.0.0.1:22080"
    else:
        assert re.fullmatch(
            r"postgresql://prb@127\.0\.0\.1:22300/prb: SELECT count\(\*\) FROM pg_class -> \d+",
            details["database"],
        )
        assert details["cache"] == "redis://127.0.0.1:22102: PING, SET/GET/DEL ok"
        assert re.fullmatch(
            r"web \d+\.\dMiB/128\.0MiB \(\d+%\), cpu \d+\.\d%", details["resources"]
        )
    assert probe_files(deployed.root) == []


DIRECT = [
    pytest.param(
        {"kind": "http", "service": "sick", "path": "/health"},
        False,
        'GET http://127.0.0.1:22101/health: HTTP 503, expected 200: "{"status": "failing"',
        id="http-503",
    ),
    pytest.param(
        {"kind": "http", "service": "web", "path": "/", "expect_body": "green"},
        False,
        "GET http://127.0.0.1:22100/: body does not contain 'green': \"web blue 1.0\"",
        id="http-body",
    ),
    pytest.param(
        {"kind": "http", "service": "web", "path": "/", "expect_body": "web blue"},
        True,
        "GET http://127.0.0.1:22100/: HTTP 200",
        id="http-body-pass",
    ),
    pytest.param(
        {"kind": "http", "path": "/health"},
        True,
        "no service named; checked through nginx",
        id="http-no-service",
    ),
    pytest.param(
        {"kind": "upload", "service": "web", "path": "/upload", "upload_dir": "uploads"},
        False,
        "POST http://127.0.0.1:22100/upload: HTTP 201, expected 200",
        id="upload-status",
    ),
    pytest.param(
        {
            "kind": "upload",
            "service": "web",
            "path": "/upload",
            "expect_status": 201,
            "upload_dir": "elsewhere",
        },
        False,
        "did not appear in path.elsewhere.blue (elsewhere/blue); it was saved in path.uploads.blue",
        id="upload-wrong-dir",
    ),
    pytest.param(
        {"kind": "websocket", "service": "web", "path": "/health"},
        False,
        "ws://127.0.0.1:22100/health: handshake answered HTTP 200",
        id="websocket-not-a-socket",
    ),
    pytest.param(
        {"kind": "websocket", "service": "web", "path": "/nowhere"},
        False,
        "ws://127.0.0.1:22100/nowhere: handshake answered HTTP 404",
        id="websocket-404",
    ),
    pytest.param(
        {
            "kind": "inference",
            "service": "web",
            "path": "/predict",
            "body": {"x": 1},
            "expect_json": {"prediction": "cat"},
        },
        False,
        "POST http://127.0.0.1:22100/predict: JSON field 'prediction' is 'ok', expected 'cat'",
        id="inference-json",
    ),
    pytest.param(
        {
            "kind": "inference",
            "service": "web",
            "path": "/predict",
            "expect_json": {"prediction": "ok", "input_bytes": 4096},
        },
        True,
        "POST http://127.0.0.1:22100/predict: HTTP 200 (4096-byte file)",
        id="inference-file",
    ),
    pytest.param(
        {"kind": "logs", "service": "sick"},
        False,
        "blue.service.sick: FATAL in its logs: FATAL: licence check failed for key ***",
        id="logs-fatal",
    ),
    pytest.param(
        {"kind": "logs"},  # every service of the colour: the sick one among them
        False,
        "blue.service.sick: FATAL in its logs",
        id="logs-all-services",
    ),
    pytest.param(
        {"kind": "logs", "service": "redis"},
        True,
        "in the logs of redis since they started",
        id="logs-redis",
    ),
    pytest.param(
        {"kind": "resources", "service": "redis"},
        True,
        "redis ",
        id="resources-redis",
    ),
    pytest.param(
        {"kind": "resources"},  # every service of the colour: the hog among them
        False,
        "blue.service.hog: memory ",
        id="resources-all-services",
    ),
    pytest.param(
        {"kind": "redis", "service": "web"},
        False,
        "redis://127.0.0.1:22100: InvalidResponse",  # an HTTP server is not Redis
        id="redis-not-redis",
    ),
    pytest.param(
        {"kind": "routing"},
        True,
        "checked through nginx",
        id="routing-direct",
    ),
]


@pytest.mark.docker
@pytest.mark.parametrize(("fields", "ok", "text"), DIRECT)
def test_probe_directly(deployed: Sandbox, fields: dict[str, Any], ok: bool, text: str) -> None:
    result = run_one(deployed, {"name": "p", **fields})
    assert (result.ok, text in result.detail) == (ok, True), result.detail
    assert PASSWORD not in result.detail
    assert probe_files(deployed.root) == []  # a failed upload removes its file too


@pytest.mark.docker
def test_resources_over_the_memory_threshold(deployed: Sandbox) -> None:
    """The hog fills /dev/shm (memory that cannot be reclaimed) up to ~96% of its 64M limit; with
    the page cache on top it can reach the limit itself (shown as 100%)."""
    result = run_one(deployed, {"name": "p", "kind": "resources", "service": "hog"})
    assert not result.ok
    assert re.fullmatch(
        r"blue\.service\.hog: memory \d+\.\dMiB/64\.0MiB \((9[5-9]|100)%\) is above 95% of its limit",
        result.detail,
    ), result.detail


THROUGH_NGINX = [
    pytest.param(
        {"kind": "routing"},
        "green",
        False,
        # The loaded config says it first; the application's header would say it too.
        "nginx.upstream.web GET http://127.0.0.1:22080/health: nginx routes it to blue, "
        "expected green",
        id="routing-other-colour",
    ),
    pytest.param(
        {"kind": "routing", "service": "web"},
        "blue",
        True,
        "web answered from blue through http://127.0.0.1:22080",
        id="routing",
    ),
    pytest.param(
        {"kind": "http", "path": "/health"},
        "green",
        False,
        "GET http://127.0.0.1:22080/health: answered from blue (X-App-Color), expected green",
        id="http-other-colour",
    ),
    pytest.param(
        {"kind": "websocket", "path": "/ws", "message": "héllo"},
        "blue",
        True,
        "ws://127.0.0.1:22080/ws: echoed 5 characters",
        id="websocket",
    ),
    pytest.param(
        {"kind": "websocket", "path": "/ws"},
        "green",
        False,
        "ws://127.0.0.1:22080/ws: answered from blue (X-App-Color), expected green",
        id="websocket-other-colour",
    ),
    pytest.param(
        {"kind": "upload", "path": "/upload", "expect_status": 201, "upload_dir": "uploads"},
        "green",
        False,  # the misrouted file landed in uploads/blue and is removed from there
        "POST http://127.0.0.1:22080/upload: answered from blue (X-App-Color), expected green",
        id="upload-other-colour",
    ),
    pytest.param(
        {
            "kind": "inference",
            "path": "/predict",
            "body": {"x": [1, 2]},
            "expect_json": {"prediction": "ok", "color": "blue"},
        },
        "blue",
        True,
        "POST http://127.0.0.1:22080/predict: HTTP 200 (JSON body)",
        id="inference",
    ),
    pytest.param(
        {"kind": "redis", "service": "redis"},
        "blue",
        True,
        "checked directly",
        id="redis-not-through-nginx",
    ),
]


@pytest.mark.docker
@pytest.mark.parametrize(("fields", "color", "ok", "text"), THROUGH_NGINX)
def test_probe_through_nginx(
    deployed: Sandbox, fields: dict[str, Any], color: str, ok: bool, text: str
) -> None:
    result = run_one(deployed, {"name": "p", **fields}, color=color, through_proxy=True)
    assert (result.ok, text in result.detail) == (ok, True), result.detail
    assert probe_files(deployed.root) == []


@pytest.mark.docker
def test_redis_stopped(deployed: Sandbox) -> None:
    fields = {"name": "cache", "kind": "redis", "service": "redis", "timeout": "2s"}
    redis = container("redis")
    redis.stop(timeout=5)
    try:
        result = run_one(deployed, fields)
        assert not result.ok
        assert result.detail.startswith("redis://127.0.0.1:22102: ConnectionError: "), result.detail
    finally:
        redis.start()
    wait_until_ok(deployed, fields)


@pytest.mark.docker
def test_postgres_wrong_password(deployed: Sandbox) -> None:
    project = deployed.project()
    database = Database(service="postgres", user="prb", name="prb", password_env="WRONG_PASSWORD")
    backups = project.spec.backups.model_copy(update={"database": database})
    fields = {"name": "db", "kind": "postgres", "service": "postgres"}
    result = run_one(deployed, fields, backups=backups)
    assert not result.ok
    assert result.detail.startswith("postgresql://prb@127.0.0.1:22300/prb: OperationalError: ")
    assert 'password authentication failed for user "prb"' in result.detail
    assert result.seconds < 5  # a refused login is final: no retries up to the 10s timeout
    assert "not-the-password" not in result.detail and PASSWORD not in result.detail


@pytest.mark.docker
def test_postgres_stopped(deployed: Sandbox) -> None:
    fields = {"name": "db", "kind": "postgres", "timeout": "2s"}  # service from backups.database
    assert run_one(deployed, fields).ok
    postgres = container("postgres", f"{PROJECT}-shared")
    postgres.stop(timeout=10)
    try:
        result = run_one(deployed, fields)
        assert not result.ok
        assert result.detail.startswith("postgresql://prb@127.0.0.1:22300/prb: OperationalError")
    finally:
        postgres.start()
    wait_until_ok(deployed, fields)


@pytest.mark.docker
def test_no_host_port_is_checked_through_nginx(deployed: Sandbox) -> None:
    fields = {"name": "p", "kind": "websocket", "service": "web", "path": "/ws"}
    project = with_probe(deployed.project(), fields)
    desired = project.desired("blue")
    web = desired.service("web").model_copy(update={"host_port": None})
    services = [web if s.name == "web" else s for s in desired.services]
    desired = desired.model_copy(update={"services": services})
    [direct] = run_probes(project, desired, through_proxy=False)
    assert (direct.ok, direct.skipped, direct.detail) == (
        True,
        True,
        "no host port; checked through nginx",
    )
    [proxied] = run_probes(project, desired, through_proxy=True)
    assert (proxied.ok, proxied.skipped) == (True, False), proxied.detail


@pytest.mark.docker
def test_every_probe_runs_and_the_log_says_which_failed(deployed: Sandbox) -> None:
    sick = Probe(name="sick", kind="http", service="sick", path="/health")
    fine = Probe(name="fine", kind="http", service="web", path="/health")
    project = deployed.project()
    checks = project.spec.checks.model_copy(update={"post": [sick, fine]})
    project = dataclasses.replace(project, spec=project.spec.model_copy(update={"checks": checks}))
    logs = deployed.root / "logs" / "deployment"
    before = {p: p.read_text() for p in logs.glob("post-deployment-verify-*.log")}
    out = io.StringIO()
    results = run_probes(project, project.desired("blue"), through_proxy=False, out=out)
    assert [(r.name, r.ok) for r in results] == [("sick", False), ("fine", True)]
    written = "".join(
        p.read_text()[len(before.get(p, "")) :]
        for p in sorted(logs.glob("post-deployment-verify-*.log"))
    )
    for text in (written, out.getvalue()):
        lines = text.splitlines()
        assert len(lines) == 4
        assert lines[0].endswith(
            "post-deployment verification of blue (prb1-blue) directly: 2 probes"
        )
        assert (
            "✗ sick          : GET http://127.0.0.1:22101/health: HTTP 503, expected 200"
            in lines[1]
        )
        assert "✓ fine          : GET http://127.0.0.1:22100/health: HTTP 200 (" in lines[2]
        assert re.search(r" 1 passed, 0 skipped, 1 failed \(\d+\.\ds\): sick$", lines[3])
