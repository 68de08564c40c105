"""`specctl logs`: the output of a service's containers, merged by time or followed (side
effects: Docker API, the terminal)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from specctl.appliers import engine
from specctl.appliers.engine import api
from specctl.appliers.swarm.observe import STACK_LABEL
from specctl.compiler.pick import grep_pattern, split_stamp
from specctl.schemas.errors import ObserveError
from specctl.schemas.live import LiveContainer

Write = Callable[[str], object]


def _label(container: LiveContainer, many: bool, width: int) -> str:
    return f"{container.name or container.id[:12]:<{width}} | " if many else ""


@dataclass(frozen=True)
class LogQuery:
    since: float | None = None  # seconds since the epoch
    tail: int | None = None  # the last N lines of each container
    grep: str | None = None  # a regular expression a line must match
    timestamps: bool = False  # show Docker's time of each line


def show_logs(containers: list[LiveContainer], query: LogQuery, *, write: Write) -> int:
    """Every container's lines so far, merged in time order; the number of lines written."""
    since, tail, timestamps = query.since, query.tail, query.timestamps
    pattern = grep_pattern(query.grep)
    many = len(containers) > 1
    width = max(len(c.name or "") for c in containers)
    rows: list[tuple[str, str]] = []
    for container in containers:
        raw = _read(container, since=since, tail=tail)
        label = _label(container, many, width)
        for line in raw.splitlines():
            stamp, text = split_stamp(line)
            if pattern is None or pattern.search(text):
                rows.append((stamp, label + (f"{stamp} " if timestamps else "") + text))
    rows.sort(key=lambda row: row[0])  # RFC 3339 with nanoseconds in UTC: text order is time
    for _, text in rows:
        write(text + "\n")
    return len(rows)


def _read(container: LiveContainer, *, since: float | None, tail: int | None) -> str:
    try:
        raw = _logs(
            api(),
            container,
            stdout=True,
            stderr=True,
            timestamps=True,
            since=None if since is None else max(since, 1.0),
            tail="all" if tail is None else tail,
        )
        if not isinstance(raw, (bytes, str)):  # a Swarm service's logs come as chunks
            raw = b"".join(raw)
    except engine.DockerException as exc:
        raise ObserveError(
            f"docker: cannot read the logs of {container.name} ({str(exc).splitlines()[0][:200]})"
        ) from None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _logs(client: Any, container: LiveContainer, **kwargs: Any) -> Any:
    """A container's logs, or on a Swarm a stack service's (every task, wherever it runs)."""
    if STACK_LABEL in container.labels:
        return client.service_logs(container.id, **kwargs)
    return client.logs(container.id, **kwargs)


def follow_logs(
    containers: list[LiveContainer],
    query: LogQuery,
    *,
    write: Write,
    stop: threading.Event | None = None,
) -> None:
    """New lines as the containers write them (one reader per container), until every stream
    ends (the containers stopped) or `stop` is set; Ctrl-C ends it in the terminal."""
    since, tail, timestamps = query.since, query.tail, query.timestamps
    pattern = grep_pattern(query.grep)
    many = len(containers) > 1
    width = max(len(c.name or "") for c in containers)
    lock = threading.Lock()
    # Its own connection with no read timeout to speak of: a quiet service writes no lines.
    client = engine.new_client(86400)
    streams = []
    for container in containers:
        try:
            stream = _logs(
                client,
                container,
                stdout=True,
                stderr=True,
                stream=True,
                follow=True,
                timestamps=True,
                tail="all" if tail is None else tail,
                since=None if since is None else max(since, 1.0),
            )
            streams.append((container, stream))
        except engine.DockerException as exc:
            raise ObserveError(
                f"docker: cannot follow the logs of {container.name} "
                f"({str(exc).splitlines()[0][:200]})"
            ) from None

    def pump(container: LiveContainer, stream: Iterable[bytes]) -> None:
        label = _label(container, many, width)
        pending = b""
        try:
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    stamp, text = split_stamp(raw.decode("utf-8", "replace"))
                    if pattern is None or pattern.search(text):
                        with lock:
                            write(label + (f"{stamp} " if timestamps else "") + text + "\n")
        except Exception:  # the stream ends when the container stops or the client closes
            return

    threads = [
        threading.Thread(target=pump, args=pair, daemon=True, name=f"logs {pair[0].name}")
        for pair in streams
    ]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads) and not (stop is not None and stop.is_set()):
            for thread in threads:
                thread.join(timeout=0.2)
    finally:
        client.close()
