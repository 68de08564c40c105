"""`specctl import`: legacy deployment.config -> spec; side effects: reads the inputs, writes -o."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from specctl.schemas.errors import SpecctlError


def register(app: typer.Typer) -> None:
    app.command("import")(import_config)


def import_config(
    config: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG", help="The legacy bash deployment.config (parsed, never run)."
        ),
    ],
    env_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--env-file",
            metavar="FILE",
            help="An env file (repeatable); only its variable names are used, never values.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--out",
            "--output",
            metavar="FILE",
            help="Write the spec here (default: stdout).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o file.")] = False,
) -> None:
    """Turn a legacy bash deployment.config into a commented spec; list what does not map."""
    from specctl.importers.legacy import import_legacy

    if output is not None and output.exists() and not force:
        raise SpecctlError(f"{output}: already exists", hint="pass --force to overwrite it")
    result = import_legacy(
        read(config, what="config"),
        source_name=str(config),
        env_texts={str(path): read(path, what="env file") for path in env_file or []},
        root=root_for(config, output),
        output_name=str(output) if output is not None else "spec.yaml",
    )
    if output is None:
        sys.stdout.write(result.yaml)
    else:
        write(output, result.yaml, force=force)
    for line in result.unmapped:
        sys.stderr.write(f"note: {line}\n")
    where = f"wrote {output}" if output is not None else "spec on stdout"
    sys.stderr.write(
        f"imported {config}: {len(result.mapped)} variables mapped, "
        f"{len(result.unmapped)} notes above; {where}\n"
    )
    if result.problems:
        for problem in result.problems:
            sys.stderr.write(f"{problem}\n")
        raise SpecctlError(
            f"{output or 'the imported spec'}: does not validate ({len(result.problems)} problems)",
            hint="fix the spec by hand, then run specctl -f SPEC validate",
        )


def root_for(config: Path, output: Path | None) -> str:
    """The legacy project root (the folder holding config/) as seen from the spec's folder."""
    folder = config.absolute().parent
    project = folder.parent if folder.name == "config" else folder
    spec_dir = output.absolute().parent if output is not None else Path.cwd()
    return Path(os.path.relpath(project, spec_dir)).as_posix()


def read(path: Path, *, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecctlError(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise SpecctlError(f"{path}: not UTF-8 text", hint="save it as UTF-8") from None
    except OSError as exc:
        raise SpecctlError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def write(path: Path, text: str, *, force: bool) -> None:
    try:
        with path.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise SpecctlError(f"{path}: already exists", hint="pass --force to overwrite it") from None
    except OSError as exc:
        raise SpecctlError(f"{path}: cannot write: {exc.strerror}") from None
