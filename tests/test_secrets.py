"""Secrets never leak: every command runs against a real deployment whose env files are full of
recognisable secret values, and none of them appears in any output, log, audit record, saved
plan, generated file, backup manifest or snapshot."""

from __future__ import annotations

import gzip
import io
import json
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REFERENCE, REPO, Result, Sandbox, remove_project

NAME = "sec1"
TAG = secrets.token_hex(8)  # fresh each run: a hit cannot be an old file
API_SECRET = f"SECRETVALUE-{TAG}"
DB_PASSWORD = f"PWVALUE-{TAG}"
TOKEN = f"TOKVALUE {TAG} with spaces"  # quoted in the file
GREEN_SECRET = f"SECRETVALUE-GREEN-{TAG}"
ROTATED = f"SECRETVALUE-ROTATED-{TAG}"
VALUES = [API_SECRET, DB_PASSWORD, TOKEN, GREEN_SECRET, ROTATED, TAG]  # TAG: any fragment

SPEC = """\
version: 1
project: sec1
root: ..
colors:
  blue: {port_base: 26100}
  green: {port_base: 26200}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {offset: 0}
    env_files: [".env.{color}"]
    required_env: [API_SECRET, DATABASE_URL, SESSION_TOKEN]
    environment: {APP_NAME: web, APP_COLOR: "{color}", UPLOAD_DIR: /data/uploads}
    volumes: [{path: data, target: /data/uploads}]
    depends_on: {db: healthy}
    healthcheck: {http: /health, interval: 1s, timeout: 2s, retries: 30}
  db:
    image: specctl-testbed/postgres:15
    scope: shared
    port: 5432
    host_port: 26432
    environment: {POSTGRES_USER: sec, POSTGRES_DB: sec}
    env_files: [.env.shared]
    required_env: [POSTGRES_PASSWORD]
    volumes: [{volume: pgdata, target: /var/lib/postgresql/data}]
    healthcheck: {command: "pg_isready -U sec -d sec", interval: 1s, timeout: 2s, retries: 60}
paths:
  data: {path: "data/{color}", mode: "0755", subdirs: [temp]}
volumes:
  pgdata: {scope: shared}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{host: 26080, container: 80}]
  upstreams:
    web: {service: web, probe: /health}
  locations: [{path: /, upstream: web}]
deploy: {health_timeout: 30s, health_interval: 1s, switch_timeout: 5s, drain: 0s, retire: keep}
checks:
  pre: {min_disk: 1G, min_memory: 256M}
  post:
    - {name: web, kind: http, service: web, path: /health}
    - {name: database, kind: postgres, service: db}
    - {name: logs, kind: logs}
backups:
  enabled: true
  keep: 10
  database: {service: db, user: sec, name: sec, password_env: POSTGRES_PASSWORD}
  paths: [data]
hooks:
  migrate:
    service: web
    command: [python3, /app/migrate.py]
    timeout: 60s
"""


def env_file(api_secret: str) -> str:
    return (
        f"API_SECRET={api_secret}\n"
        f"DATABASE_URL=postgresql://sec:{DB_PASSWORD}@db:5432/sec\n"
        f'SESSION_TOKEN="{TOKEN}"\n'
        f"JWT_REFRESH_SECRET='{api_secret}-refresh'\n"
    )


LEGACY_ENV = (
    f"DB_PASSWORD={DB_PASSWORD}\nJWT_ACCESS_SECRET={API_SECRET}\nJWT_REFRESH_SECRET='{TOKEN}'\n"
)
FILES = {
    ".env.blue": env_file(API_SECRET),
    ".env.green": env_file(GREEN_SECRET),
    ".env.shared": f"POSTGRES_PASSWORD={DB_PASSWORD}\n",
}


def leaks(text: str) -> list[str]:
    return [value for value in VALUES if value in text]


