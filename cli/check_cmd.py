"""The `check pre` and `check post` commands."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from specctl.compiler.show.checks import failed, render
from specctl.schemas.errors import SpecctlError

if TYPE_CHECKING:
    from specctl.appliers.checks.run import CheckResult


class Format(StrEnum):
    text = "text"
    json = "json"


Target = Annotated[str | None, typer.Option("--target", "-t", help="blue or green.")]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]
PRE_HINT = "fix them and run it again, or deploy anyway with `specctl apply --force` (recorded)"
POST_HINT = "`specctl rollback` puts traffic back on the previous colour"


def register(app: typer.Typer) -> None:
    from specctl.cli import project

    check = typer.Typer(
        help="Pre-deployment checks and post-deployment probes.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(check, name="check")

    @check.command("pre")
    def pre(target: Target = None, fmt: FormatOption = Format.text) -> None:
        """Run every pre-deployment check.

        Default target: the colour not serving, as in `specctl plan`. Exit 1 when any check
        fails; warnings do not fail."""
        from specctl.appliers.checks.run import pre_target, run_checks, write_log

        proj = project()
        desired = pre_target(proj, target)
        results = run_checks(proj, desired)
        heading = f"pre-deployment checks, target {desired.color}"
        log = write_log(proj, "pre-deployment", heading, results)
        _show(results, fmt, kind="pre", project=proj.spec.project, target=desired.color, log=log)
        _fail_on(results, noun="pre-deployment check", hint=PRE_HINT)

    @check.command("post")
    def post(target: Target = None, fmt: FormatOption = Format.text) -> None:
        """Run the spec's probes directly, then through nginx.

        Default target: the colour serving. Exit 1 when any probe fails."""
        from specctl.appliers.checks.run import post_target, run_post_checks

        proj = project()
        desired = post_target(proj, target)
        results = run_post_checks(proj, desired)  # run_probes writes the post-deployment log
        _show(results, fmt, kind="post", project=proj.spec.project, target=desired.color)
        _fail_on(results, noun="post-deployment probe", hint=POST_HINT)


def _show(
    results: list[CheckResult],
    fmt: Format,
    *,
    kind: str,
    project: str,
    target: str,
    log: Path | None = None,
) -> None:
    noun = "checks" if kind == "pre" else "probes"
    title = f"specctl check {kind}: {project}, target {target}"
    sys.stdout.write(
        render(
            results,
            fmt.value,
            kind=kind,
            project=project,
            target=target,
            title=title,
            noun=noun,
            color=sys.stdout.isatty(),
        )
    )
    if log is not None:
        typer.echo(f"log: {log}", err=True)


def _fail_on(results: list[CheckResult], *, noun: str, hint: str) -> None:
    names = failed(results)
    if names:
        plural = "s" if len(names) != 1 else ""
        raise SpecctlError(f"{len(names)} {noun}{plural} failed: {', '.join(names)}", hint=hint)
