"""Find and read a spec and what it refers to (side effects: reads files)."""

from __future__ import annotations

import codecs
import difflib
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from specctl.compiler.compile import Inputs, compile_spec, desired_for, digest
from specctl.compiler.load import MAX_SPEC_BYTES, dotted, load_spec, parse_yaml
from specctl.compiler.nginx_include import Origin, inline, relative_includes
from specctl.compiler.validate import expand_path
from specctl.schemas.desired import Desired
from specctl.schemas.errors import CompileError, Problem, SpecctlError, SpecError
from specctl.schemas.spec import COLORS, Spec


@dataclass(frozen=True)
class Project:
    spec: Spec
    spec_path: Path  # absolute
    root: Path  # absolute project root
    generated: Path  # absolute generated/ folder
    inputs: Inputs
    _desired: dict[str, Desired] = field(default_factory=dict, compare=False, repr=False)

    @property
    def out_dir(self) -> Path:
        return self.generated / self.spec.project

    @property
    def digest(self) -> str:
        return digest(self.spec, self.inputs)

    def desired(self, color: str) -> Desired:
        """The spec expanded for a colour, built services tagged by their build context as it
        is now (computed once per process)."""
        if color not in self._desired:
            from specctl.appliers.images import tagged

            self._desired[color] = tagged(self.root, desired_for(self.spec, color, self.inputs))
        return self._desired[color]

    def expanded(self, color: str) -> Desired:
        """The spec expanded for a colour as written: built images not tagged, so nothing but
        the spec and its base are read (validate, compile)."""
        return desired_for(self.spec, color, self.inputs)

    def path(self, relative: str) -> Path:
        """A spec path (relative to the project root, or absolute) on this host."""
        return Path(relative) if relative.startswith("/") else self.root / relative

    @property
    def lock_file(self) -> Path:
        """One apply, rollback, restore or permission fix at a time."""
        return self.path(self.spec.state_dir) / "lock"

    def compose_file(self, which: str) -> Path:
        return self.out_dir / f"compose.{which}.yml"

    def nginx_file(self, color: str) -> Path:
        return self.out_dir / f"nginx.{color}.conf"

    def compile(self) -> dict[str, str]:
        return compile_spec(self.spec, self.inputs)


def default_generated(spec_path: Path) -> Path:
    folder = spec_path.parent
    return folder.parent / "generated" if folder.name == "config" else folder / "generated"


