#!/usr/bin/env bash
# Like the official redis entrypoint: `docker run img --appendonly yes` -> redis-server ...,
# defaults from /usr/local/etc/redis/redis.conf unless a .conf file is given, runs as user redis.
set -euo pipefail

if [ "${1:-}" = "" ] || [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
  shift
  if [ "${1:-}" = "" ] || [ "${1%.conf}" = "$1" ]; then
    set -- /usr/local/etc/redis/redis.conf "$@"
  fi
  set -- redis-server "$@"
  if [ "$(id -u)" = 0 ]; then
    find /data \! -user redis -exec chown redis:redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi

exec "$@"
