#!/usr/bin/env python3
"""One-off migration command of the app double.

Connects to $DATABASE_URL (postgresql://user:pass@host:port/db), creates the table
specctl_migrations if missing and records APP_VERSION. Retries the connection for up to
APP_MIGRATE_CONNECT_TIMEOUT seconds (default 20). APP_MIGRATE_FAIL=1 simulates a failed
migration: prints an error and exits 1 without touching the database.
"""
import os
import sys
import time


def env(name, default):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def main():
    version = env("APP_VERSION", "0.0")
    if truthy(env("APP_MIGRATE_FAIL", "0")):
        print(f"migrate: ERROR: simulated migration failure for version {version} (APP_MIGRATE_FAIL=1); "
              "database not touched", file=sys.stderr, flush=True)
        return 1
    url = env("DATABASE_URL", "")
    if not url:
        print("migrate: ERROR: DATABASE_URL is not set", file=sys.stderr, flush=True)
        return 1

    import psycopg2
    from psycopg2.extensions import parse_dsn

    try:
        where = "{host}:{port}/{dbname}".format(**{"host": "?", "port": 5432, "dbname": "?", **parse_dsn(url)})
    except psycopg2.ProgrammingError as exc:
        print(f"migrate: ERROR: invalid DATABASE_URL: {exc}", file=sys.stderr, flush=True)
        return 1

    timeout = float(env("APP_MIGRATE_CONNECT_TIMEOUT", "20"))
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            conn = psycopg2.connect(url, connect_timeout=3)
            break
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            if time.monotonic() >= deadline or "password authentication failed" in reason:
                print(f"migrate: ERROR: could not connect to {where} (gave up after {attempt} attempt(s)): {reason}",
                      file=sys.stderr, flush=True)
                return 1
            print(f"migrate: waiting for {where} (attempt {attempt}): {reason}", file=sys.stderr, flush=True)
            time.sleep(1)

    try:
        with conn:
            with conn.cursor() as cur:
                # Serialize concurrent migrations (CREATE TABLE IF NOT EXISTS can race otherwise).
                cur.execute("SELECT pg_advisory_xact_lock(727274)")
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS specctl_migrations ("
                    " id serial PRIMARY KEY,"
                    " version text,"
                    " applied_at timestamptz DEFAULT now())"
                )
                cur.execute("INSERT INTO specctl_migrations (version) VALUES (%s) RETURNING id", (version,))
                row_id = cur.fetchone()[0]
    except psycopg2.Error as exc:
        print(f"migrate: ERROR: migration failed: {str(exc).strip()}", file=sys.stderr, flush=True)
        return 1
    finally:
        conn.close()
    print(f"migrate: applied version {version} on {where} (specctl_migrations.id={row_id})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
