"""Which containers an operator command means (`specctl logs backend --color green`), and how
its options read; pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import LiveContainer
from specctl.schemas.spec import Spec
from specctl.schemas.units import parse_duration, seconds


def shared_names(spec: Spec, proxy: str) -> list[str]:
    """Services that belong to no colour: the shared ones and the proxy."""
    return [n for n, s in spec.services.items() if s.scope == "shared"] + [proxy]


def pick(
    containers: list[LiveContainer],
    *,
    spec: Spec,
    proxy: str,
    service: str | None,
    color: str,
) -> list[LiveContainer]:
    """The containers of SERVICE (a shared service or the proxy whatever the colour), or of
    every service of COLOR; an unknown name or a service with no container is an error."""
    shared = shared_names(spec, proxy)
    known = [*spec.services, proxy]
    if service is not None and service not in known:
        raise SpecctlError(
            f"no service {service!r} in the spec",
            hint=f"services: {', '.join(sorted(known))}",
        )
    mine = [c for c in containers if c.project is not None]
    if service is None:
        found = [c for c in mine if c.color == color and c.service not in shared]
        what = f"{color} has no containers"
    elif service in shared:
        found = [c for c in mine if c.service == service and c.color not in ("blue", "green")]
        what = f"shared.service.{service} has no container"
    else:
        found = [c for c in mine if c.service == service and c.color == color]
        what = f"{color}.service.{service} has no container"
    if not found:
        raise SpecctlError(what, hint=f"specctl status shows what runs; is {color} deployed?")
    return sorted(found, key=lambda c: (c.service or "", c.name or ""))


def grep_pattern(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise SpecctlError(f"--grep {text!r}: not a regular expression ({exc})") from None


def split_stamp(line: str) -> tuple[str, str]:
    """Docker's `2026-12-02T04:50:01.123456789Z text` as (stamp, text)."""
    stamp, _, text = line.partition(" ")
    return stamp, text


def parse_since(text: str | None, *, now: float) -> float | None:
    """`10m`, `2h`, `1d` ago, or an ISO 8601 time (`2026-12-02T04:00:00Z`), as epoch seconds."""
    if text is None:
        return None
    try:
        return now - seconds(parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SpecctlError(
            f"--since {text!r}: not a duration (10m, 2h) or a time (2026-12-02T04:00:00Z)"
        ) from None
    if text.endswith("Z") and moment.tzinfo is None:  # a date alone drops its offset
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def exec_argv(
    container: str,
    command: list[str],
    *,
    interactive: bool,
    tty: bool,
    user: str | None = None,
    workdir: str | None = None,
) -> list[str]:
    """The `docker exec` command line (the CLI handles the terminal, signals and exit code)."""
    argv = ["docker", "exec"]
    if interactive:
        argv.append("--interactive")
    if tty:
        argv.append("--tty")
    if user is not None:
        argv += ["--user", user]
    if workdir is not None:
        argv += ["--workdir", workdir]
    return [*argv, container, *command]
