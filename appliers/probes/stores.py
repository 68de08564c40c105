"""Probes of the data stores: PostgreSQL (connect and query) and Redis (PING, SET/GET/DEL)
(side effects: connections; Redis writes and deletes one key)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from specctl.appliers.probes.target import Failed, Target
from specctl.compiler.exposure import reach_host, url_host
from specctl.compiler.probe_rules import clip, database_login, pg_transient
from specctl.schemas.spec import Probe
from specctl.schemas.units import seconds

if TYPE_CHECKING:  # psycopg and redis take 0.3 s to import: only their probes pay
    import psycopg


def postgres_probe(target: Target, probe: Probe) -> str:
    import psycopg

    spec = target.project.spec
    name = probe.service or (spec.backups.database.service if spec.backups.database else None)
    if name is None:
        raise Failed("no service: name one, or set backups.database")
    svc = target.service(name)
    port = target.host_port(svc)
    user, database, password = database_login(
        spec.backups.database,
        svc.name,
        target.environment(svc),
        color=svc.color or target.color,
        project=spec.project,
    )
    where = f"postgresql://{user}@{url_host(svc.host_ip)}:{port}/{database}"
    conn = _connect(
        target,
        where,
        host=reach_host(svc.host_ip),
        port=port,
        user=user,
        password=password,
        database=database,
        timeout=seconds(probe.timeout),
    )
    try:
        with conn:
            row = conn.execute(probe.query.encode()).fetchone()
    except psycopg.Error as exc:
        raise target.error(where, exc) from None
    answer = clip(repr(row[0]) if row else "no rows", 60)
    return f"{where}: {clip(probe.query, 60)} -> {answer}"


def _connect(
    target: Target,
    where: str,
    *,
    host: str,
    port: int,
    user: str,
    password: str | None,
    database: str,
    timeout: float,
) -> psycopg.Connection[tuple[object, ...]]:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(
                host=host,
                port=port,
                user=user,
                password=password,
                dbname=database,
                connect_timeout=max(2, round(deadline - time.monotonic())),
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            # PostgreSQL images restart the server once after initdb, so a server that is not
            # answering yet is retried until the timeout; a refused login fails at once.
            if not pg_transient(str(exc)) or time.monotonic() + 0.5 > deadline:
                raise target.error(where, exc) from None
            time.sleep(0.5)


def redis_probe(target: Target, probe: Probe) -> str:
    import redis

    if probe.service is None:
        raise Failed("no service: name the Redis service")
    svc = target.service(probe.service)
    port = target.host_port(svc)
    timeout = seconds(probe.timeout)
    client = redis.Redis(
        host=reach_host(svc.host_ip),
        port=port,
        password=target.environment(svc).get("REDIS_PASSWORD") or None,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    key = f"specctl:probe:{uuid.uuid4().hex[:12]}"
    value = uuid.uuid4().hex
    where = f"redis://{url_host(svc.host_ip)}:{port}"
    try:
        if client.ping() is not True:
            raise Failed(f"{where}: PING did not answer PONG")
        client.set(key, value, ex=60)  # expires even if DEL never runs
        got = client.get(key)
        deleted = client.delete(key)
    except redis.RedisError as exc:
        raise target.error(where, exc) from None
    finally:
        client.close()
    if got != value.encode():
        raise Failed(f"{where}: GET {key} returned {got!r}, expected what SET wrote")
    if deleted != 1:
        raise Failed(f"{where}: DEL {key} removed {deleted} keys, expected 1")
    return f"{where}: PING, SET/GET/DEL ok"
