"""Measuring under load: a steady load through nginx around an operation, and the figures of
the requests in the operation's window (side effects: HTTP on loopback, child processes)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from common import PYTHON, run

from specctl.appliers.loadgen import Load, Report

RATE = 200.0
PATH = "/version"
SETTLE = 1.0  # seconds of steady load before an operation starts
TAIL = 1.5  # and after it ends, so an outage at the very end is counted
LOAD_LIMIT = 240.0  # hard bound of every load run, whatever happens
CLIENTS = {"new connection": False, "keep-alive": True}

T = TypeVar("T")


@dataclass
class Measured:
    report: Report  # the whole load run
    began: float  # time.time() when the operation started
    startup: float | None  # `specctl --version` under the same load just before, when asked


def under_load(
    port: int, keep_alive: bool, operation: Callable[[], T], *, startup: bool = False
) -> tuple[T, Measured]:
    """Steady load, (a start-up run,) the operation, then a short tail."""
    with Load(port, path=PATH, rate=RATE, keep_alive=keep_alive, seconds=LOAD_LIMIT) as load:
        time.sleep(SETTLE)
        version = startup_run() if startup else None
        began = time.time()
        result = operation()
        time.sleep(TAIL)
        report = load.stop()
    return result, Measured(report=report, began=began, startup=version)


def startup_run() -> float:
    return run([PYTHON, "-m", "specctl", "--version"]).ok().seconds


def window(report: Report, start: float, end: float) -> Report:
    return Report(samples=[s for s in report.samples if start <= s.start <= end])


def figures(report: Report) -> dict[str, Any]:
    return {
        "requests": report.total,
        "failed": report.failed,
        "outage_s": report.longest_outage,
        "p50_ms": report.percentile(50) * 1000,
        "p99_ms": report.percentile(99) * 1000,
        "max_ms": report.max_latency * 1000,
        "colors": report.colors(),
        "errors": report.errors(),
    }


def number(found: tuple[float, re.Match[str]] | None) -> float | None:
    return float(found[1].group(1)) if found else None
