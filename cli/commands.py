"""The plan and status commands; registered on the typer app by cli.main."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from specctl import apply_cmd, check_cmd, import_cmd, safety_cmd
from specctl.appliers.planning import make_plan, save_plan
from specctl.appliers.status import collect_status
from specctl.compiler.show.plan import render
from specctl.compiler.show.status import render_status


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class StatusFormat(StrEnum):
    text = "text"
    json = "json"


Target = Annotated[
    str | None,
    typer.Option("--target", "-t", help="blue or green (default: the colour not serving)."),
]


def register(app: typer.Typer) -> None:
    from specctl.cli import project

    @app.command()
    def plan(
        target: Target = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
        detailed_exitcode: Annotated[
            bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
        ] = False,
        out: Annotated[
            Path | None, typer.Option("-o", "--out", help="Save the plan for `apply FILE`.")
        ] = None,
        rollback: Annotated[
            bool, typer.Option("--rollback", help="Show what `specctl rollback` would do.")
        ] = False,
    ) -> None:
        """Show what apply would change: containers field by field, traffic, file fixes."""
        if rollback and (target is not None or out is not None):
            raise typer.BadParameter("--rollback takes neither --target nor -o")
        planned = make_plan(project(), target, rollback=rollback)
        sys.stdout.write(render(planned.plan, fmt.value, color=sys.stdout.isatty()))
        if out is not None:
            save_plan(planned.plan, out)
            typer.echo(
                f"Saved the plan to {out}; run `specctl apply {out}` to carry it out.", err=True
            )
        if detailed_exitcode and not planned.plan.empty:
            raise typer.Exit(2)

    @app.command()
    def status(
        fmt: Annotated[
            StatusFormat, typer.Option("--format", help="Output format.")
        ] = StatusFormat.text,
    ) -> None:
        """The active colour, each service's state and health, nginx, rollback readiness."""
        doc = collect_status(project())
        if fmt is StatusFormat.json:
            sys.stdout.write(json.dumps(doc.document(), indent=2, sort_keys=True) + "\n")
        else:
            sys.stdout.write(render_status(doc))

    for module in (apply_cmd, check_cmd, safety_cmd, import_cmd):
        module.register(app)