def read_text(path: Path, *, shown: str, what: str = "the spec") -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)  # bounded: -f /dev/zero must not fill memory
    except FileNotFoundError:
        raise SpecctlError(
            f"{shown}: no such file",
            hint="name the spec with -f FILE (default: config/spec.yaml in this folder)"
            if what == "the spec"
            else None,
        ) from None
    except OSError as exc:
        raise SpecError([Problem(shown, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        message = (
            f"file is larger than {MAX_SPEC_BYTES // 2**20} MiB; refused unread (is it {what}?)"
        )
        raise SpecError([Problem(shown, 1, 1, "", message)])
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        message = f"UTF-16 text (it starts with a byte order mark); save {what} as UTF-8"
        raise SpecError([Problem(shown, 1, 1, "", message)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            [Problem(shown, line, column, "", f"not valid UTF-8 text; save {what} as UTF-8")]
        ) from None


def load_project(spec_path: Path, *, generated: Path | None = None) -> Project:
    spec_path = spec_path.absolute()
    shown = shown_path(spec_path)
    if spec_path.is_dir():
        raise SpecError([Problem(shown, 1, 1, "", "is a folder, not a spec file")])
    text = read_text(spec_path, shown=shown)
    spec = load_spec(text, filename=shown, env=os.environ)
    root = Path(os.path.normpath(spec_path.parent / spec.root))
    _refuse_outside(spec, text, shown=shown, spec_dir=spec_path.parent, root=root)
    generated = (generated or default_generated(spec_path)).absolute()
    base_text = None
    origin: Origin = ()
    if spec.proxy.base is not None:
        base_path = Path(os.path.normpath(spec_path.parent / spec.proxy.base))
        try:
            base_path.open("rb").close()
        except OSError as exc:
            message = f"cannot read {spec.proxy.base!r} ({exc.strerror})"
            raise located(
                text,
                shown,
                {("proxy", "base"): message},
                hint="proxy.base is relative to the spec file",
            ) from None
        base_text = read_text(base_path, shown=shown_path(base_path), what="the nginx config")
        base_text, origin = with_includes(base_text, base_path, spec.proxy.base, root=root)
    inputs = Inputs(
        spec_name=os.path.relpath(spec_path, generated.parent),
        root_ref=os.path.relpath(root, generated / spec.project),
        base_nginx=base_text,
        base_origin=origin,
    )
    use_engine(spec)
    return Project(spec=spec, spec_path=spec_path, root=root, generated=generated, inputs=inputs)


def use_engine(spec: Spec) -> None:
    """Talk to the spec's engine from now on: a Swarm spec may name its manager and nodes."""
    from specctl.appliers import engine

    if spec.engine.kind == "swarm":
        engine.configure(swarm=True, host=spec.engine.host, nodes=spec.engine.nodes)
    else:
        engine.configure(swarm=False)


def with_includes(text: str, path: Path, shown: str, *, root: Path) -> tuple[str, Origin]:
    """The base with the files its relative includes name (resolved beside it, globs sorted
    as nginx sorts them) written in; a pattern that matches nothing here stays as written."""
    try:
        includes = relative_includes(text, filename=shown)
    except CompileError:
        return text, ()  # compile reports it
    files: dict[int, list[tuple[str, str]]] = {}
    inside = os.path.realpath(root)
    for include in includes:
        matches = sorted(glob.glob(str(path.parent / include.pattern)))
        found = []
        for match in matches:
            real = os.path.realpath(match)
            if os.path.commonpath([real, inside]) != inside or not os.path.isfile(real):
                raise CompileError(
                    f"{shown}:{include.line}: include {include.pattern} resolves to {real}, "
                    "outside the project root (or not a file)",
                    hint="keep included files inside the project",
                )
            name = os.path.relpath(match, path.parent)
            found.append((name, read_text(Path(match), shown=name, what="the nginx config")))
        if found:
            files[include.line] = found
    if not files:
        return text, ()
    return inline(text, files, base_name=shown)


def _refuse_outside(spec: Spec, text: str, *, shown: str, spec_dir: Path, root: Path) -> None:
    """proxy.base and relative env files must stay inside the project root once `..` and
    symlinks are resolved: the base is copied into generated/ (which is committed) and into the
    live nginx config, and a link out of the project should not pass for a project file."""
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    if spec.proxy.base is not None:
        found.append((("proxy", "base"), spec.proxy.base, str(spec_dir / spec.proxy.base)))
    for name, service in spec.services.items():
        for index, rel in enumerate(service.env_files):
            if not rel.startswith("/"):
                where: tuple[str | int, ...] = ("services", name, "env_files", index)
                found += [(where, rel, str(root / expand_path(rel, c))) for c in COLORS]
    inside = os.path.realpath(root)
    problems: dict[tuple[str | int, ...], str] = {}
    for where, written, path in found:
        real = os.path.realpath(path)
        if where not in problems and os.path.commonpath([real, inside]) != inside:
            problems[where] = (
                f"{written!r} resolves to {real}, outside the project root {inside}; "
                "keep it inside the project"
            )
    if problems:
        raise located(
            text,
            shown,
            problems,
            hint="keep the file inside the project (a symlink that leads out does not count); "
            "an env file kept elsewhere can be named by its absolute path",
        )


def located(
    text: str, shown: str, problems: dict[tuple[str | int, ...], str], *, hint: str
) -> SpecError:
    """A SpecError for problems found after loading, each at the line and column of its key."""
    _, positions = parse_yaml(text, filename=shown)
    located = [
        Problem(shown, *positions.get(where, (1, 1)), dotted(where), message)
        for where, message in problems.items()
    ]
    return SpecError(sorted(located, key=lambda p: (p.line, p.column)), hint=hint)


def shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def write_generated(project: Project, files: dict[str, str]) -> list[str]:
    """Write files under generated/ atomically and drop stale ones; return what changed."""
    changed = []
    for rel, text in files.items():
        target = project.generated / rel
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        changed.append(rel)
    for stale in stale_files(project, files):
        (project.generated / stale).unlink()
        changed.append(stale)
    return changed


def stale_files(project: Project, files: dict[str, str]) -> list[str]:
    """Files under generated/<project>/ that specctl wrote once and no longer produces. A file
    without specctl's header is someone else's: never touched."""
    if not project.out_dir.is_dir():
        return []
    present = {
        str(p.relative_to(project.generated)) for p in project.out_dir.rglob("*") if p.is_file()
    }
    return sorted(
        rel for rel in present - set(files) if _written_by_specctl(project.generated / rel)
    )


def _written_by_specctl(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(400)
    except (OSError, UnicodeDecodeError):
        return False
    return "Generated by specctl from" in head or '"_generated": "by specctl from' in head


def check_generated(project: Project, files: dict[str, str]) -> str:
    """A unified diff between generated/ and what the spec compiles to ('' when identical)."""
    chunks: list[str] = []
    for rel, text in files.items():
        target = project.generated / rel
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            chunks.extend(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"generated/{rel}" if target.exists() else "/dev/null",
                    tofile=f"compiled/{rel}",
                )
            )
    for stale in stale_files(project, files):
        chunks.append(
            f"--- generated/{stale}\n+++ /dev/null\n@@ stale file: not produced by the spec @@\n"
        )
    return "".join(chunks)


def schema_json() -> str:
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "specctl spec"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
