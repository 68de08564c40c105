"""Probes that speak HTTP to the app: http, upload, inference, websocket and nginx routing
(side effects: network requests; upload writes and then removes one file)."""

from __future__ import annotations

import os
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from specctl.appliers import web
from specctl.appliers.nginx import public_url
from specctl.appliers.observe import observe_containers, observe_nginx
from specctl.appliers.probes.target import Failed, Skipped, Target
from specctl.compiler.active import upstream_colors
from specctl.compiler.probe_rules import (
    color_problem,
    echo_problem,
    judge_response,
    proxy_url,
    request_method,
    routing_problem,
    upload_name,
    websocket_url,
)
from specctl.schemas.desired import DesiredPath
from specctl.schemas.live import Live
from specctl.schemas.spec import COLORS, Probe
from specctl.schemas.units import seconds

PROBE_FILE_BYTES = 4096


def _send(target: Target, probe: Probe, url: str, **body: Any) -> httpx.Response:
    method = request_method(probe)
    try:
        return web.request(
            method,
            url,
            headers=probe.headers,
            timeout=seconds(probe.timeout),
            host=target.host,
            **body,
        )
    except httpx.HTTPError as exc:
        raise target.error(f"{method} {url}", exc) from None


def _judge(target: Target, probe: Probe, url: str, response: httpx.Response) -> str:
    header = target.color_header if target.through_proxy else None
    problem = judge_response(
        probe,
        status=response.status_code,
        text=response.text,
        headers=response.headers,
        color_header=header,
        color=target.color,
    )
    where = f"{request_method(probe)} {url}"
    if problem:
        raise Failed(target.safe(f"{where}: {problem}"))
    return f"{where}: HTTP {response.status_code}"


def http_probe(target: Target, probe: Probe) -> str:
    url = target.http_url(probe)
    return _judge(target, probe, url, _send(target, probe, url))


def inference_probe(target: Target, probe: Probe) -> str:
    url = target.http_url(probe)
    if probe.body is not None:
        response = _send(target, probe, url, json=probe.body)
        sent = "JSON body"
    else:
        data = os.urandom(PROBE_FILE_BYTES)
        name = upload_name(uuid.uuid4().hex[:12])
        response = _send(target, probe, url, files={"file": (name, data)})
        sent = f"{len(data)}-byte file"
    return _judge(target, probe, url, response) + f" ({sent})"


def upload_probe(target: Target, probe: Probe) -> str:
    url = target.http_url(probe)
    expected = _upload_path(target, probe.upload_dir) if probe.upload_dir else None
    data = os.urandom(PROBE_FILE_BYTES)
    name = upload_name(uuid.uuid4().hex[:12])
    failure: Failed | None = None
    detail = ""
    try:
        response = _send(target, probe, url, files={"file": (name, data)})
        detail = _judge(target, probe, url, response)
        if expected is not None:
            detail += "; " + _saved(target, expected, name, len(data))
    except Failed as exc:
        failure = exc
    finally:
        left = _remove(target, name)
    note = f"; could not remove the probe file {', '.join(left)}" if left else ""
    if failure is not None:
        raise Failed(failure.detail + note)
    return detail + note


def _upload_path(target: Target, key: str) -> DesiredPath:
    for path in target.desired.paths:
        if path.name == key:
            return path
    raise Failed(f"upload_dir {key!r} is not a managed path (spec.paths)")


def _folders(target: Target, path: DesiredPath) -> list[Path]:
    root = target.project.path(path.path)
    return [root, *(root / sub for sub in path.subdirs)]


def _found(target: Target, path: DesiredPath, name: str) -> Path | None:
    return next((f / name for f in _folders(target, path) if (f / name).is_file()), None)


def _every_path(target: Target) -> list[DesiredPath]:
    """This colour's managed folders first, then the other colour's (a misrouted upload)."""
    seen: set[str] = set()
    out = []
    others = [target.project.desired(c) for c in COLORS if c != target.color]
    for desired in (target.desired, *others):
        for path in desired.paths:
            if path.kind == "directory" and path.path not in seen:
                seen.add(path.path)
                out.append(path)
    return out


