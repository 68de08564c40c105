"""A preview's edit of the serving config, byte for byte (compiler/preview.py); pure.
tests/test_preview_config.py states the rules, tests/test_preview.py runs nginx."""

from __future__ import annotations

import pytest

from specctl.compiler.preview import (
    first_port,
    router_address,
    router_ports,
    with_preview,
    with_routers_to,
    without_kept_routers,
)
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError

CONFIG = """\
http {
    upstream backend { server blue-backend:3001; }
    upstream ml { server blue-ml:8000; keepalive 4; }
    server { listen 80; location / { proxy_pass http://backend; } }
}
"""


def upstream(name: str, server: str, keepalive: int | None = None) -> DesiredUpstream:
    return DesiredUpstream(
        name=name,
        address=f"nginx.upstream.{name}",
        service=name,
        server=server,
        keepalive=keepalive,
        probe="/",
    )


BLUE = [upstream("backend", "blue-backend:3001"), upstream("ml", "blue-ml:8000", 4)]
GREEN = [upstream("backend", "green-backend:3001"), upstream("ml", "green-ml:8000", 4)]


def router(port: int, first: int, target: str) -> str:
    return (
        f" server {{ listen 127.0.0.1:{port}; access_log off; location / {{ "
        f"proxy_pass http://{target}; proxy_http_version 1.1; "
        "proxy_set_header Host $http_host; proxy_set_header Upgrade $http_upgrade; "
        f"proxy_set_header Connection $specctl_router_connection_{first}; "
        "proxy_read_timeout 1h; proxy_buffering off; proxy_request_buffering off; "
        "client_max_body_size 0; } }"
    )


def connection(first: int) -> str:
    return f" map $http_upgrade $specctl_router_connection_{first} {{ default upgrade; '' ''; }}"


def test_the_whole_preview_of_two_upstreams() -> None:
    edited = with_preview(CONFIG, "green", BLUE, GREEN, filename="nginx.conf")
    assert edited.split("\n") == [
        "http {"
        " map $http_x_specctl_preview $specctl_preview_header { default 0; green 1; }"
        " map $cookie_specctl_preview $specctl_preview { default $specctl_preview_header;"
        " green 1; }"
        + connection(65001)
        + " upstream backend__specctl_serving { server blue-backend:3001; keepalive 16; }"
        " upstream backend__specctl_preview { server green-backend:3001; keepalive 16; }"
        " map $specctl_preview $specctl_route_0 { default backend__specctl_serving;"
        " 1 backend__specctl_preview; }"
        + router(65001, 65001, "$specctl_route_0")
        + " upstream ml__specctl_serving { server blue-ml:8000; keepalive 4; }"
        " upstream ml__specctl_preview { server green-ml:8000; keepalive 4; }"
        " map $specctl_preview $specctl_route_1 { default ml__specctl_serving;"
        " 1 ml__specctl_preview; }" + router(65002, 65001, "$specctl_route_1"),
        "    upstream backend { server 127.0.0.1:65001; }",
        "    upstream ml { server 127.0.0.1:65002; keepalive 4; }",
        "    server { listen 80; location / { proxy_pass http://backend; } }",
        "}",
        "",
    ]
    assert router_ports(edited) == 65001


def test_the_whole_end_of_a_preview_keeps_a_router_per_upstream() -> None:
    ended = with_routers_to(CONFIG, GREEN, 65101, filename="nginx.conf")
    assert ended.split("\n")[0] == (
        "http {"
        + connection(65101)
        + " upstream backend__specctl_after_65101 { server green-backend:3001; keepalive 16; }"
        + router(65101, 65101, "backend__specctl_after_65101")
        + " upstream ml__specctl_after_65101 { server green-ml:8000; keepalive 4; }"
        + router(65102, 65101, "ml__specctl_after_65101")
    )
    assert ended.split("\n")[1:] == CONFIG.split("\n")[1:]
    assert without_kept_routers(ended) == CONFIG


def test_router_addresses() -> None:
    assert router_address(0) == "127.0.0.1:65001"
    assert router_address(3) == "127.0.0.1:65004"
    assert router_address(2, 65101) == "127.0.0.1:65103"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http {}", 65001),
        ("listen 127.0.0.1:65001;", 65101),
        ("listen 127.0.0.1:65101;", 65001),
        ("listen 127.0.0.1:65002;", 65001),
    ],
)
def test_a_new_preview_takes_a_range_the_config_does_not_listen_on(
    text: str, expected: int
) -> None:
    assert first_port(text) == expected


