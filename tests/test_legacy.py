"""importers/bash_config, importers/legacy and `specctl import`: legacy bash config -> spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from specctl.compiler.compile import Inputs, compile_spec, desired_for
from specctl.compiler.load import load_spec
from specctl.import_cmd import register, root_for
from specctl.importers.bash_config import parse_bash_config
from specctl.importers.legacy import ImportResult, color_template, import_legacy, looks_secret
from specctl.schemas.errors import SpecctlError
from specctl.schemas.notify import DEFAULT_EVENTS
from specctl.schemas.spec import HostPort, Spec
from tests.conftest import REFERENCE, SHARED_REFERENCE

REAL = REFERENCE / "config" / "deployment.config"


def parse(text: str) -> dict[str, str | list[str]]:
    return parse_bash_config(text).variables


def notes(text: str) -> list[str]:
    return [note.render() for note in parse_bash_config(text).notes]


# The parser --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1", {"A": "1"}),
        ("A=0  # a comment", {"A": "0"}),
        ("A=x#not-a-comment", {"A": "x#not-a-comment"}),
        ('A="two words"', {"A": "two words"}),
        ("A='single $B quoted'", {"A": "single $B quoted"}),
        ('A=1\nB="x ${A} $A y"', {"A": "1", "B": "x 1 1 y"}),
        ("A=1\nB=pre\"mid $A\"'raw $A'post", {"A": "1", "B": "premid 1raw $Apost"}),
        ('A="say \\"hi\\" \\$A"', {"A": 'say "hi" $A'}),
        ('A="${MISSING:-fall $B}"\nB=2', {"A": "fall $B", "B": "2"}),
        ("A=1\nB=${A:-other}", {"A": "1", "B": "1"}),
        ("A=x\nA+=y", {"A": "xy"}),
        ("A=(a)\nA+=(b c)", {"A": ["a", "b", "c"]}),
        ("A=1; B=2", {"A": "1", "B": "2"}),
        ("A=1 B=2  # both", {"A": "1", "B": "2"}),
        ("readonly A=1", {"A": "1"}),
        ("export A=1 B", {"A": "1"}),
        ("\n\n   # only a comment\n\nA=1\n", {"A": "1"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ('A="multi\nline"', {"A": "multi\nline"}),
    ],
)
def test_parser_reads_assignments(text: str, expected: dict[str, str | list[str]]) -> None:
    assert parse(text) == expected


def test_parser_reads_arrays_across_lines_with_comments() -> None:
    text = 'X=1\nCHECKS=(\n    "a b"   # first\n    c\n\n    \'d\' "$X"\n)\nAFTER=ok\n'
    assert parse(text) == {"X": "1", "CHECKS": ["a b", "c", "d", "1"], "AFTER": "ok"}
    assert parse_bash_config(text).lines == {"X": 1, "CHECKS": 2, "AFTER": 8}


def test_parser_skips_functions_with_nested_braces() -> None:
    text = """A=1
