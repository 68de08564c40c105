"""The bake after a switch: watch the new colour's requests in nginx's access log (the proxy's
output, read through the Docker API) and judge them against `deploy.bake`; the bake's state in
`<state_dir>/bake.json` (side effects: Docker API, a file, a reader thread, sleeping).

The proxy's log is read once up to now, then followed: each line is fetched once, however long
the log already is."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from specctl.appliers import engine
from specctl.appliers.engine import api
from specctl.appliers.project import Project
from specctl.compiler.access_log import Hit, parse
from specctl.compiler.bake import Figures, breaches, figures
from specctl.schemas.errors import ApplyError
from specctl.schemas.live import LiveBake
from specctl.schemas.spec import Bake
from specctl.schemas.units import seconds

STATE = "bake.json"
PROGRESS_EVERY = 10.0  # seconds between progress lines
TICK = 0.5  # seconds between judgements


def state_path(project: Project) -> Path:
    return project.path(project.spec.state_dir) / STATE


def read_state(project: Project) -> LiveBake | None:
    """The bake in progress, or None (also for a file that does not read as one)."""
    try:
        return LiveBake.model_validate_json(state_path(project).read_bytes())
    except (OSError, ValueError):
        return None


def write_state(project: Project, bake: LiveBake) -> None:
    path = state_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(bake.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def clear_state(project: Project) -> None:
    state_path(project).unlink(missing_ok=True)


def begin(project: Project, *, color: str, previous: str | None, config_text: str) -> LiveBake:
    """The bake of a switch about to happen, written before nginx loads the new config: a crash
    anywhere after the switch leaves a bake that the next apply resumes."""
    import hashlib

    rules = project.spec.deploy.bake
    assert rules is not None
    now = time.time()
    bake = LiveBake(
        color=color,
        previous=previous,
        switched_at=now,
        until=now + seconds(rules.duration),
        config_sha256=hashlib.sha256(config_text.encode("utf-8")).hexdigest(),
        pid=os.getpid(),
    )
    write_state(project, bake)
    return bake


class Breach(ApplyError):
    """The new colour breached the bake's rules; `at` is when it was found (monotonic)."""

    def __init__(self, message: str, *, at: float, report: dict[str, object]) -> None:
        super().__init__(message, hint="the bake's figures: specctl history --format json")
        self.at = at
        self.report = report


def unreadable(exc: Exception) -> ApplyError:
    return ApplyError(
        f"bake: cannot read proxy.nginx's log ({str(exc).splitlines()[0][:200]})",
        hint="the bake reads nginx's access log through the Docker API: the proxy's logging "
        "driver must keep logs readable (json-file, local or journald)",
    )


class Tail:
    """The proxy's access lines since `since` (seconds since the epoch): those already written,
    read at once, then the new ones as nginx writes them (a reader thread)."""

    def __init__(self, proxy: str, since: float) -> None:
        self.proxy = proxy
        self._lock = threading.Lock()
        self._new: list[Hit] = []
        self._stream: object | None = None
        cutoff = time.time()
        self._history = self._read(since, cutoff)
        self._follow(cutoff)

    def _read(self, since: float, until: float) -> list[Hit]:
        try:
            raw = api().logs(
                self.proxy, stdout=True, stderr=False, since=max(since, 1.0), until=until
            )
        except engine.DockerException as exc:
            raise unreadable(exc) from None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return [h for h in map(parse, text.splitlines()) if h is not None]

    def _follow(self, since: float) -> None:
        # Its own connection, and no read timeout to speak of: a quiet site writes no lines.
        try:
            client = engine.new_client(86400)
            stream = client.logs(
                self.proxy, stdout=True, stderr=False, stream=True, follow=True, since=since
            )
        except engine.DockerException as exc:
            raise unreadable(exc) from None
        self._stream = stream
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream: object) -> None:
        pending = b""
        try:
            for chunk in stream:  # type: ignore[attr-defined]
                pending += chunk
                *lines, pending = pending.split(b"\n")
                hits = [parse(line.decode("utf-8", "replace")) for line in lines]
                with self._lock:
                    self._new.extend(h for h in hits if h is not None)
        except Exception:  # the stream ends when closed, or when the proxy goes away
            return

    def take(self) -> list[Hit]:
        """The hits not taken yet, oldest first."""
        history, self._history = self._history, []
        with self._lock:
            new, self._new = self._new, []
        return history + new

    def close(self) -> None:
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a stream that has ended already
                close()