def file_texts(root: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of every file under root; gzip files and tar archives are opened too."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        yield str(path), raw.decode("utf-8", "replace")
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
            yield f"{path} (gunzipped)", raw.decode("utf-8", "replace")
        try:
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                for member in tar.getmembers():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield f"{path}:{member.name}", handle.read().decode("utf-8", "replace")
        except tarfile.TarError:
            pass


def leaks_in(root: Path) -> dict[str, list[str]]:
    return {name: found for name, text in file_texts(root) if (found := leaks(text))}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("secrets")
    remove_project(NAME)
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(SPEC)
    sandbox = Sandbox(root=root, spec_path=spec_path, name=NAME)
    for rel, text in FILES.items():
        sandbox.write(rel, text)
    yield sandbox
    remove_project(NAME)


class Runs:
    """Every command run so far, so each output can be checked for secrets."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.seen: list[tuple[str, Result]] = []

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.box.cli(*args)
        self.seen.append((" ".join(args), result))
        if ok:
            assert result.code == 0, f"{args}: {result.out}{result.err}"
        assert "Traceback" not in result.err, result.err
        assert leaks(result.out + result.err) == [], f"{args} printed a secret"
        return result


def test_no_command_shows_a_secret(box: Sandbox, tmp_path: Path) -> None:
    run = Runs(box)
    run("validate")
    run("compile")
    run("compile", "--check")
    run("schema")
    for fmt in ("text", "json", "markdown"):
        run("plan", "--target", "blue", "--format", fmt)
    run("check", "pre", "--target", "blue")
    run("fix-permissions", "--dry-run")

    first = run("apply", "--target", "blue", "--yes")
    assert "done: blue is live" in first.out
    run("status")
    run("status", "--format", "json")
    run("check", "post")
    run("backup", "create")
    run("backup", "list")
    listed = run("backup", "list", "--format", "json")
    assert any("database sec" in b["contents"] for b in json.loads(listed.out)["backups"])
    run("backup", "verify")

    # a secret rotated between applies is a change shown by name, never by value
    (box.root / ".env.green").write_text(env_file(ROTATED))
    saved = box.root / "plan.json"
    for fmt in ("text", "json", "markdown"):
        run("plan", "--target", "green", "--format", fmt)
    planned = run("plan", "--target", "green", "--format", "json", "-o", str(saved))
    assert json.loads(planned.out)["target"] == "green"
    run("apply", str(saved), "--yes")
    run("status", "--format", "json")
    (box.root / ".env.blue").write_text(env_file(ROTATED))
    changed = run("plan", "--target", "blue", "--format", "json")
    fields = [f["key"] for c in json.loads(changed.out)["changes"] for f in c.get("fields", [])]
    assert "env.API_SECRET" in fields
    run("rollback")
    run("history")
    kinds = [json.loads(line)["kind"] for line in run("history", "--json").out.splitlines()]
    assert kinds.count("apply") == 2 and kinds[-1] == "rollback"
    run("check", "pre", "--target", "green")
    run("fix-permissions", "--dry-run")

    # a legacy config imported with env files: their names are used, their values never
    legacy_env = box.write(".env.legacy", LEGACY_ENV)
    imported = tmp_path / "imported.yaml"
    legacy = run(
        "import",
        str(REFERENCE / "config" / "deployment.config"),
        *("--env-file", str(legacy_env), "--env-file", str(box.root / ".env.blue")),
        *("-o", str(imported)),
    )
    assert "variables mapped" in legacy.err
    assert imported.is_file() and leaks(imported.read_text()) == []

    assert len(run.seen) >= 30
    assert (box.root / "backups").is_dir() and list((box.root / "backups").rglob("manifest.json"))
    assert list((box.root / "logs").rglob("*.log")) and list(
        (box.root / "logs").rglob("audit.jsonl")
    )
    for folder in ("logs", "backups", "generated", ".specctl"):
        assert leaks_in(box.root / folder) == {}, folder
    assert leaks(saved.read_text()) == []
    assert leaks_in(REPO / "tests" / "__snapshots__") == {}


def test_a_malformed_env_file_is_reported_without_its_values(box: Sandbox) -> None:
    """Parsers quote what they cannot read; neither dotenv nor Compose may quote a secret."""
    broken = f'API_SECRET={API_SECRET}\nthis line is broken {ROTATED}\nSESSION_TOKEN="{TOKEN}\n'
    (box.root / ".env.green").write_text(broken)
    run = Runs(box)
    checked = run("check", "pre", "--target", "green", ok=False)
    assert checked.code == 1 and "SESSION_TOKEN is missing or empty" in checked.out
    run("plan", "--target", "green")
    refused = run("apply", "--target", "green", "--yes", ok=False)
    assert refused.code == 1 and "pre-deployment checks failed" in refused.err
    assert leaks_in(box.root / "logs") == {}
    (box.root / ".env.green").write_text(env_file(GREEN_SECRET))


def test_the_scan_would_see_a_leak(tmp_path: Path) -> None:
    """The checks above can fail: a secret in a log, a gzip file or a tar archive is found."""
    (tmp_path / "deploy.log").write_text(f"oops {API_SECRET}\n")
    (tmp_path / "dump.gz").write_bytes(gzip.compress(DB_PASSWORD.encode()))
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        member = tarfile.TarInfo("conf/nginx.conf")
        payload = f"# {TOKEN}\n".encode()
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    (tmp_path / "nginx.tar.gz").write_bytes(data.getvalue())
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    found = leaks_in(tmp_path)
    assert str(tmp_path / "clean.txt") not in found
    assert {
        str(tmp_path / "deploy.log"),
        f"{tmp_path / 'dump.gz'} (gunzipped)",
        f"{tmp_path / 'nginx.tar.gz'}:conf/nginx.conf",
    } <= set(found)