validate() {
    local errors=0
    for dir in "$A" "}"; do
        if [[ ! -d "$dir" ]]; then
            echo "{ not a brace" '}'
            INSIDE=1
        fi
    done
    local n=${#all[@]} m=$( printf "%s}" x )
    return $errors
}
function other {
    ALSO_INSIDE=1
}
B=2
"""
    assert parse(text) == {"A": "1", "B": "2"}
    assert notes(text) == [
        "lines 2-12: function validate ignored (never executed)",
        "lines 13-15: function other ignored (never executed)",
    ]


def test_parser_skips_exports_and_other_commands() -> None:
    text = "A=1\nexport A\nexport A B C\nif [ -f x ]; then\n  B=2\nfi\nC=3 some-command\necho hi\n"
    assert parse(text) == {"A": "1"}
    assert notes(text) == [
        "line 2: export skipped (it only marks variables for child processes)",
        "line 3: export skipped (it only marks variables for child processes)",
        "lines 4-6: `if` block skipped (never executed)",
        "line 7: a command with variables set for it, skipped (never executed)",
        "line 8: command `echo` skipped (never executed)",
    ]


def test_parser_never_echoes_a_skipped_command() -> None:
    text = 'mysql -uroot -p"hunter2" < dump.sql\nbroken() {\n  X=1\n'
    assert "hunter2" not in "\n".join(notes(text))
    assert notes(text) == [
        "line 1: command `mysql` skipped (never executed)",
        "line 2: this block is never closed; the rest of the file was skipped",
        "lines 2-3: function broken ignored (never executed)",
    ]


def test_parser_keeps_what_only_a_shell_knows_as_written() -> None:
    text = "A=$UNSET/x\nB=$(whoami)\nC=`date`\nD=$1\nE=${A}\nF=plain\n"
    parsed = parse_bash_config(text)
    assert parsed.variables == {
        "A": "$UNSET/x",
        "B": "$(whoami)",
        "C": "`date`",
        "D": "$1",
        "E": "$UNSET/x",
        "F": "plain",
    }
    assert parsed.unresolved == {"A", "B", "C", "D", "E"}
    assert notes(text) == [
        "line 1: $UNSET is not set earlier in the file; kept as written",
        "line 2: command substitution $(...) not run; kept as written",
        "line 3: command substitution `...` not run; kept as written",
        "line 4: $1 has no value outside a running script; kept as written",
    ]


def test_parser_records_references() -> None:
    parsed = parse_bash_config('P=pw\nURL="db://u:${P}@h"\nPLAIN=1\n')
    assert parsed.refs["URL"] == {"P"}
    assert parsed.refs["PLAIN"] == frozenset()


def test_parser_survives_unclosed_quotes() -> None:
    text = 'A=1\nB="never closed\nC=3\n'
    assert parse(text) == {"A": "1", "B": "never closed\nC=3\n"}
    assert notes(text) == ['line 2: " is never closed']


# Mapping helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blue", "green", "expected"),
    [
        ("spheroseg_blue", "spheroseg_green", ("spheroseg_{color}", True)),
        (".env.blue", ".env.green.prod", (".env.{color}", False)),
        ("spheroseg_postgres_blue", "green-postgres-data", ("spheroseg_postgres_{color}", False)),
        ("blueprint-blue", "blueprint-green", ("blueprint-{color}", True)),
        ("shared", "shared", ("shared", True)),
        ("one", "two", ("one", False)),
        (None, None, (None, False)),
    ],
)
def test_color_template(
    blue: str | None, green: str | None, expected: tuple[str | None, bool]
) -> None:
    assert color_template(blue, green) == expected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("JWT_ACCESS_SECRET", True),
        ("GITHUB_TOKEN", True),
        ("STRIPE_KEY", True),
        ("SLACK_WEBHOOK_URL", True),
        ("SSL_KEY_FILE", False),
        ("DB_PASSWORD_ENV_VAR", False),
        ("SMTP_HOST", False),
    ],
)
def test_looks_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


# Importing the real deployment.config -------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> ImportResult:
    text = REAL.read_text(encoding="utf-8")
    return import_legacy(text, source_name="config/deployment.config", env_texts={}, root="..")


@pytest.fixture(scope="module")
def spec(real: ImportResult) -> Spec:
    return load_spec(real.yaml, filename="config/spec.yaml")


def test_real_config_validates_and_compiles(real: ImportResult, spec: Spec) -> None:
    assert real.problems == []
    files = compile_spec(spec, Inputs(spec_name="config/spec.yaml", root_ref="../.."))
    assert sorted(files) == [
        f"spheroseg/{name}"
        for name in (
            "compose.blue.yml",
            "compose.green.yml",
            "compose.shared.yml",
            "nginx.blue.conf",
            "nginx.green.conf",
            "permissions.json",
        )
    ]
    assert "server blue-backend:3001;" in files["spheroseg/nginx.blue.conf"]
    assert "server green-ml:8000;" in files["spheroseg/nginx.green.conf"]
    # The old rewrite of /api/ml/X to the ML service's /api/v1/X, as a prefix swap.
    assert "proxy_pass http://ml_service/api/v1/;" in files["spheroseg/nginx.green.conf"]
    inputs = Inputs(spec_name="config/spec.yaml", root_ref="../..")
    published = {
        (color, svc.name): (svc.host_port, svc.port)
        for color in ("blue", "green")
        for svc in desired_for(spec, color, inputs).services
    }
    assert published[("blue", "ml")] == (4008, 8000)
    assert published[("green", "backend")] == (5001, 3001)
    assert published[("green", "mailhog")] == (8025, 8025)


def test_real_config_alerts_and_metrics(spec: Spec) -> None:
    """ADMIN_EMAIL through the app's SMTP server; SLACK_WEBHOOK_URL is empty there: no Slack."""
    assert [c.model_dump() for c in spec.notify.channels] == [
        {
            "name": None,
            "events": list(DEFAULT_EVENTS),
            "kind": "email",
            "host": "mail.utia.cas.cz",
            "port": 25,
            "security": "starttls",
            "user_env": None,
            "password_env": None,
            "ca_file": None,
            "sender": "prusek@utia.cas.cz",
            "to": ["admin@utia.cas.cz"],
        }
    ]
    assert spec.metrics.textfile == "/var/lib/prometheus/node-exporter/specctl.prom"


def test_real_config_values(spec: Spec) -> None:
    assert (spec.project, spec.domain, spec.root) == ("spheroseg", "spherosegapp.utia.cas.cz", "..")
    assert (spec.colors.blue.port_base, spec.colors.green.port_base) == (4000, 5000)
    assert (spec.owner.uid, spec.owner.gid) == (1001, 1001)
    services = spec.services
    assert list(services) == ["frontend", "backend", "ml", "postgres", "redis", "mailhog"]
    offsets = {name: services[name].host_port for name in ("frontend", "backend", "ml")}
    assert offsets == {name: HostPort(offset=n) for name, n in zip(offsets, (0, 1, 8), strict=True)}
    assert [services[n].port for n in ("frontend", "backend", "ml")] == [80, 3001, 8000]
    assert services["mailhog"].host_port == HostPort(blue=8026, green=8025)
    assert services["backend"].image == "spheroseg/backend:latest"
    assert services["backend"].env_files == [".env.{color}"]
    assert services["backend"].required_env == [
        "DB_PASSWORD",
        "JWT_ACCESS_SECRET",
        "JWT_REFRESH_SECRET",
    ]
    assert services["postgres"].environment == {
        "POSTGRES_USER": "spheroseg",
        "POSTGRES_DB": "spheroseg_{color}",
    }
    memory = {n: s.resources.memory for n, s in services.items() if s.resources}
    assert memory == {
        "frontend": "1G",
        "backend": "2G",
        "ml": "8G",
        "postgres": "2G",
        "redis": "512M",
    }
    assert spec.paths["uploads"].path == "backend/uploads/{color}"
    assert spec.paths["uploads"].subdirs == ["images", "thumbnails", "temp"]
    assert [f.name for f in spec.paths["ml_weights"].files] == [
        "hrnet_w32-36af842e.pth",
        "model_final.pth",
    ]
    assert spec.paths["ml_weights"].path == "backend/segmentation/weights"
    certs = spec.paths["certs"]
    assert (certs.kind, certs.uid, certs.gid) == ("certificate", 0, 0)
    # The whole tree, so certbot's live/ symlinks into archive/ resolve inside the proxy.
    assert certs.path == "/etc/letsencrypt"
    assert spec.volumes["postgres"].name == "spheroseg_postgres_{color}"
    assert spec.volumes["redis"].name == "spheroseg_redis_{color}"
    assert spec.proxy.image == "nginx:1.25-alpine"
    assert [(p.host, p.container) for p in spec.proxy.ports] == [(80, 80), (443, 443)]
    assert spec.proxy.upstreams == {
        "frontend": "frontend",
        "backend": "backend",
        "ml_service": "ml",
    }
    tls = spec.proxy.tls
    assert tls is not None and (tls.path, tls.target) == ("certs", "/etc/letsencrypt")
    assert tls.certificate == "live/spherosegapp.utia.cas.cz/fullchain.pem"
    assert tls.key == "live/spherosegapp.utia.cas.cz/privkey.pem"
    api = next(loc for loc in spec.proxy.locations if loc.path == "/api/")
    assert api.max_body == "100M"  # MAX_UPLOAD_SIZE
    routes = {loc.path: (loc.upstream, loc.upstream_path) for loc in spec.proxy.locations}
    assert routes["/api/ml/"] == ("ml_service", "/api/v1/")
    assert routes["/uploads/"] == ("backend", None)
    deploy = spec.deploy
    assert (deploy.start_timeout, deploy.health_timeout, deploy.health_interval) == (
        "180s",
        "30s",
        "5s",
    )
    assert (deploy.health_retries, deploy.rollback_timeout) == (10, "60s")
    assert (spec.checks.pre.min_disk, spec.checks.pre.min_memory) == ("10G", "4096M")
    assert spec.checks.critical_errors[:2] == ["FATAL", "ERROR"]
    backups = spec.backups
    assert (backups.dir, backups.retention, backups.keep, backups.timeout) == (
        "backups",
        "30d",
        10,
        "600s",
    )
    assert backups.database is not None and backups.database.name == "spheroseg_{color}"
    migrate = spec.hooks.migrate
    assert migrate is not None
    assert (migrate.service, migrate.command) == ("backend", ["npx", "prisma", "migrate", "deploy"])
    assert (migrate.timeout, migrate.restore_on_failure) == ("300s", True)
    assert (spec.logs.dir, spec.logs.retention) == ("logs/deployment", "90d")


def test_real_config_key_lines(real: ImportResult) -> None:
    lines = real.yaml.splitlines()
    for expected in [
        "version: 1",
        "project: spheroseg  # from BLUE_NETWORK=spheroseg-blue, GREEN_NETWORK=spheroseg-green",
        "    port_base: 4000  # from BLUE_PORTS_START=4000",
        '    port: 3001  # from NGINX_BACKEND_UPSTREAM_BLUE="server blue-backend:3001;"',
        "    host_port: {offset: 8}  # from BLUE_ML_PORT=4008, GREEN_ML_PORT=5008, minus the port "
        "bases",
        '    path: "backend/uploads/{color}"',
        '    subdirs: [images, thumbnails, temp]  # from UPLOAD_SUBDIRS="images thumbnails temp"',
        "  retention: 30d  # from BACKUP_RETENTION_DAYS=30",
        "  keep: 10  # from MAX_BACKUPS_KEEP=10",
        "    command: [npx, prisma, migrate, deploy]",
        "# - lines 215-242: function validate_config ignored (never executed)",
    ]:
        assert expected in lines


def test_real_config_import_is_deterministic(real: ImportResult) -> None:
    again = import_legacy(
        REAL.read_text(encoding="utf-8"),
        source_name="config/deployment.config",
        env_texts={},
        root="..",
    )
    assert again.yaml.encode() == real.yaml.encode()
    assert again.unmapped == real.unmapped


def test_real_config_unmapped_names_each_leftover_with_a_reason(real: ImportResult) -> None:
    by_name = {line.split(": ")[1]: line for line in real.unmapped if line[0] != "."}
    assert by_name["SESSION_TIMEOUT"].endswith(
        "SESSION_TIMEOUT: an application setting; it belongs in the env files"
    )
    assert "secret" in by_name["SLACK_WEBHOOK_URL"]
    assert "spheroseg_postgres_green" in by_name["GREEN_POSTGRES_VOLUME"]
    assert ".env.green" in by_name["GREEN_ENV_FILE"]
    assert "VALIDATION_CHECKS" in by_name and "VERIFICATION_TESTS" in by_name
    assert by_name["SESSION_TIMEOUT"].startswith("config/deployment.config:190: SESSION_TIMEOUT: ")
    assert "GRAFANA_PORT" in by_name and "docs/grafana/specctl.json" in by_name["GRAFANA_PORT"]
    assert "config/deployment.config:245-257: export skipped" in "\n".join(real.unmapped)
    for mapped in (
        "BLUE_BACKEND_PORT",
        "DOCKER_UID",
        "UPLOAD_SUBDIRS",
        "BLUE_DB_NAME",
        "ADMIN_EMAIL",
        "SMTP_HOST",
        "ENABLE_MONITORING",
    ):
        assert mapped not in by_name
        assert mapped in real.mapped


def test_real_config_every_variable_is_mapped_or_reported(real: ImportResult) -> None:
    variables = parse_bash_config(REAL.read_text(encoding="utf-8")).variables
    reported = {line.split(": ")[1] for line in real.unmapped}
    assert set(variables) == set(real.mapped) | (reported & set(variables))
    assert not set(real.mapped) & reported


def test_real_config_footer_lists_what_was_not_imported(real: ImportResult) -> None:
    footer = real.yaml.split("# Not imported (line numbers in the config):\n", 1)[1]
    assert footer.startswith("# - line 9: LOCAL_PORTS_START: ")
    assert "# - line 150: SLACK_WEBHOOK_URL: looks like a secret" in footer


# Secrets ----------------------------------------------------------------------------------------

ENV_BLUE = """DB_PASSWORD=hunter2-blue-9f8e7d
JWT_ACCESS_SECRET='jwt-access-5c4b3a'
JWT_REFRESH_SECRET=jwt-refresh-1a2b3c
MAIL_RELAY=innocent-looking-value-77aa
"""
ENV_GREEN = """DB_PASSWORD=hunter2-green-6d5e4f
JWT_ACCESS_SECRET=jwt-access-green-0f0e
MAIL_RELAY=another-value-88bb
ONLY_GREEN=x-only-green-value
"""
ENV_VALUES = [
    "hunter2-blue-9f8e7d",
    "jwt-access-5c4b3a",
    "jwt-refresh-1a2b3c",
    "innocent-looking-value-77aa",
    "hunter2-green-6d5e4f",
    "jwt-access-green-0f0e",
    "another-value-88bb",
    "x-only-green-value",
]


def test_env_file_values_never_reach_the_spec_or_the_notes() -> None:
    result = import_legacy(
        REAL.read_text(encoding="utf-8"),
        source_name="deployment.config",
        env_texts={".env.blue": ENV_BLUE, ".env.green.prod": ENV_GREEN},
    )
    everything = result.yaml + "\n".join(result.unmapped + result.problems)
    for value in ENV_VALUES:
        assert value not in everything
    spec = load_spec(result.yaml, filename="spec.yaml")
    assert spec.services["backend"].required_env == [
        "DB_PASSWORD",
        "JWT_ACCESS_SECRET",
        "JWT_REFRESH_SECRET",
        "MAIL_RELAY",
    ]
    missing = ".env.green.prod: JWT_REFRESH_SECRET: required by REQUIRED_ENV_VARS but missing here"
    assert f"{missing}; set in .env.blue" in result.unmapped
    assert ".env.blue: ONLY_GREEN: missing here; set in .env.green.prod" in result.unmapped


def test_secrets_in_the_config_are_never_copied() -> None:
    config = """BLUE_PORTS_START=4000
GREEN_PORTS_START=5000
BLUE_BACKEND_PORT=4001
GREEN_BACKEND_PORT=5001
NGINX_BACKEND_UPSTREAM_BLUE="server blue-backend:3001;"
DB_PASSWORD="pw-1f2e3d"
API_TOKEN=tok-4c5b6a
STRIPE_KEY=sk_live_789xyz
DATABASE_URL="postgres://app:${DB_PASSWORD}@db/app"
PRODUCTION_DOMAIN="${API_TOKEN}.example.org"
SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/abc123def"
"""
    result = import_legacy(config, source_name="d.config", env_texts={})
    everything = result.yaml + "\n".join(result.unmapped)
    for value in ["pw-1f2e3d", "tok-4c5b6a", "sk_live_789xyz", "abc123def", "postgres://app"]:
        assert value not in everything
    assert "d.config:9: DATABASE_URL: uses DB_PASSWORD, so is a secret" in "\n".join(
        result.unmapped
    )
    assert "domain:" not in result.yaml
    assert result.problems == []


# Smaller configs --------------------------------------------------------------------------------


def test_half_resolved_values_are_reported_not_copied() -> None:
    config = (
        'BLUE_BACKEND_PORT=4001\nGREEN_BACKEND_PORT=5001\nNGINX_BACKEND_UPSTREAM_BLUE="server '
        'blue-backend:3001;"\nLOG_DIR="$HOME/logs"\nBACKUP_DIR=$(pwd)/b\n'
    )
    result = import_legacy(config, source_name="d", env_texts={})
    assert "$HOME" not in result.yaml.split("# Not imported")[0]
    assert "d:4: LOG_DIR: its value needs a running shell (see the notes); set it by hand" in (
        result.unmapped
    )
    assert "d:5: BACKUP_DIR: its value needs a running shell" in "\n".join(result.unmapped)


def test_an_invalid_result_is_still_returned_with_its_problems() -> None:
    config = """BLUE_PORTS_START=4000
GREEN_PORTS_START=4001
BLUE_WEB_PORT=4001
GREEN_WEB_PORT=4002
NGINX_WEB_UPSTREAM_BLUE="server blue-web:80;"
BLUE_API_PORT=4002
GREEN_API_PORT=4003
NGINX_API_UPSTREAM_BLUE="server blue-api:3000;"
"""
    result = import_legacy(config, source_name="d", env_texts={}, output_name="out.yaml")
    assert "services:" in result.yaml
    assert len(result.problems) == 1
    assert result.problems[0].startswith("out.yaml:")
    assert (
        "host port 4002 of blue.service.api collides with green.service.web" in result.problems[0]
    )


def test_paths_outside_the_root_are_left_out() -> None:
    config = 'BACKUP_DIR="../elsewhere"\nLOG_DIR=./logs/deploy\n'
    result = import_legacy(config, source_name="d", env_texts={})
    assert "d:1: BACKUP_DIR: points outside the project root; left out" in result.unmapped
    assert "  dir: logs/deploy  # from LOG_DIR=./logs/deploy" in result.yaml.splitlines()


# The command ------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A throwaway app; the real one registers `import` itself."""

    register(app)
    return app


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deployment.config").write_text(REAL.read_text(encoding="utf-8"))
    (tmp_path / ".env.blue").write_text(ENV_BLUE)
    return tmp_path


def test_command_writes_the_spec_and_prints_notes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    args = ["import", "config/deployment.config", "--env-file", ".env.blue", "-o", "config/s.yaml"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    written = (project / "config" / "s.yaml").read_text(encoding="utf-8")
    assert "root: ..  # " in written
    spec = load_spec(written, filename="config/s.yaml")
    assert spec.services["backend"].required_env[-1] == "MAIL_RELAY"
    assert result.stdout == ""
    notes = result.stderr.splitlines()
    assert "note: config/deployment.config:190: SESSION_TIMEOUT: " in "\n".join(notes)
    assert notes[-1].startswith("imported config/deployment.config: ")
    assert notes[-1].endswith("wrote config/s.yaml")
    for value in ENV_VALUES:
        assert value not in written + result.stderr


def test_command_prints_to_stdout_without_output(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "config")
    result = CliRunner().invoke(_app(), ["import", "deployment.config"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Imported by `specctl import` from deployment.config.")
    assert "\nroot: ..  # " in result.stdout


def test_command_refuses_to_overwrite_without_force(project: Path) -> None:
    target = project / "spec.yaml"
    target.write_text("keep me\n")
    config = str(project / "config" / "deployment.config")
    refused = CliRunner().invoke(_app(), ["import", config, "-o", str(target)])
    assert isinstance(refused.exception, SpecctlError)
    assert (
        refused.exception.render()
        == f"{target}: already exists\nhint: pass --force to overwrite it"
    )
    assert target.read_text() == "keep me\n"
    forced = CliRunner().invoke(_app(), ["import", config, "-o", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_text().startswith("# Imported by")


def test_command_reports_unreadable_files(project: Path) -> None:
    missing = project / "nope.config"
    result = CliRunner().invoke(_app(), ["import", str(missing)])
    assert isinstance(result.exception, SpecctlError)
    assert result.exception.message == f"{missing}: file not found"
    config = str(project / "config" / "deployment.config")
    result = CliRunner().invoke(_app(), ["import", config, "--env-file", str(project)])
    assert isinstance(result.exception, SpecctlError)
    assert result.exception.message.startswith(f"{project}: cannot read the env file: ")


@pytest.mark.parametrize(
    ("config", "output", "expected"),
    [
        ("/p/config/deployment.config", "/p/config/spec.yaml", ".."),
        ("/p/config/deployment.config", "/p/spec.yaml", "."),
        ("/p/deploy.conf", "/p/config/spec.yaml", ".."),
        ("/p/config/deployment.config", "/q/spec.yaml", "../p"),
    ],
)
def test_root_is_the_legacy_project_seen_from_the_spec(
    config: str, output: str, expected: str
) -> None:
    assert root_for(Path(config), Path(output)) == expected


@pytest.mark.skipif(
    not SHARED_REFERENCE.is_dir(), reason="the shared reference is not beside this clone"
)
def test_reference_copy_is_the_original() -> None:
    """tests/data holds a copy of the reference deployment.config; it must not drift."""
    original = SHARED_REFERENCE / "config" / "deployment.config"
    assert REAL.read_bytes() == original.read_bytes()
