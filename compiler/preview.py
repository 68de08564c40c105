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

from specctl.compiler.nginx import find_upstreams, managed_server, replace_address
from specctl.compiler.nginx_walk import after_brace, walk
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError

COOKIE = "specctl_preview"
HEADER = "X-Specctl-Preview"
FLAG = "$specctl_preview"
SERVING = "__specctl_serving"
PREVIEW = "__specctl_preview"
FIRST_PORT = 65001  # the routers listen on 127.0.0.1 inside the proxy container


def router_address(index: int) -> str:
    return f"127.0.0.1:{FIRST_PORT + index}"


def _http_text(color: str, serving: list[DesiredUpstream], preview: list[DesiredUpstream]) -> str:
    parts = [
        f" map $http_x_specctl_preview {FLAG}_header {{ default 0; {color} 1; }}",
        f" map $cookie_{COOKIE} {FLAG} {{ default {FLAG}_header; {color} 1; }}",
        " map $http_upgrade $specctl_preview_connection { default upgrade; '' ''; }",
    ]
    for index, (old, new) in enumerate(zip(serving, preview, strict=True)):
        keep = f" keepalive {old.keepalive or 16};"
        parts += [
            f" upstream {old.name}{SERVING} {{ server {old.server};{keep} }}",
            f" upstream {old.name}{PREVIEW} {{ server {new.server};{keep} }}",
            f" map {FLAG} $specctl_route_{index} {{ default {old.name}{SERVING}; "
            f"1 {old.name}{PREVIEW}; }}",
            f" server {{ listen {router_address(index)}; access_log off; location / {{ "
            f"proxy_pass http://$specctl_route_{index}; proxy_http_version 1.1; "
            "proxy_set_header Host $http_host; proxy_set_header Upgrade $http_upgrade; "
            "proxy_set_header Connection $specctl_preview_connection; "
            "proxy_read_timeout 1h; proxy_buffering off; proxy_request_buffering off; "
            "client_max_body_size 0; } }",
        ]
    return "".join(parts)


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
    for index, upstream in enumerate(serving):
        found = [b for b in blocks.get(upstream.name, []) if b.context == "http"]
        if len(found) != 1:
            raise CompileError(f"{filename}: upstream {upstream.name!r} is not there once")
        server = managed_server(found[0], upstream, filename)
        new = replace_address(lines[server.line - 1], server.address, router_address(index))
        if new is None:
            raise CompileError(f"{filename}:{server.line}: cannot find `server {server.address}`")
        lines[server.line - 1] = new
    http = next(
        (
            e.line
            for e in walk(text, filename=filename)
            if e.kind == "open" and e.directive == "http"
        ),
        None,
    )
    if http is None:
        raise CompileError(f"{filename}: no http block")
    lines[http - 1] = after_brace(lines[http - 1], "http", _http_text(color, serving, preview))
    return "\n".join(lines)
