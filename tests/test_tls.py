"""The TLS pre-check against a certbot-shaped tree: the certificates nginx loads must resolve
inside the folder mounted into the proxy (pure file checks; appliers/checks/tls.py)."""

from __future__ import annotations

from pathlib import Path

from specctl.appliers.checks.base import Context
from specctl.appliers.checks.tls import check_tls
from specctl.appliers.project import load_project
from specctl.compiler.nginx_walk import certificate_pairs
from tests.certbot import certbot_tree

DOMAIN = "app.example"

BASE = f"""\
events {{}}
http {{
    upstream web {{ server blue-web:8080; }}
    server {{
        listen 80;
        return 301 https://$host$request_uri;
    }}
    server {{
        listen 443 ssl;
        server_name {DOMAIN};
        ssl_certificate /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;
        ssl_certificate_key /etc/letsencrypt/live/{DOMAIN}/privkey.pem;  # certbot's
        location / {{ proxy_pass http://web; }}
    }}
}}
"""


def spec(path: str, target: str, files: str = "") -> str:
    return f"""\
project: tls1
root: ..
domain: {DOMAIN}
services:
  web: {{image: app, port: 8080}}
paths:
  certs: {{path: {path}, kind: certificate, mode: "0700"}}
proxy:
  image: nginx
  base: nginx.conf
  ports: [{{host: 8080, container: 80}}, {{host: 8443, container: 443}}]
  upstreams: {{web: web}}
  tls: {{path: certs, target: {target}{files}}}
"""


def check(tmp_path: Path, text: str) -> tuple[str, str]:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "spec.yaml").write_text(text)
    (tmp_path / "config" / "nginx.conf").write_text(BASE)
    project = load_project(tmp_path / "config" / "spec.yaml")
    return check_tls(Context(project=project, desired=project.desired("blue")))


def test_the_whole_letsencrypt_tree_mounted_passes(tmp_path: Path) -> None:
    certbot_tree(tmp_path / "letsencrypt", DOMAIN)
    files = f", certificate: live/{DOMAIN}/fullchain.pem, key: live/{DOMAIN}/privkey.pem"
    status, detail = check(tmp_path, spec("letsencrypt", "/etc/letsencrypt", files))
    assert status == "pass", detail
    assert f"letsencrypt/live/{DOMAIN}/fullchain.pem: CN={DOMAIN} valid until" in detail


def test_only_live_mounted_fails_on_the_symlinks_into_archive(tmp_path: Path) -> None:
    """What the old system did: nginx cannot follow ../../archive/ inside the container."""
    certbot_tree(tmp_path / "letsencrypt", DOMAIN)
    status, detail = check(
        tmp_path, spec(f"letsencrypt/live/{DOMAIN}", f"/etc/letsencrypt/live/{DOMAIN}")
    )
    assert status == "fail"
    assert "is a symlink to" in detail and "outside" in detail
    assert "mount the folder that holds both (for certbot, /etc/letsencrypt)" in detail


def test_a_base_certificate_outside_the_mount_is_named(tmp_path: Path) -> None:
    certbot_tree(tmp_path / "letsencrypt", DOMAIN)
    files = f", certificate: live/{DOMAIN}/fullchain.pem, key: live/{DOMAIN}/privkey.pem"
    text = spec("letsencrypt", "/etc/nginx/certs", files)
    status, detail = check(tmp_path, text)
    assert status == "fail"
    assert f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem is not under /etc/nginx/certs" in detail


def test_base_pairs_reads_each_server_blocks_certificate_and_key() -> None:
    assert certificate_pairs(BASE) == [
        (
            f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem",
            f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem",
        )
    ]
