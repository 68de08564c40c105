"""Post-deployment probes: URLs, judging answers, stats and log lines against a Probe; pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from specctl.compiler.exposure import url_host
from specctl.schemas.spec import Database, Probe

DIRECT_ONLY = frozenset({"postgres", "redis", "resources"})
PROXY_ONLY = frozenset({"routing"})
MEMORY_THRESHOLD = 0.95
LINE_LIMIT = 200

# `password=...`, `token: ...`, `Authorization: Bearer ...`: the value never reaches a log.
_SECRET_PAIR = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|authorization)[\w.-]*)"
    r"(\s*[=:]\s*)(?:bearer\s+)?(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@")
_DOCKER_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


# --- where a probe is sent ----------------------------------------------------------------------


def direct_url(host_port: int, path: str, *, ip: str | None = None) -> str:
    """A service's own host port: on loopback, unless it is published on one other address."""
    return f"http://{url_host(ip)}:{host_port}{_slash(path)}"


def proxy_url(public: str, path: str) -> str:
    """nginx's public URL plus the probe path."""
    return public.rstrip("/") + _slash(path)


def websocket_url(http_url: str) -> str:
    """http://h:p/ws -> ws://h:p/ws (https -> wss)."""
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def skip_reason(kind: str, *, through_proxy: bool) -> str | None:
    """Why a probe of this kind does not run in this pass (it still passes), or None."""
    if through_proxy and kind in DIRECT_ONLY:
        return "checked directly"
    if not through_proxy and kind in PROXY_ONLY:
        return "checked through nginx"
    return None


def upload_name(token: str) -> str:
    """The generated file's name: unique per run, recognisable if it is ever left behind."""
    return f"specctl-probe-{token}.bin"


def fill_name(template: str, *, color: str, project: str) -> str:
    """`app_{color}` -> `app_blue`."""
    return template.replace("{color}", color).replace("{project}", project)


def request_method(probe: Probe) -> str:
    """Inference and upload always send a body; a GET left at its default becomes a POST."""
    method = probe.method.upper()
    if probe.kind in ("inference", "upload") and method == "GET":
        return "POST"
    return method


# --- judging an answer --------------------------------------------------------------------------


def color_problem(
    headers: Mapping[str, str], *, header: str, color: str, required: bool
) -> str | None:
    """Did the answer come from `color`? A missing header fails only when `required`."""
    seen = _header(headers, header)
    if seen is None:
        return f"no {header} header (expected {color})" if required else None
    if seen != color:
        return f"answered from {seen} ({header}), expected {color}"
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def json_problems(expected: Mapping[str, Any], text: str) -> list[str]:
    """Each expected top-level field must be present and equal in the JSON object answered."""
    if not expected:
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return [f"answer is not JSON: {clip(text, 80)!r}"]
    if not isinstance(doc, dict):
        return [f"answer is JSON {type(doc).__name__}, not an object"]
    problems = []
    for key, want in expected.items():
        if key not in doc:
            problems.append(f"JSON field {key!r} missing")
        elif doc[key] != want:
            problems.append(f"JSON field {key!r} is {doc[key]!r}, expected {want!r}")
    return problems


def judge_response(
    probe: Probe,
    *,
    status: int,
    text: str,
    headers: Mapping[str, str],
    color_header: str | None = None,
    color: str | None = None,
) -> str | None:
    """The first thing wrong with an HTTP answer, or None. The colour is checked when
    `color_header` and `color` are given and the answer carries that header."""
    if status != probe.expect_status:
        return f"HTTP {status}, expected {probe.expect_status}" + _excerpt(text)
    if color_header and color:
        wrong = color_problem(headers, header=color_header, color=color, required=False)
        if wrong:
            return wrong
    if probe.expect_body is not None and probe.expect_body not in text:
        return f"body does not contain {probe.expect_body!r}" + _excerpt(text)
    problems = json_problems(probe.expect_json, text)
    return "; ".join(problems) if problems else None


def _excerpt(text: str) -> str:
    text = text.strip()
    return f': "{clip(text, 80)}"' if text else ""


def echo_problem(sent: str, received: str | bytes) -> str | None:
    if isinstance(received, bytes):
        return f"received a binary frame of {len(received)} bytes, expected {sent!r}"
    if received != sent:
        return f"received {clip(received, 80)!r}, expected {sent!r}"
    return None


def routing_problem(
    status: int, headers: Mapping[str, str], *, header: str, color: str, routed_to: str | None
) -> str | None:
    """An upstream's probe path through nginx must answer below 500, from the target colour:
    the loaded nginx config routes the upstream there (`routed_to`), and an application that
    names its colour names that one."""
    if status >= 500:
        return f"HTTP {status}"
    if routed_to != color:
        return f"nginx routes it to {routed_to or 'no single colour'}, expected {color}"
    return color_problem(headers, header=header, color=color, required=False)


# --- resource usage (the dict `docker stats` reads from the engine) -----------------------------


