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


def test_the_config_ending_a_preview_keeps_its_router_ports_one_generation() -> None:
    from specctl.compiler.preview import first_port, router_ports, with_routers_to

    previewed = with_preview(CONFIG, "green", [upstream("blue")], [upstream("green")], filename="x")
    first = router_ports(previewed)
    assert first == 65001
    ended = with_routers_to(CONFIG, [upstream("green")], first, filename="x")
    assert f"listen {router_address(0)};" in ended
    assert (
        "upstream backend__specctl_after_65001 { server green-backend:3001; keepalive 8; }" in ended
    )
    assert router_ports(ended) is None  # no preview in it
    assert first_port(ended) == 65101  # the next preview takes the other range


def test_only_one_generation_of_kept_routers_is_ever_kept() -> None:
    from specctl.compiler.preview import router_ports, with_routers_to, without_kept_routers

    once = with_routers_to(CONFIG, [upstream("green")], 65001, filename="x")
    previewed = with_preview(once, "blue", [upstream("green")], [upstream("blue")], filename="x")
    first = router_ports(previewed)
    assert first == 65101
    ended = with_routers_to(once, [upstream("green")], first, filename="x")  # an abort
    assert "65001" not in ended and "listen 127.0.0.1:65101;" in ended
    assert without_kept_routers(ended) == CONFIG
