"""Maintenance mode's edit, line by line and byte for byte (compiler/maintenance.py); pure.
tests/test_maintenance_config.py states the rules, tests/test_maintenance.py runs nginx."""

from __future__ import annotations

import pytest

from specctl.compiler.maintenance import Settings, check_allow, page, with_maintenance
from specctl.schemas.errors import CompileError, SpecctlError

PAGE_HTML = (
    "<!doctype html><html><head><meta charset=utf-8><title>Maintenance</title></head>"
    "<body><h1>Down for maintenance</h1><p>{}</p></body></html>"
)
DEFAULT_TEXT = "We are upgrading the site. Please come back in a few minutes."
TURN = " if ($specctl_maintenance) { rewrite ^ /specctl-maintenance last; }"


def location(retry_after: int = 120, text: str = DEFAULT_TEXT) -> str:
    return (
        " location = /specctl-maintenance { internal; default_type text/html; "
        f"add_header Retry-After {retry_after} always; add_header Cache-Control no-store always; "
        f"return 503 '{PAGE_HTML.format(text)}'; }}"
    )


def test_the_whole_edit_of_a_small_config() -> None:
    config = "events {}\nhttp {\n  server {\n    location / { proxy_pass http://app; }\n  }\n}\n"
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited == (
        "events {}\n"
        "http { geo $specctl_maintenance { default 1; }\n"
        f"  server {{{location()}\n"
        f"    location / {{ proxy_pass http://app;{TURN} }}\n"
        "  }\n"
        "}\n"
    )


def test_settings_reach_the_page_the_header_and_the_allow_list() -> None:
    config = "http {\n server {\n  location / { proxy_pass http://app; }\n }\n}"
    settings = Settings(message="Back soon", retry_after=7, allow=("10.0.0.0/8", "::1"))
    edited, _ = with_maintenance(config, settings, {"app"}, filename="n.conf")
    assert edited.split("\n")[:2] == [
        "http { geo $specctl_maintenance { default 1; 10.0.0.0/8 0; ::1 0; }",
        f" server {{{location(7, 'Back soon')}",
    ]


@pytest.mark.parametrize(
    ("target", "turned"),
    [
        ("http://app", True),
        ("http://app/", True),
        ("http://app:8080/x", True),
        ("https://app", True),
        ('"http://app"', True),
        ("app", True),
        ("http://application", False),
        ("http://apps", False),
        ("http://other/app", False),
        ("http://$backend", False),
    ],
)
def test_a_location_is_turned_when_its_proxy_pass_names_a_managed_upstream(
    target: str, turned: bool
) -> None:
    config = f"http {{\n server {{\n  location / {{ proxy_pass {target}; }}\n }}\n}}"
    if not turned:
        with pytest.raises(CompileError):
            with_maintenance(config, Settings(), {"app"}, filename="n.conf")
        return
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited.split("\n")[2] == f"  location / {{ proxy_pass {target};{TURN} }}"


def test_only_the_managed_proxy_pass_of_a_line_is_turned() -> None:
    config = (
        "http {\n server {\n"
        "  location /a { proxy_pass http://other; } location /b { proxy_pass http://app; }"
        "  # proxy_pass http://app;\n"
        " }\n}"
    )
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited.split("\n")[2] == (
        f"  location /a {{ proxy_pass http://other; }} location /b {{ proxy_pass http://app;{TURN}"
        " }  # proxy_pass http://app;"
    )


def test_a_proxy_pass_split_over_lines_gets_the_check_after_its_semicolon() -> None:
    config = "http {\n server {\n  location / {\n   proxy_pass\n     http://app;\n  }\n }\n}"
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited.split("\n")[3:5] == ["   proxy_pass", f"     http://app;{TURN}"]


def test_a_word_ending_in_proxy_pass_is_not_a_proxy_pass() -> None:
    config = (
        "http {\n server {\n"
        "  location / { proxy_pass http://app; my_proxy_pass http://app; }\n"
        " }\n}"
    )
    edited, _ = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert edited.split("\n")[2] == (
        f"  location / {{ proxy_pass http://app;{TURN} my_proxy_pass http://app; }}"
    )


def test_two_servers_each_get_the_page_and_a_server_without_a_managed_location_does_not() -> None:
    config = (
        "http {\n"
        " server { location / { proxy_pass http://app; } }\n"
        " server { location / { return 200; } }\n"
        " server { location / { proxy_pass http://app; } }\n"
        "}"
    )
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    lines = edited.split("\n")
    assert count == 2
    assert lines[1].startswith(f" server {{{location()} location /")
    assert lines[2] == " server { location / { return 200; } }"
    assert lines[3].startswith(f" server {{{location()} location /")


