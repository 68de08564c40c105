"""compiler/retention and compiler/backup_manifest (pure), and `specctl backup` against real
things: a PostgreSQL deployed by `specctl apply`, a throwaway one, a full filesystem."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import psycopg
import pytest

from specctl.appliers.backups.store import (
    create_backup,
    exec_capture,
    list_backups,
    pg_dump_argv,
    pg_restore_argv,
    prune,
    put_file,
)
from specctl.appliers.backups.verify import (
    USER_TABLES,
    count_rows_sql,
    pg_isready_argv,
    psql_argv,
    throwaway_postgres,
    verify_backup,
    verify_restore_argv,
)
from specctl.appliers.project import load_project
from specctl.compiler.backup_manifest import (
    contents,
    human_age,
    human_size,
    list_rows,
    manifest_problems,
    render_list,
)
from specctl.compiler.retention import Dated, select_prunable
from specctl.schemas.errors import ApplyError
from tests.conftest import Result, Sandbox, run_cli

DAY = 86400.0
NOW = 1_800_000_000.0


# Retention ---------------------------------------------------------------------------------------


def dated(*ages_in_days: float) -> list[Dated]:
    return [Dated(f"b{i}", NOW - age * DAY) for i, age in enumerate(ages_in_days)]


@pytest.mark.parametrize(
    ("ages", "keep", "doomed"),
    [
        ((1, 2, 3), 10, []),
        ((40, 31, 2, 1), 10, ["b0", "b1"]),  # older than 30 days, oldest first
        ((5, 4, 3, 2, 1), 2, ["b0", "b1", "b2"]),  # beyond the count, oldest first
        ((40, 5, 4, 3), 2, ["b0", "b1"]),  # age first, then the count
        ((90, 60, 45), 10, ["b0", "b1"]),  # the newest stays, however old
        ((1, 3, 2), 1, ["b1", "b2"]),  # by date, not by list order
        ((), 3, []),
    ],
)
def test_select_prunable(ages: tuple[float, ...], keep: int, doomed: list[str]) -> None:
    got = select_prunable(dated(*ages), now=NOW, max_age=30 * DAY, keep=keep)
    assert got == doomed


def test_the_only_backup_survives_any_age_unless_asked() -> None:
    assert select_prunable(dated(400), now=NOW, max_age=DAY, keep=5) == []
    assert select_prunable(dated(400), now=NOW, max_age=DAY, keep=5, min_keep=0) == ["b0"]


# Manifests and listing ---------------------------------------------------------------------------

MANIFEST: dict[str, Any] = {
    "id": "20260101-000000-abcdef",
    "folder": "20260101-000000-abcdef",
    "created": NOW - 3 * 3600 - 120,
    "reason": "apply green",
    "database": {"name": "shop", "user": "shop", "file": "database.dump"},
    "files": [
        {"name": "database.dump", "size": 2048, "sha256": "a" * 64},
        {"name": "path.uploads.blue.tar.gz", "size": 1_572_864, "sha256": "b" * 64},
        {"name": "nginx.conf", "size": 100, "sha256": "c" * 64},
    ],
    "notes": [],
}


def test_manifest_problems() -> None:
    good = {
        "database.dump": (2048, "a" * 64),
        "path.uploads.blue.tar.gz": (1_572_864, "b" * 64),
        "nginx.conf": (100, "c" * 64),
        "manifest.json": (10, "d" * 64),
    }
    assert manifest_problems(MANIFEST, good) == []
    bad = {**good, "database.dump": (2049, "e" * 64), "extra.sql": (1, "f" * 64)}
    del bad["nginx.conf"]
    assert manifest_problems(MANIFEST, bad) == [
        "database.dump: size 2049 bytes, manifest says 2048",
        "database.dump: sha256 eeeeeeeeeeee… does not match the manifest",
        "nginx.conf: missing",
        "extra.sql: not in the manifest",
    ]
    assert manifest_problems({"files": None}, {}) == ["the manifest has no list of files"]


def test_list_rows_and_text() -> None:
    rows = list_rows([MANIFEST], now=NOW)
    assert rows[0]["contents"] == ["database shop", "path.uploads.blue", "nginx"]
    assert rows[0]["size"] == 2048 + 1_572_864 + 100
    assert render_list(rows, fmt="text").splitlines() == [
        "ID                      AGE    SIZE    CONTENTS                                 REASON",
        "20260101-000000-abcdef  3h 2m  1.5 MB  database shop, path.uploads.blue, nginx  apply green",
    ]
    doc = json.loads(render_list(rows, fmt="json"))
    assert doc["format_version"] == 1 and doc["backups"][0]["id"] == MANIFEST["id"]
    assert render_list([], fmt="text") == "No backups yet.\n"
    assert contents({"files": []}) == []
    assert [human_age(s) for s in (5, 65, 3700, 2 * DAY + 7200)] == [
        "5s",
        "1m 5s",
        "1h 1m",
        "2d 2h",
    ]
    assert [human_size(n) for n in (12, 2048, 5 * 1024**3)] == ["12 B", "2.0 KB", "5.0 GB"]


def test_commands_run_inside_the_containers() -> None:
    assert " ".join(pg_dump_argv("shop", "shop")) == "pg_dump -Fc --no-owner -U shop -d shop"
    assert (
        " ".join(pg_restore_argv("shop", "shop", "/tmp/x.dump"))
        == "pg_restore --clean --if-exists --no-owner --single-transaction -U shop -d shop /tmp/x.dump"
    )
    assert (
        " ".join(verify_restore_argv("shop", "shop", "/tmp/x.dump"))
        == "pg_restore --no-owner --no-acl --exit-on-error -h 127.0.0.1 -U shop -d shop /tmp/x.dump"
    )
    assert " ".join(pg_isready_argv("u", "d")) == "pg_isready -q -h 127.0.0.1 -p 5432 -U u -d d"
    assert psql_argv("u", "d", "SELECT 1")[-2:] == ["-c", "SELECT 1"]
    assert count_rows_sql('public."Items"') == 'SELECT count(*) FROM public."Items"'
    assert "format('%I.%I'" in USER_TABLES


# Backups without a database: retention, tampering, a full disk ------------------------------------

FILES_SPEC = """\
version: 1
project: bkp-files
root: ..
services:
  app:
    image: specctl-testbed/app:1.0
    port: 8080