def memory_usage(stats: Mapping[str, Any]) -> int:
    """Usage without reclaimable page cache, computed as the docker CLI does (cgroup v1 and v2)."""
    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in detail and int(detail[key]) < usage:
            return usage - int(detail[key])
    return usage


def memory_limit(stats: Mapping[str, Any]) -> int:
    return int((stats.get("memory_stats") or {}).get("limit") or 0)


def cpu_percent(stats: Mapping[str, Any]) -> float:
    """CPU use between the two samples the engine returns, in percent of one CPU."""
    now = stats.get("cpu_stats") or {}
    before = stats.get("precpu_stats") or {}
    cpu = int((now.get("cpu_usage") or {}).get("total_usage") or 0) - int(
        (before.get("cpu_usage") or {}).get("total_usage") or 0
    )
    system = int(now.get("system_cpu_usage") or 0) - int(before.get("system_cpu_usage") or 0)
    cpus = int(
        now.get("online_cpus") or len((now.get("cpu_usage") or {}).get("percpu_usage") or [1])
    )
    if cpu <= 0 or system <= 0:
        return 0.0
    return cpu / system * cpus * 100.0


def memory_problem(usage: int, limit: int, *, threshold: float = MEMORY_THRESHOLD) -> str | None:
    """Fail above `threshold` of the limit; a container without a limit (0) cannot exceed it."""
    if limit <= 0:
        return None
    if usage > threshold * limit:
        return f"memory {usage_text(usage, limit)} is above {threshold:.0%} of its limit"
    return None


def usage_text(usage: int, limit: int) -> str:
    share = f" ({usage / limit:.0%})" if limit > 0 else ""
    return f"{human_bytes(usage)}/{human_bytes(limit)}{share}"


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"  # pragma: no cover - the loop always returns


# --- logs ---------------------------------------------------------------------------------------


def docker_time(text: str) -> float:
    """`2024-05-01T10:00:00.123456789Z` (nanoseconds, as Docker writes it) -> epoch seconds."""
    match = _DOCKER_TIME.match(text.strip())
    if match is None:
        raise ValueError(f"not a Docker timestamp: {text!r}")
    whole, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    stamp = datetime.fromisoformat(f"{whole}.{micro}{zone}")  # reads `Z` since Python 3.11
    return stamp.timestamp()


# Docker records StartedAt once the process already runs: its first lines can be stamped earlier.
START_SLACK = 2.0


def logs_since(started_at: str) -> float:
    """Where a container's logs "since it started" begin, from its State.StartedAt."""
    return docker_time(started_at) - START_SLACK


# Sent with every request specctl makes (probes, the switch proof, health polls), so the log
# check can tell the lines those requests cause from the application's own.
PROBE_AGENT = "specctl-probe"


def first_critical(lines: Iterable[str], keywords: Iterable[str]) -> tuple[str, str] | None:
    """(keyword, line) of the first line holding any keyword as a whole word (case-sensitive:
    `ERROR` is not in `ERRORS`, `NOERROR` or `error_count`), or None. Lines that name
    specctl's own requests are skipped."""
    words = [w for w in keywords if w]
    if not words:
        return None
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(w) for w in words) + r")(?![A-Za-z0-9_])"
    )
    for line in lines:
        if PROBE_AGENT in line:
            continue
        found = pattern.search(line)
        if found:
            return found.group(1), line
    return None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide known secret values and anything written as `password=...` or `user:pass@host`."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _SECRET_PAIR.sub(r"\1\2***", text)


def clip(text: str, limit: int = LINE_LIMIT) -> str:
    text = text.replace("\r", "").replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_line(text: str, secrets: Iterable[str] = ()) -> str:
    """What may be shown of a log line or an error: secrets hidden, one line, truncated."""
    return clip(redact(text, secrets))


# --- credentials --------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|private)")


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def database_login(
    database: Database | None,
    service: str,
    environment: Mapping[str, str | None],
    *,
    color: str,
    project: str,
) -> tuple[str, str, str | None]:
    """(user, database name, password) for a PostgreSQL service: from `backups.database` when it
    names this service, else from the service's POSTGRES_* variables, as the image reads them."""
    if database is not None and database.service == service:
        password_env = database.password_env or "POSTGRES_PASSWORD"
        name = fill_name(database.name, color=color, project=project)
        return database.user, name, environment.get(password_env) or None
    user = environment.get("POSTGRES_USER") or "postgres"
    return user, environment.get("POSTGRES_DB") or user, environment.get("POSTGRES_PASSWORD")


_PG_NOT_READY = ("starting up", "shutting down", "not yet accepting connections", "in recovery")


def pg_transient(message: str) -> bool:
    """A connection error worth retrying: the server did not answer at all, or answered that it
    is starting or stopping. Anything else it answered (FATAL: password...) is final."""
    if "FATAL:" not in message:
        return True
    return any(words in message for words in _PG_NOT_READY)
