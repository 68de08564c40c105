"""The fix-permissions command and the backup sub-commands (create, list, prune, verify,
restore); a thin layer over appliers/permissions and appliers/backups."""

from __future__ import annotations

import io
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from specctl.appliers.lock import project_lock
from specctl.compiler.backup_manifest import human_age, human_size, list_rows, render_list
from specctl.schemas.errors import SpecctlError

if TYPE_CHECKING:
    from specctl.appliers.permissions import PathResult
    from specctl.appliers.project import Project
    from specctl.schemas.desired import Desired


class FixTarget(StrEnum):
    blue = "blue"
    green = "green"
    all = "all"


class ListFormat(StrEnum):
    text = "text"
    json = "json"


Color = Annotated[
    str | None,
    typer.Option("--target", "-t", help="blue or green: the colour whose database service to use."),
]


def _desired(project: Project, target: str | None) -> Desired:
    """The colour only matters for a per-colour database; then default to the serving one."""
    from specctl.schemas.spec import COLORS

    if target is not None:
        if target not in COLORS:
            raise SpecctlError(f"--target: must be blue or green (got {target!r})")
        return project.desired(target)
    db = project.spec.backups.database
    if db is None or project.spec.services[db.service].scope == "shared":
        return project.desired(COLORS[0])
    from specctl.appliers.planning import observe_active

    active = observe_active(project)[1].color
    if active is None:
        raise SpecctlError(
            f"{db.service} runs per colour and no colour serves traffic yet",
            hint="name it: --target blue|green",
        )
    return project.desired(active)


def _summary(results: list[PathResult], *, dry_run: bool, secrets: int = 0) -> str:
    fixes = sum(len(r.lines) for r in results)
    if not fixes and not secrets:
        return "No changes. Managed paths match the spec."
    touched = sum(1 for r in results if r.lines)
    conflicts = sum(r.conflicts for r in results)
    text = f"{fixes} fix{'es' if fixes != 1 else ''} on {touched} of {len(results)} paths"
    if secrets:
        text += f" and {secrets} on files holding secrets"
    if conflicts:
        text += f"; {conflicts} name conflict{'s' if conflicts != 1 else ''} (both copies kept)"
    return f"Dry run: would make {text}." if dry_run else f"Done: made {text}."


def _fix_permissions(project: Project, target: str, *, dry_run: bool) -> None:
    """Dry run and real run print the same action lines; the real run also logs them."""
    from specctl.appliers.permissions import fix_paths, managed_paths
    from specctl.appliers.record import Recorder
    from specctl.appliers.secrets import fix_secrets

    paths = managed_paths(project, target)
    width = max((len(p.address) for p in paths), default=0)
    header = f"fix-permissions: {project.spec.project}, target {target}"
    rec = None if dry_run else Recorder(project, "fix-permissions", out=io.StringIO())

    def say(text: str, *, logged: str | None = None) -> None:
        typer.echo(text)
        if rec is not None:
            rec.line(logged or text)

    def show(address: str, line: str) -> None:
        say(f"  {address.ljust(width)}  {line}", logged=f"{address}  {line}")

    try:
        say(header + (" (dry run: nothing is changed)" if dry_run else ""))
        if rec is None:
            results = fix_paths(project, paths, dry_run=True, progress=show)
            secrets = fix_secrets(project, dry_run=True)
        else:
            with project_lock(project.lock_file, command="specctl fix-permissions"):
                results = fix_paths(project, paths, dry_run=False, progress=show)
                secrets = fix_secrets(project, dry_run=False)
        for rel, line in secrets:  # env files and the fingerprint key: never their contents
            say(f"  {rel}  {line}")
        for r in results:
            for note in r.notes:
                say(f"note: {r.address}: {note}")
            for problem in r.problems:
                say(f"problem: {r.address}: {problem}")
        say(_summary(results, dry_run=dry_run, secrets=len(secrets)))
    except SpecctlError as exc:
        if rec is not None:
            rec.line(f"failed: {exc.message}")
        raise
    finally:
        if rec is not None:
            rec.close()
            typer.echo(f"Log: {_shown(project, rec.log_path)}")
    problems = sum(len(r.problems) for r in results)
    if problems:
        raise SpecctlError(
            f"{problems} managed path{'s were' if problems != 1 else ' was'} left alone "
            "(see the problem: lines)",
            hint="fix them by hand, then run specctl fix-permissions --dry-run",
        )


