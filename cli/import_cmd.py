"""`specctl import`: Compose files or a legacy deployment.config -> spec; side effects: reads the
inputs (and runs `docker compose config` on Compose files), writes -o."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from specctl.schemas.errors import SpecctlError


def register(app: typer.Typer) -> None:
    app.command("import")(import_config)
    app.command("init")(init)


def init(
    project_name: Annotated[
        str | None,
        typer.Option("--project", metavar="NAME", help="Project name (default: this folder's)."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(metavar="IMAGE", help="The web service's image (default: nginx:1.25-alpine)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Where it listens inside (default: 80).")
    ] = None,
    proxy_image: Annotated[
        str, typer.Option(metavar="IMAGE", help="The nginx image of the proxy.")
    ] = "nginx:1.25-alpine",
    listen: Annotated[
        int, typer.Option(metavar="PORT", help="The host port users reach the app on.")
    ] = 8080,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
) -> None:
    """Write a small commented starter spec (to -f, default config/spec.yaml); on a terminal it
    asks for what is not given as an option, elsewhere it asks nothing."""
    import re

    from specctl.cli import state

    target = state.spec
    if target.exists() and not force:
        raise SpecctlError(f"{target}: already exists", hint="pass --force to overwrite it")
    folder = Path.cwd()
    default_name = re.sub(r"[^a-z0-9-]+", "-", folder.name.lower()).strip("-") or "app"
    ask = sys.stdin.isatty() and sys.stdout.isatty()
    if project_name is None:
        project_name = typer.prompt("Project name", default=default_name) if ask else default_name
    if image is None:
        image = (
            typer.prompt("Image of the web service", default="nginx:1.25-alpine")
            if ask
            else "nginx:1.25-alpine"
        )
    if port is None:
        port = int(typer.prompt("Port it listens on inside", default="80")) if ask else 80
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("specctl.templates", ""),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    text = env.get_template("init.spec.yaml.j2").render(
        project=project_name,
        root=Path(os.path.relpath(folder, target.absolute().parent)).as_posix(),
        image=image,
        port=port,
        proxy_image=proxy_image,
        listen=listen,
    )
    from specctl.compiler.load import load_spec
    from specctl.schemas.errors import SpecError

    try:
        load_spec(text, filename=str(target))
    except SpecError as exc:
        raise SpecctlError(
            f"the starter spec does not validate: {exc.problems[0].render()}",
            hint="check --project, --image and the ports",
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    write(target, text, force=force)
    from specctl.appliers.project import write_generated
    from specctl.cli import project
    from specctl.commands import compiled

    proj = project()
    write_generated(proj, compiled(proj))  # plan and apply read generated/ next
    flag = "" if target == Path("config/spec.yaml") else f" -f {target}"
    sys.stderr.write(
        f"wrote {target} and compiled it: project {project_name}, web ({image}, port {port}) "
        f"behind nginx on port {listen}\nnext: specctl{flag} plan, then specctl{flag} apply "
        "--yes\n"
    )


def import_config(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Compose files (one per colour, e.g. docker-compose.blue.yml and "
            "docker-compose.green.yml, or the files of one deployment), or one legacy bash "
            "deployment.config (parsed, never run).",
        ),
    ],
    nginx: Annotated[
        Path | None,
        typer.Option(
            "--nginx",
            metavar="FILE",
            help="The nginx config that serves the app: it becomes proxy.base, its upstream "
            "blocks managed.",
        ),
    ] = None,
    project_name: Annotated[
        str | None,
        typer.Option(
            "--project-name",
            "-p",
            metavar="NAME",
            help="The Compose project name the files ran under (default: as Compose picks it).",
        ),
    ] = None,
    env_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--env-file",
            metavar="FILE",
            help="(deployment.config) An env file (repeatable); only its variable names are "
            "used, never values.",
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
    """Turn Compose files (and an nginx config), or a legacy bash deployment.config, into a
    commented spec; list what does not map, with the line it came from."""
    if output is not None and output.exists() and not force:
        raise SpecctlError(f"{output}: already exists", hint="pass --force to overwrite it")
    texts = {path: read(path, what="file") for path in files}
    if all(looks_like_compose(path, text) for path, text in texts.items()):
        from specctl.compose_import import import_files

        result = import_files(files, nginx=nginx, project_name=project_name, output=output)
        what = f"{len(result.mapped)} services mapped"
    elif len(files) == 1:
        from specctl.importers.legacy import import_legacy

        config = files[0]
        result = import_legacy(
            texts[config],
            source_name=str(config),
            env_texts={str(path): read(path, what="env file") for path in env_file or []},
            root=root_for(config, output),
            output_name=str(output) if output is not None else "spec.yaml",
        )
        what = f"{len(result.mapped)} variables mapped"
    else:
        shown = ", ".join(str(p) for p, t in texts.items() if not looks_like_compose(p, t))
        raise SpecctlError(
            f"{shown}: not a Compose file (no services:), and a legacy deployment.config "
            "is imported alone",
            hint="pass Compose files (YAML with services:), or one deployment.config",
        )
    if output is None:
        sys.stdout.write(result.yaml)
    else:
        write(output, result.yaml, force=force)
    for line in result.unmapped:
        sys.stderr.write(f"note: {line}\n")
    where = f"wrote {output}" if output is not None else "spec on stdout"
    names = ", ".join(str(p) for p in files)
    sys.stderr.write(f"imported {names}: {what}, {len(result.unmapped)} notes above; {where}\n")
    if result.problems:
        for problem in result.problems:
            sys.stderr.write(f"{problem}\n")
        raise SpecctlError(
            f"{output or 'the imported spec'}: does not validate ({len(result.problems)} problems)",
            hint="fix the spec by hand, then run specctl -f SPEC validate",
        )


def looks_like_compose(path: Path, text: str) -> bool:
    """YAML with a top-level `services:` key (a bash config never has one)."""
    return path.suffix in (".yml", ".yaml") or any(
        line.startswith("services:") for line in text.splitlines()
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
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise SpecctlError(f"{path}: already exists", hint="pass --force to overwrite it") from None
    except OSError as exc:
        raise SpecctlError(f"{path}: cannot write: {exc.strerror}") from None
