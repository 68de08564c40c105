"""Desired -> nginx.conf for one colour: the built-in template, or the user's base with only the
managed upstream blocks rewritten; plus reading upstream blocks back out of a config. Pure."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from crossplane.errors import NgxParserBaseException
from crossplane.lexer import _balance_braces, _lex_file_object

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


def render_nginx(spec: Spec, desired: Desired, *, header: str, base: str | None) -> str:
    """The complete nginx config that routes every managed upstream to `desired.color`."""
    if base is not None:
        return _with_base(base, desired, header=header, base_name=spec.proxy.base or "base")
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
        )
    )


@dataclass(frozen=True)
class Block:
    """An `upstream NAME { ... }` block found in a config: 1-based first and last line."""

    name: str
    first: int
    last: int
    servers: tuple[str, ...]


def find_upstreams(text: str, *, filename: str) -> dict[str, list[Block]]:
    """Every upstream block of a config, by name (a list: duplicates are the caller's error)."""
    try:
        tokens = list(_balance_braces(_lex_file_object(io.StringIO(text)), filename))
    except NgxParserBaseException as exc:
        raise CompileError(f"{filename}:{exc.lineno}: {exc.strerror}") from None
    found: dict[str, list[Block]] = {}
    i = 0
    while i < len(tokens):
        token, line, quoted = tokens[i]
        if token == "upstream" and not quoted and i + 2 < len(tokens) and tokens[i + 2][0] == "{":
            name = tokens[i + 1][0]
            depth, j, servers, expect_server = 0, i + 2, [], False
            while j < len(tokens):
                tok, _, tok_quoted = tokens[j]
                if tok == "{" and not tok_quoted:
                    depth += 1
                elif tok == "}" and not tok_quoted:
                    depth -= 1
                    if depth == 0:
                        break
                elif expect_server:
                    servers.append(tok)
                    expect_server = False
                elif tok == "server" and depth == 1:
                    expect_server = True
                j += 1
            found.setdefault(name, []).append(Block(name, line, tokens[j][1], tuple(servers)))
            i = j
        i += 1
    return found


def _with_base(base: str, desired: Desired, *, header: str, base_name: str) -> str:
    blocks = find_upstreams(base, filename=base_name)
    lines = base.split("\n")
    replacements: list[tuple[Block, str]] = []
    for upstream in desired.upstreams:
        matches = blocks.get(upstream.name, [])
        if len(matches) != 1:
            how = "is missing from" if not matches else f"appears {len(matches)} times in"
            raise CompileError(
                f"{base_name}: upstream {upstream.name!r} {how} the base config",
                hint="the base must hold exactly one block per managed upstream; specctl "
                "rewrites only those",
            )
        block = matches[0]
        first, last = lines[block.first - 1], lines[block.last - 1]
        if not first.lstrip().startswith("upstream") or last.strip() != "}":
            raise CompileError(
                f"{base_name}:{block.first}: upstream {upstream.name!r} must start and end on "
                "lines of its own"
            )
        indent = first[: len(first) - len(first.lstrip())]
        replacements.append((block, upstream_block(upstream, indent, desired.color)))
    for block, text in sorted(replacements, key=lambda r: r[0].first, reverse=True):
        lines[block.first - 1 : block.last] = text.split("\n")
    return header + "\n".join(lines)
