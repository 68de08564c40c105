"""Maintenance mode as an edit of the config nginx serves: every location that passes requests to
a managed upstream answers a generated 503 page with `Retry-After` instead (addresses on the
allow-list still reach the application); pure.

The edit only extends lines (the `http {` line, each managed location's `proxy_pass` line and
the `{` line of the servers that hold them), so line numbers stay those of the config it
edits, and the same edit works on the built-in template and on a user's base."""

from __future__ import annotations

import html
import ipaddress
import re
from dataclasses import dataclass

from specctl.compiler.nginx_walk import after_brace, code_part, walk
from specctl.schemas.errors import CompileError, SpecctlError

FLAG = "$specctl_maintenance"
PAGE = "/specctl-maintenance"


@dataclass(frozen=True)
class Settings:
    message: str = "We are upgrading the site. Please come back in a few minutes."
    retry_after: int = 120  # seconds
    allow: tuple[str, ...] = ()  # addresses or CIDR ranges that still reach the application


def check_allow(value: str) -> str:
    """An address or CIDR range as nginx's geo reads it, or a SpecctlError in words."""
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise SpecctlError(
            f"--allow: {value!r} is not an address or a CIDR range such as 10.0.0.0/8"
        ) from None


def page(settings: Settings) -> str:
    """The 503 page, one line; `$`, quotes and backslashes written as HTML entities (an nginx
    string would read `$` as a variable)."""
    text = html.escape(settings.message, quote=True)  # quotes too: ' is &#x27;
    text = text.replace("$", "&#36;").replace("\\", "&#92;")
    text = " ".join(text.split())
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Maintenance</title></head>"
        f"<body><h1>Down for maintenance</h1><p>{text}</p></body></html>"
    )


def _geo(settings: Settings) -> str:
    allowed = "".join(f" {a} 0;" for a in settings.allow)
    return f" geo {FLAG} {{ default 1;{allowed} }}"


def _location(settings: Settings) -> str:
    return (
        f" location = {PAGE} {{ internal; default_type text/html; "
        f"add_header Retry-After {settings.retry_after} always; "
        "add_header Cache-Control no-store always; "
        f"return 503 '{page(settings)}'; }}"
    )


_TURN = f" if ({FLAG}) {{ rewrite ^ {PAGE} last; }}"


def with_maintenance(
    text: str, settings: Settings, upstreams: set[str], *, filename: str
) -> tuple[str, int]:
    """The config with maintenance mode on, and how many locations it turned. A config in
    which no location passes to a managed upstream is refused (nothing would change)."""
    lines = text.split("\n")
    http_line: int | None = None
    server_lines: set[int] = set()
    turned: list[tuple[int, str]] = []  # (line, target): the target when the statement spans lines
    server_at: int | None = None
    for event in walk(text, filename=filename):
        if event.kind == "open" and event.directive == "http" and not event.stack:
            http_line = event.line
        elif event.kind == "open" and event.directive == "server" and event.stack == ("http",):
            server_at = event.line
        elif (
            event.kind == "statement"
            and event.directive == "proxy_pass"
            and event.stack[-1:] == ("location",)
            and len(event.words) >= 2
            and _host(event.words[1][0]) in upstreams
            and server_at is not None
        ):
            server_lines.add(server_at)
            first, last = event.words[0], event.words[-1]
            turned.append((last[1], last[0] if first[1] != last[1] else ""))
    if http_line is None or not turned:
        raise CompileError(
            f"{filename}: no location passes requests to a managed upstream; maintenance mode "
            "would change nothing"
        )
    for number, target in sorted(set(turned)):
        line = lines[number - 1]
        lines[number - 1] = _after_statement(line, target) if target else _turn(line, upstreams)
    for number in server_lines:
        lines[number - 1] = after_brace(lines[number - 1], "server", _location(settings))
    lines[http_line - 1] = after_brace(lines[http_line - 1], "http", _geo(settings))
    return "\n".join(lines), len(turned)


def _after_statement(line: str, target: str) -> str:
    """The check after the `;` that ends a `proxy_pass` begun on an earlier line, `target` (its
    last word) being on this one."""
    code = code_part(line)
    end = code.index(";", code.index(target) + len(target)) + 1
    return line[:end] + _TURN + line[end:]


def _host(target: str) -> str:
    """`http://backend/api/` -> `backend`."""
    rest = target.split("://", 1)[-1]
    return re.split(r"[/:]", rest, maxsplit=1)[0]


_PROXY_PASS = re.compile(r"(?<![\w-])proxy_pass\s+(\S+?)\s*;")


def _turn(line: str, upstreams: set[str]) -> str:
    """After each `proxy_pass` to a managed upstream on the line: the maintenance check."""
    code = code_part(line)
    out, last = [], 0
    for found in _PROXY_PASS.finditer(code):
        if _host(found.group(1).strip("\"'")) in upstreams:
            out.append(line[last : found.end()] + _TURN)
            last = found.end()
    return "".join(out) + line[last:]
