"""Backups: database dump (pg_dump inside the database container), upload archives, the live
nginx config, a manifest with sizes and sha256; retention; restore (side effects)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from specctl.appliers.engine import api
from specctl.appliers.envfiles import read_env
from specctl.appliers.observe import live_config_path
from specctl.appliers.project import Project
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.errors import ApplyError, SpecctlError
from specctl.schemas.units import seconds

DUMP = "database.dump"


@dataclass(frozen=True)
class Backup:
    id: str
    path: Path
    summary: str
    manifest: dict[str, Any]


def backups_dir(project: Project) -> Path:
    return project.path(project.spec.backups.dir)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pg_dump_argv(user: str, database: str) -> list[str]:
    return ["pg_dump", "-Fc", "--no-owner", "-U", user, "-d", database]


def pg_restore_argv(user: str, database: str, path: str) -> list[str]:
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "-U", user, "-d", database, path]


def database_container(
    project: Project, desired: Desired
) -> tuple[DesiredService, str, str] | None:
    """(service, container id, database name) of the running database, or None."""
    db = project.spec.backups.database
    if db is None:
        return None
    svc = desired.service(db.service)
    rows = api().containers(
        filters={
            "label": [
                f"com.docker.compose.project={svc.project}",
                f"com.docker.compose.service={svc.name}",
            ],
            "status": "running",
        }
    )
    if not rows:
        return None
    name = db.name.replace("{color}", svc.color or desired.color).replace(
        "{project}", project.spec.project
    )
    return svc, rows[0]["Id"], name


def _password(project: Project, svc: DesiredService) -> dict[str, str]:
    db = project.spec.backups.database
    if db is None or db.password_env is None:
        return {}
    value = read_env(project, svc).get(db.password_env) or svc.environment.get(db.password_env)
    return {"PGPASSWORD": value} if value else {}


def exec_to_file(
    container: str, argv: list[str], env: dict[str, str], target: Path, *, timeout: float
) -> None:
    """Run argv in the container; its stdout goes to `target`, stderr into the error on failure."""
    created = api().exec_create(container, argv, stdout=True, stderr=True, environment=env)
    deadline = time.monotonic() + timeout
    errors = bytearray()
    with target.open("wb") as out:
        for stdout, stderr in api().exec_start(created["Id"], stream=True, demux=True):
            if stdout:
                out.write(stdout)
            if stderr:
                errors.extend(stderr[-2000:])
            if time.monotonic() > deadline:
                raise ApplyError(f"backup: {argv[0]} did not finish within {timeout:.0f}s")
    code = api().exec_inspect(created["Id"]).get("ExitCode")
    if code != 0:
        raise ApplyError(
            f"backup: `{' '.join(argv)}` exited {code}: "
            + errors.decode("utf-8", "replace").strip()[:500]
        )


def create_backup(project: Project, desired: Desired, *, reason: str) -> Backup:
    spec = project.spec
    now = time.time()
    backup_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + uuid.uuid4().hex[:6]
    folder = backups_dir(project) / backup_id
    partial = folder.with_name(f".{backup_id}.partial")
    partial.mkdir(parents=True)
    files: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        found = database_container(project, desired)
        database: dict[str, Any] | None = None
        if found is not None:
            svc, container, name = found
            db = spec.backups.database
            assert db is not None
            exec_to_file(
                container,
                pg_dump_argv(db.user, name),
                _password(project, svc),
                partial / DUMP,
                timeout=seconds(spec.backups.timeout),
            )
            database = {"service": svc.address, "name": name, "user": db.user, "file": DUMP}
        elif spec.backups.database is not None:
            notes.append(f"database {spec.backups.database.service} not running: not dumped")
        for path in desired.paths:
            if path.name not in spec.backups.paths:
                continue
            source = project.path(path.path)
            if not source.is_dir():
                notes.append(f"{path.address}: {path.path} missing: not archived")
                continue
            archive = partial / f"{path.address}.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(source, arcname=Path(path.path).name)
        live = live_config_path(project)
        if spec.backups.nginx and live.is_file():
            shutil.copy2(live, partial / "nginx.conf")
        for entry in sorted(partial.iterdir()):
            files.append(
                {"name": entry.name, "size": entry.stat().st_size, "sha256": sha256_file(entry)}
            )
        manifest = {
            "format_version": 1,
            "id": backup_id,
            "project": spec.project,
            "created": now,
            "reason": reason,
            "database": database,
            "files": files,
            "notes": notes,
        }
        (partial / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        partial.rename(folder)
    except (OSError, DockerException, SpecctlError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        message = exc.message if isinstance(exc, SpecctlError) else f"{type(exc).__name__}: {exc}"
        raise ApplyError(
            f"backup failed: {message}", hint=f"is {backups_dir(project)} writable and not full?"
        ) from None
    prune(project, now=now)
    size = sum(int(f["size"]) for f in files)
    summary = f"{len(files)} files, {size} bytes" + (f" ({'; '.join(notes)})" if notes else "")
    return Backup(backup_id, folder, summary, manifest)


def list_backups(project: Project) -> list[dict[str, Any]]:
    folder = backups_dir(project)
    out = []
    for manifest in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return sorted(out, key=lambda d: float(d.get("created", 0)))


def prune(project: Project, *, now: float) -> list[str]:
    """Drop backups older than the retention, then the oldest beyond the count."""
    spec = project.spec.backups
    backups = list_backups(project)
    limit = now - seconds(spec.retention)
    doomed = [b for b in backups if float(b.get("created", 0)) < limit]
    kept = [b for b in backups if b not in doomed]
    if len(kept) > spec.keep:
        doomed += kept[: len(kept) - spec.keep]
    for b in doomed:
        shutil.rmtree(backups_dir(project) / str(b["id"]), ignore_errors=True)
    return [str(b["id"]) for b in doomed]


def restore_database(project: Project, backup_id: str, desired: Desired) -> None:
    """Put the dump of `backup_id` back into the running database (pg_restore --clean)."""
    dump = backups_dir(project) / backup_id / DUMP
    if not dump.is_file():
        raise ApplyError(f"backup {backup_id}: has no database dump")
    found = database_container(project, desired)
    db = project.spec.backups.database
    if found is None or db is None:
        raise ApplyError("restore: the database service is not running")
    svc, container, name = found
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(dump, arcname=f"specctl-restore-{backup_id}.dump")
    api().put_archive(container, "/tmp", buffer.getvalue())
    path = f"/tmp/specctl-restore-{backup_id}.dump"
    created = api().exec_create(
        container, pg_restore_argv(db.user, name, path), environment=_password(project, svc)
    )
    output = api().exec_start(created["Id"])
    code = api().exec_inspect(created["Id"]).get("ExitCode")
    api().exec_start(api().exec_create(container, ["rm", "-f", path])["Id"])
    if code != 0:
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        raise ApplyError(
            f"restore of {backup_id} into {name} failed (exit {code}): {text.strip()[:500]}"
        )