@dataclass
class Watch:
    """The figures of one bake as the hits arrive."""

    rules: Bake
    bake: LiveBake
    upstreams: set[str]
    window: deque[Hit] = field(default_factory=deque)  # the new colour's, last `window` seconds
    before: list[Hit] = field(default_factory=list)  # the old colour's, before the switch
    requests: int = 0  # the new colour's, since the switch
    errors: int = 0

    def add(self, hits: list[Hit]) -> None:
        start = self.bake.switched_at
        for hit in hits:
            if hit.upstream not in self.upstreams:
                continue
            if hit.color == self.bake.color and hit.t >= start:
                self.window.append(hit)
                self.requests += 1
                self.errors += hit.status >= 500
            elif hit.color == self.bake.previous and hit.t < start:
                self.before.append(hit)

    def judge(self, now: float) -> tuple[Figures, list[str]]:
        edge = now - seconds(self.rules.window)
        while self.window and self.window[0].t < edge:
            self.window.popleft()
        current = figures(self.window)
        old = figures(self.before) if self.before else None
        return current, breaches(current, self.rules, old)

    def report(self, current: Figures) -> dict[str, object]:
        return {
            "color": self.bake.color,
            "requests": self.requests,
            "errors": self.errors,
            "last_window": current.document(),
            "before": figures(self.before).document() if self.before else None,
        }


def run_bake(
    project: Project,
    bake: LiveBake,
    *,
    proxy: str,
    upstreams: set[str],
    progress: Callable[[str], None],
) -> tuple[str, dict[str, object]]:
    """Watch until the bake's end, judging every half second; raises Breach at the first breach.
    Returns what passed, and the figures. A bake resumed after its end is judged once, on the
    last window of traffic."""
    rules = project.spec.deploy.bake
    assert rules is not None
    watch = Watch(rules=rules, bake=bake, upstreams=upstreams)
    window = seconds(rules.window)
    # Resumed long after its switch: the last window and the one before it are enough to
    # judge, rather than every line since the switch (the slowdown baseline is then gone).
    tail = Tail(proxy, max(bake.switched_at, time.time() - window) - window)
    shown = time.monotonic()
    try:
        while True:
            watch.add(tail.take())
            now = time.time()
            current, found = watch.judge(now)
            if found:
                at = time.monotonic()
                report = {**watch.report(current), "breach": found, "found_at": now}
                verdict = f"{bake.color} breached the bake: {'; '.join(found)}"
                write_state(project, bake.model_copy(update={"verdict": verdict}))
                raise Breach(verdict, at=at, report=report)
            if now >= bake.until:
                break
            if time.monotonic() - shown >= PROGRESS_EVERY:
                shown = time.monotonic()
                left = bake.until - now
                progress(f"  bake: {left:.0f}s left; last {rules.window}: {current.describe()}")
            time.sleep(min(TICK, max(0.05, bake.until - now)))
    finally:
        tail.close()
    report = watch.report(current)
    if watch.requests < rules.min_requests:
        why = f"too little traffic to judge ({watch.requests} < {rules.min_requests} requests)"
        if rules.too_little_traffic == "switch-back":
            verdict = f"{bake.color}: {why}; bake.too_little_traffic is switch-back"
            write_state(project, bake.model_copy(update={"verdict": verdict}))
            raise Breach(verdict, at=time.monotonic(), report={**report, "breach": [why]})
        return f"passed without judgement: {why}", report
    return f"passed: {watch.requests} requests; last {rules.window}: {current.describe()}", report
