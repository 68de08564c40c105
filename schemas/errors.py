"""The error types every layer raises; pure (no side effects)."""

from __future__ import annotations

from dataclasses import dataclass


class SpecctlError(Exception):
    """An error a person can act on: `<where>: <what is wrong>` plus an optional hint."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = self.message
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


@dataclass(frozen=True)
class Problem:
    """One problem in a spec file, located by line and column (1-based)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(SpecctlError):
    """The spec is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems), hint=hint)


class CompileError(SpecctlError):
    """The spec is valid but cannot be compiled (for example a broken nginx base config)."""


class ApplyError(SpecctlError):
    """Changing the world failed; the message says which step and what was rolled back."""


class ObserveError(SpecctlError):
    """Reading live state failed (Docker unreachable, unreadable files)."""


class LockError(SpecctlError):
    """Another apply or rollback holds the project lock."""
