"""A preview as an edit of the serving config (compiler/preview.py); pure. nginx itself routes it
in tests/test_preview.py."""

from __future__ import annotations

import pytest

from specctl.compiler.nginx import find_upstreams
from specctl.compiler.preview import FLAG, PREVIEW, SERVING, router_address, with_preview
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError

CONFIG = """\
http {
    upstream backend {
        server blue-backend:3001 max_fails=3;
        keepalive 8;
    }
    server { listen 80; location /api/ { proxy_pass http://backend/api/v1/; } }
}
"""


def upstream(color: str) -> DesiredUpstream:
    return DesiredUpstream(
        name="backend",
        address="nginx.upstream.backend",
        service="backend",
        server=f"{color}-backend:3001",
        keepalive=8,
        probe="/",
    )


def test_the_upstream_points_at_a_router_and_the_locations_are_untouched() -> None:
    edited = with_preview(CONFIG, "green", [upstream("blue")], [upstream("green")], filename="x")
    lines, original = edited.split("\n"), CONFIG.split("\n")
    assert len(lines) == len(original)
    assert lines[2] == f"        server {router_address(0)} max_fails=3;"
    assert lines[5] == original[5]  # the location, its URI mapping included
    blocks = find_upstreams(edited, filename="x")
    assert blocks[f"backend{SERVING}"][0].servers == ("blue-backend:3001",)
    assert blocks[f"backend{PREVIEW}"][0].servers == ("green-backend:3001",)
    assert f"map $cookie_specctl_preview {FLAG} {{ default {FLAG}_header; green 1; }}" in lines[0]
    assert "map $http_x_specctl_preview" in lines[0]
    with pytest.raises(CompileError, match="a preview is in progress already"):
        with_preview(edited, "green", [upstream("blue")], [upstream("green")], filename="x")
