"""The baseline: a plain single-colour Compose project (the app and nginx in front of it, the
same images) whose image tag is changed and recreated with `docker compose up -d` under load
(side effects: containers, HTTP on loopback)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import BenchError, Run, remove_project, run, say
from measure import PATH, TAIL, figures, under_load, window

PLAIN = "bench-plain"  # the baseline's compose project
PLAIN_PORT = 25090  # the baseline's nginx, on 127.0.0.1
BOOT_DELAY = 2
RECOVER_LIMIT = 60.0  # how long the baseline may take to serve the new version

# The baseline: one app service and nginx in front of it with a plain `proxy_pass` to the
# service name, the same images. nginx resolves `app` once, at start; on this engine the
# recreated container gets the same address back, so it recovers once the new app listens (when
# it does not, the rep says so and the proxy is restarted).
PLAIN_COMPOSE = f"""\
name: {PLAIN}
services:
  app:
    image: specctl-testbed/app:${{APP_VERSION:-1.0}}
    environment:
      APP_NAME: web
      APP_COLOR: plain
      APP_BOOT_DELAY: "{BOOT_DELAY}"
      APP_ACCESS_LOG: "0"
    restart: unless-stopped
  proxy:
    image: specctl-testbed/nginx:1.22
    command: [nginx, -c, /etc/nginx/bench/nginx.conf, -g, "daemon off;"]
    volumes:
      - ./nginx.conf:/etc/nginx/bench/nginx.conf:ro
    ports:
      - "127.0.0.1:{PLAIN_PORT}:80"
    stop_signal: SIGQUIT
    restart: unless-stopped
"""

PLAIN_NGINX = """\
worker_processes auto;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log /dev/stdout;
    keepalive_timeout 65;
    server {
        listen 80;
        location / {
            proxy_pass http://app:8080;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
}
"""


@contextmanager
def plain_project() -> Iterator[Path]:
    """The baseline's compose project in a temp folder, removed afterwards whatever happened."""
    remove_project(PLAIN)
    folder = Path(tempfile.mkdtemp(prefix=f"{PLAIN}-"))
    try:
        (folder / "compose.yml").write_text(PLAIN_COMPOSE)
        (folder / "nginx.conf").write_text(PLAIN_NGINX)
        yield folder
    finally:
        run(compose_argv(folder, "down", "-v", "--timeout", "5"), timeout=120)
        remove_project(PLAIN)
        shutil.rmtree(folder, ignore_errors=True)


def compose_argv(folder: Path, *args: str) -> list[str]:
    return ["docker", "compose", "-p", PLAIN, "-f", str(folder / "compose.yml"), *args]


def serving(version: str, *, limit: float) -> float | None:
    """Poll the baseline's nginx until the app answers with `version`: the time it did, or None
    when it did not within `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{PLAIN_PORT}{PATH}", timeout=2.0)
            if response.status_code == 200 and response.headers.get("x-app-version") == version:
                return time.time()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return None


def plain_rep(folder: Path, keep_alive: bool) -> dict[str, Any]:
    """Start at app 1.0, then change the tag to 1.1 and `docker compose up -d` under load."""
    up = compose_argv(folder, "up", "-d", "--pull", "never")
    run(up, env={"APP_VERSION": "1.0"}).ok()
    if serving("1.0", limit=RECOVER_LIMIT) is None:
        run(compose_argv(folder, "restart", "proxy")).ok()
        if serving("1.0", limit=RECOVER_LIMIT) is None:
            raise BenchError(f"{PLAIN}: app 1.0 not serving through nginx")

    def recreate() -> tuple[Run, float | None]:
        result = run(up, env={"APP_VERSION": "1.1"})
        return result, serving("1.1", limit=RECOVER_LIMIT)

    (result, recovered), measured = under_load(PLAIN_PORT, keep_alive, recreate)
    result.ok()
    began = measured.began
    end = recovered if recovered is not None else time.time()
    row = {
        **figures(window(measured.report, began, end + TAIL)),
        "seconds": result.seconds,
        "ok": recovered is not None,
        "recovered_s": None if recovered is None else recovered - began,
    }
    if recovered is None:
        say(f"{PLAIN}: nginx did not reach app 1.1 within {RECOVER_LIMIT:.0f}s; restarting it")
        row["error"] = f"no answer from app 1.1 within {RECOVER_LIMIT:.0f}s"
        run(compose_argv(folder, "restart", "proxy")).ok()
    return row
