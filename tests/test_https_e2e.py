"""End to end through HTTPS, as the real application serves: the base config only redirects
port 80, TLS comes from a certbot-shaped tree (live/ symlinks into archive/, the whole tree
mounted), and the application does not name its colour in the header the spec reads. Blue →
green → rollback under load through HTTPS with no failed request; `check post` passes
(project tls2, ports 29080/29443 and 29100…)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from specctl.appliers.loadgen import Load, describe
from tests.certbot import certbot_tree
from tests.conftest import Sandbox, remove_project

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
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: frontend, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
  backend:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 1}}
    environment: {{APP_NAME: backend, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
    depends_on: {{postgres: healthy}}
  postgres:
    image: specctl-testbed/postgres:15
    port: 5432
    environment: {{POSTGRES_USER: app, POSTGRES_DB: "app_{{color}}", POSTGRES_HOST_AUTH_METHOD: trust}}
    healthcheck: {{command: "pg_isready -U app -d app_{{color}}", interval: 1s, timeout: 2s, retries: 60}}
paths:
  certs: {{path: letsencrypt, kind: certificate, mode: "0700"}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {HTTP}, container: 80}}, {{host: {HTTPS}, container: 443}}]
  base: nginx.prod.conf
  color_header: X-Served-Colour  # the application does not send it
  upstreams:
    frontend: {{service: frontend, probe: /}}
    backend: {{service: backend, probe: /api/version}}
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
        server blue-frontend:8080;
        keepalive 16;
    }}
    upstream backend {{
        zone backend 64k;
        server blue-backend:8080 max_fails=3 fail_timeout=10s;
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


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("https")
    remove_project(NAME)
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(SPEC)
    (root / "config" / "nginx.prod.conf").write_text(BASE)
    certbot_tree(root / "letsencrypt", DOMAIN)
    sandbox = Sandbox(root=root, spec_path=spec_path, name=NAME)
    compiled = sandbox.cli("compile")
    assert compiled.code == 0, compiled.err
    yield sandbox
    remove_project(NAME)


def test_the_generated_config_is_the_base_with_the_colour_in_the_server_lines(box: Sandbox) -> None:
    green = (box.root / "generated" / NAME / "nginx.green.conf").read_text()
    body = green.split("\n", 2)[2]
    assert body == BASE.replace("server blue-", "server green-")


def test_blue_then_green_then_rollback_through_https_fail_no_request(box: Sandbox) -> None:
    first = box.cli("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    redirect = httpx.get(f"http://127.0.0.1:{HTTP}/x", headers={"Host": DOMAIN})
    assert redirect.status_code == 301
    assert redirect.headers["location"] == f"https://{DOMAIN}/x"
    with Load(HTTPS, path="/api/version", rate=100, seconds=120, tls_host=DOMAIN) as load:
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


def test_check_post_passes_through_https_without_a_colour_header(box: Sandbox) -> None:
    result = box.cli("check", "post")
    assert result.code == 0, result.out + result.err
    assert "backend, frontend answered from blue" in result.out


def test_check_pre_loads_the_certificate_through_the_symlinks(box: Sandbox) -> None:
    result = box.cli("check", "pre", "--target", "green")
    assert result.code == 0, result.out + result.err
    assert f"letsencrypt/live/{DOMAIN}/fullchain.pem: CN={DOMAIN} valid until" in result.out
