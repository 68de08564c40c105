"""One walk over an nginx config's statements and blocks (crossplane's lexer, without includes),
and what specctl reads with it besides upstreams: the certificate pairs; pure."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from crossplane.errors import NgxParserBaseException
from crossplane.lexer import _balance_braces, _lex_file_object

from specctl.schemas.errors import CompileError

Word = tuple[str, int]  # a token and its 1-based line


@dataclass(frozen=True)
class Event:
    """`statement`: `words` end with `;`. `open`: `words` precede `{`. `close`: a `}`.
    `stack`: the directives of the enclosing blocks (for `close`, the closed one included)."""

    kind: Literal["statement", "open", "close"]
    words: tuple[Word, ...]
    stack: tuple[str, ...]
    line: int

    @property
    def directive(self) -> str:
        return self.words[0][0] if self.words else ""


def walk(text: str, *, filename: str) -> Iterator[Event]:
    """Statements and block edges in order; comments skipped; a leading BOM ignored. A config
    nginx could not parse raises CompileError with the file and line."""
    try:
        tokens = list(
            _balance_braces(_lex_file_object(io.StringIO(text.removeprefix("\ufeff"))), filename)
        )
    except NgxParserBaseException as exc:
        raise CompileError(f"{filename}:{exc.lineno}: {exc.strerror}") from None
    stack: list[str] = []
    words: list[Word] = []
    for token, line, quoted in tokens:
        if quoted:
            words.append((token, line))
        elif token.startswith("#"):
            continue
        elif token == "{":
            yield Event("open", tuple(words), tuple(stack), line)
            stack.append(words[0][0] if words else "")
            words = []
        elif token == "}":
            yield Event("close", (), tuple(stack), line)
            if stack:
                stack.pop()
            words = []
        elif token == ";":
            yield Event("statement", tuple(words), tuple(stack), line)
            words = []
        else:
            words.append((token, line))


def code_part(line: str) -> str:
    """The line up to its comment (a `#` outside quotes)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:i]
    return line


def after_brace(line: str, word: str, added: str) -> str:
    """`added` right after the `{` that opens the line's `word` block (or its first `{`): specctl
    extends lines rather than adding them, so line numbers stay those of the user's file."""
    code = code_part(line)
    found = re.search(rf"(?<![\w-]){word}\s*\{{", code)
    at = found.end() if found else code.index("{") + 1
    return line[:at] + added + line[at:]


Pair = tuple[str, str]  # (ssl_certificate, ssl_certificate_key)
CERTIFICATE_DIRECTIVES = ("ssl_certificate", "ssl_certificate_key")


def certificate_pairs(text: str, *, filename: str = "base") -> list[Pair]:
    """The (ssl_certificate, ssl_certificate_key) pairs of a config, block by block; [] for a
    config that does not parse (compile reports that)."""
    try:
        events = list(walk(text, filename=filename))
    except CompileError:
        return []
    pairs: list[Pair] = []
    blocks: list[dict[str, str]] = [{}]
    for event in events:
        if event.kind == "open":
            blocks.append({})
        elif event.kind == "close":
            found = blocks.pop() if len(blocks) > 1 else {}
            if "ssl_certificate" in found and "ssl_certificate_key" in found:
                pairs.append((found["ssl_certificate"], found["ssl_certificate_key"]))
        elif len(event.words) == 2 and event.directive in (
            "ssl_certificate",
            "ssl_certificate_key",
        ):
            blocks[-1][event.directive] = event.words[1][0]
    return pairs
