"""A base nginx config that includes the files holding its upstreams: relative `include`s are
read beside the base and written into the generated config in place of the include line, so
the managed upstreams in them change per colour and each colour's config is one file, switched
atomically. Absolute includes (`/etc/nginx/mime.types`) are the container's and stay as they
are. Pure: the caller reads the files."""

from __future__ import annotations

import re
from dataclasses import dataclass

from specctl.compiler.nginx_walk import walk

Origin = tuple[tuple[str, int], ...]  # per line of the inlined text: (file, line) it came from


@dataclass(frozen=True)
class Include:
    line: int  # 1-based line of the base
    pattern: str  # as written: a file, or a glob such as conf.d/*.conf


def relative_includes(text: str, *, filename: str) -> list[Include]:
    """`include` statements with a relative path that stand alone on their line."""
    lines = text.removeprefix("\ufeff").split("\n")
    found: list[Include] = []
    for event in walk(text, filename=filename):
        if event.kind != "statement" or event.directive != "include" or len(event.words) != 2:
            continue
        pattern, line = event.words[1]
        alone = re.fullmatch(
            r"\s*include\s+([\"']?)" + re.escape(pattern) + r"\1\s*;\s*(#.*)?\r?",
            lines[line - 1],
        )
        if not pattern.startswith("/") and alone:
            found.append(Include(line, pattern))
    return found


def inline(
    base: str, files: dict[int, list[tuple[str, str]]], *, base_name: str
) -> tuple[str, Origin]:
    """`base` with each include line in `files` (its line -> [(shown name, text)], in the
    order nginx reads them) replaced by a comment naming it and the files' lines."""
    out: list[str] = []
    origin: list[tuple[str, int]] = []
    for number, line in enumerate(base.removeprefix("\ufeff").split("\n"), start=1):
        included = files.get(number)
        if included is None:
            out.append(line)
            origin.append((base_name, number))
            continue
        indent = line[: len(line) - len(line.lstrip())]
        end = "\r" if line.endswith("\r") else ""
        names = ", ".join(name for name, _ in included) or "no file"
        out.append(f"{indent}# {line.strip()}  (specctl: inlined from {names}){end}")
        origin.append((base_name, number))
        for name, text in included:
            body = text.removeprefix("\ufeff")
            for index, part in enumerate(body.removesuffix("\n").split("\n"), start=1):
                out.append(part)
                origin.append((name, index))
    return "\n".join(out), tuple(origin)


def relocate(message: str, base_name: str, origin: Origin) -> str:
    """A message about `base_name:N` of the inlined text, about the file and line it came from."""
    if not origin:
        return message

    def place(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if 1 <= number <= len(origin):
            name, line = origin[number - 1]
            return f"{name}:{line}"
        return match.group(0)

    return re.sub(re.escape(base_name) + r":(\d+)", place, message)
