#!/usr/bin/env bash
# Make this machine ready for specctl's demo and tests: Docker engine + Compose v2, the Python
# environment (.venv), and the locally built test images. Idempotent; quick when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"

bash "$here/engine.sh"

# A real image registry for the pull-policy tests (Debian's docker-registry: the CNCF
# distribution registry). Installed only; the tests start it on 127.0.0.1 themselves.
if ! command -v docker-registry >/dev/null 2>&1; then
  echo "testbed: installing docker-registry from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
  # Its packaged service would listen on :5000, every address: never leave it running.
  if [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  else
    /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
    update-rc.d docker-registry disable >/dev/null 2>&1 || true
  fi
fi

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

bash "$here/prometheus.sh"
bash "$here/sshd.sh" >/dev/null
bash "$here/images.sh"
