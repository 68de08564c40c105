"""Commands beyond validate/compile/schema; registered on the typer app by cli.main."""

from __future__ import annotations

from typing import Any

import typer


def register(app: typer.Typer, state: Any) -> None:
    """Nothing yet beyond the core commands."""
