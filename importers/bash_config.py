"""Read the variable assignments of a bash config file: parsed, never executed; pure."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

Value = str | list[str]

_ASSIGN = re.compile(
    r"(?:(export|readonly|declare|typeset)(?:[ \t]+-[A-Za-z]+)*[ \t]+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)(\+?=)"
)
_FUNCTION = re.compile(r"function[ \t]+([A-Za-z_][\w:.-]*)|([A-Za-z_][\w:.-]*)[ \t]*\([ \t]*\)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-=])(.*)", re.DOTALL)
_OPENERS = {"if", "for", "while", "until", "case", "select", "{"}
_CLOSERS = {"fi", "done", "esac", "}"}
_WORD_END = " \t\n;|&<>()"
_SPECIAL = "@*#?$!-0123456789"


@dataclass(frozen=True)
class Note:
    """Something skipped or not understood, at a 1-based line (or a range of lines)."""

    line: int
    message: str
    end_line: int | None = None

    def render(self) -> str:
        if self.end_line is not None and self.end_line != self.line:
            return f"lines {self.line}-{self.end_line}: {self.message}"
        return f"line {self.line}: {self.message}"


@dataclass
class BashConfig:
    """Variables in assignment order; where each was set, and which variables it referred to.

    `unresolved` names the variables whose value kept a part only a running shell could fill in
    (`$UNSET`, `$(cmd)`, `$1`): their text is as written, not what bash would make of it.
    """

    variables: dict[str, Value] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    refs: dict[str, frozenset[str]] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)


def parse_bash_config(text: str) -> BashConfig:
    """Assignments (`A=1`, `A="x $B"`, `A=( ... )`) with `$B`/`${B}` resolved; the rest noted."""
    parser = _Parser(text.replace("\r\n", "\n"), BashConfig())
    parser.run()
    return parser.out


@dataclass
class _Assignment:
    name: str
    op: str
    value: Value
    line: int
    refs: frozenset[str]
    unresolved: bool


class _Parser:
    def __init__(self, text: str, out: BashConfig, *, line_offset: int = 0) -> None:
        self.text = text
        self.out = out
        self.pos = 0
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.line_offset = line_offset
        self.refs: set[str] = set()
        self.unresolved = False

    def line(self, pos: int | None = None) -> int:
        return self.line_offset + bisect_right(self.starts, self.pos if pos is None else pos)

    def kept(self, message: str, pos: int) -> None:
        """A part of a value left as written, because only a running shell could fill it in."""
        self.unresolved = True
        self.note(message, pos)

    def note(self, message: str, pos: int, end: int | None = None) -> None:
        self.out.notes.append(
            Note(self.line(pos), message, None if end is None else self.line(end))
        )

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if 0 <= index < len(self.text) else ""

    def run(self) -> None:
        while True:
            while self.peek() and self.peek() in " \t\n;":
                self.pos += 1
            if not self.peek():
                return
            self._statement()

    def _statement(self) -> None:
        start = self.pos
        newline = self.text.find("\n", start)
        rest = self.text[start : len(self.text) if newline < 0 else newline]
        first = re.split(r"[ \t;]", rest, maxsplit=1)[0]
        function = _FUNCTION.match(rest)
        if rest.startswith("#"):
            self._skip_comment()
        elif function:
            self._skip(block=True)
            name = function.group(1) or function.group(2)
            self.note(f"function {name} ignored (never executed)", start, self.pos - 1)
        elif first in _OPENERS:
            self._skip(block=True)
            self.note(f"`{first}` block skipped (never executed)", start, self.pos - 1)
        elif _ASSIGN.match(self.text, start):
            self._assignments()
        else:
            self._skip(block=False)
            what = {
                "export": "export skipped (it only marks variables for child processes)",
                "source": "the sourced file is not read; import it separately",
                ".": "the sourced file is not read; import it separately",
            }.get(first, f"command `{first[:40]}` skipped (never executed)")
            self.note(what, start)

    def _assignments(self) -> None:
        start, found, prefix = self.pos, list[_Assignment](), ""
        while match := _ASSIGN.match(self.text, self.pos):
            prefix = prefix or match.group(1) or ""
            line = self.line()
            self.pos = match.end()
            self.refs, self.unresolved = set(), False
            value: Value = self._array() if self.peek() == "(" else self._word()
            found.append(
                _Assignment(
                    match.group(2),
                    match.group(3),
                    value,
                    line,
                    frozenset(self.refs),
                    self.unresolved,
                )
            )
            self._skip_blanks()
            while prefix and (bare := _NAME.match(self.text, self.pos)):
                if _ASSIGN.match(self.text, self.pos):
                    break
                self.pos = bare.end()  # `export A=1 B`: B is only exported
                self._skip_blanks()
        if self.peek() == "#":
            self._skip_comment()
        elif self.peek() not in ("", "\n", ";"):
            self._skip(block=False)
            self.note("a command with variables set for it, skipped (never executed)", start)
            return
        for assignment in found:
            self._store(assignment)

    def _store(self, new: _Assignment) -> None:
        old = self.out.variables.get(new.name)
        value, refs = new.value, new.refs
        if new.op == "+=" and old is not None:
            if isinstance(old, list) or isinstance(value, list):
                value = _as_list(old) + _as_list(value)
            else:
                value = old + value
            refs = refs | self.out.refs.get(new.name, frozenset())
        self.out.variables[new.name] = value
        self.out.lines[new.name] = new.line
        self.out.refs[new.name] = refs
        if new.unresolved or (new.op == "+=" and new.name in self.out.unresolved):
            self.out.unresolved.add(new.name)
        else:
            self.out.unresolved.discard(new.name)

    def _skip_blanks(self) -> None:
        while self.peek() and self.peek() in " \t":
            self.pos += 1

    def _skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    # Values -----------------------------------------------------------------------------------

    def _array(self) -> list[str]:
        start = self.pos
        self.pos += 1
        items: list[str] = []
        while True:
            while self.peek() and self.peek() in " \t\n":
                self.pos += 1
            char = self.peek()
            if char == ")":
                self.pos += 1
                return items
            if not char:
                self.note("array is never closed with `)`", start)
                return items
            if char == "#":
                self._skip_comment()
            elif char == "\\" and self.peek(1) == "\n":
                self.pos += 2
            elif char in _WORD_END:
                self.note(f"unexpected {char!r} in an array, skipped", self.pos)
                self.pos += 1
            else:
                items.append(self._word())

    def _word(self) -> str:
        out: list[str] = []
        while (char := self.peek()) and char not in _WORD_END:
            if char == "'":
                out.append(self._until("'"))
            elif char == '"':
                self.pos += 1
                out.append(self._double(closing=True))
            elif char == "\\":
                out.append("" if self.peek(1) == "\n" else self.peek(1))
                self.pos += 2
            elif char == "$":
                out.append(self._dollar())
            elif char == "`":
                out.append(self._backtick())
            else:
                out.append(char)
                self.pos += 1
        return "".join(out)

    def _until(self, quote: str) -> str:
        """The text up to the closing quote (no expansion), for '...' and `...`."""
        start = self.pos + 1
        end = self.text.find(quote, start)
        if end < 0:
            self.note(f"{quote} is never closed", self.pos)
            end = len(self.text)
        self.pos = end + 1
        return self.text[start:end]

    def _double(self, *, closing: bool) -> str:
        """The inside of "...", expanded; `closing=False` reads to the end of the text."""
        start, out = self.pos - 1, list[str]()
        while (char := self.peek()) != '"' or not closing:
            if not char:
                if closing:
                    self.note('" is never closed', start)
                return "".join(out)
            if char == "\\" and self.peek(1) in ('"', "\\", "$", "`", "\n"):
                out.append("" if self.peek(1) == "\n" else self.peek(1))
                self.pos += 2
            elif char == "$":
                out.append(self._dollar())
            elif char == "`":
                out.append(self._backtick())
            else:
                out.append(char)
                self.pos += 1
        self.pos += 1
        return "".join(out)

    def _backtick(self) -> str:
        start = self.pos
        body = self._until("`")
        self.kept("command substitution `...` not run; kept as written", start)
        return f"`{body}`"

    def _dollar(self) -> str:
        start, nxt = self.pos, self.peek(1)
        if nxt in ("{", "("):
            end = self._matching(self.pos + 1)
            self.pos = end + 1
            if nxt == "{":
                return self._braced(self.text[start + 2 : end], start)
            self.kept("command substitution $(...) not run; kept as written", start)
            return self.text[start : end + 1]
        name = _NAME.match(self.text, self.pos + 1)
        if name:
            self.pos = name.end()
            return self._lookup(name.group(), self.text[start : self.pos], start)
        self.pos += 1
        if nxt and nxt in _SPECIAL:
            self.pos += 1
            self.kept(f"${nxt} has no value outside a running script; kept as written", start)
            return "$" + nxt
        return "$"

    def _braced(self, inner: str, start: int) -> str:
        written = "${" + inner + "}"
        if _NAME.fullmatch(inner):
            return self._lookup(inner, written, start)
        default = _DEFAULT.fullmatch(inner)
        if not default:
            self.kept(f"{written} is not understood; kept as written", start)
            return written
        name, op, fallback = default.groups()
        self.refs.add(name)
        value = self.out.variables.get(name)
        if value is not None and not (op.startswith(":") and _first(value) == ""):
            self.unresolved |= name in self.out.unresolved
            return _first(value)
        sub = _Parser(fallback, self.out, line_offset=self.line(start) - 1)
        expanded = sub._double(closing=False)
        self.refs |= sub.refs
        self.unresolved |= sub.unresolved
        return expanded

    def _lookup(self, name: str, written: str, start: int) -> str:
        self.refs.add(name)
        value = self.out.variables.get(name)
        if value is None:
            self.kept(f"{written} is not set earlier in the file; kept as written", start)
            return written
        if name in self.out.unresolved:
            self.unresolved = True
        return _first(value)

    def _matching(self, start: int) -> int:
        """The index of the bracket closing the one at `start`, skipping quoted text."""
        open_, close = self.text[start], {"{": "}", "(": ")"}[self.text[start]]
        depth, index = 0, start
        while index < len(self.text):
            char = self.text[index]
            if char == "\\":
                index += 2
                continue
            if char in "'\"" and open_ == "(":
                found = self.text.find(char, index + 1)
                index = len(self.text) if found < 0 else found + 1
                continue
            depth += (char == open_) - (char == close)
            if depth == 0:
                return index
            index += 1
        self.note(f"{open_} is never closed", start - 1)
        return len(self.text)

    # Skipping what is not an assignment ---------------------------------------------------------

    def _skip(self, *, block: bool) -> None:
        """Move past one command (to its line end), or a whole block (to where it closes)."""
        start = self.pos
        depth, word, started, word_start = 0, "", not block, True
        while char := self.peek():
            if char in "'`":
                self._until(char)
            elif char == '"':
                self.pos += 1
                self._raw_double()
            elif char == "\\":
                self.pos += 2
            elif char == "#" and word_start:
                self._skip_comment()
                continue
            else:
                self.pos += 1
                if char not in _WORD_END:
                    word, word_start = word + char, False
                    continue
                if word in _OPENERS:
                    depth, started = depth + 1, True
                elif word in _CLOSERS:
                    depth -= 1
                word, word_start = "", True
                if char == "\n" and started and depth <= 0:
                    return
                continue
            word, word_start = word + "'", False  # a quoted word is never a keyword
        if block and (depth > 0 or not started):
            self.note("this block is never closed; the rest of the file was skipped", start)

    def _raw_double(self) -> None:
        while (char := self.peek()) and char != '"':
            self.pos += 2 if char == "\\" else 1
        self.pos += 1


def _first(value: Value) -> str:
    """`$ARRAY` in bash is its first element."""
    if isinstance(value, list):
        return value[0] if value else ""
    return value


def _as_list(value: Value) -> list[str]:
    return list(value) if isinstance(value, list) else [value]
