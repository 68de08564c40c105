#!/usr/bin/env bash
# Minimal re-implementation of the official postgres image entrypoint (the basics only):
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default $POSTGRES_USER),
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), POSTGRES_INITDB_ARGS, PGDATA,
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once after initdb.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }

# `docker run image -c foo=bar` -> postgres -c foo=bar
if [ "${1:-}" = "" ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
# Anything else (psql, pg_dump, bash, ...) runs as-is.
if [ "$1" != postgres ]; then
  exec "$@"
fi

export PGDATA=${PGDATA:-/var/lib/postgresql/data}
export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-}
POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-}

if [ "$(id -u)" = 0 ]; then
  # Fix ownership of the data directory / socket dir, then re-exec as the postgres user.
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA" || true
  chown postgres:postgres /var/run/postgresql
  chmod 2777 /var/run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' + 2>/dev/null || true
  export HOME=/var/lib/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
MSG
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA" 2>/dev/null || true

  log "initializing database cluster in $PGDATA (user $POSTGRES_USER, db $POSTGRES_DB)"
  pwfile=
  initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --pgdata="$PGDATA")
  if [ -n "$POSTGRES_PASSWORD" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb_args+=(--pwfile="$pwfile")
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, like in the official image
  initdb "${initdb_args[@]}" ${POSTGRES_INITDB_ARGS:-} >&2
  [ -n "$pwfile" ] && rm -f "$pwfile"

  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  {
    printf '\n# added by specctl-testbed entrypoint\n'
    printf 'host all all all %s\n' "$auth"
  } >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$auth" = md5 ]; then
    printf "password_encryption = md5\n" >>"$PGDATA/postgresql.conf"
  fi

  # Temporary server on the unix socket only, to create the database and run init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" >&2 <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql)    log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" >&2 ;;
      *)        log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  log "PostgreSQL init process complete; ready for start up."
else
  log "PostgreSQL database directory appears to contain a database; skipping initialization"
fi

exec "$@"
