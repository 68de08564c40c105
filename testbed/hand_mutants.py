"""The hand mutations of docs/MUTATIONS.md: apply each to the source, run the test meant to kill
it, restore the file. Prints one line per mutant; exits 1 if one survived or a test fails on
the unmutated code. About a minute; no Docker. Usage: .venv/bin/python testbed/hand_mutants.py"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent


class Mutant(NamedTuple):
    name: str
    file: str
    old: str
    new: str
    test: str


MUTANTS = [
    Mutant(
        "default target of a dangling colour swapped",
        "compiler/active.py",
        '        return active.color\n    return "blue"',
        '        return other_color(active.color)\n    return "blue"',
        "tests/test_active.py::test_default_target",
    ),
    Mutant(
        "host-port range check dropped",
        "compiler/validate.py",
        "        if not 1 <= port <= 65535:",
        "        if False:",
        "tests/test_spec_errors.py::test_bad_spec_message",
    ),
    Mutant(
        "secret-name check case-sensitive",
        "compiler/validate.py",
        'APIKEY)$", re.IGNORECASE)',
        'APIKEY)$")',
        "tests/test_spec_errors.py::test_bad_spec_message",
    ),
    Mutant(
        "owner-only mask loosened to others only",
        "compiler/validate.py",
        "int(managed.mode, 8) & 0o077",
        "int(managed.mode, 8) & 0o007",
        "tests/test_spec_errors.py::test_bad_spec_message",
    ),
    Mutant(
        "changed values inside a list (mounts) ignored by the diff",
        "compiler/diff.py",
        "            path = path[:cut]\n",
        "            if cut < len(path):\n                continue\n",
        "tests/test_diff.py::test_a_changed_mount_is_a_recreate_that_shows_both_mount_lists",
    ),
    Mutant(
        "$ not escaped as $$ in compose files",
        "compiler/compose.py",
        'return value.replace("$", "$$")',
        "return value",
        "tests/test_compile.py::test_a_literal_dollar_reaches_the_container_as_written",
    ),
    Mutant(
        "health-check URL not shell-quoted",
        "compiler/expand.py",
        "{shlex.quote(url)} || wget -q -O /dev/null {shlex.quote(url)}",
        "{url} || wget -q -O /dev/null {url}",
        "tests/test_expand.py::test_the_health_url_is_one_shell_word",
    ),
    Mutant(
        "duration without a unit accepted",
        "schemas/units.py",
        r'_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$")',
        r'_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d)?)+$")',
        "tests/test_spec_errors.py::test_bad_spec_message",
    ),
    Mutant(
        "an upstream's own port ignored",
        "compiler/expand.py",
        "port = upstream.port or service.port",
        "port = service.port",
        "tests/test_expand.py::test_an_upstream_port_wins_over_the_service_port",
    ),
    Mutant(
        "an upstream listing both colours counted as switched",
        "compiler/diff.py",
        "if servers == [upstream.server] and not live.nginx.pending_reload:",
        "if upstream.server in servers and not live.nginx.pending_reload:",
        "tests/test_diff.py::test_an_upstream_on_both_colours_is_switched_to_the_target_alone",
    ),
    Mutant(
        "| not escaped in the Markdown plan",
        "compiler/show/plan.py",
        'return text.replace("|", "\\\\|")',
        "return text",
        "tests/test_diff.py::test_a_pipe_in_a_change_does_not_break_the_markdown_table",
    ),
    Mutant(
        "a path of exactly '..' accepted",
        "compiler/validate.py",
        'if normal == ".." or normal.startswith("../"):',
        'if normal.startswith("../"):',
        "tests/test_spec_errors.py::test_bad_spec_message",
    ),
    Mutant(
        "an upstream listing both colours read as serving one",
        "compiler/active.py",
        "colors.pop() if len(colors) == 1 else None",
        "colors.pop() if len(colors) >= 1 else None",
        "tests/test_active.py::test_an_upstream_listing_both_colours_is_mixed",
    ),
    Mutant(
        "compose volumes in set order (differs between hash seeds)",
        "compiler/compose.py",
        'names = sorted({m.source for s in services for m in s.mounts if m.kind == "volume"})',
        'names = list({m.source for s in services for m in s.mounts if m.kind == "volume"})',
        "tests/test_compile.py::test_compile_is_deterministic_across_processes",
    ),
]


def pytest(*tests: str) -> bool:
    """True when the tests pass."""
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    return subprocess.run(argv, cwd=REPO, capture_output=True).returncode == 0


def killed(mutant: Mutant) -> bool:
    path = REPO / mutant.file
    original = path.read_text()
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.file}: the code of {mutant.name!r} changed; update this list")
    path.write_text(original.replace(mutant.old, mutant.new))
    try:
        return not pytest(mutant.test)
    finally:
        path.write_text(original)


def main() -> int:
    if not pytest(*sorted({m.test for m in MUTANTS})):
        print("the killing tests fail on the unmutated code", file=sys.stderr)
        return 1
    survivors = 0
    for mutant in MUTANTS:
        ok = killed(mutant)
        survivors += not ok
        print(f"{'killed  ' if ok else 'SURVIVED'} {mutant.file}: {mutant.name} ({mutant.test})")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
