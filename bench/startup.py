"""Start-up: the whole-process wall time of the commands that do no Docker work (`--version`,
`--help`, `validate`, `compile --check`) next to the bare interpreter (side effects: processes).
No Docker needed. Run from the repository root:

    .venv/bin/python bench/startup.py [--reps N]   # same as bench/run.py --only startup
"""

from __future__ import annotations

import sys
from typing import Any

from common import PYTHON, median, run

# label → argv after `python`; the labels are the table's rows, in this order
COMMANDS: dict[str, list[str]] = {
    "python -c pass (the interpreter alone)": ["-c", "pass"],
    "specctl --version": ["-m", "specctl", "--version"],
    "specctl --help": ["-m", "specctl", "--help"],
    "specctl -f config/demo.yaml validate": ["-m", "specctl", "-f", "config/demo.yaml", "validate"],
    "specctl -f config/spec.yaml compile --check": [
        "-m",
        "specctl",
        "-f",
        "config/spec.yaml",
        "compile",
        "--check",
    ],
}
IMPORTS = ["specctl.cli", "specctl.appliers.planning"]


def imported_modules(module: str) -> int:
    """How many modules a fresh interpreter holds after importing `module` (a stable figure, unlike
    the times)."""
    code = f"import sys, {module}; print(len(sys.modules))"
    return int(run([PYTHON, "-c", code]).ok().out.strip().splitlines()[-1])


def bench_startup(reps: int) -> dict[str, Any]:
    """Each command `reps` times, round robin so that a noisy moment hits every row alike."""
    seconds: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(reps):
        for label, argv in COMMANDS.items():
            seconds[label].append(run([PYTHON, *argv]).ok().seconds)
    return {
        "rows": [
            {"command": label, "seconds": times, "median_s": median(times)}
            for label, times in seconds.items()
        ],
        "modules": {module: imported_modules(module) for module in IMPORTS},
    }


if __name__ == "__main__":
    from run import main

    sys.exit(main(["--only", "startup", *sys.argv[1:]]))