paths:
  uploads: {{path: "uploads/{{color}}", subdirs: [images]}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: 23082}}]
  upstreams: {{app: app}}
  locations: [{{path: /, upstream: app}}]
backups:
  keep: {keep}
  retention: 30d
  paths: [uploads]
"""


class Files:
    def __init__(self, root: Path, keep: int = 2) -> None:
        self.root = root
        self.spec = root / "config" / "spec.yaml"
        self.spec.parent.mkdir(parents=True)
        self.spec.write_text(FILES_SPEC.format(keep=keep))
        upload = root / "uploads" / "blue" / "images" / "cat.png"
        upload.parent.mkdir(parents=True)
        upload.write_bytes(b"cat" * 1000)

    def cli(self, *args: str) -> Result:
        return run_cli("-f", str(self.spec), *args, cwd=self.root)

    def create(self) -> str:
        result = self.cli("backup", "create")
        assert result.code == 0, result.err
        return result.out.split()[2].rstrip(":")

    def ids(self) -> list[str]:
        result = self.cli("backup", "list", "--format", "json")
        assert result.code == 0, result.err
        return [row["id"] for row in json.loads(result.out)["backups"]]


def test_retention_prunes_to_the_limits(tmp_path: Path) -> None:
    box = Files(tmp_path, keep=2)
    project = load_project(box.spec)
    made = [create_backup(project, project.desired("blue"), reason="test").id for _ in range(2)]
    third = box.cli("backup", "create")
    assert third.code == 0, third.err
    made.append(third.out.split()[2].rstrip(":"))
    assert f"pruned backup {made[0]}" in third.out
    assert box.ids() == made[1:], "keep: 2 leaves the two newest"
    manifest = tmp_path / "backups" / made[1] / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["created"] -= 31 * DAY
    manifest.write_text(json.dumps(doc))
    assert prune(project, now=time.time(), dry_run=True) == [made[1]]
    pruned = box.cli("backup", "prune")
    assert pruned.code == 0, pruned.err
    assert f"removed {made[1]} (age 31d 0h" in pruned.out and "1 removed, 1 kept" in pruned.out
    assert [d["folder"] for d in list_backups(project)] == [made[2]]


def test_a_tampered_file_fails_verify(tmp_path: Path) -> None:
    box = Files(tmp_path)
    backup = box.create()
    ok = box.cli("backup", "verify")
    assert ok.code == 0, ok.err
    assert f"backup {backup}: 1 files match the manifest; no database dump" in ok.out
    archive = tmp_path / "backups" / backup / "path.uploads.blue.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"x")
    bad = box.cli("backup", "verify", backup)
    assert bad.code == 1
    assert (
        f"error: verify {backup}: path.uploads.blue.tar.gz: size {archive.stat().st_size} bytes"
        in bad.err
    )
    assert "does not match the manifest" in bad.err and "Traceback" not in bad.err
    missing = box.cli("backup", "verify", "20990101-000000-000000")
    assert missing.code == 1 and "not found" in missing.err


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "backups"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_backup_disk_fails_cleanly(tmp_path: Path, tiny_fs: Path) -> None:
    box = Files(tmp_path)
    (tmp_path / "uploads" / "blue" / "images" / "big.bin").write_bytes(os.urandom(256 * 1024))
    result = box.cli("backup", "create")
    assert result.code == 1
    assert f"error: backup failed: no space left on the device of {tiny_fs}" in result.err
    assert "the partial backup was removed" in result.err and "Traceback" not in result.err
    assert list(tiny_fs.iterdir()) == [], "a partial backup was left behind"


# A real PostgreSQL deployed by specctl apply ------------------------------------------------------

PG_SPEC = """\
version: 1
project: bkp-pg
root: ..
colors:
  blue: {port_base: 23410}
  green: {port_base: 23420}
