"""Spec text -> Spec, with every problem located at FILE:LINE:COL; pure (text arrives as a str)."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from specctl.compiler.validate import validate_meaning
from specctl.schemas.errors import Problem, SpecError
from specctl.schemas.spec import Spec

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000


def load_spec(text: str, *, filename: str, env: Mapping[str, str] | None = None) -> Spec:
    """Parse and validate a spec; raise SpecError listing every problem found. `${VAR}` and
    `${VAR:-default}` in values are filled from `env` (the caller passes the environment)."""
    data, positions = parse_yaml(text, filename=filename)
    data = interpolate(data, env or {}, positions, filename)
    if not isinstance(data, dict):
        raise SpecError([Problem(filename, 1, 1, "", "the spec must be a mapping of keys")])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, positions, filename) for err in exc.errors()]
        raise SpecError(_sorted(problems)) from None
    meaning = [
        Problem(filename, *_locate(path, positions), _dotted(path), message)
        for path, message in validate_meaning(spec)
    ]
    if meaning:
        raise SpecError(_sorted(meaning))
    return spec


def parse_yaml(text: str, *, filename: str) -> tuple[Any, Positions]:
    """YAML text -> plain Python values and the (line, column) of every key and item."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([Problem(filename, 1, 1, "", "file is larger than 4 MiB; not a spec")])
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SpecError([Problem(filename, line, col, "", f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        raise SpecError([Problem(filename, 1, 1, "", f"invalid YAML: {exc}")]) from None
    positions: Positions = {}
    counter = [0]
    return _plain(node, (), positions, counter, filename), positions


def _plain(node: Any, path: Path, positions: Positions, counter: list[int], filename: str) -> Any:
    # Aliases are shared objects: walking them would let a small file expand exponentially.
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SpecError(
            [Problem(filename, 1, 1, "", f"more than {MAX_NODES} values (alias expansion?)")]
        )
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            sub = (*path, str(key))
            line, col = node.lc.key(key) if key in node.lc.data else (0, 0)
            positions[sub] = (line + 1, col + 1)
            out[str(key) if not isinstance(key, str) else key] = _plain(
                value, sub, positions, counter, filename
            )
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            sub = (*path, index)
            line, col = node.lc.item(index) if index in node.lc.data else (0, 0)
            positions[sub] = (line + 1, col + 1)
            items.append(_plain(value, sub, positions, counter, filename))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


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
            if name in env and (env[name] or default is None):
                return env[name]
            if default is not None:
                return default
            problems.append(
                Problem(
                    filename,
                    *_locate(path, positions),
                    _dotted(path),
                    f"${{{name}}} is not set; set it, or give a default: ${{{name}:-value}}",
                )
            )
            return ""

        return _VAR.sub(one, value)

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


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(err: Any, positions: Positions, filename: str) -> Problem:
    loc = _data_path(err["loc"])
    line, col = _locate(loc, positions)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return Problem(filename, line, col, _dotted(loc), f"unknown key{hint}")
    if kind == "missing":
        return Problem(filename, line, col, _dotted(loc), "required key is missing")
    message = str(err["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in {"string_type", "int_type", "bool_type", "float_type", "dict_type", "list_type"}:
        message += f" (got {_show(err.get('input'))})"
    return Problem(filename, line, col, _dotted(loc), message)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _data_path(loc: tuple[Any, ...]) -> Path:
    """Drop pydantic's union-branch labels (`HostPort`, `str`, `int`...) from an error location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part[:1].isupper() or part in _TYPE_LABELS or "[" in part):
            continue
        out.append(part)
    return tuple(out)


_TYPE_LABELS = {"str", "int", "float", "bool", "list", "dict", "constrained-str"}


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
