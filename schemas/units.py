"""Durations, sizes, file modes and host addresses as they are written in a spec; pure."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kmgt]?)b?$", re.IGNORECASE)
_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_duration(value: object) -> str:
    """Accept `30s`, `5m`, `1h30m`, `250ms`; keep the text, so output shows what the user wrote."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"must be a duration with a unit such as 30s or 5m (got {value!r})")
    text = value.strip()
    if not _DURATION.match(text):
        raise ValueError(f"must be a duration with a unit such as 30s or 5m (got {value!r})")
    return text


def seconds(duration: str) -> float:
    """`1m30s` -> 90.0."""
    return sum(float(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(duration))


def compose_duration(duration: str) -> str:
    """Compose accepts Go durations; days are not among them."""
    total = seconds(duration)
    if total == int(total):
        return f"{int(total)}s"
    return f"{round(total * 1000)}ms"  # int() would make 1s1ms 1000ms (1.001 * 1000 < 1001)


def parse_size(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a size such as 512M or 4G (got {value!r})")
    text = str(value).strip()
    if not _SIZE.match(text):
        raise ValueError(f"must be a size such as 512M or 4G (got {value!r})")
    return text


def size_bytes(size: str) -> int:
    match = _SIZE.match(size.strip())
    if match is None:  # pragma: no cover - validated on load
        raise ValueError(size)
    return int(float(match.group(1)) * _FACTOR[match.group(2).lower()])


def parse_mode(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f'must be an octal mode in quotes such as "0755" (got {value}: YAML reads an '
            "unquoted mode as a decimal number)"
        )
    if not isinstance(value, str) or not re.fullmatch(r"0?[0-7]{3,4}", value):
        raise ValueError(f'must be an octal mode in quotes such as "0755" (got {value!r})')
    return f"{int(value, 8):04o}"


def parse_address(value: object) -> str:
    """An IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1, in its canonical form."""
    problem = f"must be an IP address such as 127.0.0.1 or 0.0.0.0 (got {value!r})"
    if not isinstance(value, str):
        raise ValueError(problem)
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(problem) from None


Duration = Annotated[str, BeforeValidator(parse_duration)]
Size = Annotated[str, BeforeValidator(parse_size)]
Mode = Annotated[str, BeforeValidator(parse_mode)]
Address = Annotated[str, BeforeValidator(parse_address)]
Port = Annotated[int, AfterValidator(lambda p: _check_port(p))]


def _check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ValueError(f"must be between 1 and 65535 (got {port})")
    return port