services:
  app:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {offset: 0}
    environment: {APP_NAME: app, APP_COLOR: "{color}"}
    healthcheck: {http: /health, interval: 1s, timeout: 2s, retries: 30}
  db:
    image: specctl-testbed/postgres:15
    scope: shared
    port: 5432
    host_port: 23432
    environment: {POSTGRES_USER: shop, POSTGRES_DB: shop}
    env_files: [.env.shared]
    required_env: [POSTGRES_PASSWORD]
    volumes: [{volume: pgdata, target: /var/lib/postgresql/data}]
    healthcheck: {command: "pg_isready -U shop -d shop", interval: 1s, timeout: 2s, retries: 60}
paths:
  uploads: {path: "uploads/{color}", subdirs: [images]}
volumes:
  pgdata: {scope: shared}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{host: 23480}]
  upstreams: {app: app}
  locations: [{path: /, upstream: app}]
deploy: {health_interval: 1s, drain: 0s, retire: keep}
checks: {pre: {min_disk: 1G, min_memory: 256M}}
backups:
  keep: 10
  database: {service: db, user: shop, name: shop, password_env: POSTGRES_PASSWORD}
  paths: [uploads]
"""
DSN = "host=127.0.0.1 port=23432 user=shop password=pw-for-tests dbname=shop connect_timeout=10"
ROWS = [(i, f"item {i}", i * 1.5) for i in range(1, 51)]


def rows(dsn: str = DSN) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return [
            (i, name, float(price))
            for i, name, price in conn.execute("SELECT id, name, price FROM items ORDER BY id")
        ]


def verify_containers() -> list[str]:
    client = docker.from_env()
    return [c.name for c in client.containers.list(all=True, filters={"name": "specctl-verify-"})]


@pytest.mark.docker
def test_backup_verify_and_restore_with_a_real_database(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    box = sandbox_factory("bkp-pg", PG_SPEC, {".env.shared": "POSTGRES_PASSWORD=pw-for-tests\n"})
    deployed = box.cli("apply", "--target", "blue", "--yes")
    assert deployed.code == 0, deployed.out + deployed.err
    with psycopg.connect(DSN) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)")
        conn.execute("CREATE TABLE tags (id int)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", ROWS)
    assert rows() == ROWS

    # a backup made by apply restores into a fresh PostgreSQL with the same rows
    green = box.cli("apply", "--target", "green", "--yes")
    assert green.code == 0, green.out + green.err
    listed = json.loads(box.cli("backup", "list", "--format", "json").out)["backups"]
    by_apply = listed[-1]
    assert by_apply["reason"] == "apply green" and "database shop" in by_apply["contents"]
    dump = box.root / "backups" / by_apply["id"] / "database.dump"
    with throwaway_postgres(
        "specctl-testbed/postgres:15", user="shop", database="shop", tag="test"
    ) as fresh:
        path = put_file(fresh, dump, "apply.dump")
        code, out = exec_capture(fresh, verify_restore_argv("shop", "shop", path))
        assert code == 0, out
        code, out = exec_capture(
            fresh, psql_argv("shop", "shop", "SELECT id, name, price FROM items ORDER BY id")
        )
        assert code == 0, out
        restored = [tuple(line.split("|")) for line in out.splitlines()]
        assert [(int(i), n, float(p)) for i, n, p in restored] == ROWS
    summary = verify_backup(load_project(box.spec_path), by_apply["id"])
    assert "2 user tables, largest public.items: 50 rows" in summary

    # create, verify, lose the table, restore
    created = box.cli("backup", "create")
    assert created.code == 0, created.err
    backup = created.out.split()[2].rstrip(":")
    verified = box.cli("backup", "verify", backup)
    assert verified.code == 0, verified.err
    assert "files match the manifest; restored into a fresh PostgreSQL: 2 user tables" in (
        verified.out
    )
    assert "largest public.items: 50 rows" in verified.out
    assert verify_containers() == [], "the throwaway PostgreSQL was left behind"

    with psycopg.connect(DSN) as conn:
        conn.execute("DROP TABLE items")
        conn.execute("INSERT INTO tags VALUES (7)")
    refused = box.cli("backup", "restore", backup)
    assert refused.code == 1 and "stdin is not a terminal" in refused.err
    assert "hint: pass --yes" in refused.err
    restored_run = box.cli("backup", "restore", backup, "--yes")
    assert restored_run.code == 0, restored_run.err
    assert f"database shop restored from backup {backup}" in restored_run.out
    assert rows() == ROWS
    with psycopg.connect(DSN) as conn:
        assert conn.execute("SELECT count(*) FROM tags").fetchone() == (0,)
    safety = restored_run.out.split("safety backup ")[1].split(":")[0]
    audit = (box.root / "logs" / "deployment" / "audit.jsonl").read_text().splitlines()
    last = json.loads(audit[-1])
    assert (last["kind"], last["backup_id"], last["safety_backup"]) == ("restore", backup, safety)

    # a tampered dump fails verify and is refused by restore
    dump = box.root / "backups" / backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    dump.write_bytes(bytes(data))
    tampered = box.cli("backup", "verify", backup)
    assert tampered.code == 1
    assert f"error: verify {backup}: database.dump: sha256" in tampered.err
    with pytest.raises(ApplyError, match="does not match the manifest"):
        verify_backup(load_project(box.spec_path), backup)
    refused_dump = box.cli("backup", "restore", backup, "--yes")
    assert refused_dump.code == 1 and "refusing to restore" in refused_dump.err
    assert rows() == ROWS
    assert verify_containers() == []
