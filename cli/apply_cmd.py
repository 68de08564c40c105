"""The apply, maintenance, rollback and history commands."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class HistoryFormat(StrEnum):
    text = "text"
    json = "json"


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return typer.confirm(question, default=False)


def register(app: typer.Typer) -> None:
    from specctl.cli import project

    @app.command("apply")
    def apply_cmd(
        plan_file: Annotated[
            Path | None, typer.Argument(help="A plan saved with `specctl plan -o FILE`.")
        ] = None,
        target: Annotated[str | None, typer.Option("--target", "-t", help="blue or green.")] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Go on despite failed pre-checks (recorded).")
        ] = False,
        skip_backup: Annotated[
            bool, typer.Option("--skip-backup", help="No backup first (recorded).")
        ] = False,
        recreate_shared: Annotated[
            bool,
            typer.Option(
                "--recreate-shared",
                help="Also recreate shared services and the proxy that differ (interrupts both).",
            ),
        ] = False,
        quick_rollback: Annotated[
            bool, typer.Option("--quick-rollback", help="Same as `specctl rollback`.")
        ] = False,
        preview: Annotated[
            bool,
            typer.Option(
                "--preview",
                help="Deploy and verify the target, then route only requests with the preview "
                "cookie or header to it (specctl promote / abort).",
            ),
        ] = False,
    ) -> None:
        """Deploy the target colour, verify it, switch traffic, retire the old colour."""
        from specctl.appliers.apply import Options, apply
        from specctl.appliers.rollback import rollback

        if quick_rollback:
            raise typer.Exit(rollback(project(), out=sys.stdout, force=force))
        opts = Options(
            target=target,
            yes=yes,
            force=force,
            skip_backup=skip_backup,
            plan_file=plan_file,
            confirm=_confirm,
            recreate_shared=recreate_shared,
            preview=preview,
        )
        raise typer.Exit(apply(project(), opts, out=sys.stdout))

    @app.command("promote")
    def promote_cmd(
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    ) -> None:
        """Switch everyone to the previewed colour: switch, verify, bake and retire, as apply."""
        from specctl.appliers.apply import Options, apply
        from specctl.appliers.preview import previewed
        from specctl.schemas.errors import SpecctlError

        proj = project()
        color, _ = previewed(proj)
        if color is None:
            raise SpecctlError(
                "no preview in progress",
                hint="specctl apply --preview --target COLOUR starts one",
            )
        opts = Options(target=color, yes=yes, confirm=_confirm)
        raise typer.Exit(apply(proj, opts, out=sys.stdout))

    @app.command("abort")
    def abort_cmd() -> None:
        """End a preview: remove its routes (proven) and stop the previewed colour."""
        from specctl.appliers.preview import abort

        raise typer.Exit(abort(project(), out=sys.stdout))

    @app.command()
    def build(
        target: Annotated[
            str | None,
            typer.Option("--target", "-t", help="blue or green (default: both colours)."),
        ] = None,
    ) -> None:
        """Build the images of services with build: (tagged by their context) and pull missing
        registry images, as apply would, without changing any container."""
        from specctl.appliers.checks.engine import stale_generated
        from specctl.appliers.images import needs, provide
        from specctl.compiler.images import describe
        from specctl.schemas.errors import SpecctlError
        from specctl.schemas.spec import COLORS

        proj = project()
        if target is not None and target not in COLORS:
            raise typer.BadParameter("must be blue or green", param_hint="--target")
        stale = stale_generated(proj)
        if stale:
            raise SpecctlError(
                f"generated files are stale: {', '.join(stale)}",
                hint="run specctl compile first (build uses the generated compose files)",
            )
        done: set[str] = set()
        for color in [target] if target else list(COLORS):
            desired = proj.desired(color)
            todo = [n for n in needs(desired) if n.image not in done]
            typer.echo(f"{color}: {describe(todo)}")
            if todo:
                provide(proj, desired, todo)
                done.update(n.image for n in todo)
        for color in [target] if target else list(COLORS):
            for svc in (*proj.desired(color).services, *proj.desired(color).shared):
                if svc.build is not None:
                    typer.echo(f"  {svc.address}: {svc.image}")

    @app.command("maintenance")
    def maintenance_cmd(
        state: Annotated[str, typer.Argument(help="on or off.", metavar="on|off")],
        message: Annotated[
            str | None, typer.Option("--message", "-m", help="The text of the 503 page.")
        ] = None,
        retry_after: Annotated[
            int,
            typer.Option("--retry-after", min=1, help="Seconds clients are told to wait."),
        ] = 120,
        allow: Annotated[
            list[str] | None,
            typer.Option(
                "--allow",
                help="An address or CIDR range that still reaches the application (repeatable).",
            ),
        ] = None,
    ) -> None:
        """Answer every managed location with a 503 maintenance page (Retry-After), or stop."""
        from specctl.appliers.maintenance import maintenance
        from specctl.compiler.maintenance import Settings, check_allow
        from specctl.schemas.errors import SpecctlError

        if state not in ("on", "off"):
            raise SpecctlError(f"maintenance: say on or off (got {state!r})")
        settings = Settings(
            message=message or Settings.message,
            retry_after=retry_after,
            allow=tuple(check_allow(a) for a in allow or []),
        )
        raise typer.Exit(maintenance(project(), state == "on", settings, out=sys.stdout))

    @app.command("rollback")
    def rollback_cmd(
        force: Annotated[
            bool,
            typer.Option(
                "--force", help="Roll back past a contract migration (restore the database first)."
            ),
        ] = False,
    ) -> None:
        """Switch traffic back to the previous colour (instantly when it is still running)."""
        from specctl.appliers.rollback import rollback

        raise typer.Exit(rollback(project(), out=sys.stdout, force=force))

    @app.command()
    def history(
        fmt: Annotated[
            HistoryFormat,
            typer.Option("--format", help="text, or json (JSON lines as recorded)."),
        ] = HistoryFormat.text,
        as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
        last: Annotated[int, typer.Option("-n", help="How many, newest last.")] = 20,
    ) -> None:
        """Past applies and rollbacks, from the audit log."""
        from specctl.appliers.record import read_audit

        records = read_audit(project())[-last:]
        if as_json or fmt is HistoryFormat.json:
            for record in records:
                sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
            return
        if not records:
            typer.echo("No applies or rollbacks recorded yet.")
            return
        for r in records:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r.get("started", 0))))
            moved = f"{r.get('previous') or 'none'} → {r.get('target') or '?'}"
            if r.get("kind") == "backup":
                moved = str(r.get("backup_id") or "-")
            line = (
                f"{when}  {r.get('kind', '?'):<8} {moved:<15} {r.get('result', '?'):<7} "
                f"{r.get('seconds', 0):>6.1f}s  {r.get('user', '?')}@{r.get('host', '?')}"
            )
            if r.get("error"):
                line += f"  {str(r['error']).splitlines()[0][:80]}"
            missed = [n for n in r.get("notifications") or [] if n.get("result") != "delivered"]
            if missed:
                line += "  (" + "; ".join(f"{n['channel']} {n['result']}" for n in missed) + ")"
            typer.echo(line)
