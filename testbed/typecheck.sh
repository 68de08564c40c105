#!/usr/bin/env bash
# mypy --strict over the specctl package. The folders are mapped into `specctl` at install time,
# which mypy cannot follow, so mirror that mapping with symlinks under .typecheck/.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .typecheck && mkdir -p .typecheck/specctl
for f in cli/*.py; do ln -s "../../$f" ".typecheck/specctl/$(basename "$f")"; done
for d in schemas compiler appliers importers templates; do ln -s "../../$d" ".typecheck/specctl/$d"; done
cd .typecheck && ../.venv/bin/python -m mypy --config-file ../pyproject.toml -p specctl
