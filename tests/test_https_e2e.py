"""End to end through HTTPS, as the real application serves, built from Dockerfiles in this
repo (tests/data/csh-app: a frontend served by nginx, a backend with uploads and WebSocket, an ML
double; PostgreSQL per colour like the old postgres-blue/postgres-green, and Redis): the base
config only redirects port 80, TLS comes from a certbot-shaped tree (live/ symlinks into
archive/, the whole tree mounted), and the application does not name its colour in the header
the spec reads. Blue → code change → green → rollback under load through HTTPS with no failed
request; only the changed image is rebuilt, the plan names its new tag, rollback runs the old
image; a failed build changes nothing; `check post` passes (project tls2, ports 29080/29443 and
29100…)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from specctl.appliers.loadgen import Load, describe
from specctl.compiler.access_log import access_log, log_format
from tests.certbot import certbot_tree
from tests.conftest import Sandbox, remove_images, remove_project

APP = Path(__file__).parent / "data" / "csh-app"

NAME = "tls2"
DOMAIN = "cells.example"
HTTP, HTTPS = 29080, 29443

SPEC = f"""\
version: 1
project: {NAME}
root: ..
domain: {DOMAIN}
colors:
  blue: {{port_base: 29100}}
  green: {{port_base: 29200}}
services:
  frontend:
    build: {{context: app/frontend}}
    image: specctl-test-csh/frontend:latest
    port: 80
    host_port: {{offset: 0}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
  backend:
    build: {{context: app/backend, args: {{RELEASE_CHANNEL: stable}}}}
    image: specctl-test-csh/backend:latest
    port: 8080
    host_port: {{offset: 1}}
    environment:
      APP_COLOR: "{{color}}"
      APP_ACCESS_LOG: "0"
      UPLOAD_DIR: /data/uploads
      DATABASE_URL: "postgresql://app@postgres-{{color}}:5432/app_{{color}}"
      REDIS_URL: "redis://redis:6379"
    volumes:
      - {{path: uploads, target: /data/uploads}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
    depends_on: {{postgres: healthy, redis: healthy}}
  ml:
    build: {{context: app/ml}}
    image: specctl-test-csh/ml:latest
    port: 8000
    environment: {{PORT: "8000", APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
  postgres:
    image: specctl-testbed/postgres:15
    pull: never
    port: 5432
    aliases: ["postgres-{{color}}"]
    environment: {{POSTGRES_USER: app, POSTGRES_DB: "app_{{color}}", POSTGRES_HOST_AUTH_METHOD: trust}}
    healthcheck: {{command: "pg_isready -U app -d app_{{color}}", interval: 1s, timeout: 2s, retries: 60}}
  redis:
    image: specctl-testbed/redis:7
    pull: never
    port: 6379
    healthcheck: {{command: "redis-cli ping", interval: 1s, timeout: 2s, retries: 30}}
paths:
  certs: {{path: letsencrypt, kind: certificate, mode: "0700"}}
  uploads: {{path: "uploads/{{color}}"}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {HTTP}, container: 80}}, {{host: {HTTPS}, container: 443}}]
  base: nginx.prod.conf
  color_header: X-Served-Colour  # the application does not send it
  upstreams:
    frontend: {{service: frontend, probe: /}}
    backend: {{service: backend, probe: /api/version}}
    ml: {{service: ml, probe: /api/ml/health}}
  tls:
    path: certs
    target: /etc/letsencrypt
    certificate: live/{DOMAIN}/fullchain.pem
    key: live/{DOMAIN}/privkey.pem
deploy:
  health_timeout: 60s
  health_interval: 1s
  switch_timeout: 10s
  drain: 1s
  retire: keep
backups: {{enabled: false}}
checks:
  post:
    - {{name: routing, kind: routing}}
    - {{name: api, kind: http, service: backend, path: /api/version}}
"""

BASE = f"""\
worker_processes 2;
error_log stderr warn;
pid /run/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    # Managed by specctl: only the server address changes per colour.
    upstream frontend {{
        server blue-frontend:80;
        keepalive 16;
    }}
    upstream backend {{
        zone backend 64k;
        server blue-backend:8080 max_fails=3 fail_timeout=10s;
    }}
    upstream ml {{
        server blue-ml:8000;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    server {{
        listen 80;
        server_name {DOMAIN};
        location /.well-known/acme-challenge/ {{ root /var/www/certbot; }}
        location / {{ return 301 https://$host$request_uri; }}
    }}
    server {{
        listen 443 ssl;
        server_name {DOMAIN};
        ssl_certificate /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;
        ssl_certificate_key /etc/letsencrypt/live/{DOMAIN}/privkey.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 500M;
        location /api/ml/ {{
            proxy_pass http://ml/;
            proxy_read_timeout 300s;
        }}
        location = /api/upload {{
            proxy_pass http://backend/upload;
            proxy_request_buffering off;
        }}
        location /ws {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 3600s;
        }}
        location /api/ {{
            proxy_pass http://backend;
            proxy_set_header Host $host;
            proxy_read_timeout 600s;
        }}
        location / {{
            proxy_pass http://frontend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


REPOSITORY = "specctl-test-csh"


def remove_built_images() -> None:
    """Every image this module built, so its first apply builds them (BuildKit's layer cache
    stays: a rebuild is quick)."""
    for service in ("frontend", "backend", "ml"):
        remove_images(f"{REPOSITORY}/{service}")


def images_of(color: str) -> dict[str, str]:
    """Service -> the image its container was created from."""
    listed = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={NAME}-{color}",
            "--format",
            '{{.Label "com.docker.compose.service"}} {{.Image}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in listed.splitlines() if line)


def container_ids(color: str) -> list[str]:
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={NAME}-{color}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def https(path: str, **kwargs: object) -> httpx.Response:
    """A request through the proxy's TLS port, with the domain in SNI and Host."""
    with httpx.Client(
        base_url=f"https://127.0.0.1:{HTTPS}",
        verify=False,
        headers={"Host": DOMAIN},
        timeout=10,
    ) as client:
        method = str(kwargs.pop("method", "GET"))
        return client.request(method, path, extensions={"sni_hostname": DOMAIN}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("https")
    remove_project(NAME)
    remove_built_images()
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(SPEC)
    (root / "config" / "nginx.prod.conf").write_text(BASE)
    shutil.copytree(APP, root / "app")
    certbot_tree(root / "letsencrypt", DOMAIN)
    sandbox = Sandbox(root=root, spec_path=spec_path, name=NAME)
    compiled = sandbox.cli("compile")
    assert compiled.code == 0, compiled.err
    yield sandbox
    remove_project(NAME)
    remove_built_images()


def test_the_generated_config_is_the_base_with_the_colour_in_the_server_lines(box: Sandbox) -> None:
    green = (box.root / "generated" / NAME / "nginx.green.conf").read_text()
    body = green.split("\n", 2)[2]
    logged = f"http {{ {log_format('green')} {access_log()}"
    assert body == BASE.replace("server blue-", "server green-").replace("http {", logged, 1)


def test_the_generated_compose_files_name_no_build_tag(box: Sandbox) -> None:
    """The reviewed files stay the same from one build to the next: the tag is applied at run
    time."""
    blue = (box.root / "generated" / NAME / "compose.blue.yml").read_text()
    assert f"image: {REPOSITORY}/backend:latest" in blue
    assert ":b-" not in blue


def test_blue_a_code_change_green_then_rollback_through_https(box: Sandbox) -> None:
    first = box.cli("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    for service in ("frontend", "backend", "ml"):
        assert f"{service} → {REPOSITORY}/{service}:b-" in first.out, first.out
    blue = images_of("blue")
    assert blue["backend"].startswith(f"{REPOSITORY}/backend:b-"), blue
    assert blue["postgres"] == "specctl-testbed/postgres:15"
    redirect = httpx.get(f"http://127.0.0.1:{HTTP}/x", headers={"Host": DOMAIN})
    assert redirect.status_code == 301
    assert redirect.headers["location"] == f"https://{DOMAIN}/x"

    # A code change: only the backend's context changes, so only the backend is rebuilt.
    (box.root / "app" / "backend" / "release.txt").write_text("backend release 2\n")
    planned = box.cli("plan", "--target", "green")
    assert planned.code == 0, planned.out + planned.err
    images_line = next(line for line in planned.out.splitlines() if " images " in line)
    assert f"build backend → {REPOSITORY}/backend:b-" in images_line, planned.out
    assert "frontend" not in images_line and "ml →" not in images_line, images_line
    assert blue["backend"] not in images_line

    with Load(HTTPS, path="/api/version", rate=100, seconds=180, tls_host=DOMAIN) as load:
        time.sleep(1.0)
        green = box.cli("apply", "--target", "green", "--yes")
        assert green.code == 0, green.out + green.err
        assert "traffic on green, proven" in green.out
        time.sleep(1.0)
        back = box.cli("rollback")
        assert back.code == 0, back.out + back.err
        time.sleep(1.0)
        report = load.stop()
    assert report.failed == 0, describe(report)
    assert report.total > 200
    assert set(report.colors()) == {"blue", "green"}, describe(report)

    built = images_of("green")
    assert built["backend"] != blue["backend"], built
    assert built["frontend"] == blue["frontend"] and built["ml"] == blue["ml"], built
    assert images_of("blue") == blue  # rollback started blue's own containers, old images
    replan = box.cli("plan", "--target", "blue")
    assert f"{blue['backend']} → {built['backend']}" in replan.out, replan.out


def test_uploads_websocket_and_the_ml_rewrite_through_https(box: Sandbox) -> None:
    from websockets.sync.client import connect

    ml = https("/api/ml/health")
    assert ml.status_code == 200 and ml.json()["service"] == "ml", ml.text
    body = b"\x00cells" * 200_000  # 1.2 MB: the base's 500M body limit lets it through
    upload = https("/api/upload", method="POST", files={"file": ("scan.tif", body)})
    assert upload.status_code == 201, upload.text
    assert (box.root / "uploads" / "blue" / "scan.tif").stat().st_size == len(body)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with connect(
        f"wss://127.0.0.1:{HTTPS}/ws", ssl=context, server_hostname=DOMAIN, open_timeout=10
    ) as socket:
        socket.send("segment 42")
        assert socket.recv(timeout=10) == "segment 42"


def test_check_post_passes_through_https_without_a_colour_header(box: Sandbox) -> None:
    result = box.cli("check", "post")
    assert result.code == 0, result.out + result.err
    assert "backend, frontend, ml answered from blue" in result.out


def test_check_pre_loads_the_certificate_through_the_symlinks(box: Sandbox) -> None:
    result = box.cli("check", "pre", "--target", "green")
    assert result.code == 0, result.out + result.err
    assert f"letsencrypt/live/{DOMAIN}/fullchain.pem: CN={DOMAIN} valid until" in result.out


def test_a_failed_build_stops_the_apply_before_anything_changes(box: Sandbox) -> None:
    before = sorted(container_ids("green")), images_of("green")
    dockerfile = box.root / "app" / "ml" / "Dockerfile"
    original = dockerfile.read_text()
    dockerfile.write_text(original + "RUN echo 'model weights missing' >&2 && exit 3\n")
    try:
        result = box.cli("apply", "--target", "green", "--yes")
    finally:
        dockerfile.write_text(original)
    said = result.out + result.err
    assert result.code != 0, said
    assert "build of ml failed" in said and "nothing was changed" in said, said
    assert "model weights missing" in said, said  # the build's last lines
    assert (sorted(container_ids("green")), images_of("green")) == before
    assert https("/api/version").json()["color"] == "blue"
    assert not json.loads(box.cli("status", "--format", "json").out).get("error")
