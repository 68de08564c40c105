"""Score of a mutmut run of testbed/mutants.sh, per module, from the .meta files it leaves.

    .venv/bin/python testbed/mutants_report.py [STAGE...] [--survivors]

STAGE is a mirror folder of testbed/mutants.sh (.mutmut by default); with several (as
testbed/mutants_all.sh passes them), one table covers them all, each module counted in the stage
that mutated it. The score is killed / (every mutant tested):
a mutant no test reaches ("no tests") or that mutmut finds suspicious counts as surviving; a
timeout counts as killed. With --survivors, each surviving
mutant follows as `name: the changed line`, for the report in docs/MUTATIONS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

from mutmut.stats import status_by_exit_code

# mutmut's names, folded into the columns of the report: a timeout or a crash detects the mutant.
COLUMN = {"timeout": "killed", "segfault": "killed", "caught by type check": "killed"}


def status(code: int | None) -> str:
    name = status_by_exit_code[code]
    return "not run" if name == "not checked" else COLUMN.get(name, name)


def main(argv: list[str]) -> int:
    stages = [Path(a) for a in argv if not a.startswith("--")] or [Path(".mutmut")]
    rows: list[tuple[str, Counter[str]]] = []
    survivors: list[tuple[Path, str]] = []
    for stage in stages:
        mutated = _mutated(stage)
        root = stage / "mutants" / "src"
        for meta in sorted(root.rglob("*.py.meta")):
            module = str(meta.relative_to(root / "specctl")).removesuffix(".meta")
            if not any(fnmatch(f"src/specctl/{module}", glob) for glob in mutated):
                continue  # left from an earlier run with other modules
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            if not codes:
                continue
            rows.append((module, Counter(status(c) for c in codes.values())))
            survivors += [
                (stage, k) for k, c in codes.items() if status(c) not in ("killed", "not run")
            ]
    rows.sort()
    total: Counter[str] = Counter()
    print("| module | mutants | killed | survived | no tests | other | not run | score |")
    print("|---|---|---|---|---|---|---|---|")
    for module, counts in rows:
        total.update(counts)
        print(_row(f"`{module}`", counts))
    print(_row("**all**", total))
    if "--survivors" in argv:
        print()
        for stage, name in sorted(survivors, key=lambda x: x[1]):
            print(f"{name}: {_changed_line(stage, name)}")
    return 0


def _mutated(stage: Path) -> list[str]:
    """The only_mutate globs testbed/mutants.sh wrote into the stage's pyproject.toml."""
    config = tomllib.loads((stage / "pyproject.toml").read_text())
    return list(config["tool"]["mutmut"]["only_mutate"])


def _row(name: str, c: Counter[str]) -> str:
    mutants = sum(c.values())
    other = mutants - c["killed"] - c["survived"] - c["no tests"] - c["not run"]
    tested = mutants - c["not run"]
    score = f"{100 * c['killed'] / tested:.1f}%" if tested else "-"
    return (
        f"| {name} | {mutants} | {c['killed']} | {c['survived']} | {c['no tests']} | {other} | "
        f"{c['not run']} | {score} |"
    )


def _changed_line(stage: Path, name: str) -> str:
    out = subprocess.run(
        [str(Path(".venv/bin/mutmut").resolve()), "show", name],
        cwd=stage,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    minus = [
        line[1:].strip()
        for line in out.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    plus = [
        line[1:].strip()
        for line in out.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    return f"`{' / '.join(minus)}` → `{' / '.join(plus)}`"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
