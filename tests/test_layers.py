"""The layering of STYLE.md, read from the source with `ast`: imports flow schemas ← compiler ←
appliers ← cli, and schemas/, compiler/ and importers/ stay pure (no Docker, processes, network,
clock or environment)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Each top-level folder and the package it is mapped to (package-dir in pyproject.toml).
PACKAGES = {
    "schemas": "specctl.schemas",
    "compiler": "specctl.compiler",
    "importers": "specctl.importers",
    "appliers": "specctl.appliers",
    "cli": "specctl",
}

# cli/ is the root package `specctl`; its modules (specctl.cli, specctl.commands, ...) are the CLI
# layer. Its __init__ only holds the version and is imported with any submodule anyway.
CLI_MODULES = tuple(
    f"specctl.{path.stem}"
    for path in sorted((REPO / "cli").glob("*.py"))
    if path.stem != "__init__"
)

# folder -> the packages and modules it must not import, and why.
FORBIDDEN: dict[str, dict[str, str]] = {
    "schemas": {
        "specctl.compiler": "schemas must not import the compiler",
        "specctl.importers": "schemas must not import the importers",
        "specctl.appliers": "schemas must not import the appliers",
        **{m: "schemas must not import the CLI" for m in CLI_MODULES},
    },
    "compiler": {
        "specctl.importers": "the compiler must not import the importers",
        "specctl.appliers": "the compiler must not import the appliers",
        **{m: "the compiler must not import the CLI" for m in CLI_MODULES},
    },
    "importers": {
        "specctl.appliers": "the importers must not import the appliers",
        **{m: "the importers must not import the CLI" for m in CLI_MODULES},
    },
    "appliers": {m: "the appliers must not import the CLI" for m in CLI_MODULES},
}

PURE = ("schemas", "compiler", "importers")
IMPURE_MODULES = ("docker", "python_on_whales", "subprocess", "time", "httpx", "psycopg")
ENV_NAMES = ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv")


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what} ({self.why})"


def module_name(folder: str, path: Path) -> str:
    """The name `path` is imported as: compiler/show/plan.py -> specctl.compiler.show.plan."""
    parts = path.relative_to(REPO / folder).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGES[folder], *parts))


def imported(
    tree: ast.AST, *, module: str, is_package: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every module an import statement names, as (statement, absolute dotted name); `from a import
    b` yields a.b as well as a, since b may be a module. Relative imports are made absolute."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node, base
            for alias in node.names:
                yield node, f"{base}.{alias.name}"


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(folder: str, path: Path, source: str) -> list[Violation]:
    rel = path.relative_to(REPO).as_posix()
    tree = ast.parse(source, filename=rel)
    found: dict[tuple[int, str, str], Violation] = {}
    module = module_name(folder, path)
    for node, name in imported(tree, module=module, is_package=path.name == "__init__.py"):
        for prefix, why in FORBIDDEN.get(folder, {}).items():
            if within(name, prefix):
                statement = ast.unparse(node)
                found.setdefault(
                    (node.lineno, statement, prefix), Violation(rel, node.lineno, statement, why)
                )
    return list(found.values())


def purity_violations(folder: str, path: Path, source: str) -> list[Violation]:
    rel = path.relative_to(REPO).as_posix()
    tree = ast.parse(source, filename=rel)
    why = f"{folder}/ is pure"
    out: list[Violation] = []
    os_names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "os":
                    os_names.add(alias.asname or "os")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] in IMPURE_MODULES for alias in node.names):
                out.append(Violation(rel, node.lineno, ast.unparse(node), why))
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            root = node.module.split(".")[0]
            if root in IMPURE_MODULES or (
                node.module == "os" and any(alias.name in ENV_NAMES for alias in node.names)
            ):
                out.append(Violation(rel, node.lineno, ast.unparse(node), why))
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            what = f"reads {node.value.id}.{node.attr}"
            out.append(Violation(rel, node.lineno, what, why))
    return out


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def report(violations: list[Violation]) -> str:
    return "\n".join(str(v) for v in sorted(violations, key=lambda v: (v.file, v.line, v.what)))


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_flow_one_way(folder: str) -> None:
    files = sources(folder)
    assert files, f"{folder}/ has no Python files: did the layout change?"
    violations = [
        v for path in files for v in layer_violations(folder, path, path.read_text("utf-8"))
    ]
    assert not violations, "imports against the layering:\n" + report(violations)


@pytest.mark.parametrize("folder", PURE)
def test_pure_layers_have_no_side_effects(folder: str) -> None:
    files = sources(folder)
    assert files, f"{folder}/ has no Python files: did the layout change?"
    violations = [
        v for path in files for v in purity_violations(folder, path, path.read_text("utf-8"))
    ]
    assert not violations, "side effects in a pure layer:\n" + report(violations)


def test_cli_modules_are_known() -> None:
    assert {"specctl.cli", "specctl.commands", "specctl.apply_cmd"} <= set(CLI_MODULES)


# The checkers themselves: each snippet, placed at the given file, gives exactly this report.
CAUGHT = [
    (
        "compiler/x.py",
        "from specctl.appliers.lock import lock\n",
        "1: from specctl.appliers.lock import lock (the compiler must not import the appliers)",
    ),
    (
        "compiler/x.py",
        "def f():\n    import specctl.commands\n",
        "2: import specctl.commands (the compiler must not import the CLI)",
    ),
    (
        "compiler/x.py",
        "from specctl import apply_cmd\n",
        "1: from specctl import apply_cmd (the compiler must not import the CLI)",
    ),
    (
        "compiler/x.py",
        "from ..appliers import lock\n",
        "1: from ..appliers import lock (the compiler must not import the appliers)",
    ),
    (
        "compiler/show/x.py",
        "from ...importers import legacy\n",
        "1: from ...importers import legacy (the compiler must not import the importers)",
    ),
    (
        "schemas/x.py",
        "from specctl.compiler import diff\n",
        "1: from specctl.compiler import diff (schemas must not import the compiler)",
    ),
    (
        "importers/x.py",
        "import specctl.appliers.project\n",
        "1: import specctl.appliers.project (the importers must not import the appliers)",
    ),
    (
        "appliers/x.py",
        "from specctl.cli import project\n",
        "1: from specctl.cli import project (the appliers must not import the CLI)",
    ),
    (
        "appliers/checks/x.py",
        "from ... import check_cmd\n",
        "1: from ... import check_cmd (the appliers must not import the CLI)",
    ),
]

CAUGHT_IMPURE = [
    ("compiler/x.py", "import subprocess\n", "1: import subprocess (compiler/ is pure)"),
    (
        "compiler/x.py",
        "from time import monotonic\n",
        "1: from time import monotonic (compiler/ is pure)",
    ),
    ("schemas/x.py", "import docker.errors\n", "1: import docker.errors (schemas/ is pure)"),
    (
        "compiler/x.py",
        "from python_on_whales import docker\n",
        "1: from python_on_whales import docker (compiler/ is pure)",
    ),
    ("importers/x.py", "import httpx\n", "1: import httpx (importers/ is pure)"),
    ("compiler/x.py", "import psycopg as pg\n", "1: import psycopg as pg (compiler/ is pure)"),
    (
        "compiler/x.py",
        "import json, time, subprocess\n",
        "1: import json, time, subprocess (compiler/ is pure)",
    ),
    (
        "compiler/x.py",
        "import os\nX = os.environ['A']\n",
        "2: reads os.environ (compiler/ is pure)",
    ),
    (
        "compiler/x.py",
        "import os as o\n\ndef f():\n    return o.getenv('A')\n",
        "4: reads o.getenv (compiler/ is pure)",
    ),
    ("compiler/x.py", "from os import environ\n", "1: from os import environ (compiler/ is pure)"),
]


@pytest.mark.parametrize(("where", "source", "line"), CAUGHT)
def test_the_layer_check_catches(where: str, source: str, line: str) -> None:
    folder = where.split("/")[0]
    assert report(layer_violations(folder, REPO / where, source)) == f"{where}:{line}"


@pytest.mark.parametrize(("where", "source", "line"), CAUGHT_IMPURE)
def test_the_purity_check_catches(where: str, source: str, line: str) -> None:
    folder = where.split("/")[0]
    assert report(purity_violations(folder, REPO / where, source)) == f"{where}:{line}"


def test_allowed_imports_pass() -> None:
    source = (
        "import os.path\nimport posixpath\nfrom specctl.schemas.spec import Spec\n"
        "from specctl.compiler.load import load_spec\nfrom specctl import __version__\n"
        "P = os.path.join('a', 'b')\n"
    )
    assert layer_violations("compiler", REPO / "compiler/x.py", source) == []
    assert purity_violations("compiler", REPO / "compiler/x.py", source) == []
