"""The typer app and its commands (side effects: whatever the command does); built when
specctl.cli.main runs a command. Each command imports what it runs inside its function, so a
command pays only for its own imports; the other command modules register themselves at the end."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from specctl import __version__, apply_cmd, check_cmd, import_cmd, operate_cmd, safety_cmd
from specctl.cli import DEFAULT_SPEC, project, state
from specctl.schemas.errors import SpecctlError

if TYPE_CHECKING:
    from specctl.appliers.project import Project


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

app = typer.Typer(
    name="specctl",
    help="Declarative blue/green deployments on one Docker host: compile, plan, apply, roll back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"specctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    spec: Annotated[
        Path, typer.Option("-f", "--spec", help="The spec file.", show_default=True)
    ] = DEFAULT_SPEC,
    generated: Annotated[
        Path | None,
        typer.Option(help="Where compiled files go (default: generated/ beside config/)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    state.spec = spec
    state.generated = generated
    state.debug = debug


def compiled(proj: Project) -> dict[str, str]:
    from specctl.appliers.project import schema_json

    files = proj.compile()
    files["spec.schema.json"] = schema_json()
    return files


@app.command()
def validate() -> None:
    """Check the spec (types and meaning); print every problem with FILE:LINE:COL."""
    from specctl.compiler.nginx import colour_lines, render_nginx
    from specctl.schemas.spec import COLORS

    proj = project()
    base, spec = proj.inputs.base_nginx, proj.spec
    if base is not None:  # what only rendering finds: a base specctl cannot retarget
        for color in COLORS:
            render_nginx(
                spec, proj.expanded(color), header="", base=base, origin=proj.inputs.base_origin
            )
        name = spec.proxy.base or "base"
        for warning in colour_lines(base, spec, base_name=name, origin=proj.inputs.base_origin):
            typer.echo(f"warning: {warning}", err=True)
    from specctl.appliers.passthrough import check_passthrough

    note = check_passthrough(proj)
    for warning in [*missing_env_files(proj), *([note] if note else [])]:
        typer.echo(f"warning: {warning}", err=True)
    services = len(proj.spec.services)
    typer.echo(f"{state.spec}: valid ({services} services, project {proj.spec.project})")


def missing_env_files(proj: Project) -> list[str]:
    """Env files the spec names that are not on this host: legal (secrets may live only on the
    server), but an apply here stops at its pre-checks."""
    from specctl.schemas.spec import COLORS

    missing: dict[str, list[str]] = {}
    for color in COLORS:
        desired = proj.expanded(color)
        for svc in (*desired.services, *desired.shared):
            for rel in svc.env_files:
                users = missing.setdefault(rel, [])
                if not proj.path(rel).is_file() and svc.name not in users:
                    users.append(svc.name)
    return [
        f"env file {rel} ({', '.join(users)}) does not exist here; an apply on this host stops "
        "at its pre-checks until it does"
        for rel, users in missing.items()
        if users
    ]


def shown_dir(path: Path) -> str:
    """A folder as the user would type it: relative to here when it is below here."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


@app.command("compile")
def compile_cmd(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 with a diff when generated/ is stale.")
    ] = False,
) -> None:
    """Write the compose files, nginx configs and permission manifest under generated/."""
    from specctl.appliers.project import check_generated, write_generated

    proj = project()
    files = compiled(proj)
    if check:
        diff = check_generated(proj, files)
        if diff:
            sys.stdout.write(diff)
            raise SpecctlError(
                f"{shown_dir(proj.generated)}/{proj.spec.project}: not what {state.spec} "
                "compiles to",
                hint=f"specctl -f {state.spec} compile, then commit generated/",
            )
        typer.echo(
            f"{shown_dir(proj.generated)}/{proj.spec.project}: up to date ({len(files)} files)"
        )
        return
    changed = write_generated(proj, files)
    where = shown_dir(proj.generated)
    for rel in changed:
        verb = "wrote" if rel in files else "removed (no longer generated)"
        typer.echo(f"{verb} {where}/{rel}")
    written = sum(1 for rel in changed if rel in files)
    typer.echo(f"{written} changed, {len(files) - written} unchanged")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and editors)."""
    from specctl.appliers.project import schema_json

    sys.stdout.write(schema_json())


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
    from specctl.appliers.planning import make_plan, remember_plan, save_plan
    from specctl.compiler.show.plan import render

    if rollback and (target is not None or out is not None):
        raise typer.BadParameter("--rollback takes neither --target nor -o")
    proj = project()
    planned = make_plan(proj, target, rollback=rollback)
    sys.stdout.write(render(planned.plan, fmt.value, color=sys.stdout.isatty()))
    if not rollback and proj.spec.metrics.textfile is not None:
        remember_plan(proj, planned.plan)  # the drift metric is the last plan's
    if out is not None:
        save_plan(planned.plan, out)
        typer.echo(f"Saved the plan to {out}; run `specctl apply {out}` to carry it out.", err=True)
    if detailed_exitcode and not planned.plan.empty:
        raise typer.Exit(2)


@app.command()
def status(
    fmt: Annotated[
        StatusFormat, typer.Option("--format", help="Output format.")
    ] = StatusFormat.text,
) -> None:
    """The active colour, each service's state and health, nginx, rollback readiness."""
    from specctl.appliers.status import collect_status
    from specctl.compiler.show.status import render_status

    doc = collect_status(project())
    if fmt is StatusFormat.json:
        sys.stdout.write(json.dumps(doc.document(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(render_status(doc))


for module in (apply_cmd, check_cmd, safety_cmd, import_cmd, operate_cmd):
    module.register(app)
