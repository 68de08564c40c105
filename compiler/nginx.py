"""Desired -> nginx.conf for one colour: the built-in template, or the user's base with only the
managed upstream blocks rewritten; plus reading upstream blocks back out of a config. Pure."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from specctl.compiler import access_log
from specctl.compiler.nginx_include import Origin, relocate
from specctl.compiler.nginx_walk import code_part, walk
from specctl.schemas.desired import Desired, DesiredUpstream
from specctl.schemas.errors import CompileError
from specctl.schemas.spec import Spec

if TYPE_CHECKING:
    import jinja2


def _template_source(name: str) -> str:
    return resources.files("specctl.templates").joinpath(name).read_text(encoding="utf-8")


@functools.cache  # built on the first render: plan and validate load this module, never render
def _env() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


MARK = "# managed by specctl:"


def upstream_block(upstream: DesiredUpstream, indent: str, color: str = "") -> str:
    inner = indent + "    "
    lines = [f"{indent}upstream {upstream.name} {{", f"{inner}{MARK} {color or '?'}"]
    lines.append(f"{inner}server {upstream.server};")
    if upstream.keepalive:
        lines.append(f"{inner}keepalive {upstream.keepalive};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def render_nginx(
    spec: Spec, desired: Desired, *, header: str, base: str | None, origin: Origin = ()
) -> str:
    """The complete nginx config that routes every managed upstream to `desired.color`.
    `origin`: where each line of `base` came from, when included files were inlined into it."""
    if base is not None:
        base_name = spec.proxy.base or "base"
        off = access_log.turned_off(_no_bom(base), filename=base_name)
        if off is not None and spec.deploy.bake is not None:
            raise CompileError(
                relocate(
                    f"{base_name}:{off}: `access_log off;` in the http block turns off the "
                    "access log that deploy.bake reads",
                    base_name,
                    origin,
                ),
                hint="remove it (turn the log off per location instead, as for health checks), "
                "or drop deploy.bake",
            )
        try:
            return _with_base(base, desired, header=header, base_name=base_name)
        except CompileError as exc:
            raise CompileError(relocate(exc.message, base_name, origin), hint=exc.hint) from None
    tls = None
    if spec.proxy.tls is not None:
        target = spec.proxy.tls.target.rstrip("/")
        tls = {
            "certificate": f"{target}/{spec.proxy.tls.certificate}",
            "key": f"{target}/{spec.proxy.tls.key}",
        }
    return (
        _env()
        .get_template("nginx.conf.j2")
        .render(
            header=header.rstrip("\n"),
            upstreams=desired.upstreams,
            upstream_block=lambda u, indent: upstream_block(u, indent, desired.color),
            locations=spec.proxy.locations,
            tls=tls,
            domain=spec.domain or "_",
            log_format=access_log.log_format(desired.color),
            access_log=access_log.access_log(),
            connect_timeout=DNSRR_CONNECT_TIMEOUT if _dnsrr(spec) else None,
        )
    )


# With dnsrr on a Swarm, nginx holds each task's address from its last reload; a task lost with
# its node leaves an address nothing answers. A short connect timeout makes nginx try the next
# task (and mark that one failed) well before a client gives up.
DNSRR_CONNECT_TIMEOUT = "2s"


def _dnsrr(spec: Spec) -> bool:
    return spec.engine.kind == "swarm" and spec.engine.endpoint_mode == "dnsrr"


@dataclass(frozen=True)
class Server:
    """One `server ADDRESS [parameters];` line of an upstream block; `line` is the address's."""

    address: str
    line: int
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    """An `upstream NAME { ... }` block found in a config: 1-based first and last line, and
    the context it sits in (`stream` inside `stream {}`, else `http`: a conf.d fragment's
    top-level upstreams are http ones)."""

    name: str
    first: int
    last: int
    context: str = "http"
    entries: tuple[Server, ...] = ()

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(e.address for e in self.entries)


