"""A preview as an edit of the config that serves: requests carrying the cookie
`specctl_preview=<colour>` or the header `X-Specctl-Preview: <colour>` reach the previewed colour,
every other request the serving one; pure.

Each managed upstream keeps its name and block, but its server line points at a small router
inside the same nginx (`127.0.0.1:<port>`), which passes the request on, unchanged, to
`<name>__specctl_serving` or `<name>__specctl_preview` by the cookie or header. The locations of
the config are not touched (their URI mapping, headers, limits and TLS stay as written); the
edit only extends lines (the managed server lines and the `http {` line), so line numbers stay
those of the config it edits."""

from __future__ import annotations

import re

from specctl.compiler.nginx import find_upstreams, managed_server, replace_address
from specctl.compiler.nginx_walk import after_brace, walk
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError

COOKIE = "specctl_preview"
HEADER = "X-Specctl-Preview"
FLAG = "$specctl_preview"
SERVING = "__specctl_serving"
PREVIEW = "__specctl_preview"
# The routers listen on 127.0.0.1 inside the proxy container, from one of two port ranges: the
# config that ends a preview keeps routers on the preview's ports for one more generation (see
# with_routers_to), so the next preview takes the other range.
FIRST_PORTS = (65001, 65101)


def _connection(first: int) -> str:
    return f" map $http_upgrade $specctl_router_connection_{first} {{ default upgrade; '' ''; }}"


def router_address(index: int, first: int = FIRST_PORTS[0]) -> str:
    return f"127.0.0.1:{first + index}"


def first_port(text: str) -> int:
    """The port range a new preview over `text` uses: one `text` does not listen on."""
    free = [p for p in FIRST_PORTS if f"listen {router_address(0, p)};" not in text]
    if not free:
        raise CompileError("the config listens on both ranges of preview router ports")
    return free[0]


_KEPT = re.compile(
    r" map \$http_upgrade \$specctl_router_connection_\d+ \{[^{}]*\}"
    r"| upstream \S+__specctl_after_\d+ \{[^{}]*\}"
    r"| server \{ listen 127\.0\.0\.1:\d+; access_log off; location / \{[^{}]*\} \}"
)


def without_kept_routers(text: str) -> str:
    """`text` without the routers an earlier end of a preview kept (with_routers_to)."""
    return _KEPT.sub("", text)


def router_ports(text: str) -> int | None:
    """The port range of the preview routers `text` holds (its managed upstreams point at
    them), or None."""
    if FLAG not in text:
        return None
    return next((p for p in FIRST_PORTS if f"server {router_address(0, p)}" in text), None)


def _router(index: int, first: int, upstream: str) -> str:
    return (
        f" server {{ listen {router_address(index, first)}; access_log off; location / {{ "
        f"proxy_pass http://{upstream}; proxy_http_version 1.1; "
        "proxy_set_header Host $http_host; proxy_set_header Upgrade $http_upgrade; "
        f"proxy_set_header Connection $specctl_router_connection_{first}; "
        "proxy_read_timeout 1h; proxy_buffering off; proxy_request_buffering off; "
        "client_max_body_size 0; } }"
    )


def _http_text(
    color: str, serving: list[DesiredUpstream], preview: list[DesiredUpstream], first: int
) -> str:
    parts = [
        f" map $http_x_specctl_preview {FLAG}_header {{ default 0; {color} 1; }}",
        f" map $cookie_{COOKIE} {FLAG} {{ default {FLAG}_header; {color} 1; }}",
        _connection(first),
    ]
    for index, (old, new) in enumerate(zip(serving, preview, strict=True)):
        keep = f" keepalive {old.keepalive or 16};"
        parts += [
            f" upstream {old.name}{SERVING} {{ server {old.server};{keep} }}",
            f" upstream {old.name}{PREVIEW} {{ server {new.server};{keep} }}",
            f" map {FLAG} $specctl_route_{index} {{ default {old.name}{SERVING}; "
            f"1 {old.name}{PREVIEW}; }}",
            _router(index, first, f"$specctl_route_{index}"),
        ]
    return "".join(parts)


def with_routers_to(
    text: str, upstreams: list[DesiredUpstream], first: int, *, filename: str
) -> str:
    """The config that ends a preview (`text`: the promoted colour's, or the one from before the
    preview) with the preview's router ports kept for one generation, each passing on to
    `upstreams`' servers: nginx's old workers may still open connections to a router while
    they finish their requests, and a closed port would answer them with a 502."""
    parts = [_connection(first)]
    for index, upstream in enumerate(upstreams):
        keep = f" keepalive {upstream.keepalive or 16};"
        after = f"{upstream.name}__specctl_after_{first}"
        parts += [
            f" upstream {after} {{ server {upstream.server};{keep} }}",
            _router(index, first, after),
        ]
    return _on_http_line(without_kept_routers(text), "".join(parts), filename)


def _on_http_line(text: str, added: str, filename: str) -> str:
    opened = (e for e in walk(text, filename=filename) if e.kind == "open")
    http = next((e.line for e in opened if e.directive == "http" and not e.stack), None)
    if http is None:
        raise CompileError(f"{filename}: no http block")
    lines = text.split("\n")
    lines[http - 1] = after_brace(lines[http - 1], "http", added)
    return "\n".join(lines)


def with_preview(
    text: str,
    color: str,
    serving: list[DesiredUpstream],
    preview: list[DesiredUpstream],
    *,
    filename: str,
) -> str:
    """`text` serves `serving`'s servers; the result routes requests that ask for `color` to
    `preview`'s (the same upstreams, in the same order, of the other colour)."""
    if FLAG in text:
        raise CompileError(f"{filename}: a preview is in progress already")
    blocks = find_upstreams(text, filename=filename)
    lines = text.split("\n")
    first = first_port(text)
    for index, upstream in enumerate(serving):
        found = [b for b in blocks.get(upstream.name, []) if b.context == "http"]
        if len(found) != 1:
            raise CompileError(f"{filename}: upstream {upstream.name!r} is not there once")
        server = managed_server(found[0], upstream, filename)
        new = replace_address(lines[server.line - 1], server.address, router_address(index, first))
        if new is None:
            raise CompileError(f"{filename}:{server.line}: cannot find `server {server.address}`")
        lines[server.line - 1] = new
    edited = "\n".join(lines)
    return _on_http_line(edited, _http_text(color, serving, preview, first), filename)
