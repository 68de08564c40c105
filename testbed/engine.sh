#!/usr/bin/env bash
# Make sure a Docker engine and the Compose v2 plugin are available; install them from Debian if not.
# Idempotent: does nothing when `docker info` and `docker compose version` already work.
set -euo pipefail

log() { printf 'testbed: %s\n' "$*" >&2; }

have_engine() { docker info >/dev/null 2>&1; }
have_compose() { docker compose version >/dev/null 2>&1; }

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
}

install_engine() {
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io from Debian"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  if ! have_engine; then
    log "starting dockerd"
    mkdir -p /var/log
    nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
      have_engine && break
      sleep 1
    done
    have_engine || { log "dockerd did not come up; see /var/log/dockerd.log"; tail -n 20 /var/log/dockerd.log >&2; exit 1; }
  fi
}

install_compose() {
  log "installing the Compose v2 plugin from Debian trixie (download only)"
  local list=/etc/apt/sources.list.d/specctl-trixie.list
  local work
  work=$(mktemp -d)
  echo "deb http://deb.debian.org/debian trixie main" >"$list"
  # Only this list, so nothing else is upgraded from trixie.
  apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  (cd "$work" && apt-get download -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- docker-compose/trixie)
  rm -f "$list"
  apt-get update -qq || true
  dpkg -x "$work"/docker-compose_*.deb "$work/root"
  mkdir -p /usr/libexec/docker/cli-plugins
  cp "$work/root/usr/libexec/docker/cli-plugins/docker-compose" /usr/libexec/docker/cli-plugins/docker-compose
  chmod 0755 /usr/libexec/docker/cli-plugins/docker-compose
  rm -rf "$work"
}

have_engine || install_engine
have_compose || install_compose
docker compose version >&2