@pytest.mark.parametrize(
    "config",
    [
        "events {}\n",  # no http block
        "http {\n server {\n  location / { return 200; }\n }\n}",  # no proxy_pass at all
        "http {\n server {\n  proxy_pass http://app;\n }\n}",  # not in a location
        "http {\n location / { proxy_pass http://app; }\n}",  # a location outside any server
        "http {\n server {\n  location / { proxy_pass; }\n }\n}",  # proxy_pass without a target
        "stream {\n server {\n  location / { proxy_pass http://app; }\n }\n}",  # not http
    ],
)
def test_a_config_with_nothing_to_turn_is_refused_with_its_file_name(config: str) -> None:
    with pytest.raises(CompileError) as caught:
        with_maintenance(config, Settings(), {"app"}, filename="conf/nginx.conf")
    assert str(caught.value) == (
        "conf/nginx.conf: no location passes requests to a managed upstream; maintenance mode "
        "would change nothing"
    )


def test_a_location_in_a_nested_location_counts_and_an_http_inside_something_does_not() -> None:
    config = (
        "http {\n server {\n  location / {\n   location /x { proxy_pass http://app; }\n  }\n }\n}"
    )
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited.split("\n")[0] == "http { geo $specctl_maintenance { default 1; }"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("plain", "plain"),
        ("a $b", "a &#36;b"),
        ("it's", "it&#x27;s"),
        ('"q"', "&quot;q&quot;"),
        ("a\\b", "a&#92;b"),
        ("<i>&</i>", "&lt;i&gt;&amp;&lt;/i&gt;"),
        ("two\n  lines\tand  spaces ", "two lines and spaces"),
    ],
)
def test_the_page_is_one_line_nginx_and_html_read_as_written(message: str, shown: str) -> None:
    assert page(Settings(message=message)) == PAGE_HTML.format(shown)


def test_the_default_page() -> None:
    assert page(Settings()) == PAGE_HTML.format(DEFAULT_TEXT)
    assert Settings().retry_after == 120 and Settings().allow == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1.2.3", "10.1.2.3"),
        (" 10.1.2.3 ", "10.1.2.3"),
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("10.1.2.3/8 ", "10.0.0.0/8"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8::1/32", "2001:db8::/32"),
    ],
)
def test_an_allowed_address_or_range_is_canonical(value: str, expected: str) -> None:
    assert check_allow(value) == expected


@pytest.mark.parametrize("value", ["office", "10.0.0.0/33", "300.1.1.1", "", "/8"])
def test_a_bad_allowed_address_is_named(value: str) -> None:
    with pytest.raises(SpecctlError) as caught:
        check_allow(value)
    assert str(caught.value) == (
        f"--allow: {value!r} is not an address or a CIDR range such as 10.0.0.0/8"
    )
    assert caught.value.__suppress_context__


def test_a_config_on_one_line_gets_each_addition_after_its_own_brace() -> None:
    config = "events {} http { server { location / { proxy_pass http://app; } } }"
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 1
    assert edited == (
        "events {} http { geo $specctl_maintenance { default 1; } server {"
        f"{location()} location / {{ proxy_pass http://app;{TURN} }} }} }}"
    )


def test_the_geo_goes_on_the_http_line_whatever_follows_the_http_block() -> None:
    config = "http {\n server {\n  location / { proxy_pass http://app; }\n }\n}\nevents {}\n"
    edited, _ = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert edited.split("\n")[0] == "http { geo $specctl_maintenance { default 1; }"
    assert edited.split("\n")[5] == "events {}"


def test_two_managed_locations_on_a_line_and_an_unmanaged_one_between() -> None:
    config = (
        "http {\n server {\n"
        "  location /a { proxy_pass http://app; } location /x { proxy_pass http://appX; }"
        " location /b { proxy_pass http://app/b; }\n"
        " }\n}"
    )
    edited, count = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert count == 2
    assert edited.split("\n")[2] == (
        f"  location /a {{ proxy_pass http://app;{TURN} }} location /x {{ proxy_pass "
        f"http://appX; }} location /b {{ proxy_pass http://app/b;{TURN} }}"
    )


def test_a_split_proxy_pass_followed_by_more_on_its_last_line() -> None:
    config = (
        "http {\n server {\n  location / { proxy_pass\n   http://app; } location /b { return 204; }\n"
        " }\n}"
    )
    edited, _ = with_maintenance(config, Settings(), {"app"}, filename="n.conf")
    assert edited.split("\n")[3] == f"   http://app;{TURN} }} location /b {{ return 204; }}"


def test_a_config_nginx_cannot_parse_is_named_with_its_line() -> None:
    with pytest.raises(CompileError) as caught:
        with_maintenance("http {\n server {\n", Settings(), {"app"}, filename="conf/n.conf")
    assert str(caught.value).startswith("conf/n.conf:")
