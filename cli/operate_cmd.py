"""The operator's everyday commands: logs, exec, the deploy lock and metrics."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from typing import Annotated

import typer


class Color(StrEnum):
    blue = "blue"
    green = "green"


ColorOption = Annotated[
    Color | None,
    typer.Option("--color", "-c", help="blue or green (default: the colour that serves)."),
]


def register(app: typer.Typer) -> None:
    from specctl.cli import project

    @app.command("logs")
    def logs_cmd(
        service: Annotated[
            str | None,
            typer.Argument(
                help="A service, shared service or the proxy (default: every "
                "service of the colour)."
            ),
        ] = None,
        color: ColorOption = None,
        follow: Annotated[
            bool, typer.Option("--follow", "-F", help="Keep printing new lines.")
        ] = False,
        since: Annotated[
            str | None,
            typer.Option("--since", help="Only lines since 10m, 2h… ago or an ISO 8601 time."),
        ] = None,
        tail: Annotated[
            int | None, typer.Option("--tail", "-n", help="Only the last N lines per container.")
        ] = None,
        grep: Annotated[
            str | None, typer.Option("--grep", "-g", help="Only lines matching this regex.")
        ] = None,
        timestamps: Annotated[
            bool, typer.Option("--timestamps", help="Show Docker's time of each line.")
        ] = False,
    ) -> None:
        """Print a service's output (each container's lines merged by time; prefixed with the
        container name when there are several)."""
        from specctl.appliers.logs import LogQuery, follow_logs, show_logs
        from specctl.appliers.operate import find
        from specctl.compiler.pick import grep_pattern, parse_since

        grep_pattern(grep)  # a bad pattern is an error before anything is read
        after = parse_since(since, now=time.time())
        containers, _ = find(project(), service=service, color=color.value if color else None)
        query = LogQuery(since=after, tail=tail, grep=grep, timestamps=timestamps)
        if follow:
            try:
                follow_logs(containers, query, write=sys.stdout.write)
            except KeyboardInterrupt:  # the way a follow ends: not an error
                sys.stdout.flush()
                raise typer.Exit(0) from None
        else:
            show_logs(containers, query, write=sys.stdout.write)
        sys.stdout.flush()

    @app.command(
        "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )
    def exec_cmd(
        service: Annotated[str, typer.Argument(help="The service to run the command in.")],
        command: Annotated[list[str] | None, typer.Argument(help="The command (after --).")] = None,
        color: ColorOption = None,
        user: Annotated[str | None, typer.Option("--user", "-u", help="Run as this user.")] = None,
        workdir: Annotated[
            str | None, typer.Option("--workdir", "-w", help="Working directory inside.")
        ] = None,
    ) -> None:
        """Run a command in a service's container (the serving colour's by default), attached to
        this terminal: specctl exec backend -- npx prisma migrate status"""
        from specctl.appliers.operate import find, run_in
        from specctl.schemas.errors import SpecctlError

        if not command:
            raise SpecctlError(
                "name the command to run", hint=f"specctl exec {service} -- sh -c 'echo hello'"
            )
        containers, _ = find(project(), service=service, color=color.value if color else None)
        running = [c for c in containers if c.state == "running"]
        raise typer.Exit(run_in((running or containers)[0], command, user=user, workdir=workdir))

    lock = typer.Typer(
        help="The deploy lock a person holds with a message: apply, rollback and other changes "
        "are refused with that message until it is released.",
        no_args_is_help=True,
    )
    app.add_typer(lock, name="lock")

    @lock.command("acquire")
    def acquire_cmd(
        message: Annotated[
            str, typer.Option("--message", "-m", help="Why: shown to whoever tries to deploy.")
        ],
    ) -> None:
        """Hold the deploy lock until `specctl lock release`."""
        from specctl.appliers.lock import acquire_held, describe_held, running_holder

        proj = project()
        held = acquire_held(proj.lock_file, message=message)
        typer.echo(f"acquired the deploy lock: {describe_held(held)}")
        running = running_holder(proj.lock_file)
        if running:
            from specctl.appliers.lock import describe

            typer.echo(
                f"note: a specctl run is in progress and will finish: {describe(running)}",
                err=True,
            )

    @lock.command("release")
    def release_cmd() -> None:
        """Release the deploy lock (whoever holds it)."""
        from specctl.appliers.lock import describe_held, release_held

        held = release_held(project().lock_file)
        if held is None:
            typer.echo("the deploy lock was not held; nothing to release")
            return
        typer.echo(f"released the deploy lock held by {describe_held(held)}")

    @lock.command("status")
    def lock_status_cmd() -> None:
        """Who holds the deploy lock and why; and whether a specctl run is in progress."""
        from specctl.appliers.lock import describe, describe_held, read_held, running_holder

        proj = project()
        held = read_held(proj.lock_file)
        typer.echo(f"locked by {describe_held(held)}" if held is not None else "not locked")
        running = running_holder(proj.lock_file)
        if running:
            typer.echo(f"in progress: {describe(running)}")

    @app.command("metrics")
    def metrics_cmd() -> None:
        """Print the Prometheus metrics specctl writes to metrics.textfile (from the audit
        trail: applies, rollbacks, durations, backups, the active colour, plan drift)."""
        from specctl.appliers.metrics import render

        sys.stdout.write(render(project()))
