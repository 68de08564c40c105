"""Spec errors: a table of bad inputs -> the exact message, line and column; exit 1, no traceback."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import specctl
from specctl.compiler.compile import Inputs, compile_spec
from specctl.compiler.load import load_spec
from specctl.schemas.errors import SpecError
from tests.conftest import REPO, run_cli

GOOD = """\
project: shop
colors:
  blue: {port_base: 4000}
  green: {port_base: 5000}
services:
  web:
    image: shop/web:1
    port: 8080
    host_port: {offset: 1}
proxy:
  image: nginx
  ports: [{host: 8080}]
  upstreams:
    web: {service: web}
  locations: [{path: /, upstream: web}]
"""

CASES = [
    (
        "    port: 8080\n",
        '    port: 8080\n    environment: {GREETING: "\\ud83d\\ude00"}\n',
        "spec.yaml:9:19: services.web.environment.GREETING: not valid Unicode text: \\ud83d\\ude00 holds unpaired surrogates; write the character itself, or one escape for it such as \\U0001F600",
    ),
    (
        "proxy:",
        "checks:\n  pre: {skip: [dsik]}\nproxy:",
        "spec.yaml:11:16: checks.pre.skip[0]: unknown check 'dsik'; did you mean 'disk'?",
    ),
    (
        "proxy:",
        "paths:\n  key: {path: k, kind: secret, mode: '0644'}\nproxy:",
        "spec.yaml:11:32: paths.key.mode: a secret must be readable by its owner only (got 0644; use 0600 for a file, 0700 for a folder)",
    ),
    (
        "proxy:",
        "paths:\n  key: {path: k, kind: secret, mode: '0640'}\nproxy:",
        "spec.yaml:11:32: paths.key.mode: a secret must be readable by its owner only (got 0640; use 0600 for a file, 0700 for a folder)",
    ),
    (
        "port: 8080",
        "port: 70000",
        "spec.yaml:8:5: services.web.port: must be between 1 and 65535 (got 70000)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    helthcheck: {http: /}\n",
        "spec.yaml:9:5: services.web.helthcheck: unknown key; did you mean 'healthcheck'?",
    ),
    (
        "{service: web}",
        "{service: wbe}",
        "spec.yaml:14:5: proxy.upstreams.web: unknown service 'wbe'; did you mean 'web'?",
    ),
    (
        "port_base: 5000",
        "port_base: 4000",
        "spec.yaml:9:5: services.web.host_port: host port 4001 of green.service.web collides with blue.service.web",
    ),
    (
        "port_base: 5000",
        "port_base: 65535",
        "spec.yaml:9:5: services.web.host_port: host port 65536 of green.service.web is outside 1-65535",
    ),
    (
        "{host: 8080}",
        "{host: 5001}",
        "spec.yaml:12:12: proxy.ports[0].host: host port 5001 of proxy collides with green.service.web",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    environment: {API_TOKEN: abc}\n",
        "spec.yaml:9:19: services.web.environment.API_TOKEN: API_TOKEN looks like a secret; secrets "
        "belong in env files (env_files), never in the spec",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    environment: {db_password: abc}\n",
        "spec.yaml:9:19: services.web.environment.db_password: db_password looks like a secret; "
        "secrets belong in env files (env_files), never in the spec",
    ),
    (
        "proxy:",
        "paths:\n  up: {path: '../up'}\nproxy:",
        "spec.yaml:11:8: paths.up.path: '../up' escapes the project root; keep paths inside it",
    ),
    (
        "proxy:",
        "paths:\n  up: {path: '..'}\nproxy:",
        "spec.yaml:11:8: paths.up.path: '..' escapes the project root; keep paths inside it",
    ),
    (
        "proxy:",
        "paths:\n  up: {path: 'uploads/{color}/{color}'}\nproxy:",
        "spec.yaml:11:8: paths.up.path: uploads/blue/blue nests a colour directory inside another "
        "colour's directory (uploads/blue): the duplicate path structure the old scripts had to "
        "repair; use a single {color} level",
    ),
    (
        "proxy:",
        "paths:\n  up: {path: 'up', mode: 755}\nproxy:",
        'spec.yaml:11:20: paths.up.mode: must be an octal mode in quotes such as "0755" (got 755: '
        "YAML reads an unquoted mode as a decimal number)",
    ),
    (
        "project: shop",
        "project: Shop!",
        "spec.yaml:1:1: project: a project name is lowercase letters, digits, _ or -, starting "
        "with a letter or digit (got 'Shop!')",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    healthcheck: {http: /h, interval: 30}\n",
        "spec.yaml:9:29: services.web.healthcheck.interval: must be a duration with a unit such as "
        "30s or 5m (got 30)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    healthcheck: {http: /h, timeout: '1m30'}\n",
        "spec.yaml:9:29: services.web.healthcheck.timeout: must be a duration with a unit such as "
        "30s or 5m (got '1m30')",
    ),
    (
        "  web:\n    image",
        "  web:\n    depends_on: {db: healthy}\n    image",
        "spec.yaml:7:18: services.web.depends_on.db: unknown service 'db'",
    ),
    (
        "project: shop\n",
        "project: shop\nproject: again\n",
        'spec.yaml:2:1: invalid YAML: while constructing a mapping found duplicate key "project" '
        'with value "again" (original value: "shop")',
    ),
    (
        "services:",
        "\tservices:",
        "spec.yaml:5:1: invalid YAML: while scanning for the next token found character '\\t' that "
        "cannot start any token",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n    bind: localhost\n",
        "spec.yaml:10:5: services.web.bind: must be an IP address such as 127.0.0.1 or 0.0.0.0 "
        "(got 'localhost')",
    ),
    (
        "{host: 8080}",
        "{host: 8080, bind: 10.0.0.300}",
        "spec.yaml:12:24: proxy.ports[0].bind: must be an IP address such as 127.0.0.1 or 0.0.0.0 "
        "(got '10.0.0.300')",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    bind: 0.0.0.0\n",
        "spec.yaml:6:3: services.web: bind needs host_port (bind is the host address it is "
        "published on)",
    ),
    (
        "proxy:\n  image: nginx\n",
        "proxy:\n  image: nginx\n  base: x.conf\n",
        "spec.yaml:16:3: proxy.locations: locations apply to the built-in template only, not to base",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    env_files: ['.env.{colour}']\n",
        "spec.yaml:9:17: services.web.env_files[0]: unknown placeholder {colour} (the placeholders "
        "are {color} and {project}); did you mean '{color}'?",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    command: [serve, --db, 'app_{colr}']\n",
        "spec.yaml:9:28: services.web.command[2]: unknown placeholder {colr} (the placeholders "
        "are {color} and {project}); did you mean '{color}'?",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    container_name: web\n",
        "spec.yaml:9:5: services.web.container_name: 'web' would name both colours' containers "
        "alike; put {color} in it (e.g. web-{color})",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    aliases: ['web {color}']\n",
        "spec.yaml:9:15: services.web.aliases[0]: 'web {color}' is not a Docker name (letters, "
        "digits, _ . -)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    per_color: {green: {port: 9090}}\n",
        "spec.yaml:6:3: services.web: per_color.green: port cannot differ per colour (these can: "
        "build, command, compose, env_files, environment, healthcheck, image, resources, restart)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    per_color: {blue: {resources: {memory: lots}}}\n",
        "spec.yaml:6:3: services.web: per_color.blue.resources.memory: must be a size such as 512M "
        "or 4G (got 'lots')",
    ),
    (  # a colour's override is checked as that colour runs it, and named where it is
        "    port: 8080\n",
        "    port: 8080\n    per_color: {green: {environment: {API_TOKEN: s3cr3t}}}\n",
        "spec.yaml:9:39: services.web.per_color.green.environment.API_TOKEN: API_TOKEN looks like "
        "a secret; secrets belong in env files (env_files), never in the spec",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    per_color: {blue: {compose: {ports: ['1:1']}}}\n",
        "spec.yaml:9:34: services.web.per_color.blue.compose.ports: 'ports' is set by specctl "
        "from port / host_port; use that instead",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n    resources: {memory: 512}\n",
        "spec.yaml:10:17: services.web.resources.memory: 512 would be bytes; give a unit such as "
        "512M or 512G",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n    resources: {memory: 256M, memory_reservation: 1G}\n",
        "spec.yaml:10:31: services.web.resources.memory_reservation: 1G is above the limit 256M",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: /api/ml/, upstream: web, upstream_path: /api/v1}]",
        "spec.yaml:15:47: proxy.locations[0].upstream_path: '/api/v1' must start with /, hold no "
        "spaces, quotes, ; or braces, and end with / exactly when path does (nginx swaps one "
        "prefix for the other)",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: /, upstream: web}, {path: /, upstream: web}]",
        "spec.yaml:15:42: proxy.locations[1].path: / is already routed by location 0",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: 'api;', upstream: web}]",
        "spec.yaml:15:16: proxy.locations[0].path: 'api;' must start with / and hold no spaces, "
        "quotes, ; or braces",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: /, upstream: web, max_body: 500MB}]",
        "spec.yaml:15:40: proxy.locations[0].max_body: nginx reads sizes as a whole number with k, "
        "m or g (got '500MB'; e.g. 500m)",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1}\n    depends_on: {db: started}\n  db:\n    image: db\n"
        "    depends_on: {web: healthy}\n",
        "spec.yaml:13:5: services.db.depends_on: depends_on goes round in a circle: db → web → db",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    environment: {DATABASE_URL: 'postgresql://app:hunter22@db/app'}\n",
        "spec.yaml:9:19: services.web.environment.DATABASE_URL: DATABASE_URL holds a URL with a "
        "password, which would be written into the generated files and a container label; put "
        "DATABASE_URL in an env file (env_files)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    environment: {DATABASE_URL: 'postgresql://app:${DB_PASSWORD}@db/app'}\n",
        "spec.yaml:9:19: services.web.environment.DATABASE_URL: ${DB_PASSWORD} would write a "
        "secret into the generated files and a container label; set the whole value in an env "
        "file (env_files) instead",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    compose: {hostnme: web}\n",
        "spec.yaml:9:15: services.web.compose.hostnme: unknown Compose service key 'hostnme'; did "
        "you mean 'hostname'?",
    ),
    (
        "proxy:\n",
        "volumes:\n  data: {name: shop_data}\nproxy:\n",
        "spec.yaml:11:10: volumes.data.name: 'shop_data' would give both colours one volume; put "
        "{color} in it, or set scope: shared when both colours must share its data",
    ),
    # Images, restart, health checks, mounts, names in words, per-colour keys, routes.
    (
        "    port: 8080\n",
        "    port: 8080\n    pull: sometimes\n",
        "spec.yaml:9:5: services.web.pull: Input should be 'missing', 'always' or 'never'",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    build: {context: app}\n    pull: always\n",
        "spec.yaml:6:3: services.web: pull applies to registry images; this service is built from build.context (its image is tagged by the build, never pulled)",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: /, upstream: web}]\ndeploy: {keep_builds: 0}",
        "spec.yaml:16:10: deploy.keep_builds: Input should be greater than or equal to 1",
    ),
    (
        "  image: nginx\n",
        "  image: nginx\n  pull: daily\n",
        "spec.yaml:12:3: proxy.pull: Input should be 'missing', 'always' or 'never'",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    restart: sometimes\n",
        "spec.yaml:9:5: services.web.restart: Input should be 'no', 'always', 'unless-stopped' or 'on-failure'",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    healthcheck: {http: health}\n",
        "spec.yaml:9:5: services.web.healthcheck: http must be a path starting with / (got 'health')",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    volumes: [{path: data, volume: data, target: /data}]\n",
        "spec.yaml:9:15: services.web.volumes[0]: give exactly one of path (a managed path) or volume (a named volume)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    volumes: [{volume: data, target: data}]\n",
        "spec.yaml:9:15: services.web.volumes[0]: target must be an absolute path in the container (got 'data')",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    per_color: {purple: {image: x}}\n",
        "spec.yaml:9:17: services.web.per_color.purple: Input should be 'blue' or 'green'",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    environment: {1BAD: x}\n",
        "spec.yaml:9:19: services.web.environment.1BAD: an environment variable name is a letter or _, then letters, digits or _ (got '1BAD')",
    ),
    (
        "  locations: [{path: /, upstream: web}]",
        "  locations: [{path: /a/, upstream: web, upstream_path: '/b;/'}]",
        "spec.yaml:15:42: proxy.locations[0].upstream_path: '/b;/' must start with /, hold no spaces, quotes, ; or braces, and end with / exactly when path does (nginx swaps one prefix for the other)",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    depends_on: {web: ready}\n",
        "spec.yaml:9:18: services.web.depends_on.web: Input should be 'started', 'healthy' or 'completed'",
    ),
    (
        "    port: 8080\n",
        "    port: 8080\n    resources: {cpus: 0}\n",
        "spec.yaml:9:17: services.web.resources.cpus: Input should be greater than 0",
    ),
    # A union value: only the message about the form written, no 'valid integer'.
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: 1, blue: 4001}\n",
        "spec.yaml:9:5: services.web.host_port: give either offset or blue/green ports, not both",
    ),
    (
        "  ports: [{host: 8080}]",
        "  ports: [{host: 70000}]",
        "spec.yaml:12:12: proxy.ports[0].host: must be between 1 and 65535 (got 70000)",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {blue: 4001}\n",
        "spec.yaml:9:5: services.web.host_port: give offset, or both blue and green",
    ),
    (
        "    host_port: {offset: 1}\n",
        '    host_port: "abc"\n',
        "spec.yaml:9:5: services.web.host_port: should be a mapping or a whole number (got 'abc')",
    ),
    (
        "    host_port: {offset: 1}\n",
        "    host_port: {offset: x}\n",
        "spec.yaml:9:17: services.web.host_port.offset: should be a whole number (got 'x')",
    ),
    (
        "proxy:",
        "notify:\n  channels: [{kind: slak, url_env: HOOK}]\nproxy:",
        "spec.yaml:11:14: notify.channels[0]: 'kind' must be one of slack, webhook, email, grafana (got 'slak')",
    ),
    (
        "proxy:",
        "notify:\n  channels: [{url_env: HOOK}]\nproxy:",
        "spec.yaml:11:14: notify.channels[0]: required key 'kind' is missing",
    ),
    (
        "proxy:",
        "notify:\n  channels:\n    - {kind: email, host: mx, sender: a@b, to: []}\nproxy:",
        "spec.yaml:12:44: notify.channels[0].to: needs at least 1 item(s)",
    ),
    (
        "proxy:",
        "notify:\n  channels: [{kind: slack, url_env: HOOK, events: [deploy]}]\nproxy:",
        "spec.yaml:11:52: notify.channels[0].events[0]: Input should be 'apply.started', 'apply.succeeded', 'apply.failed', 'apply.rolled_back', 'rollback.succeeded', 'rollback.failed', 'bake.breach', 'backup.failed' or 'lock.taken_over'",
    ),
    (
        "proxy:",
        "metrics: {textfile: /var/lib/node/specctl.txt}\nproxy:",
        "spec.yaml:10:11: metrics.textfile: must end with .prom: node_exporter reads only those files (got '/var/lib/node/specctl.txt')",
    ),
]


def test_the_good_spec_is_valid() -> None:
    assert load_spec(GOOD, filename="spec.yaml").project == "shop"


@pytest.mark.parametrize(
    ("old", "new", "expected"), CASES, ids=[c[2].split(": ")[1] for c in CASES]
)
def test_bad_spec_message(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(SpecError) as info:
        load_spec(GOOD.replace(old, new, 1), filename="spec.yaml")
    assert [p.render() for p in info.value.problems] == [expected]


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("port_base: 5000", "port_base: 4000").replace(
        "{service: web}", "{service: x}"
    )
    with pytest.raises(SpecError) as info:
        load_spec(text, filename="spec.yaml")
    assert len(info.value.problems) == 2


def test_cli_reports_problems_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        GOOD.replace("port: 8080", "port: 70000").replace("image: nginx", "imag: nginx")
    )
    result = run_cli("-f", "spec.yaml", "validate", cwd=tmp_path)
    assert result.code == 1
    assert result.err.splitlines() == [
        "spec.yaml:8:5: services.web.port: must be between 1 and 65535 (got 70000)",
        "spec.yaml:10:1: proxy.image: required key is missing",
        "spec.yaml:11:3: proxy.imag: unknown key; did you mean 'image'?",
        "error: the spec is invalid (3 problems)",
    ]
    assert not list(tmp_path.glob("generated"))


def test_compile_of_an_invalid_spec_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(GOOD.replace("port: 8080", "port: 0"))
    result = run_cli("-f", "spec.yaml", "compile", cwd=tmp_path)
    assert result.code == 1 and "Traceback" not in result.err
    assert not (tmp_path / "generated").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("project: [")
    assert "Traceback" in run_cli("--debug", "-f", "spec.yaml", "validate", cwd=tmp_path).err


def test_schema_is_valid_json_schema() -> None:
    result = run_cli("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"project", "services", "proxy"} <= set(schema["required"])
    assert "Service" in schema["$defs"]


def test_the_version_is_the_one_pyproject_declares() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert specctl.__version__ == declared
    # Alone, --version answers before the app is built; with other options typer answers.
    for argv in (["--version"], ["--debug", "--version"]):
        result = run_cli(*argv)
        assert (result.code, result.out, result.err) == (0, f"specctl {declared}\n", ""), argv


def test_validate_both_configs() -> None:
    for spec, summary in (
        ("config/spec.yaml", "valid (6 services, project spheroseg)"),
        ("config/demo.yaml", "valid (5 services, project demo)"),
    ):
        result = run_cli("-f", spec, "validate")
        assert (result.code, result.out) == (0, f"{spec}: {summary}\n")
        # Only the env files with secrets, which a checkout does not hold, are missing here.
        for line in result.err.splitlines():
            assert line.startswith("warning: env file .env."), line


def test_shell_braces_in_commands_are_not_placeholders() -> None:
    """`awk '{print}'` in a command or health check is shell, not a misspelt `{color}`."""
    text = GOOD.replace(
        "    port: 8080\n",
        "    port: 8080\n    command: [sh, -c, \"awk '{print}' /etc/hosts\"]\n"
        "    environment: {FORMAT: '{name}'}\n",
        1,
    )
    assert load_spec(text, filename="spec.yaml").services["web"].command is not None


def test_global_options_work_after_the_command_too(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(GOOD)
    before = run_cli("-f", "spec.yaml", "validate", cwd=tmp_path)
    after = run_cli("validate", "-f", "spec.yaml", cwd=tmp_path)
    equals = run_cli("validate", "--spec=spec.yaml", "--debug", cwd=tmp_path)
    assert before.code == after.code == equals.code == 0, after.err
    assert before.out == after.out == equals.out


def test_a_missing_spec_file_is_missing_not_invalid(tmp_path: Path) -> None:
    result = run_cli("validate", "-f", "nope.yaml", cwd=tmp_path)
    assert result.code == 1
    assert result.err.splitlines()[0] == "error: nope.yaml: no such file"
    assert "invalid" not in result.err


def test_validate_warns_about_env_files_missing_here(tmp_path: Path) -> None:
    text = GOOD.replace("    port: 8080\n", '    port: 8080\n    env_files: [".env.{color}"]\n')
    assert "env_files" in text
    (tmp_path / "spec.yaml").write_text(text)
    (tmp_path / ".env.blue").write_text("A=1\n")
    result = run_cli("-f", "spec.yaml", "validate", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        "warning: env file .env.green (web) does not exist here; an apply on this host stops "
        "at its pre-checks until it does"
    ]


def test_history_takes_format_json_like_every_command(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(GOOD)
    for argv in (["history", "--format", "json"], ["history", "--json"], ["history"]):
        result = run_cli("-f", "spec.yaml", *argv, cwd=tmp_path)
        assert result.code == 0, result.err
    assert run_cli("-f", "spec.yaml", "history", "--format", "json", cwd=tmp_path).out == ""


def _compose_missing() -> bool:
    import subprocess

    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return done.returncode != 0


@pytest.mark.skipif(_compose_missing(), reason="needs the Compose v2 plugin (make setup)")
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    compose: {cap_add: NET_ADMIN}\n",
            "spec.yaml:9:15: services.web.compose.cap_add: Compose refuses it: "
            "services.web.cap_add must be a list",
        ),
        (
            "    compose: {deploy: {bogus_key: 1}}\n",
            "spec.yaml:9:15: services.web.compose.deploy: Compose refuses it: "
            "services.web.deploy Additional property bogus_key is not allowed",
        ),
        (
            "    per_color: {green: {compose: {stop_grace_period: ten}}}\n",
            "spec.yaml:9:35: services.web.per_color.green.compose.stop_grace_period: Compose "
            "refuses it: error decoding 'services[web].stop_grace_period': time: invalid "
            'duration "ten"',
        ),
    ],
)
def test_the_compose_passthrough_is_checked_by_compose_at_its_own_line(
    tmp_path: Path, extra: str, expected: str
) -> None:
    (tmp_path / "spec.yaml").write_text(
        GOOD.replace("    port: 8080\n", "    port: 8080\n" + extra)
    )
    result = run_cli("-f", "spec.yaml", "validate", cwd=tmp_path)
    assert result.code == 1, result.out
    assert result.err.splitlines()[0] == expected


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(GOOD.replace("\n", "\r\n"), id="crlf"),
        pytest.param("\ufeff" + GOOD, id="bom"),
        pytest.param(
            "x-web: &web\n  image: shop/web:1\n  port: 8080\n"
            + GOOD.replace("    image: shop/web:1\n    port: 8080\n", "    <<: *web\n"),
            id="x-anchor-merged",
        ),
        pytest.param(
            GOOD.replace(
                "    image: shop/web:1\n", "    x-owner: shop team\n    image: shop/web:1\n"
            ).replace("  image: nginx\n", "  image: nginx\n  x-note: edge\n"),
            id="x-keys-in-service-and-proxy",
        ),
    ],
)
def test_legal_forms_compile_to_the_same_output_as_the_plain_spec(variant: str) -> None:
    """YAML the way Compose users write it is accepted and means the same."""
    inputs = Inputs(spec_name="config/spec.yaml", root_ref="..")
    plain = compile_spec(load_spec(GOOD, filename="spec.yaml"), inputs)
    assert compile_spec(load_spec(variant, filename="spec.yaml"), inputs) == plain