def find_upstreams(text: str, *, filename: str) -> dict[str, list[Block]]:
    """Every upstream block of a config, by name (a list: duplicates are the caller's error)."""
    found: dict[str, list[Block]] = {}
    open_block: tuple[str, int, int, str] | None = None  # name, first line, depth, context
    entries: list[Server] = []
    for event in walk(text, filename=filename):
        depth = len(event.stack)
        if event.kind == "open":
            words = event.words
            if event.directive == "upstream" and open_block is None and len(words) >= 2:
                context = "stream" if "stream" in event.stack else "http"
                open_block = (words[1][0], words[0][1], depth + 1, context)
                entries = []
        elif event.kind == "close":
            if open_block is not None and depth == open_block[2]:
                name, first, _, context = open_block
                found.setdefault(name, []).append(
                    Block(name, first, event.line, context, tuple(entries))
                )
                open_block = None
        elif (
            open_block is not None
            and depth == open_block[2]
            and event.directive == "server"
            and len(event.words) >= 2
        ):
            address, at = event.words[1]
            entries.append(Server(address, at, tuple(t for t, _ in event.words[2:])))
    return found


def _no_bom(text: str) -> str:
    return text.removeprefix("\ufeff")


def _with_base(base: str, desired: Desired, *, header: str, base_name: str) -> str:
    """The user's base config with one change per managed upstream: the address of the server
    line that names a colour now names `desired.color`. Every other line (keepalive, zone,
    least_conn, backup servers, includes, comments, CRLF line ends) stays as written; only a
    leading byte-order mark is dropped, because nginx cannot read one."""
    text = _no_bom(base)
    blocks = find_upstreams(text, filename=base_name)
    lines = text.split("\n")
    for upstream in desired.upstreams:
        matches = [b for b in blocks.get(upstream.name, []) if b.context == "http"]
        if len(matches) != 1:
            how = "is missing from" if not matches else f"appears {len(matches)} times in"
            raise CompileError(
                f"{base_name}: upstream {upstream.name!r} {how} the base config",
                hint="the base must hold exactly one http block per managed upstream; specctl "
                "changes only its server line",
            )
        block = matches[0]
        _check_keepalive(block, upstream, lines, base_name)
        server = managed_server(block, upstream, base_name)
        new = replace_address(lines[server.line - 1], server.address, upstream.server)
        if new is None:
            raise CompileError(
                f"{base_name}:{server.line}: upstream {upstream.name!r}: cannot find "
                f"`server {server.address}` on its line",
                hint="write the server directive and its address on one line",
            )
        lines[server.line - 1] = new
    lines = [per_colour(line, desired.color) for line in lines]
    logged = access_log.with_access_log("\n".join(lines), desired.color, filename=base_name)
    return header + logged


# A base line that ends with this comment names the target colour wherever it names a colour:
# `alias /srv/uploads/blue/;  # specctl: per-colour` is `…/green/` in green's config.
PER_COLOUR = re.compile(r"#\s*specctl:\s*per-colou?r\b")
_COLOUR_WORD = re.compile(r"(?<![A-Za-z0-9_])(blue|green)(?![A-Za-z0-9_])")


def per_colour(line: str, color: str) -> str:
    code = _before_comment(line)
    if not PER_COLOUR.search(line[len(code) :]):
        return line
    return _COLOUR_WORD.sub(color, code) + line[len(code) :]


_HOST = re.compile(r"(blue|green)-(.+)")


def managed_server(block: Block, upstream: DesiredUpstream, base_name: str) -> Server:
    """The server line specctl retargets: the one naming a colour of the upstream's service
    (`blue-backend:3001`, `green-backend`), else the only server that is not a backup."""
    service = upstream.service

    def names_service(address: str) -> bool:
        match = _HOST.fullmatch(address)
        return match is not None and match.group(2).split(":", 1)[0] == service

    named = [e for e in block.entries if names_service(e.address)]
    if len(named) > 1:
        shown = " and ".join(e.address for e in named)
        raise CompileError(
            f"{base_name}:{named[1].line}: upstream {upstream.name!r} lists {shown}",
            hint="specctl routes an upstream to one colour at a time: keep one server line "
            f"for {service} (blue-{service} or green-{service})",
        )
    if named:
        return named[0]
    primary = [e for e in block.entries if not {"backup", "down"} & set(e.parameters)]
    if len(primary) == 1:
        return primary[0]
    listed = ", ".join(e.address for e in block.entries) or "no server"
    raise CompileError(
        f"{base_name}:{block.first}: upstream {upstream.name!r}: no server line names a colour "
        f"of service {service!r} ({listed})",
        hint=f"write `server blue-{service}:PORT;` in the base; specctl changes it per colour",
    )


