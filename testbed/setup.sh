#!/usr/bin/env bash
# Make this machine ready for specctl's demo and tests: Docker engine + Compose v2, the Python
# environment (.venv), and the locally built test images. Idempotent; quick when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"

bash "$here/engine.sh"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.specctl-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "testbed: installing specctl and its pinned dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
# Byte-compile specctl's own modules: an editable install leaves them as sources, and where
# PYTHONDONTWRITEBYTECODE is set (this test bed's machine) every command would compile them
# again (0.13 s of each start-up). Up-to-date files are skipped.
.venv/bin/python -m compileall -q cli schemas compiler appliers importers >/dev/null

bash "$here/images.sh"
