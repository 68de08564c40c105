"""Spec text -> Spec, with every problem located at FILE:LINE:COL; pure (text arrives as a str)."""

from __future__ import annotations

import difflib
import re
import types
import typing
import warnings
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.composer import Composer, ComposerError, MaxDepthExceededError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.reader import ReaderError

from specctl.compiler.validate import SECRET_NAME, validate_meaning
from specctl.schemas.errors import Problem, SpecError
from specctl.schemas.spec import Spec

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

# Bounds on what a spec may be, so that hostile input is refused in seconds with bounded memory
# (the YAML parser is pure Python and slow on some shapes). A real spec is a few hundred lines,
# a thousand-service one a few thousand nodes, and nests about ten levels.
MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_LINES = 100_000
MAX_NODES = 50_000  # values as written, and again once aliases are expanded
MAX_DEPTH = 64
# What may end a line for the line bound: more than the YAML reader counts in its positions
# (\n and \r only), so the bound errs on the safe side.
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def load_spec(text: str, *, filename: str, env: Mapping[str, str] | None = None) -> Spec:
    """Parse and validate a spec; raise SpecError listing every problem found. `${VAR}` and
    `${VAR:-default}` in values are filled from `env` (the caller passes the environment)."""
    data, positions = parse_yaml(text, filename=filename)
    data = interpolate(data, env or {}, positions, filename)
    if not isinstance(data, dict):
        got = "the file is empty" if data is None else f"got {type(data).__name__} {_show(data)}"
        message = f"the spec must be a mapping of keys ({got})"
        raise SpecError([Problem(filename, 1, 1, "", message)])
    unencodable = [
        Problem(filename, *_locate(path, positions), dotted(path), message)
        for path, message in not_utf8(data)
    ]
    if unencodable:
        raise SpecError(_sorted(unencodable))
    data = without_extensions(data)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        errors = _meant(exc.errors(), data)
        problems = [_problem(err, data, positions, filename) for err in errors]
        raise SpecError(_sorted(problems)) from None
    meaning = [
        Problem(filename, *_locate(path, positions), dotted(path), message)
        for path, message in validate_meaning(spec)
    ]
    if meaning:
        raise SpecError(_sorted(meaning))
    return spec


def without_extensions(data: dict[str, Any]) -> dict[str, Any]:
    """Compose's extension keys: `x-…` at the top level, in a service and in the proxy are
    allowed and ignored, so an anchor there can be merged (`<<: *defaults`) where it is used."""

    def strip(mapping: Any) -> Any:
        if not isinstance(mapping, dict):
            return mapping
        return {k: v for k, v in mapping.items() if not (isinstance(k, str) and k.startswith("x-"))}

    out: dict[str, Any] = strip(data)
    if isinstance(out.get("services"), dict):
        out["services"] = {name: strip(svc) for name, svc in out["services"].items()}
    if isinstance(out.get("proxy"), dict):
        out["proxy"] = strip(out["proxy"])
    return out