def replace_address(line: str, old: str, new: str) -> str | None:
    """`line` with the address of its `server OLD` directive replaced by NEW, or None."""
    code = _before_comment(line)
    pattern = r"(?<![\w-])server\s+([\"']?)" + re.escape(old) + r"\1(?=[\s;]|$)"
    match = re.search(pattern, code)
    if match is None:
        return None
    at = match.start() + match.group(0).index(old, len("server"))
    return line[:at] + new + line[at + len(old) :]


_before_comment = code_part


def _check_keepalive(
    block: Block, upstream: DesiredUpstream, lines: list[str], base_name: str
) -> None:
    """With a base, keepalive is the base's line; a spec value must say the same."""
    if upstream.keepalive is None:
        return
    body = "\n".join(lines[block.first - 1 : block.last])
    found = re.search(r"(?<![\w-])keepalive\s+(\d+)\s*;", _strip_comments(body))
    if found is None or int(found.group(1)) != upstream.keepalive:
        have = f"says keepalive {found.group(1)}" if found else "has no keepalive line"
        raise CompileError(
            f"{base_name}:{block.first}: upstream {upstream.name!r} {have}, the spec says "
            f"keepalive {upstream.keepalive}",
            hint="with a base config the base's upstream lines are kept as written: set "
            "keepalive there and drop it from proxy.upstreams",
        )


def _strip_comments(text: str) -> str:
    return "\n".join(_before_comment(line) for line in text.split("\n"))


def colour_lines(base: str, spec: Spec, *, base_name: str, origin: Origin = ()) -> list[str]:
    """Lines of a base outside its managed upstream blocks that name one colour (a
    `proxy_pass http://blue-backend…`, an `alias …/uploads/blue`): specctl keeps them as
    written, so both colours get the same line. One warning per line."""
    text = _no_bom(base)
    try:
        blocks = find_upstreams(text, filename=base_name)
    except CompileError:
        return []  # compile reports it
    managed = [
        (b.first, b.last)
        for name in spec.proxy.upstreams
        for b in blocks.get(name, [])
        if b.context == "http"
    ]
    services = "|".join(re.escape(s) for s in sorted(spec.services, key=len, reverse=True))
    named = re.compile(
        rf"(?<![\w.-])(blue|green)-(?:{services})(?![\w-])|/(blue|green)(?=[/;\s\"']|$)"
    )
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if any(first <= number <= last for first, last in managed):
            continue
        if PER_COLOUR.search(line[len(_before_comment(line)) :]):
            continue
        found = named.search(_before_comment(line))
        if found:
            color = found.group(1) or found.group(2)
            out.append(
                f"{relocate(f'{base_name}:{number}', base_name, origin)}: `{line.strip()}` "
                f"names {color} outside the managed "
                "upstreams; specctl keeps it as written for both colours (end the line with "
                "`# specctl: per-colour` to have it name the target colour)"
            )
    return out


def unrouted(base: str, spec: Spec) -> str:
    """The base config with the address of each managed upstream's server line blanked; the
    base as it is when that cannot be found (validation says why)."""
    if not base:
        return base
    try:
        blocks = find_upstreams(base, filename="base")
    except CompileError:
        return base
    lines = base.split("\n")
    for name in spec.proxy.upstreams:
        service = spec.upstream(name).service
        stand_in = DesiredUpstream(
            name=name, address="", service=service, server="", keepalive=None, probe="/"
        )
        for block in blocks.get(name, []):
            try:
                server = managed_server(block, stand_in, "base")
            except CompileError:
                continue
            new = replace_address(lines[server.line - 1], server.address, "-")
            if new is not None:
                lines[server.line - 1] = new
    return "\n".join(lines)
