"""Values with comments -> block YAML text, same values giving the same bytes; pure."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class N:
    """A value with its origin: `note` follows it (or goes above when long), `lead` goes above."""

    value: Any
    note: str | None = None
    lead: str | None = None


_PLAIN = re.compile(r"[A-Za-z0-9_./+][A-Za-z0-9_./@+:-]*")
_NUMBERISH = re.compile(r"[-+]?(\.?\d[\d_.]*([eE][-+]?\d+)?|0[xXoObB][0-9a-fA-F_]+|\.(inf|nan))")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
WIDTH = 100


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    plain = (
        _PLAIN.fullmatch(text)
        and not text.endswith(":")
        and not _NUMBERISH.fullmatch(text)
        and text.lower() not in _RESERVED
    )
    return text if plain else _quoted(text)


def _quoted(text: str) -> str:
    """A double-quoted scalar; YAML rejects some characters JSON would leave raw."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def render(tree: dict[str, Any], *, header: list[str], footer: list[str]) -> str:
    """The tree as block YAML with comments; same tree, same bytes."""
    lines = [line for text in header for line in _comment("", text)]
    for key, node in tree.items():
        if isinstance(_bare(node), dict) and not _flow(_bare(node)):
            lines.append("")
        _entry(lines, 0, f"{scalar(key)}:", node)
    lines += ["", *_comment("", footer[0])]
    for text in footer[1:]:
        wrapped = _comment("", f"- {text}")
        lines += [wrapped[0], *(f"#   {line[2:]}" for line in wrapped[1:])]
    return "\n".join(lines) + "\n"


def _bare(node: Any) -> Any:
    return node.value if isinstance(node, N) else node


def _entry(lines: list[str], depth: int, head: str, node: Any) -> None:
    """`head` is `key:` or `-`; children of a mapping or list go one level deeper."""
    value, note = _bare(node), node.note if isinstance(node, N) else None
    pad = "  " * depth
    if isinstance(node, N) and node.lead:
        lines += _comment(pad, node.lead)
    flow = _flow(value)
    if flow is not None and len(f"{pad}{head} {flow}") <= WIDTH:
        _line(lines, f"{pad}{head} {flow}", note, pad)
    elif isinstance(value, dict):
        _line(lines, f"{pad}{head}", note, pad)
        first = len(lines)
        for key, child in value.items():
            _entry(lines, depth + 1, f"{scalar(key)}:", child)
        if (
            lines[first - 1] == f"{pad}-"
            and first < len(lines)
            and lines[first][len(pad) + 2] != "#"
        ):
            lines[first - 1 : first + 1] = [f"{pad}- {lines[first].lstrip()}"]
    elif isinstance(value, list):
        _line(lines, f"{pad}{head}", note, pad)
        for item in value:
            _entry(lines, depth + 1, "-", item)
    else:
        _line(lines, f"{pad}{head} {scalar(value)}", note, pad)


def _flow(value: Any) -> str | None:
    """`[a, b]` or `{k: v}` when every element is a plain scalar without a comment."""
    if isinstance(value, list) and all(_simple(item) for item in value):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    if isinstance(value, dict) and all(_simple(item) for item in value.values()):
        return "{" + ", ".join(f"{scalar(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    return None


def _simple(item: Any) -> bool:
    if isinstance(item, dict):
        return all(_simple(v) for v in item.values()) and not isinstance(item, N)
    return not isinstance(item, N | list)


def _inline(item: Any) -> str:
    return _flow(item) or "" if isinstance(item, dict) else scalar(item)


def _line(lines: list[str], text: str, note: str | None, pad: str) -> None:
    note = _printable(note) if note else None
    if note and len(f"{text}  # {note}") <= WIDTH:
        lines.append(f"{text}  # {note}")
        return
    if note:
        lines += _comment(pad, note)
    lines.append(text)


def _comment(pad: str, text: str) -> list[str]:
    width = WIDTH - len(pad) - 2
    parts = textwrap.wrap(_printable(text), width, break_on_hyphens=False)
    return [f"{pad}# {part}" for part in parts]


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
