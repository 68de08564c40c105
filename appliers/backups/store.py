"""Backups: database dump (pg_dump inside the database container), upload archives, the live
nginx config, a manifest with sizes and sha256; retention; restore (side effects)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import re
import shutil
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

from specctl.appliers.engine import client_for, new_client, running_container
from specctl.appliers.envfiles import read_env
from specctl.appliers.observe import live_config_path, observe_containers
from specctl.appliers.project import Project
from specctl.compiler.backup_manifest import MANIFEST, manifest_problems
from specctl.compiler.retention import Dated, select_prunable
from specctl.schemas.desired import Desired, DesiredPath, DesiredService
from specctl.schemas.errors import ApplyError, SpecctlError
from specctl.schemas.spec import COLORS
from specctl.schemas.units import seconds

DUMP = "database.dump"
NGINX = "nginx.conf"
BACKUP_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


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
    """All or nothing: a restore that fails half-way leaves the database as it was."""
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "-U",
        user,
        "-d",
        database,
        path,
    ]


def long_client(timeout: float, container: str) -> docker.APIClient:
    """A client of the engine that runs `container` whose reads may wait `timeout` seconds:
    pg_restore prints nothing for minutes."""
    return new_client(timeout + 30, container=container)


def database_container(
    project: Project, desired: Desired
) -> tuple[DesiredService, str, str] | None:
    """(service, container id, database name) of the running database, or None."""
    db = project.spec.backups.database
    if db is None:
        return None
    svc = desired.service(db.service)
    observe_containers(project)  # a database taken over is found as well (engine.STAND_INS)
    container = running_container(svc.project, svc.name)
    if container is None:
        return None
    name = db.name.replace("{color}", svc.color or desired.color).replace(
        "{project}", project.spec.project
    )
    return svc, container, name


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
    deadline = time.monotonic() + timeout
    errors = bytearray()
    with long_client(timeout, container) as client, target.open("wb") as out:
        created = client.exec_create(container, argv, stdout=True, stderr=True, environment=env)
        for stdout, stderr in client.exec_start(created["Id"], stream=True, demux=True):
            if stdout:
                out.write(stdout)
            if stderr:
                errors = (errors + stderr)[-2000:]
            if time.monotonic() > deadline:
                raise ApplyError(f"backup: {argv[0]} did not finish within {timeout:.0f}s")
        code = client.exec_inspect(created["Id"]).get("ExitCode")
    if code != 0:
        raise ApplyError(
            f"backup: `{' '.join(argv)}` exited {code}: "
            + errors.decode("utf-8", "replace").strip()[:500]
        )


def exec_capture(
    container: str, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, str]:
    """Run argv in the container and wait: (exit code, stdout and stderr)."""
    if timeout <= 120:  # the shared client waits that long
        shared = client_for(container)
        created = shared.exec_create(container, argv, stdout=True, stderr=True, environment=env)
        raw = shared.exec_start(created["Id"])
        code = shared.exec_inspect(created["Id"]).get("ExitCode")
    else:
        with long_client(timeout, container) as client:
            created = client.exec_create(container, argv, stdout=True, stderr=True, environment=env)
            raw = client.exec_start(created["Id"])
            code = client.exec_inspect(created["Id"]).get("ExitCode")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return int(code if code is not None else -1), text


def put_file(container: str, source: Path, name: str) -> str:
    """Copy a host file into the container's /tmp; its path there."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source, arcname=name)
    client_for(container).put_archive(container, "/tmp", buffer.getvalue())
    return f"/tmp/{name}"


def archived_paths(project: Project) -> list[DesiredPath]:
    """The managed paths named in backups.paths, for both colours (the live data may be in
    either), each once."""
    seen: dict[str, DesiredPath] = {}
    for color in COLORS:
        for path in project.desired(color).paths:
            if path.name in project.spec.backups.paths:
                seen.setdefault(path.address, path)
    return list(seen.values())


