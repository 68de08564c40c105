"""Verify a backup: every file against its manifest, archives readable, and the database dump
restored into a throwaway PostgreSQL container that is always removed (side effects: Docker)."""

from __future__ import annotations

import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from docker.errors import DockerException, ImageNotFound

from specctl.appliers.backups.store import (
    DUMP,
    backups_dir,
    check_files,
    exec_capture,
    find_backup,
    put_file,
)
from specctl.appliers.engine import api
from specctl.appliers.project import Project
from specctl.schemas.errors import ApplyError, SpecctlError
from specctl.schemas.units import seconds

READY_TIMEOUT = 60.0
# A throwaway server need not survive a crash: skip what makes writes durable.
FAST = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
USER_TABLES = (
    "SELECT format('%I.%I', schemaname, tablename) FROM pg_catalog.pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
    "ORDER BY pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass) DESC, 1"
)


def psql_argv(user: str, database: str, sql: str) -> list[str]:
    return ["psql", "-h", "127.0.0.1", "-U", user, "-d", database, "-X", "-At", "-c", sql]


def pg_isready_argv(user: str, database: str) -> list[str]:
    """Over TCP: the image's init server listens on the socket only, so TCP means really up."""
    return ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", database]


def verify_restore_argv(user: str, database: str, path: str) -> list[str]:
    """Roles of the source server do not exist here: restore without owners and grants."""
    return [
        "pg_restore",
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "-h",
        "127.0.0.1",
        "-U",
        user,
        "-d",
        database,
        path,
    ]


def count_rows_sql(table: str) -> str:
    """`table` comes quoted from format('%I.%I') in USER_TABLES."""
    return f"SELECT count(*) FROM {table}"


@contextmanager
def throwaway_postgres(image: str, *, user: str, database: str, tag: str) -> Iterator[str]:
    """A fresh PostgreSQL container with no network but loopback, ready for queries; removed
    with its volume however the block ends. Yields the container id."""
    client = api()
    name = f"specctl-verify-{tag}-{uuid.uuid4().hex[:6]}"
    try:
        created = client.create_container(
            image,
            command=["postgres", *FAST],
            name=name,
            environment={
                "POSTGRES_HOST_AUTH_METHOD": "trust",
                "POSTGRES_USER": user,
                "POSTGRES_DB": database,
                "POSTGRES_INITDB_ARGS": "--no-sync",
            },
            labels={"specctl.verify": tag},
            host_config=client.create_host_config(network_mode="none"),
        )
    except ImageNotFound:
        raise ApplyError(
            f"image {image} is not on this host (nothing is pulled)",
            hint=f"docker image ls {image}",
        ) from None
    container = str(created["Id"])
    try:
        client.start(container)
        _wait_ready(container, user=user, database=database)
        yield container
    finally:
        with suppress(DockerException):
            client.remove_container(container, force=True, v=True)


def _wait_ready(container: str, *, user: str, database: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        state = api().inspect_container(container)["State"]
        if not state.get("Running"):
            logs = api().logs(container, tail=5).decode("utf-8", "replace").strip()
            raise ApplyError(f"the throwaway PostgreSQL exited: {logs[-400:]}")
        code, _ = exec_capture(container, pg_isready_argv(user, database))
        if code == 0:
            return
        if time.monotonic() > deadline:
            raise ApplyError(f"the throwaway PostgreSQL was not ready after {READY_TIMEOUT:.0f}s")
        time.sleep(0.3)


def restore_and_count(
    container: str, dump_path: str, *, user: str, database: str, timeout: float
) -> tuple[int, str | None, int | None]:
    """Restore the dump, then (user tables, largest table, its rows)."""
    code, output = exec_capture(
        container, verify_restore_argv(user, database, dump_path), timeout=timeout
    )
    if code != 0:
        raise ApplyError(f"pg_restore exited {code}: {output.strip()[:500]}")
    code, output = exec_capture(container, psql_argv(user, database, USER_TABLES))
    if code != 0:
        raise ApplyError(f"sanity query failed: {output.strip()[:300]}")
    tables = [line for line in output.splitlines() if line.strip()]
    if not tables:
        return 0, None, None
    code, output = exec_capture(container, psql_argv(user, database, count_rows_sql(tables[0])))
    if code != 0 or not output.strip().isdigit():
        raise ApplyError(f"counting rows of {tables[0]} failed: {output.strip()[:300]}")
    return len(tables), tables[0], int(output.strip())


def _check_archives(project: Project, manifest: dict[str, Any]) -> None:
    folder = backups_dir(project) / str(manifest["folder"])
    for item in manifest.get("files") or []:
        name = str(item.get("name"))
        if not name.endswith(".tar.gz"):
            continue
        try:
            with tarfile.open(folder / name, "r:gz") as tar:
                for _ in tar:
                    pass
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ApplyError(f"verify {manifest['folder']}: {name} is unreadable: {exc}") from None


def _image(project: Project, database: dict[str, Any]) -> str:
    """The image the dump came from (recorded at backup time), else the spec's."""
    if database.get("image"):
        return str(database["image"])
    db = project.spec.backups.database
    image = project.spec.services[db.service].image if db is not None else None
    if image is None:
        raise ApplyError(
            "verify: no PostgreSQL image to restore into",
            hint="give the database service an image: in the spec",
        )
    return image


def verify_backup(project: Project, backup_id: str | None) -> str:
    """Check a backup (the newest when None) and return a one-line summary; ApplyError when it
    does not verify."""
    start = time.monotonic()
    manifest = find_backup(project, backup_id)
    backup = str(manifest["folder"])
    problems = check_files(project, manifest)
    if problems:
        raise ApplyError(
            f"verify {backup}: " + "; ".join(problems),
            hint="the backup was changed or damaged after it was made; do not restore it",
        )
    _check_archives(project, manifest)
    files = len(manifest.get("files") or [])
    summary = f"backup {backup}: {files} files match the manifest"
    database = manifest.get("database")
    if not isinstance(database, dict):
        return summary + f"; no database dump ({time.monotonic() - start:.1f}s)"
    user, name = str(database.get("user")), str(database.get("name"))
    try:
        with throwaway_postgres(
            _image(project, database), user=user, database=name, tag=backup
        ) as c:
            path = put_file(c, backups_dir(project) / backup / DUMP, f"{backup}.dump")
            tables, largest, rows = restore_and_count(
                c, path, user=user, database=name, timeout=seconds(project.spec.backups.timeout)
            )
    except DockerException as exc:
        raise ApplyError(f"verify {backup}: docker: {str(exc).splitlines()[0][:300]}") from None
    except SpecctlError as exc:
        raise ApplyError(f"verify {backup}: {exc.message}", hint=exc.hint) from None
    detail = f"largest {largest}: {rows} rows" if largest else "no user tables"
    return (
        summary + f"; restored into a fresh PostgreSQL: {tables} user tables, {detail} "
        f"({time.monotonic() - start:.1f}s)"
    )
