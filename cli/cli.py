"""The `specctl` command: a thin layer over the compiler and the appliers."""

from __future__ import annotations

import functools
import sys
import traceback
import unicodedata
from pathlib import Path
from typing import Annotated

import typer

from specctl import __version__
from specctl.appliers.project import (
    DEFAULT_SPEC,
    Project,
    check_generated,
    load_project,
    schema_json,
    write_generated,
)
from specctl.schemas.errors import SpecctlError, SpecError

app = typer.Typer(
    name="specctl",
    help="Declarative blue/green deployments on one Docker host: compile, plan, apply, roll back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class State:
    spec: Path = DEFAULT_SPEC
    generated: Path | None = None
    debug: bool = False


state = State()


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


def project() -> Project:
    return load_project(state.spec, generated=state.generated)


def compiled(proj: Project) -> dict[str, str]:
    files = proj.compile()
    files["spec.schema.json"] = schema_json()
    return files


@app.command()
def validate() -> None:
    """Check the spec (types and meaning); print every problem with FILE:LINE:COL."""
    proj = project()
    services = len(proj.spec.services)
    typer.echo(f"{state.spec}: valid ({services} services, project {proj.spec.project})")


@app.command("compile")
def compile_cmd(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 with a diff when generated/ is stale.")
    ] = False,
) -> None:
    """Write the compose files, nginx configs and permission manifest under generated/."""
    proj = project()
    files = compiled(proj)
    if check:
        diff = check_generated(proj, files)
        if diff:
            sys.stdout.write(diff)
            raise SpecctlError(
                f"generated/{proj.spec.project}: not what {state.spec} compiles to",
                hint=f"specctl -f {state.spec} compile, then commit generated/",
            )
        typer.echo(f"generated/{proj.spec.project}: up to date ({len(files)} files)")
        return
    changed = write_generated(proj, files)
    for rel in changed:
        typer.echo(f"wrote generated/{rel}")
    typer.echo(f"{len(changed)} changed, {len(files) - len(changed)} unchanged")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and editors)."""
    sys.stdout.write(schema_json())


@functools.cache  # once per process: main() may be called many times (tests, embedding)
def _register_more() -> None:
    # Commands of later layers register themselves here to keep this module small.
    from specctl import commands

    commands.register(app)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        _register_more()
        app(args=args, prog_name="specctl")
    except SpecError as exc:
        for problem in exc.problems:
            sys.stderr.write(printable(problem.render()) + "\n")
        noun = "problem" if len(exc.problems) == 1 else "problems"
        sys.stderr.write(f"error: the spec is invalid ({len(exc.problems)} {noun})\n")
        if exc.hint:
            sys.stderr.write(f"hint: {printable(exc.hint)}\n")
        _debug(debug)
        sys.exit(1)
    except SpecctlError as exc:
        message = printable(exc.render(), keep="\n")
        sys.stderr.write(f"error: {message}\n")
        _debug(debug)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, traceback only on request
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        if debug:
            traceback.print_exc()
        else:
            sys.stderr.write("hint: run with --debug for the traceback\n")
        sys.exit(1)


_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def printable(text: str, *, keep: str = "") -> str:
    """Escape control, format and line-separator characters that came from a spec (a key written
    as "\\e[2J" or "a\\nb"), so a message stays one line and cannot drive the terminal."""
    return "".join(
        ch if ch in keep or unicodedata.category(ch) not in _UNSAFE else ascii(ch)[1:-1]
        for ch in text
    )


def _debug(debug: bool) -> None:
    if debug:
        traceback.print_exc()