def not_utf8(data: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """Keys and strings Python can hold but UTF-8 cannot: a JSON-style escape such as
    "\\ud83d\\ude00" gives two unpaired surrogates, not one emoji."""
    found: list[tuple[Path, str]] = []
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ascii(data[exc.start : exc.end])[1:-1]
            found.append(
                (
                    path,
                    f"not valid Unicode text: {bad} holds unpaired surrogates; write the "
                    "character itself, or one escape for it such as \\U0001F600",
                )
            )
    elif isinstance(data, dict):
        for key, value in data.items():
            found += not_utf8(key, (*path, key)) if isinstance(key, str) else []
            found += not_utf8(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += not_utf8(item, (*path, index))
    return found


def parse_yaml(text: str, *, filename: str) -> tuple[Any, Positions]:
    """YAML text -> plain Python values and the (line, column) of every key and item."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([Problem(filename, 1, 1, "", "file is larger than 4 MiB; not a spec")])
    if sum(text.count(brk) for brk in _LINE_BREAKS) > MAX_LINES:
        message = f"more than {MAX_LINES} lines; not a spec"
        raise SpecError([Problem(filename, MAX_LINES + 1, 1, "", message)])
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    try:
        with warnings.catch_warnings():
            # ruamel warns about legal YAML (a reused anchor, a YAML 1.1 float such as 1e3) on
            # stderr; the spec is judged by the checks below, not by library notes.
            warnings.simplefilter("ignore")
            node = yaml.load(text)
    except MaxDepthExceededError as exc:
        line, col = _mark(exc)
        message = f"invalid YAML: nested more than {MAX_DEPTH} levels deep; not a spec"
        raise SpecError([Problem(filename, line, col, "", message)]) from None
    except MarkedYAMLError as exc:
        line, col = _mark(exc)
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SpecError([Problem(filename, line, col, "", f"invalid YAML: {what}")]) from None
    except ReaderError as exc:
        line, col = _line_col(text, exc.position)
        what = f"character U+{exc.character:04X} is not allowed ({exc.reason}); remove it"
        raise SpecError([Problem(filename, line, col, "", f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        what = " ".join(str(exc).split())
        raise SpecError([Problem(filename, 1, 1, "", f"invalid YAML: {what}")]) from None
    positions: Positions = {}
    return _plain(node, (), positions, _Budget(filename), filename), positions


class _Composer(Composer):
    """Stops at MAX_NODES, and refuses YAML tags: a spec is plain data, and a tag reaches
    constructors (`!!omap`, `!!python/...`, `!!int abc`) that fail without saying where."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        self.nodes += 1
        if self.nodes > MAX_NODES:  # stop scanning here: a long flow list would take minutes
            raise ComposerError(
                None, None, f"more than {MAX_NODES} values; not a spec", event.start_mark
            )
        tag = getattr(event, "ctag", None)
        if tag is not None and str(tag) != "!":
            written = f"{tag.handle or '!'}{tag.suffix}"
            raise ComposerError(
                None,
                None,
                f"tags such as {written} are not supported in a spec; write the plain value",
                event.start_mark,
            )
        node = super().compose_node(parent, index)
        if index is None and isinstance(parent, MappingNode) and not isinstance(node, ScalarNode):
            # A list or map as a key (`? [a, b]`) may hold unhashable values the constructor
            # trips over; no spec key is one.
            raise ComposerError(None, None, "keys must be plain text", event.start_mark)
        return node


class _Constructor(RoundTripConstructor):
    """Locates a plain value that looks typed but does not convert (`2020-13-45`, a number with
    thousands of digits), and anything else the constructor trips over, at a line and column."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
            if not isinstance(node, ScalarNode):
                message = f"cannot read this value ({type(exc).__name__}: {exc})"
                raise ConstructorError(None, None, message, node.start_mark) from None
            kind = str(node.tag).rsplit(":", 1)[-1]
            what = {"int": "number", "float": "number", "timestamp": "date"}.get(kind, kind)
            message = f"{_show(node.value)} looks like a {what} but cannot be read as one"
            raise ConstructorError(
                None, None, f"{message}; quote it if it is text", node.start_mark
            ) from None


def _mark(exc: MarkedYAMLError) -> tuple[int, int]:
    mark = exc.problem_mark or exc.context_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _line_col(text: str, index: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1


class _Budget:
    """What a document may expand to once aliases are followed: aliases are shared objects,
    so walking them lets a small file grow exponentially ("billion laughs")."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.nodes = MAX_NODES
        self.chars = MAX_SPEC_BYTES

    def spend(self, path: Path, positions: Positions, *, chars: int) -> None:
        self.nodes -= 1
        self.chars -= chars
        if self.nodes < 0:
            self._refuse(path, positions, f"more than {MAX_NODES} values (alias expansion?)")
        if self.chars < 0:
            self._refuse(path, positions, "values add up to more than 4 MiB (alias expansion?)")
        if len(path) > MAX_DEPTH:
            self._refuse(path, positions, f"nested more than {MAX_DEPTH} levels deep (aliases?)")

    def _refuse(self, path: Path, positions: Positions, message: str) -> None:
        raise SpecError([Problem(self.filename, *_locate(path, positions), "", message)])


def _plain(node: Any, path: Path, positions: Positions, budget: _Budget, filename: str) -> Any:
    budget.spend(path, positions, chars=len(node) if isinstance(node, str) else 0)
    if isinstance(node, str) and "\x00" in node:
        # No file name, argument or variable can hold one; os calls would fail far from here.
        message = "contains a NUL character (\\x00); remove it"
        raise SpecError([Problem(filename, *_locate(path, positions), dotted(path), message)])
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            where = _key_position(node, key) or _locate(path, positions)
            name = _key_name(key)
            if name is None or name in out:
                problem = "keys must be plain text" if name is None else f"duplicate key {name!r}"
                raise SpecError([Problem(filename, *where, dotted(path), problem)])
            sub = (*path, name)
            positions[sub] = where
            budget.spend(sub, positions, chars=len(name))
            out[name] = _plain(value, sub, positions, budget, filename)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            sub = (*path, index)
            if index in (node.lc.data or {}):
                line, col = node.lc.item(index)
                positions[sub] = (line + 1, col + 1)
            items.append(_plain(value, sub, positions, budget, filename))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        if node.bit_length() > 64:
            line, col = _locate(path, positions)
            message = "number too large (more than 64 bits); quote it if it is text"
            raise SpecError([Problem(filename, line, col, dotted(path), message)])
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _key_name(key: Any) -> str | None:
    """A mapping key as text; None for one no spec can use (a list, a map, a huge number, NUL)."""
    if isinstance(key, int) and key.bit_length() > 64:
        return None
    if key is None or isinstance(key, str | int | float | date):
        name = str(key)
        return None if "\x00" in name else name
    return None


def _key_position(node: CommentedMap, key: Any) -> tuple[int, int] | None:
    """Where a key is written; a key that came in through `<<: *anchor` is in the anchored map."""
    for source in (node, *getattr(node, merge_attrib, [])):
        if key in (source.lc.data or {}):
            line, col = source.lc.key(key)
            return line + 1, col + 1
    return None


_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")


def interpolate(data: Any, env: Mapping[str, str], positions: Positions, filename: str) -> Any:
    """Fill `${VAR}` / `${VAR:-default}` like Compose does; `$$` is a literal `$`."""
    problems: list[Problem] = []

    def fill(value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: fill(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            # Filled at compile time, it would end up in generated/ and in container labels.
            if SECRET_NAME.search(name):
                problems.append(
                    Problem(
                        filename,
                        *_locate(path, positions),
                        dotted(path),
                        f"${{{name}}} would write a secret into the generated files and a "
                        "container label; set the whole value in an env file (env_files) instead",
                    )
                )
                return ""
            if name in env and (env[name] or default is None):
                return env[name]
            if default is not None:
                return default
            problems.append(
                Problem(
                    filename,
                    *_locate(path, positions),
                    dotted(path),
                    f"${{{name}}} is not set; set it, or give a default: ${{{name}:-value}}",
                )
            )
            return ""

        # A `${` with no `}` after it cannot match, but the pattern would scan to the end of the
        # value from each one (quadratic on "${A:-" * 100000); past the last `}` only `$$` can.
        cut = value.rfind("}") + 1
        return _VAR.sub(one, value[:cut]) + value[cut:].replace("$$", "$")

    out = fill(data, ())
    if problems:
        raise SpecError(_sorted(problems))
    return out


def _locate(path: Path, positions: Positions) -> tuple[int, int]:
    """The position of the deepest known part of the path."""
    for end in range(len(path), 0, -1):
        if path[:end] in positions:
            return positions[path[:end]]
    return (1, 1)


def dotted(path: Path) -> str:
    """("services", "web", "env_files", 0) -> "services.web.env_files[0]"."""
    out = ""
    for part in path:
        if isinstance(part, str) and len(part) > 60:  # keep a message readable
            part = f"{part[:40]}…({len(part)} characters)"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# What a value of the wrong type was expected to be, by pydantic's error type, in words.
_FORMS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _meant(errors: list[Any], data: Any) -> list[Any]:
    """A value of a union type (`host_port: 4001` or `{offset: 1}`) fails each branch. When one
    branch says what is wrong with the form the user chose, the other branches' "should be a
    valid integer" is noise: dropped. When every branch only says "wrong type", one message
    names the forms. (A branch's error carries a branch label in its location, which the data
    does not hold.)"""

    def place(err: Any) -> Path:
        return _data_path(err["loc"], data)

    def branch(err: Any) -> bool:
        return len(place(err)) < len(err["loc"])

    told = [place(e) for e in errors if e["type"] not in _FORMS and branch(e)]
    deeper = [place(e) for e in errors if branch(e)]
    out: list[Any] = []
    merged: dict[Path, Any] = {}
    for err in errors:
        if err["type"] not in _FORMS or not branch(err):
            out.append(err)
            continue
        here = place(err)
        if any(t[: len(here)] == here for t in told) or any(
            len(d) > len(here) and d[: len(here)] == here for d in deeper
        ):
            continue  # a branch said what is wrong in the form written
        forms = _FORMS[err["type"]]
        if here in merged:
            if forms not in merged[here]["forms"]:
                merged[here]["forms"].append(forms)
            continue
        merged[here] = {**err, "type": "union_forms", "forms": [forms]}
        out.append(merged[here])
    return out or errors


def _problem(err: Any, data: Any, positions: Positions, filename: str) -> Problem:
    loc = _data_path(err["loc"], data, missing=err["type"] == "missing")
    line, col = _locate(loc, positions)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return Problem(filename, line, col, dotted(loc), f"unknown key{hint}")
    if kind == "missing":
        return Problem(filename, line, col, dotted(loc), "required key is missing")
    message = str(err["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch":
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        rule = NAME_RULES.get(pattern, f"must match {pattern}")
        return Problem(filename, line, col, dotted(loc), f"{rule} (got {_show(err.get('input'))})")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx") or {}
        key = ctx.get("discriminator", "'kind'")
        if kind == "union_tag_not_found":
            return Problem(filename, line, col, dotted(loc), f"required key {key} is missing")
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        got = f"got {_show(ctx.get('tag'))}"
        return Problem(filename, line, col, dotted(loc), f"{key} must be one of {tags} ({got})")
    if kind == "too_short":
        least = (err.get("ctx") or {}).get("min_length", 1)
        return Problem(filename, line, col, dotted(loc), f"needs at least {least} item(s)")
    if kind == "union_forms":
        message = f"should be {' or '.join(err['forms'])}"
    elif kind in _FORMS:
        message = f"should be {_FORMS[kind]}"
    if kind in {*_FORMS, "union_forms"}:
        message += f" (got {_show(err.get('input'))})"
    return Problem(filename, line, col, dotted(loc), message)


# The name rules of the spec's types, in words (pydantic would print the regex).
NAME_RULES = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "an environment variable name is a letter or _, then "
    "letters, digits or _",
    r"^[a-z][a-z0-9_-]*$": "a name starts with a lowercase letter, then lowercase letters, "
    "digits, _ or -",
    r"^[a-z0-9][a-z0-9_-]*$": "a project name is lowercase letters, digits, _ or -, starting "
    "with a letter or digit",
    r"^[0-9a-f]{64}$": "a sha256 is 64 lowercase hex digits",
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _data_path(loc: tuple[Any, ...], data: Any, *, missing: bool = False) -> Path:
    """Drop pydantic's union-branch labels (`HostPort`, `str`, `list[str]`...) from an error
    location by following it through the data: a label is what the data does not hold. (Telling
    them apart by their look lost keys such as `API_KEY` or `Image`.) A missing key is kept."""
    out: list[str | int] = []
    for index, part in enumerate(loc):
        if _holds(data, part):
            data = data[part]
        elif not (missing and index == len(loc) - 1):
            continue
        out.append(part)
    return tuple(out)


def _holds(data: Any, part: Any) -> bool:
    if isinstance(data, list):
        return isinstance(part, int) and 0 <= part < len(data)
    return isinstance(data, dict) and part in data


def _known_keys(path: Path) -> list[str]:
    """Field names of the model found at `path` inside Spec (for "did you mean")."""
    models = list(_models_at(Spec, path))
    return sorted({name for model in models for name in model.model_fields})


def _models_at(annotation: Any, path: Path) -> Iterator[type[BaseModel]]:
    for candidate in _unwrap(annotation):
        if not path:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield candidate
            continue
        head, rest = path[0], path[1:]
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(str(head))
            if field is not None:
                yield from _models_at(field.annotation, rest)
        elif typing.get_origin(candidate) in (dict, list):
            args = typing.get_args(candidate)
            if args:
                yield from _models_at(args[-1], rest)


def _unwrap(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _unwrap(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _unwrap(arg)
    else:
        yield annotation


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message))
