"""HTTP requests to the project's own services and proxy (side effects: network on loopback).

One client per process and scheme instead of `httpx.get` per request: building an httpx client
that verifies TLS loads the CA bundle (about 55 ms here), which the switch proof and health polls
paid on every request. Plain-HTTP requests use a client that never verifies (it never speaks
TLS); HTTPS requests use a verifying one, built on first use. Keep-alive is off, so every request
opens a new connection, as a new browser would: the switch proof relies on that (an old nginx
worker keeps its accepted connections). Proxy settings from the environment are ignored: a
loopback probe must reach the target, not a corporate proxy."""

from __future__ import annotations

import threading
from typing import Any

import httpx

_clients: dict[bool, httpx.Client] = {}
_lock = threading.Lock()


def client(url: str) -> httpx.Client:
    tls = url.startswith("https://")
    with _lock:
        found = _clients.get(tls)
        if found is None:
            found = httpx.Client(
                verify=tls,
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            _clients[tls] = found
        return found


def get(url: str, *, timeout: float, **options: Any) -> httpx.Response:
    return client(url).get(url, timeout=timeout, **options)


def request(method: str, url: str, *, timeout: float, **options: Any) -> httpx.Response:
    return client(url).request(method, url, timeout=timeout, **options)
