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

from specctl import __version__
from specctl.compiler.probe_rules import PROBE_AGENT

_clients: dict[tuple[bool, bool], httpx.Client] = {}
_lock = threading.Lock()


def client(url: str, *, verify: bool = True) -> httpx.Client:
    tls = url.startswith("https://")
    key = (tls, verify and tls)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = httpx.Client(
                verify=key[1],
                trust_env=False,
                headers={"User-Agent": f"{PROBE_AGENT}/{__version__}"},
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            _clients[key] = found
        return found


def request(
    method: str, url: str, *, timeout: float, host: str | None = None, **options: Any
) -> httpx.Response:
    """`host`: the site name to ask for on a loopback address (Host header, and TLS SNI for
    https); the certificate is then not verified: the TLS pre-check judges it, this request
    judges the routing."""
    if host is None:
        return client(url).request(method, url, timeout=timeout, **options)
    headers = {**(options.pop("headers", None) or {}), "Host": host}
    extensions = {"sni_hostname": host} if url.startswith("https://") else {}
    return client(url, verify=False).request(
        method, url, timeout=timeout, headers=headers, extensions=extensions, **options
    )


def get(url: str, *, timeout: float, host: str | None = None, **options: Any) -> httpx.Response:
    return request("GET", url, timeout=timeout, host=host, **options)