def _archive(project: Project, path: DesiredPath, target: Path, skip: list[Path]) -> None:
    """tar.gz of the path, named inside as in the spec (`uploads/blue/...`); the backups, state
    and log folders are left out should they lie inside it."""

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        here = project.path(info.name if not path.path.startswith("/") else "/" + info.name)
        return None if any(here == s or s in here.parents for s in skip) else info

    with tarfile.open(target, "w:gz") as tar:
        tar.add(project.path(path.path), arcname=path.path.lstrip("/"), filter=keep)


def _failure(project: Project, exc: BaseException) -> ApplyError:
    folder = backups_dir(project)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = shutil.disk_usage(folder).free
            room = f" ({free // 1024} KB free)"
        except OSError:
            room = ""
        return ApplyError(
            f"backup failed: no space left on the device of {folder}{room}; "
            "the partial backup was removed",
            hint="free some space (specctl backup prune) or point backups.dir at a larger disk",
        )
    if isinstance(exc, SpecctlError):
        message = exc.message
    elif isinstance(exc, OSError):
        message = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    return ApplyError(
        f"backup failed: {message}; the partial backup was removed",
        hint=f"is {folder} writable and not full? is the database running?",
    )


def create_backup(
    project: Project,
    desired: Desired,
    *,
    reason: str,
    database_only: bool = False,
    prune_after: bool = True,
) -> Backup:
    """Dump, archive and copy into backups/.<id>.partial, write the manifest, then rename the
    folder into place: a backup either exists complete or not at all."""
    spec = project.spec
    now = time.time()
    backup_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + uuid.uuid4().hex[:6]
    folder = backups_dir(project) / backup_id
    partial = folder.with_name(f".{backup_id}.partial")
    files: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir(mode=0o700)  # dumps hold the application's data: owner only
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
            database = {
                "service": svc.address,
                "name": name,
                "user": db.user,
                "image": svc.image,
                "file": DUMP,
            }
        elif spec.backups.database is not None:
            notes.append(f"database {spec.backups.database.service} not running: not dumped")
        skip = [backups_dir(project), project.path(spec.state_dir), project.path(spec.logs.dir)]
        for path in [] if database_only else archived_paths(project):
            if not project.path(path.path).exists():
                if path.color in (None, desired.color):  # the other colour may never have run
                    notes.append(f"{path.address}: {path.path} missing: not archived")
                continue
            _archive(project, path, partial / f"{path.address}.tar.gz", skip)
        live = live_config_path(project)
        if spec.backups.nginx and not database_only and live.is_file():
            shutil.copy2(live, partial / NGINX)
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
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial.rename(folder)
    except (OSError, DockerException, SpecctlError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise _failure(project, exc) from None
    if prune_after:
        try:
            prune(project, now=now)
        except ApplyError as exc:  # an old backup that will not go must not fail a deploy
            notes.append(exc.message)
    size = sum(int(f["size"]) for f in files)
    summary = f"{len(files)} files, {size} bytes" + (f" ({'; '.join(notes)})" if notes else "")
    return Backup(backup_id, folder, summary, manifest)


def list_backups(project: Project) -> list[dict[str, Any]]:
    """Every complete backup's manifest, oldest first; `folder` names its folder, which is what
    the other commands trust (never the id written inside)."""
    folder = backups_dir(project)
    out = []
    for manifest in sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []:
        if not BACKUP_ID.match(manifest.parent.name):
            continue
        try:
            doc = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            doc["folder"] = manifest.parent.name
            out.append(doc)
    return sorted(out, key=lambda d: (_created(d), d["folder"]))


def _created(doc: dict[str, Any]) -> float:
    try:
        return float(doc.get("created", 0))
    except (TypeError, ValueError):
        return 0.0


def prunable(project: Project, *, now: float) -> list[str]:
    spec = project.spec.backups
    dated = [Dated(str(d["folder"]), _created(d)) for d in list_backups(project)]
    return select_prunable(dated, now=now, max_age=seconds(spec.retention), keep=spec.keep)


def prune(project: Project, *, now: float, dry_run: bool = False) -> list[str]:
    """Drop backups older than the retention, then the oldest beyond the count; the ids."""
    doomed = prunable(project, now=now)
    if dry_run:
        return doomed
    removed, failed = [], []
    for backup_id in doomed:
        try:
            shutil.rmtree(backups_dir(project) / backup_id)
            removed.append(backup_id)
        except OSError as exc:
            failed.append(f"{backup_id} ({exc.strerror or exc})")
    if failed:
        raise ApplyError(
            f"prune: could not remove {', '.join(failed)}"
            + (f"; removed {', '.join(removed)}" if removed else ""),
            hint=f"check the permissions of {backups_dir(project)}",
        )
    return removed


def find_backup(project: Project, backup_id: str | None) -> dict[str, Any]:
    """The manifest of `backup_id`, or of the newest backup when None."""
    backups = list_backups(project)
    if backup_id is None:
        if not backups:
            raise SpecctlError(
                f"{backups_dir(project)}: no backups yet", hint="specctl backup create"
            )
        return backups[-1]
    for doc in backups:
        if doc["folder"] == backup_id:
            return doc
    raise SpecctlError(
        f"backup {backup_id}: not found in {backups_dir(project)}", hint="specctl backup list"
    )


def check_files(project: Project, manifest: dict[str, Any]) -> list[str]:
    """Every file's size and sha256 against the manifest; the problems ([] when intact)."""
    folder = backups_dir(project) / str(manifest["folder"])
    found = {
        entry.name: (entry.stat().st_size, sha256_file(entry))
        for entry in sorted(folder.iterdir())
        if entry.is_file() and not entry.is_symlink()
    }
    problems = manifest_problems(manifest, found)
    if manifest.get("id") != manifest["folder"]:
        problems.append(f"{MANIFEST}: names backup {manifest.get('id')!r}, not its folder")
    return problems


def check_dump(project: Project, backup_id: str) -> dict[str, Any]:
    """The manifest of a backup whose database dump is present and intact; ApplyError if not."""
    manifest = find_backup(project, backup_id)
    if not isinstance(manifest.get("database"), dict):
        raise ApplyError(f"backup {backup_id}: has no database dump", hint="specctl backup list")
    bad = [p for p in check_files(project, manifest) if p.startswith(DUMP)]
    if bad:
        raise ApplyError(
            f"backup {backup_id}: refusing to restore: {'; '.join(bad)}",
            hint="the dump was changed or damaged after the backup; pick another backup",
        )
    return manifest


def restore_database(project: Project, backup_id: str, desired: Desired) -> str:
    """Put the dump of `backup_id` back into the running database (pg_restore --clean, in one
    transaction). Refuses a dump whose checksum does not match the manifest."""
    check_dump(project, backup_id)
    found = database_container(project, desired)
    db = project.spec.backups.database
    if found is None or db is None:
        raise ApplyError(
            "restore: the database service is not running",
            hint="start it (specctl apply) and restore again",
        )
    svc, container, name = found
    dump = backups_dir(project) / backup_id / DUMP
    timeout = seconds(project.spec.backups.timeout)
    try:
        path = put_file(container, dump, f"specctl-restore-{backup_id}.dump")
        code, output = exec_capture(
            container,
            pg_restore_argv(db.user, name, path),
            env=_password(project, svc),
            timeout=timeout,
        )
        exec_capture(container, ["rm", "-f", path])
    except DockerException as exc:
        raise ApplyError(f"restore of {backup_id}: docker: {str(exc)[:300]}") from None
    if code != 0:
        raise ApplyError(
            f"restore of {backup_id} into {name} failed (exit {code}); the database is unchanged: "
            + output.strip()[:500]
        )
    return f"database {name} restored from backup {backup_id}"