def _saved(target: Target, expected: DesiredPath, name: str, size: int) -> str:
    deadline = time.monotonic() + 1.0  # the app renames before answering; allow a slow disk
    while (saved := _found(target, expected, name)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if saved is None:
        where = f"{expected.address} ({expected.path})"
        elsewhere = [p.address for p in _every_path(target) if _found(target, p, name)]
        hint = f"; it was saved in {', '.join(elsewhere)}" if elsewhere else ""
        raise Failed(f"uploaded file {name} did not appear in {where}{hint}")
    actual = saved.stat().st_size
    if actual != size:
        raise Failed(f"{saved}: {actual} bytes on disk, {size} sent")
    return f"{size} bytes saved in {expected.path}"


def _remove(target: Target, name: str) -> list[str]:
    """The probe file goes, wherever the app put it; returns what could not be removed."""
    left = []
    for path in _every_path(target):
        found = _found(target, path, name)
        if found is not None:
            try:
                found.unlink()
            except OSError as exc:
                left.append(f"{found} ({exc.strerror})")
    return left


def websocket_probe(target: Target, probe: Probe) -> str:
    url = websocket_url(target.http_url(probe))
    timeout = seconds(probe.timeout)
    tls: dict[str, Any] = {}
    if url.startswith("wss://"):  # loopback: the site's name as SNI, the certificate not judged
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = {"ssl": context, "server_hostname": target.host or "localhost"}
    try:
        with connect(
            url,
            additional_headers=probe.headers,
            proxy=None,
            **tls,
            open_timeout=timeout,
            close_timeout=timeout,
            legacy=True,
        ) as ws:
            if target.through_proxy:
                answer = ws.response
                wrong = color_problem(
                    dict(answer.headers.raw_items()) if answer is not None else {},
                    header=target.color_header,
                    color=target.color,
                    required=False,
                )
                if wrong:
                    raise Failed(f"{url}: {wrong}")
            ws.send(probe.message)
            received = ws.recv(timeout=timeout)
    except InvalidStatus as exc:
        raise Failed(f"{url}: handshake answered HTTP {exc.response.status_code}") from None
    except TimeoutError:
        raise Failed(f"{url}: no frame back within {timeout:g}s") from None
    except (OSError, WebSocketException) as exc:
        raise target.error(url, exc) from None
    problem = echo_problem(probe.message, received)
    if problem:
        raise Failed(target.safe(f"{url}: {problem}"))
    return f"{url}: echoed {len(probe.message)} characters"


def routing_probe(target: Target, probe: Probe) -> str:
    if not target.through_proxy:
        raise Skipped("checked through nginx")
    upstreams = [u for u in target.desired.upstreams if probe.service in (None, u.service, u.name)]
    if not upstreams:
        raise Failed(f"no nginx upstream routes to service {probe.service!r}")
    base = public_url(target.project)
    live = observe_nginx(target.project, target.desired, observe_containers(target.project))
    routed = upstream_colors(target.desired, Live(project=target.project.spec.project, nginx=live))
    if live.pending_reload:  # nginx still runs the config before the one installed
        routed = {}
    problems, answered = [], []
    for upstream in upstreams:
        url = proxy_url(base, upstream.probe)
        try:
            response = web.get(url, timeout=seconds(probe.timeout), host=target.host)
        except httpx.HTTPError as exc:
            problems.append(target.error(f"{upstream.address} GET {url}", exc).detail)
            continue
        problem = routing_problem(
            response.status_code,
            response.headers,
            header=target.color_header,
            color=target.color,
            routed_to=routed.get(upstream.name),
        )
        if problem:
            problems.append(f"{upstream.address} GET {url}: {problem}")
        else:
            answered.append(upstream.name)
    if problems:
        raise Failed("; ".join(problems))
    return f"{', '.join(answered)} answered from {target.color} through {base}"