def test_a_config_listening_on_both_ranges_is_refused() -> None:
    with pytest.raises(CompileError) as caught:
        first_port("listen 127.0.0.1:65001; listen 127.0.0.1:65101;")
    assert str(caught.value) == "the config listens on both ranges of preview router ports"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server 127.0.0.1:65001;", None),  # no preview map: not a preview
        ("$specctl_preview server 127.0.0.1:65001;", 65001),
        ("$specctl_preview server 127.0.0.1:65101;", 65101),
        ("$specctl_preview server 127.0.0.1:65002;", None),
        ("$specctl_preview", None),
    ],
)
def test_the_router_ports_of_a_preview(text: str, expected: int | None) -> None:
    assert router_ports(text) == expected


def test_a_preview_during_a_preview_is_refused() -> None:
    edited = with_preview(CONFIG, "green", BLUE, GREEN, filename="n.conf")
    with pytest.raises(CompileError) as caught:
        with_preview(edited, "green", BLUE, GREEN, filename="n.conf")
    assert str(caught.value) == "n.conf: a preview is in progress already"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("http {\n}\n", "n.conf: upstream 'backend' is not there once"),
        (
            "http {\n upstream backend { server a:1; }\n upstream backend { server a:1; }\n}\n",
            "n.conf: upstream 'backend' is not there once",
        ),
        (
            "stream {\n upstream backend { server blue-backend:3001; }\n}\n",
            "n.conf: upstream 'backend' is not there once",
        ),
    ],
)
def test_an_upstream_that_is_not_there_once_is_refused(config: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        with_preview(config, "green", BLUE[:1], GREEN[:1], filename="n.conf")
    assert str(caught.value) == message


def test_a_config_without_an_http_block_is_refused() -> None:
    with pytest.raises(CompileError) as caught:
        with_routers_to("events {}\n", GREEN, 65001, filename="n.conf")
    assert str(caught.value) == "n.conf: no http block"


def test_an_http_block_inside_another_block_is_not_the_http_block() -> None:
    with pytest.raises(CompileError, match=r"^n\.conf: no http block$"):
        with_routers_to("x {\n http {\n }\n}\n", GREEN, 65001, filename="n.conf")


def test_the_routers_go_on_the_http_line_not_on_an_earlier_block() -> None:
    config = "events {\n}\nhttp {\n}\n"
    ended = with_routers_to(config, GREEN[:1], 65001, filename="n.conf")
    lines = ended.split("\n")
    assert lines[0] == "events {" and lines[2].startswith("http { map $http_upgrade")


def test_removing_kept_routers_leaves_everything_else() -> None:
    text = "http { upstream x__specctl_serving { server a:1; } server { listen 80; } }"
    assert without_kept_routers(text) == text


def test_serving_and_preview_lists_of_different_lengths_are_a_bug() -> None:
    with pytest.raises(ValueError):
        with_preview(CONFIG, "green", BLUE, GREEN[:1], filename="n.conf")


def test_a_config_on_one_line_gets_the_maps_after_the_http_brace() -> None:
    config = "events {} http { upstream backend { server blue-backend:3001; } }"
    edited = with_preview(config, "green", BLUE[:1], GREEN[:1], filename="n.conf")
    assert edited.startswith("events {} http { map $http_x_specctl_preview $specctl_preview_header")
    assert edited.endswith(" upstream backend { server 127.0.0.1:65001; } }")
    ended = with_routers_to(config, GREEN[:1], 65001, filename="n.conf")
    assert ended.startswith("events {} http {" + connection(65001))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("http {\n upstream backend {\n", "n.conf:"),
        (
            "http {\n upstream backend { server blue-backend:3001; server green-backend:3001; }\n}",
            "n.conf:2: upstream 'backend' lists blue-backend:3001 and green-backend:3001",
        ),
        (
            "http {\n upstream backend {\n  server\n   blue-backend:3001;\n }\n}",
            "n.conf:4: cannot find `server blue-backend:3001`",
        ),
    ],
)
def test_what_cannot_be_previewed_is_named_with_file_and_line(config: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        with_preview(config, "green", BLUE[:1], GREEN[:1], filename="n.conf")
    assert caught.value.message.startswith(message)


def test_a_config_nginx_cannot_parse_is_named_when_ending_a_preview() -> None:
    with pytest.raises(CompileError) as caught:
        with_routers_to("http {\n", GREEN, 65001, filename="n.conf")
    assert caught.value.message.startswith("n.conf:")
