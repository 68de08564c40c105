"""The `specctl` entry point: arguments in, exit code and `error: …` lines out. Side effects:
runs the command.

Start-up is most of what a short command costs, so this module imports neither typer nor the
appliers: `--version` is answered here, the typer app is built in specctl.commands, and each
command imports the appliers it runs inside its function (typer needs only the signatures)."""

from __future__ import annotations

import sys
import traceback
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from specctl import __version__
from specctl.schemas.errors import SpecctlError, SpecError

if TYPE_CHECKING:
    from specctl.appliers.project import Project

DEFAULT_SPEC = Path("config/spec.yaml")


class State:
    spec: Path = DEFAULT_SPEC
    generated: Path | None = None
    debug: bool = False
    loaded: Project | None = None  # the project a command loaded: metrics are written after it


state = State()


def project() -> Project:
    from specctl.appliers.project import load_project

    state.loaded = load_project(state.spec, generated=state.generated)
    return state.loaded


GLOBAL_OPTIONS = ("-f", "--spec", "--generated")  # each takes a value
GLOBAL_FLAGS = ("--debug",)


def hoist_globals(args: list[str]) -> list[str]:
    """Global options are accepted after the command too: `specctl validate -f x.yaml` runs as
    `specctl -f x.yaml validate` (no command has options of these names)."""
    front: list[str] = []
    rest: list[str] = []
    command_seen = False
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg == "--":
            rest += args[i:]
            break
        takes_value = name in GLOBAL_OPTIONS and "=" not in arg
        if command_seen and (name in GLOBAL_OPTIONS or arg in GLOBAL_FLAGS):
            front += args[i : i + 2] if takes_value else [arg]
            i += 2 if takes_value else 1
            continue
        if not command_seen and takes_value:
            rest += args[i : i + 2]
            i += 2
            continue
        command_seen = command_seen or not arg.startswith("-")
        rest.append(arg)
        i += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    args = hoist_globals(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # alone, without building the app; with other options typer answers
        sys.stdout.write(f"specctl {__version__}\n")
        return
    debug = "--debug" in args
    defer_ssh()
    try:
        _run(args, debug=debug)
    finally:
        _after_command()


def defer_ssh() -> None:
    """Keep paramiko (0.1 s) out of start-up: the Docker SDK imports it for ssh:// whenever it
    is installed; counting.connect imports it when an ssh:// address is used."""
    if "docker" not in sys.modules:
        sys.modules.setdefault("paramiko", None)  # type: ignore[arg-type]


def _after_command() -> None:
    """The metrics file follows every command that loaded a project with `metrics.textfile`
    (it never fails the command: a problem is one warning line)."""
    loaded = state.loaded
    if loaded is not None and loaded.spec.metrics.textfile is not None:
        from specctl.appliers.metrics import after_command

        after_command(loaded, warn=_warn)


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def _run(args: list[str], *, debug: bool) -> None:
    try:
        from specctl.commands import app

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
