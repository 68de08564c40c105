"""A steady HTTP load on loopback for zero-downtime tests and benchmarks (side effects: network).

Two client kinds: a new connection per request, or a pool of keep-alive connections that, like a
browser, retries once when a reused idle connection is closed before any response arrives.
Bounded: it stops after `seconds` or `max_requests`, whichever comes first, and only talks to
the address it is given: 127.0.0.1 unless told (a Swarm test bed's edge node has its own).
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Sample:
    start: float
    latency: float
    ok: bool
    status: int
    color: str
    error: str = ""


@dataclass
class Report:
    samples: list[Sample] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.samples)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    def latencies(self, start: float | None = None, end: float | None = None) -> list[float]:
        return sorted(
            s.latency
            for s in self.samples
            if s.ok and (start is None or s.start >= start) and (end is None or s.start <= end)
        )

    def percentile(self, q: float, start: float | None = None, end: float | None = None) -> float:
        values = self.latencies(start, end)
        if not values:
            return 0.0
        index = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
        return values[index]

    @property
    def max_latency(self) -> float:
        values = self.latencies()
        return values[-1] if values else 0.0

    @property
    def longest_outage(self) -> float:
        """The longest stretch in which every request that started in it failed."""
        longest = 0.0
        run_start: float | None = None
        for sample in sorted(self.samples, key=lambda s: s.start):
            if not sample.ok:
                if run_start is None:
                    run_start = sample.start
                longest = max(longest, sample.start + sample.latency - run_start)
            else:
                run_start = None
        return longest

    def colors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.samples:
            if s.ok:
                out[s.color] = out.get(s.color, 0) + 1
        return out

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.samples:
            if not s.ok:
                key = s.error or f"HTTP {s.status}"
                out[key] = out.get(key, 0) + 1
        return out

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.total,
            "failed": self.failed,
            "longest_outage_s": round(self.longest_outage, 3),
            "p50_ms": round(self.percentile(50) * 1000, 2),
            "p99_ms": round(self.percentile(99) * 1000, 2),
            "max_ms": round(self.max_latency * 1000, 2),
            "colors": self.colors(),
            "errors": self.errors(),
        }


class _Closed(Exception):
    """The server closed a connection before sending any byte of a response."""


async def _request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    path: str,
    keep_alive: bool,
    host: str = "localhost",
    cookie: str | None = None,
) -> tuple[int, str]:
    connection = "keep-alive" if keep_alive else "close"
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: {connection}\r\n{extra}\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n") if keep_alive else await _read_head(reader)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    return status, headers.get("x-app-color", "")


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _Closed() from None
        raise


class Load:
    """Run in a background thread: `with Load(port, ...) as load: ...; load.report`."""

    def __init__(
        self,
        port: int,
        *,
        path: str = "/",
        rate: float = 200.0,
        keep_alive: bool = False,
        connections: int = 16,
        seconds: float = 60.0,
        max_requests: int = 100_000,
        timeout: float = 5.0,
        tls_host: str | None = None,
        cookie: str | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        """`tls_host`: speak HTTPS, asking for this site name (SNI and Host); the
        certificate is not verified (a test bed's certificates are self-signed). `cookie`:
        sent with every request (`name=value`)."""
        self.port, self.path, self.rate = port, path, rate
        self.address = address
        self.host = tls_host or "localhost"
        self.tls: ssl.SSLContext | None = None
        if tls_host is not None:
            self.tls = ssl.create_default_context()
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE
        self.keep_alive, self.connections = keep_alive, connections
        self.seconds, self.max_requests, self.timeout = seconds, max_requests, timeout
        self.cookie = cookie
        self.report = Report()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Report:
        self._stop.set()
        self._thread.join(self.timeout + 10)
        return self.report

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._idle = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        interval = 1.0 / self.rate
        sent = 0
        while not self._stop.is_set() and sent < self.max_requests:
            if time.monotonic() - start > self.seconds:
                break
            task = asyncio.create_task(self._one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            next_at = start + sent * interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout + 1)
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            await _close(writer)

    async def _one(self) -> None:
        began = time.monotonic()
        wall = time.time()
        try:
            status, color = await asyncio.wait_for(self._attempt(), self.timeout)
            ok = 200 <= status < 500 and status != 0
            self.report.samples.append(
                Sample(
                    wall, time.monotonic() - began, ok, status, color, "" if ok else "bad status"
                )
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, _Closed, ValueError) as exc:
            self.report.samples.append(
                Sample(wall, time.monotonic() - began, False, 0, "", type(exc).__name__)
            )

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.tls is None:
            return await asyncio.open_connection(self.address, self.port)
        return await asyncio.open_connection(
            self.address, self.port, ssl=self.tls, server_hostname=self.host
        )

    async def _attempt(self) -> tuple[int, str]:
        if not self.keep_alive:
            reader, writer = await self._connect()
            try:
                return await _request(reader, writer, self.path, False, self.host, self.cookie)
            finally:
                await _close(writer)
        assert self._idle is not None
        reused = not self._idle.empty()
        reader, writer = self._idle.get_nowait() if reused else await self._connect()
        try:
            result = await _request(reader, writer, self.path, True, self.host, self.cookie)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await _close(writer)
            partial = getattr(exc, "partial", b"")
            if reused and not partial:  # idle connection closed by the server: retry once
                reader, writer = await self._connect()
                result = await _request(reader, writer, self.path, True, self.host, self.cookie)
            else:
                raise
        if self._idle.qsize() < self.connections:
            self._idle.put_nowait((reader, writer))
        else:
            await _close(writer)
        return result


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close and wait until closed (a TLS connection closes after its close_notify, while the
    loop runs: one left half-closed when the loop ends is a leaked socket), a second at most."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except asyncio.CancelledError:
        writer.transport.abort()  # no time to close politely: close the socket now
        raise
    except Exception:
        writer.transport.abort()


def describe(report: Report) -> str:
    s = report.summary()
    return (
        f"{s['requests']} requests, {s['failed']} failed, longest outage "
        f"{s['longest_outage_s']}s, p50 {s['p50_ms']}ms, p99 {s['p99_ms']}ms, "
        f"max {s['max_ms']}ms, colours {s['colors']}, errors {s['errors']}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
