"""Maintenance mode as an edit of a config (compiler/maintenance.py); pure. nginx itself checks
the result in tests/test_maintenance.py."""

from __future__ import annotations

import pytest

from specctl.compiler.maintenance import (
    FLAG,
    PAGE,
    Settings,
    check_allow,
    page,
    with_maintenance,
)
from specctl.schemas.errors import CompileError, SpecctlError

CONFIG = """\
events {}
http {  # the site
    upstream backend { server blue-backend:3001; }
    upstream grafana { server grafana:3000; }
    server {
        listen 80;
        location /api/ { proxy_pass http://backend/api/v1/; }
        location /grafana/ { proxy_pass http://grafana; }
        location = /health { return 200; }
        location /a { proxy_pass http://backend; } location /b { proxy_pass http://backend; }
    }
    server {
        listen 8080;
        location / { proxy_pass http://grafana; }
    }
}
"""


DEFAULT = Settings()


def edit(text: str = CONFIG, settings: Settings = DEFAULT) -> tuple[list[str], int]:
    edited, count = with_maintenance(text, settings, {"backend"}, filename="nginx.conf")
    return edited.split("\n"), count


def test_only_managed_locations_are_turned_and_no_line_is_added() -> None:
    lines, count = edit()
    original = CONFIG.split("\n")
    assert count == 3 and len(lines) == len(original)
    turn = f"if ({FLAG}) {{ rewrite ^ {PAGE} last; }}"
    assert lines[6].endswith(f"proxy_pass http://backend/api/v1/; {turn} }}")
    assert lines[7] == original[7]  # grafana is not managed
    assert lines[9].count(turn) == 2  # two locations on one line
    assert lines[1].startswith(f"http {{ geo {FLAG} {{ default 1; }}")
    assert lines[1].endswith("  # the site")
    assert lines[4].startswith(f"    server {{ location = {PAGE} {{ internal;")
    assert lines[12] == original[12]  # the other server has no managed location


def test_the_page_says_retry_after_and_escapes_what_nginx_or_html_would_read() -> None:
    settings = Settings(message="Back at 5 $USD\n<b>'soon'</b> \\o/", retry_after=30)
    lines, _ = edit(settings=settings)
    assert "add_header Retry-After 30 always;" in lines[4]
    assert "default_type text/html;" in lines[4]
    text = page(settings)
    assert "$" not in text and "'" not in text and "\\" not in text and "\n" not in text
    assert "Back at 5 &#36;USD &lt;b&gt;&#x27;soon&#x27;&lt;/b&gt; &#92;o/" in text


def test_allowed_addresses_are_exempt() -> None:
    lines, _ = edit(settings=Settings(allow=("10.0.0.0/8", "2001:db8::1")))
    assert f"geo {FLAG} {{ default 1; 10.0.0.0/8 0; 2001:db8::1 0; }}" in lines[1]
    assert check_allow(" 10.1.2.3/8") == "10.0.0.0/8"
    assert check_allow("::1") == "::1"
    with pytest.raises(SpecctlError, match="not an address or a CIDR range"):
        check_allow("office")


def test_a_config_without_a_managed_location_is_refused() -> None:
    with pytest.raises(CompileError, match="no location passes requests to a managed upstream"):
        with_maintenance(CONFIG, Settings(), {"ml"}, filename="nginx.conf")
