"""nginx's access log in specctl's JSON format: the directives every generated config carries
(one line per request through nginx, naming the colour whose config routed it) and the reading
of those lines back; pure.

The log goes to the proxy's stdout, so the engine keeps it (`docker logs`) and no volume or file
inside the container is needed. A base config keeps its own access logs: specctl adds its log
beside them, in the http block and next to every server or location `access_log` (an
`access_log` at a lower level would otherwise replace the inherited one), on the same lines, so
the line numbers of the base stay those of the generated config."""

from __future__ import annotations

import json
from dataclasses import dataclass

from specctl.compiler.nginx_walk import after_brace, code_part, walk

FORMAT = "specctl_json"
MARKER = '{"specctl":"access"'
TARGET = "/dev/stdout"

# $msec: when the line is written (request end); $proxy_host: the upstream block's name for a
# proxied request, empty otherwise; $request_time: what the client waited, in seconds.
_FIELDS = (
    '"t":$msec,"color":"{color}","upstream":"$proxy_host","status":$status,'
    '"seconds":$request_time,"upstream_addr":"$upstream_addr","method":"$request_method",'
    '"uri":"$uri"'
)


def log_format(color: str) -> str:
    fields = _FIELDS.replace("{color}", color)
    return f"log_format {FORMAT} escape=json '{MARKER},{fields}}}';"


def access_log() -> str:
    return f"access_log {TARGET} {FORMAT};"


def with_access_log(text: str, color: str, *, filename: str) -> str:
    """A base config with specctl's log added: `log_format` and `access_log` right after the
    `http {` brace, and an `access_log` after each server- or location-level `access_log` that
    is not `off` (once per block: after its last one). Lines are only extended, never added."""
    lines = text.split("\n")
    http_line = None
    blocks = 0  # blocks opened so far: each block's number
    opened: list[int] = []  # the numbers of the blocks the walk is in
    last_log: dict[int, int] = {}  # block -> the line of the `;` of its last access_log
    for event in walk(text, filename=filename):
        if event.kind == "open":
            if event.directive == "http" and not event.stack:
                http_line = event.line
            blocks += 1
            opened.append(blocks)
        elif event.kind == "close":
            opened.pop()
        elif (
            event.directive == "access_log"
            and "http" in event.stack
            and event.stack[-1] != "http"
            and len(event.words) >= 2
            and event.words[1][0] not in ("off", TARGET)
        ):
            last_log[opened[-1]] = event.line  # specctl's log goes once per block, after its last
    extra: dict[int, str] = {}  # 1-based line -> what to add at its end
    for line in last_log.values():
        extra[line] = extra.get(line, "") + " " + access_log()
    if http_line is None:
        return text
    index = http_line - 1  # the line of the block's `{`
    lines[index] = after_brace(lines[index], "http", f" {log_format(color)} {access_log()}")
    for number, added in extra.items():
        lines[number - 1] = _after_statement(lines[number - 1], added)
    return "\n".join(lines)


def turned_off(text: str, *, filename: str) -> int | None:
    """The line of an `access_log off;` at the http block's own level (it silences every access
    log of the block, specctl's too), or None."""
    for event in walk(text, filename=filename):
        if (
            event.kind == "statement"
            and event.directive == "access_log"
            and event.stack == ("http",)
            and [w for w, _ in event.words[1:]] == ["off"]
        ):
            return event.line
    return None


def _after_statement(line: str, added: str) -> str:
    """`added` right after the last `;` of the line's code (before any comment)."""
    code = code_part(line)
    at = code.rfind(";")
    if at < 0:
        return line
    return line[: at + 1] + added + line[at + 1 :]


@dataclass(frozen=True)
class Hit:
    """One request through nginx to a managed upstream."""

    t: float  # when it ended, seconds since the epoch
    color: str  # the colour whose config routed it
    upstream: str
    status: int
    seconds: float


def parse(line: str) -> Hit | None:
    """A line of the proxy's output, or None when it is not one of specctl's access lines."""
    at = line.find(MARKER)
    if at < 0:
        return None
    try:
        doc = json.loads(line[at:])
        return Hit(
            t=float(doc["t"]),
            color=str(doc["color"]),
            upstream=str(doc["upstream"]),
            status=int(doc["status"]),
            seconds=float(doc["seconds"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
