"""A small two-service spec for end-to-end tests; knobs are environment variables so one spec
can be deployed healthy or broken in a chosen way (FAIL_HEALTH, HEALTH_CMD, MIGRATE_EXIT,
NGINX_BASE, COLOR_HEADER, WEB_VERSION, RELEASE: a value that changes only the web service's
environment, so each new value is a recreate)."""

from __future__ import annotations


def spec_text(
    name: str,
    base_port: int,
    *,
    backups: bool = False,
    retire: str = "keep",
    drain: str = "1s",
    keep: int = 50,
    built: bool = False,
) -> str:
    """Ports: blue base_port+100.., green base_port+200.., nginx base_port+80. `built`: the web
    service is built from app/ (BUILT_WEB), RELEASE a build arg too, so each release is a
    build; its image is specctl-test-<name>/web."""
    backup = (
        f"{{enabled: true, dir: backups, paths: [data], keep: {keep}}}"
        if backups
        else "{enabled: false}"
    )
    web_image = (
        f"    image: specctl-test-{name}/web:latest\n"
        '    build: {context: app, args: {RELEASE: "${RELEASE:-0}"}}'
        if built
        else "    image: specctl-testbed/app:${WEB_VERSION:-1.0}"
    )
    return f"""\
version: 1
project: {name}
root: ..
colors:
  blue: {{port_base: {base_port + 100}}}
  green: {{port_base: {base_port + 200}}}
services:
  web:
{web_image}
    port: 8080
    host_port: {{offset: 0}}
    environment:
      APP_NAME: web
      APP_COLOR: "{{color}}"
      APP_FAIL_HEALTH: "${{FAIL_HEALTH:-0}}"
      APP_RELEASE: "${{RELEASE:-0}}"
    healthcheck:
      command: "${{HEALTH_CMD:-curl -fsS http://127.0.0.1:8080/health}}"
      interval: 1s
      timeout: 2s
      retries: 30
  api:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 1}}
    env_files: [".env.{{color}}"]
    required_env: [API_SECRET]
    environment: {{APP_NAME: api, APP_COLOR: "{{color}}", UPLOAD_DIR: /data/uploads}}
    volumes:
      - {{path: data, target: /data/uploads}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
paths:
  data: {{path: "data/{{color}}", mode: "0755", subdirs: [temp]}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {base_port + 80}, container: 80}}]
  base: "${{NGINX_BASE:-nginx.conf}}"
  color_header: "${{COLOR_HEADER:-X-App-Color}}"
  upstreams:
    web: {{service: web, probe: /health}}
    api: {{service: api, probe: /api/version}}
deploy:
  health_timeout: 8s
  health_retries: 8
  health_interval: 1s
  switch_timeout: 5s
  drain: {drain}
  retire: {retire}
backups: {backup}
hooks:
  migrate:
    service: api
    command: [python3, -c, "import sys; sys.exit(${{MIGRATE_EXIT:-0}})"]
    timeout: 30s
"""


NGINX_BASE = """\
worker_processes 1;
error_log stderr warn;
pid /run/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    upstream web {
        server placeholder:1;
    }
    upstream api {
        server placeholder:1;
        keepalive 8;
    }
    server {
        listen 80;
        location /api/ {
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location / {
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
%EXTRA%
    }
}
"""


def files(secret: str = "e2e-secret-value-1234") -> dict[str, str]:
    """The env files and two nginx bases (the second one fails `nginx -t`)."""
    good = NGINX_BASE.replace("%EXTRA%", "")
    bad = NGINX_BASE.replace(
        "%EXTRA%", "        location /broken { proxy_pass http://no-such-host-anywhere; }"
    )
    return {
        ".env.blue": f"API_SECRET={secret}\n",
        ".env.green": f"API_SECRET={secret}\n",
        "config/nginx.conf": good,
        "config/nginx.bad.conf": bad,
        "app/Dockerfile": BUILT_WEB,
    }


# The web service when `built`: the app double, with the release baked in.
BUILT_WEB = """\
FROM specctl-testbed/app:1.0
ARG RELEASE=0
ENV APP_BUILD=${RELEASE}
"""