def _shown(project: Project, path: Path) -> str:
    try:
        return str(path.relative_to(project.root))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    from specctl.cli import project

    @app.command("fix-permissions")
    def fix_permissions_cmd(
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print what would change; change nothing.")
        ] = False,
        target: Annotated[
            FixTarget,
            typer.Option("--target", "-t", help="blue, green (plus shared paths) or all."),
        ] = FixTarget.all,
    ) -> None:
        """Make managed paths match the spec: folders, owners, modes, nested copies, temp files."""
        _fix_permissions(project(), target.value, dry_run=dry_run)

    backup = typer.Typer(
        help="Database dumps, upload archives and the nginx config: create, list, prune, "
        "verify, restore.",
        no_args_is_help=True,
    )
    app.add_typer(backup, name="backup")

    @backup.command("create")
    def create_cmd(target: Color = None) -> None:
        """Make the same backup apply makes, then prune by the retention rules."""
        from specctl.appliers.backups.store import create_backup, prune
        from specctl.appliers.record import audited

        proj = project()
        desired = _desired(proj, target)
        with (
            audited(proj, "backup", target=desired.color) as record,
            project_lock(proj.lock_file, command="specctl backup create", record=record),
        ):
            made = create_backup(proj, desired, reason="specctl backup create", prune_after=False)
            record.update(backup_id=made.id)
            typer.echo(f"created backup {made.id}: {made.summary}")
            for removed in prune(proj, now=time.time()):
                typer.echo(f"pruned backup {removed}")

    @backup.command("list")
    def list_cmd(
        fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = (
            ListFormat.text
        ),
    ) -> None:
        """Backups, oldest first: id, age, size, what is inside, why it was made."""
        from specctl.appliers.backups.store import list_backups

        rows = list_rows(list_backups(project()), now=time.time())
        sys.stdout.write(render_list(rows, fmt=fmt.value))

    @backup.command("prune")
    def prune_cmd(
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    ) -> None:
        """Remove backups older than backups.retention, then the oldest beyond backups.keep."""
        from specctl.appliers.backups.store import list_backups, prune

        proj = project()
        spec = proj.spec.backups
        now = time.time()
        rows = {r["id"]: r for r in list_rows(list_backups(proj), now=now)}
        with project_lock(proj.lock_file, command="specctl backup prune"):
            removed = prune(proj, now=now, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for backup_id in removed:
            r = rows[backup_id]
            typer.echo(
                f"{verb} {backup_id} (age {human_age(r['age_seconds'])}, {human_size(r['size'])})"
            )
        kept = len(rows) - len(removed)
        typer.echo(
            f"{len(removed)} {verb}, {kept} kept (retention {spec.retention}, keep {spec.keep})"
        )

    @backup.command("verify")
    def verify_cmd(
        backup_id: Annotated[
            str | None, typer.Argument(metavar="BACKUP_ID", help="Default: the newest.")
        ] = None,
    ) -> None:
        """Check every file against the manifest; restore the dump into a throwaway PostgreSQL."""
        from specctl.appliers.backups.verify import verify_backup

        typer.echo(verify_backup(project(), backup_id))

    @backup.command("restore")
    def restore_cmd(
        backup_id: Annotated[str, typer.Argument(metavar="BACKUP_ID")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
        target: Color = None,
        safety: Annotated[
            bool,
            typer.Option(
                "--safety-backup/--no-safety-backup",
                help="Dump the current database first, so the restore can be undone.",
            ),
        ] = True,
    ) -> None:
        """Put the database back as it was in BACKUP_ID (pg_restore --clean, one transaction)."""
        proj = project()
        _restore(proj, backup_id, _desired(proj, target), yes=yes, safety=safety)


def _restore(
    project: Project, backup_id: str, desired: Desired, *, yes: bool, safety: bool
) -> None:
    from specctl.appliers.backups.store import (
        check_dump,
        create_backup,
        database_container,
        restore_database,
    )
    from specctl.appliers.record import audited

    manifest = check_dump(project, backup_id)
    database = manifest["database"]
    age = human_age(time.time() - float(manifest.get("created") or 0))
    question = (
        f"Replace everything in database {database.get('name')} with backup {backup_id} "
        f"(made {age} ago)?"
    )
    if not yes:
        if not sys.stdin.isatty():
            raise SpecctlError(
                "backup restore: needs a confirmation and stdin is not a terminal",
                hint="pass --yes to restore from a script",
            )
        if not typer.confirm(question, default=False):
            raise SpecctlError("restore cancelled; nothing was changed")
    fields: dict[str, Any] = {"target": desired.color, "previous": None, "backup_id": backup_id}
    with (
        audited(project, "restore", **fields) as record,
        project_lock(project.lock_file, command="specctl backup restore", record=record),
    ):
        if database_container(project, desired) is None:
            raise SpecctlError(
                "restore: the database service is not running",
                hint="start it (specctl apply) and restore again",
            )
        if safety:
            before = create_backup(
                project,
                desired,
                reason=f"before restore of {backup_id}",
                database_only=True,
                prune_after=False,
            )
            record["safety_backup"] = before.id
            typer.echo(f"safety backup {before.id}: {before.summary}")
        typer.echo(restore_database(project, backup_id, desired))
    if record.get("safety_backup"):
        typer.echo(f"undo with: specctl backup restore {record['safety_backup']}")
