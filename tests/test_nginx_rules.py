"""compiler/nginx.py, nginx_walk.py and nginx_include.py rule by rule: the built-in config, the
edit of a user's base, the reading of upstream blocks, includes and certificates; pure."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.access_log import access_log, log_format
from specctl.compiler.expand import expand
from specctl.compiler.load import load_spec
from specctl.compiler.nginx import (
    Block,
    Server,
    _template_source,
    colour_lines,
    find_upstreams,
    managed_server,
    per_colour,
    render_nginx,
    replace_address,
    unrouted,
    upstream_block,
)
from specctl.compiler.nginx_include import Include, inline, relative_includes, relocate
from specctl.compiler.nginx_walk import Event, after_brace, certificate_pairs, code_part, walk
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError
from specctl.schemas.spec import Spec

HINT_ONE_BLOCK = (
    "the base must hold exactly one http block per managed upstream; specctl changes only its "
    "server line"
)
HINT_NAME_A_COLOUR = "write `server blue-backend:PORT;` in the base; specctl changes it per colour"


def upstream(
    server: str = "green-backend:3001", *, keepalive: int | None = None, name: str = "backend"
) -> DesiredUpstream:
    return DesiredUpstream(
        name=name,
        address=f"nginx.upstream.{name}",
        service="backend",
        server=server,
        keepalive=keepalive,
        probe="/",
    )


ROUTED = "  locations: [{path: /, upstream: backend}]\n"


def make_spec(extra: str = "", *, proxy: str = ROUTED, services: str = "") -> Spec:
    return load_spec(
        "version: 1\nproject: p\nservices:\n  backend: {image: x, port: 3001}\n"
        f"{services}proxy:\n  image: nginx\n  upstreams: {{backend: backend}}\n{proxy}{extra}",
        filename="spec.yaml",
    )


BASED = make_spec(proxy="  base: nginx.conf\n")


def render_base(base: str, the_spec: Spec = BASED, color: str = "green", **kwargs: Any) -> str:
    desired = expand(the_spec, color, spec_digest="0" * 64)
    return render_nginx(the_spec, desired, header="", base=base, **kwargs)


def refused(base: str, the_spec: Spec = BASED, **kwargs: Any) -> CompileError:
    with pytest.raises(CompileError) as caught:
        render_base(base, the_spec, **kwargs)
    return caught.value


# --- the built-in config -----------------------------------------------------------------------


def test_an_upstream_block_names_its_colour_server_and_keepalive() -> None:
    assert upstream_block(upstream(keepalive=16), "  ", "green") == (
        "  upstream backend {\n"
        "      # managed by specctl: green\n"
        "      server green-backend:3001;\n"
        "      keepalive 16;\n"
        "  }"
    )


def test_an_upstream_block_without_a_colour_says_so_and_has_no_keepalive_line() -> None:
    assert upstream_block(upstream(), "") == (
        "upstream backend {\n    # managed by specctl: ?\n    server green-backend:3001;\n}"
    )


RICH = """\
domain: app.example
paths:
  certs: {path: certs, kind: certificate, mode: "0700"}
"""
RICH_PROXY = """\
  locations:
    - {path: /api/, upstream: backend, upstream_path: /v1/}
  tls: {path: certs, target: /etc/certs/, certificate: live/cert.pem, key: live/key.pem}
"""


def built_in(the_spec: Spec, header: str = "# generated\n") -> list[str]:
    desired = expand(the_spec, "green", spec_digest="0" * 64)
    return render_nginx(the_spec, desired, header=header, base=None).split("\n")


def test_the_built_in_template_is_read_from_the_package() -> None:
    assert _template_source("nginx.conf.j2").startswith("{{ header }}\nworker_processes auto;\n")


def test_the_built_in_config_carries_the_header_certificates_and_domain() -> None:
    lines = built_in(make_spec(RICH, proxy=RICH_PROXY), header="# generated\n\n")
    assert lines[:2] == ["# generated", "worker_processes auto;"]
    assert "        ssl_certificate /etc/certs/live/cert.pem;" in lines
    assert "        ssl_certificate_key /etc/certs/live/key.pem;" in lines
    assert "        listen 443 ssl;" in lines
    assert "        server_name app.example;" in lines
    assert "            proxy_pass http://backend/v1/;" in lines
    assert "        # managed by specctl: green" in lines
    assert f"    {log_format('green')}" in lines
    assert f"    {access_log()}" in lines
    assert not any("proxy_connect_timeout" in line for line in lines)


def test_without_a_domain_or_tls_the_server_takes_every_name_on_port_80_only() -> None:
    lines = built_in(make_spec())
    assert "        server_name _;" in lines
    assert not any("443" in line or "ssl_" in line for line in lines)


@pytest.mark.parametrize(
    ("engine", "timeouts"),
    [
        ("engine: {kind: swarm, endpoint_mode: dnsrr}\n", 1),
        ("engine: {kind: swarm, endpoint_mode: vip}\n", 0),
        ("", 0),
    ],
    ids=["swarm-dnsrr", "swarm-vip", "compose"],
)
def test_only_dnsrr_on_a_swarm_gets_a_short_connect_timeout(engine: str, timeouts: int) -> None:
    lines = built_in(make_spec(engine))
    assert lines.count("            proxy_connect_timeout 2s;") == timeouts


# --- a user's base config ------------------------------------------------------------------------


def test_a_base_whose_upstream_is_missing_is_refused_with_the_rule() -> None:
    error = refused("upstream other { server blue-x:1; }\n")
    assert error.message == "nginx.conf: upstream 'backend' is missing from the base config"
    assert error.hint == HINT_ONE_BLOCK


def test_a_base_with_the_upstream_twice_is_refused_and_stream_blocks_do_not_count() -> None:
    block = "upstream backend { server blue-backend:1; }\n"
    error = refused(block * 3)
    assert error.message == "nginx.conf: upstream 'backend' appears 3 times in the base config"
    assert error.hint == HINT_ONE_BLOCK
    only_stream = refused(f"stream {{ {block} }}\n")
    assert only_stream.message == "nginx.conf: upstream 'backend' is missing from the base config"


def test_a_base_that_does_not_parse_is_a_located_error() -> None:
    error = refused("http {\n    upstream backend { server blue-backend:1; }\n")
    assert error.message == 'nginx.conf:2: unexpected end of file, expecting "}"'


def test_a_base_without_a_proxy_base_name_is_called_base() -> None:
    error = refused("upstream other { server x:1; }\n", make_spec())
    assert error.message == "base: upstream 'backend' is missing from the base config"


def test_a_server_address_on_its_own_line_is_refused() -> None:
    error = refused("upstream backend {\n    server\n        blue-backend:3001;\n}\n")
    assert error.message == (
        "nginx.conf:3: upstream 'backend': cannot find `server blue-backend:3001` on its line"
    )
    assert error.hint == "write the server directive and its address on one line"


def test_an_error_in_an_inlined_file_names_that_file_and_keeps_its_hint() -> None:
    origin = (("upstreams.conf", 7), ("upstreams.conf", 8))
    error = refused("upstream backend {\n}\n", origin=origin)
    assert error.message == (
        "upstreams.conf:7: upstream 'backend': no server line names a colour of service "
        "'backend' (no server)"
    )
    assert error.hint == HINT_NAME_A_COLOUR


BAKING = make_spec("deploy: {bake: 5m}\n", proxy="  base: nginx.conf\n")
LOG_OFF = "http {\n    access_log off;\n    upstream backend { server blue-backend:1; }\n}\n"


def test_access_log_off_with_a_bake_names_the_line_and_the_two_ways_out() -> None:
    error = refused(LOG_OFF, BAKING)
    assert error.message == (
        "nginx.conf:2: `access_log off;` in the http block turns off the access log that "
        "deploy.bake reads"
    )
    assert error.hint == (
        "remove it (turn the log off per location instead, as for health checks), or drop "
        "deploy.bake"
    )


def test_access_log_off_in_an_inlined_file_names_that_file() -> None:
    origin = (("nginx.conf", 1), ("logs.conf", 4), ("nginx.conf", 3), ("nginx.conf", 4))
    error = refused(LOG_OFF, BAKING, origin=origin)
    assert error.message.startswith("logs.conf:4: `access_log off;` in the http block")


def test_access_log_off_after_a_byte_order_mark_is_still_found() -> None:
    error = refused("\ufeff" + LOG_OFF, BAKING)
    assert error.message.startswith("nginx.conf:2: `access_log off;`")


def test_a_base_is_prefixed_by_the_header() -> None:
    desired = expand(BASED, "green", spec_digest="0" * 64)
    base = "upstream backend { server blue-backend:3001; }\n"
    assert render_nginx(BASED, desired, header="# head\n", base=base) == (
        "# head\nupstream backend { server green-backend:3001; }\n"
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("server blue-backend:1;", "has no keepalive line"),
        ("server blue-backend:1; # keepalive 8;", "has no keepalive line"),
        ("server blue-backend:1; x-keepalive 8;", "has no keepalive line"),
        ("server blue-backend:1; keepalive 16;", "says keepalive 16"),
    ],
)
def test_a_spec_keepalive_the_base_does_not_say_is_refused(block: str, message: str) -> None:
    desired = expand(BASED, "green", spec_digest="0" * 64)
    desired = desired.model_copy(update={"upstreams": [upstream(keepalive=8)]})
    base = f"http {{\nupstream backend {{\n{block}\n}}\n}}\n"
    with pytest.raises(CompileError) as caught:
        render_nginx(BASED, desired, header="", base=base)
    assert caught.value.message == (
        f"nginx.conf:2: upstream 'backend' {message}, the spec says keepalive 8"
    )
    assert caught.value.hint == (
        "with a base config the base's upstream lines are kept as written: set keepalive there "
        "and drop it from proxy.upstreams"
    )


@pytest.mark.parametrize(
    "block",
    [
        "upstream backend {\nserver blue-backend:1;\nkeepalive 8;\n}\n",
        "upstream backend {  # the pool\n    server blue-backend:1;\n    keepalive 8;\n}\n",
        "upstream backend {\n    server blue-backend:1;\n    keepalive\n        8;\n}\n",
    ],
    ids=["at-line-start", "after-a-comment", "over-two-lines"],
)
def test_the_keepalive_line_of_the_block_is_found_wherever_it_stands(block: str) -> None:
    desired = expand(BASED, "green", spec_digest="0" * 64)
    desired = desired.model_copy(update={"upstreams": [upstream(keepalive=8)]})
    assert render_nginx(BASED, desired, header="", base=block) == block.replace(
        "blue-backend:1", "green-backend:3001"
    )


def test_a_keepalive_outside_the_managed_block_does_not_count() -> None:
    desired = expand(BASED, "green", spec_digest="0" * 64)
    desired = desired.model_copy(update={"upstreams": [upstream(keepalive=8)]})
    base = "upstream backend {\n    server blue-backend:1;\n}\nupstream x { keepalive 8; }\n"
    with pytest.raises(CompileError, match="'backend' has no keepalive line"):
        render_nginx(BASED, desired, header="", base=base)
    inside = "upstream backend {\n    server blue-backend:1;\n    keepalive 8;\n}\n"
    assert render_nginx(BASED, desired, header="", base=inside) == inside.replace(
        "blue-backend:1", "green-backend:3001"
    )


# --- reading upstream blocks --------------------------------------------------------------------


def test_upstream_blocks_are_read_with_their_lines_context_and_server_parameters() -> None:
    text = (
        "upstream a {\n"
        "    server blue-a:1 weight=2 backup;\n"
        "    keepalive 4;\n"
        "    nested { server inner:1; }\n"
        "}\n"
        "stream { upstream s { server y:2; } }\n"
        "upstream { server nameless:1; }\n"
    )
    assert find_upstreams(text, filename="f") == {
        "a": [Block("a", 1, 5, "http", (Server("blue-a:1", 2, ("weight=2", "backup")),))],
        "s": [Block("s", 6, 6, "stream", (Server("y:2", 6),))],
    }


def test_a_block_begins_on_the_line_of_the_word_upstream() -> None:
    text = "upstream\n    backend\n{\n    server blue-backend:1;\n}\n"
    assert find_upstreams(text, filename="f") == {
        "backend": [Block("backend", 1, 5, "http", (Server("blue-backend:1", 4),))]
    }


def test_reading_upstreams_of_a_config_that_does_not_parse_names_the_file() -> None:
    with pytest.raises(CompileError, match=r'^f\.conf:1: unexpected end of file, expecting "}"$'):
        find_upstreams("upstream a {\n", filename="f.conf")


def test_an_upstream_inside_an_upstream_is_part_of_the_outer_block() -> None:
    text = "upstream a {\n  upstream b { server x:1; }\n  server blue-a:1;\n}\n"
    assert find_upstreams(text, filename="f") == {
        "a": [Block("a", 1, 4, "http", (Server("blue-a:1", 3),))]
    }


def test_a_server_without_an_address_is_not_an_entry() -> None:
    blocks = find_upstreams("upstream a {\n  server;\n}\n", filename="f")
    assert blocks["a"][0].entries == ()


def test_the_servers_of_a_block_are_its_addresses_in_order() -> None:
    block = Block("a", 1, 3, entries=(Server("x:1", 2), Server("y:1", 3, ("backup",))))
    assert (block.context, block.servers) == ("http", ("x:1", "y:1"))


# --- which server line is retargeted ------------------------------------------------------------


def block_of(servers: str) -> Block:
    return find_upstreams(f"upstream backend {{\n{servers}}}\n", filename="f")["backend"][0]


@pytest.mark.parametrize(
    ("servers", "chosen"),
    [
        ("server old:1 backup;\nserver green-backend;\n", "green-backend"),
        ("server blue-backend2:1;\nserver blue-backend:1;\n", "blue-backend:1"),
        ("server blue-other:1;\nserver a:1 backup;\n", "blue-other:1"),
        ("server a:1 down;\nserver b:1 backup;\nserver c:1;\n", "c:1"),
    ],
    ids=["a-colour-name", "the-service-exactly", "the-only-primary", "not-down-not-backup"],
)
def test_the_managed_server_is_the_colour_named_one_else_the_only_primary(
    servers: str, chosen: str
) -> None:
    assert managed_server(block_of(servers), upstream(), "f").address == chosen


def test_two_colours_of_the_service_are_refused_at_the_second() -> None:
    block = block_of("server blue-backend:1;\nserver a:1;\nserver green-backend;\n")
    with pytest.raises(CompileError) as caught:
        managed_server(block, upstream(), "f")
    assert caught.value.message == "f:4: upstream 'backend' lists blue-backend:1 and green-backend"
    assert caught.value.hint == (
        "specctl routes an upstream to one colour at a time: keep one server line for backend "
        "(blue-backend or green-backend)"
    )


def test_several_primaries_naming_no_colour_are_listed() -> None:
    block = block_of("server a:1 backup;\nserver b:1;\nserver c:1 down;\nserver d:1;\n")
    with pytest.raises(CompileError) as caught:
        managed_server(block, upstream(), "f")
    assert caught.value.message == (
        "f:1: upstream 'backend': no server line names a colour of service 'backend' "
        "(a:1, b:1, c:1, d:1)"
    )
    assert caught.value.hint == HINT_NAME_A_COLOUR


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("server blue-b:1;", "server green-b:1;"),
        (
            '  server "blue-b:1" weight=1; # server blue-b:1',
            '  server "green-b:1" weight=1; # server blue-b:1',
        ),
        ("server 'blue-b:1'", "server 'green-b:1'"),
        ("server\tblue-b:1 backup;", "server\tgreen-b:1 backup;"),
        ("server blue-b:1", "server green-b:1"),
        ("xserver blue-b:1;", None),
        ("-server blue-b:1;", None),
        ("server blue-b:10;", None),
        ("server 'blue-b:1\";", None),
        ("# server blue-b:1;", None),
        ("serverblue-b:1;", None),
    ],
)
def test_only_the_address_of_a_server_directive_is_replaced(
    line: str, expected: str | None
) -> None:
    assert replace_address(line, "blue-b:1", "green-b:1") == expected


def test_an_address_that_is_also_the_word_server_is_replaced_after_the_directive() -> None:
    assert replace_address("server server;", "server", "x") == "server x;"


# --- lines marked per colour --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "alias /blue/ bluegreen green_x; #specctl:per-color",
            "alias /green/ bluegreen green_x; #specctl:per-color",
        ),
        ('x "#" blue; # specctl: per-colour', 'x "#" green; # specctl: per-colour'),
        ("alias /blue/; # specctl: per-colour blue", "alias /green/; # specctl: per-colour blue"),
        ("alias /blue/;", "alias /blue/;"),
        ("alias /blue/; # specctl: per-colours", "alias /blue/; # specctl: per-colours"),
        ("alias /blue/; specctl: per-colour", "alias /blue/; specctl: per-colour"),
    ],
)
def test_a_line_marked_per_colour_names_the_target_in_its_code_only(
    line: str, expected: str
) -> None:
    assert per_colour(line, "green") == expected


# --- colour words outside the managed blocks ----------------------------------------------------


TWO_SERVICES = "  web-api: {image: x, port: 80}\n  web: {image: x, port: 80}\n"


def warnings_of(base: str, **kwargs: Any) -> list[str]:
    return colour_lines(
        base,
        make_spec(proxy="  base: nginx.conf\n", services=TWO_SERVICES),
        base_name="nginx.conf",
        **kwargs,
    )


def warning(place: str, line: str, color: str) -> str:
    return (
        f"{place}: `{line}` names {color} outside the managed upstreams; specctl keeps "
        "it as written for both colours (end the line with `# specctl: per-colour` to have it "
        "name the target colour)"
    )


def test_each_line_naming_a_colour_of_a_service_is_one_warning() -> None:
    base = (
        "\ufeffupstream backend {\n"
        "    server blue-backend:1;\n"
        "}\n"
        "  proxy_pass http://green-web-api:80;  \n"
        "proxy_pass http://blue-web;\n"
        "proxy_pass http://blue-webx;\n"
        "proxy_pass http://x.blue-web;\n"
        "alias /srv/green;\n"
        "alias /srv/blue/x;\n"
        "alias /srv/bluex/;\n"
        "alias /srv/blue/; # specctl: per-colour\n"
        "# proxy_pass http://blue-web;\n"
        'alias "/srv/blue";\n'
    )
    assert warnings_of(base) == [
        warning("nginx.conf:4", "proxy_pass http://green-web-api:80;", "green"),
        warning("nginx.conf:5", "proxy_pass http://blue-web;", "blue"),
        warning("nginx.conf:8", "alias /srv/green;", "green"),
        warning("nginx.conf:9", "alias /srv/blue/x;", "blue"),
        warning("nginx.conf:13", 'alias "/srv/blue";', "blue"),
    ]


@pytest.mark.parametrize(
    "base",
    [
        "upstream backend { server blue-backend:1;\n    server x:1 backup;\n}\n",
        "upstream backend {\n    server x:1 backup;\n    server blue-backend:1; }\n",
    ],
    ids=["first-line", "last-line"],
)
def test_the_first_and_last_lines_of_a_managed_block_are_managed(base: str) -> None:
    assert warnings_of(base) == []


def test_a_stream_block_of_a_managed_name_is_not_managed() -> None:
    base = "stream {\n    upstream backend { server blue-backend:1; }\n}\n"
    assert warnings_of(base) == [
        warning("nginx.conf:2", "upstream backend { server blue-backend:1; }", "blue")
    ]


def test_a_warning_about_an_inlined_line_names_its_file() -> None:
    origin = (("nginx.conf", 1), ("sites.conf", 12))
    assert warnings_of("# sites\nalias /srv/blue;\n", origin=origin) == [
        warning("sites.conf:12", "alias /srv/blue;", "blue")
    ]
    # the file's name, not the line read as nginx.conf:2
    assert warnings_of("a;\nalias /srv/blue;\n", origin=origin)[0].startswith("sites.conf:12: ")


def test_a_base_that_does_not_parse_has_no_colour_warnings() -> None:
    assert warnings_of("alias /srv/blue;\nhttp {\n") == []


# --- the base without any route -----------------------------------------------------------------


def test_unrouted_blanks_the_managed_server_address_of_each_upstream() -> None:
    the_spec = load_spec(
        "version: 1\nproject: p\nservices:\n  backend: {image: x, port: 3001}\n"
        "  web: {image: x, port: 80}\nproxy:\n  image: nginx\n  base: nginx.conf\n"
        "  upstreams: {backend: backend, web: {service: web}, api: backend}\n",
        filename="spec.yaml",
    )
    base = (
        "upstream backend {\n    server blue-backend:1 max_fails=2;\n    server x:1 backup;\n}\n"
        "upstream web {\n    server a:1;\n    server b:1;\n}\n"
        "upstream api { server\n   green-backend:1; }\n"
        "upstream other { server blue-other:1; }\n"
    )
    assert unrouted(base, the_spec) == base.replace("blue-backend:1", "-", 1)


def test_unrouted_skips_a_block_it_cannot_retarget_and_a_missing_upstream() -> None:
    the_spec = load_spec(
        "version: 1\nproject: p\nservices:\n  backend: {image: x, port: 3001}\n"
        "proxy:\n  image: nginx\n  base: nginx.conf\n  upstreams: {api: backend, backend: backend}\n",
        filename="spec.yaml",
    )
    base = (
        "upstream backend { server a:1; server b:1; }\n"
        "upstream backend { server blue-backend:1; }\n"
    )
    assert unrouted(base, the_spec) == (
        "upstream backend { server a:1; server b:1; }\nupstream backend { server -; }\n"
    )


def test_unrouted_leaves_an_empty_or_unparsable_base_as_it_is() -> None:
    assert unrouted("", BASED) == ""
    assert unrouted("upstream backend { server blue-backend:1;\n", BASED) == (
        "upstream backend { server blue-backend:1;\n"
    )


def test_unrouted_uses_each_upstreams_own_service() -> None:
    the_spec = load_spec(
        "version: 1\nproject: p\nservices:\n  backend: {image: x, port: 3001}\n"
        "  web: {image: x, port: 80}\nproxy:\n  image: nginx\n  base: nginx.conf\n"
        "  upstreams: {front: web}\n",
        filename="spec.yaml",
    )
    base = "upstream front { server blue-backend:1; server green-web:80; }\n"
    assert unrouted(base, the_spec) == "upstream front { server blue-backend:1; server -; }\n"


# --- the walk over a config ---------------------------------------------------------------------


def test_the_walk_yields_statements_and_block_edges_with_their_stack_and_line() -> None:
    text = '\ufeffhttp {\n  server { listen "80" ; }  # c\n}\n{ a "{" "#b"; }\n'
    assert list(walk(text, filename="f")) == [
        Event("open", (("http", 1),), (), 1),
        Event("open", (("server", 2),), ("http",), 2),
        Event("statement", (("listen", 2), ("80", 2)), ("http", "server"), 2),
        Event("close", (), ("http", "server"), 2),
        Event("close", (), ("http",), 3),
        Event("open", (), (), 4),
        Event("statement", (("a", 4), ("{", 4), ("#b", 4)), ("",), 4),
        Event("close", (), ("",), 4),
    ]


def test_an_event_without_words_has_no_directive() -> None:
    assert Event("close", (), (), 1).directive == ""
    assert Event("statement", (("listen", 1), ("80", 1)), (), 1).directive == "listen"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http {\n", 'f.conf:1: unexpected end of file, expecting "}"'),
        ("a;\n}\n", 'f.conf:2: unexpected "}"'),
    ],
)
def test_a_config_nginx_cannot_parse_is_a_located_error(text: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        list(walk(text, filename="f.conf"))
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('return 200 "a#b"; # note', 'return 200 "a#b"; '),
        ("return 200 'a#b'; # note", "return 200 'a#b'; "),
        ('add_header X "it\'s"; # c', 'add_header X "it\'s"; '),
        ("listen 80;", "listen 80;"),
        ("# all comment", ""),
    ],
)
def test_the_code_of_a_line_stops_at_a_hash_outside_quotes(line: str, code: str) -> None:
    assert code_part(line) == code


@pytest.mark.parametrize(
    ("line", "word", "expected"),
    [
        ("http { # x {", "http", "http { A # x {"),
        ("  location / {", "http", "  location / { A"),
        ("xhttp { http{", "http", "xhttp { http{ A"),
        ("a-http { http  {", "http", "a-http { http  { A"),
        ("location / { if ($x) {", "http", "location / { A if ($x) {"),
        ("http {x", "http", "http { Ax"),
        ("server {x", "http", "server { Ax"),
    ],
)
def test_text_is_added_right_after_the_brace_of_the_block(
    line: str, word: str, expected: str
) -> None:
    assert after_brace(line, word, " A") == expected


def test_certificate_pairs_are_read_block_by_block() -> None:
    text = (
        "ssl_certificate top;\nssl_certificate_key top-key;\n"
        "server { ssl_certificate a; ssl_certificate_key b c; }\n"
        "server { ssl_certificate d; location / { ssl_certificate_key e; } }\n"
        "server { ssl_certificate_key g; ssl_certificate f; }\n"
    )
    assert certificate_pairs(text) == [("f", "g")]
    assert certificate_pairs("server { ssl_certificate a; ssl_certificate_key b; }\n") == [
        ("a", "b")
    ]


def test_a_config_that_does_not_parse_has_no_certificate_pairs() -> None:
    assert certificate_pairs("server { ssl_certificate a; ssl_certificate_key b;") == []


# --- included files -----------------------------------------------------------------------------


def test_relative_includes_alone_on_their_line_are_found() -> None:
    text = (
        "\ufeffinclude a.conf;\n"
        '  include "b/*.conf" ;  # the sites\n'
        "include /etc/nginx/mime.types;\n"
        "include c.conf; include d.conf;\n"
        "include e.conf;\r\n"
        "http { include f.conf; }\n"
        "include g.conf h.conf;\n"
        "include\n  i.conf;\n"
        "include 'j.conf';\n"
        "# include k.conf;\n"
        "includes l.conf;\n"
    )
    assert relative_includes(text, filename="f") == [
        Include(1, "a.conf"),
        Include(2, "b/*.conf"),
        Include(5, "e.conf"),
        Include(10, "j.conf"),
    ]


def test_an_include_without_a_path_is_not_followed() -> None:
    assert relative_includes("include;\ninclude a b;\n", filename="f") == []


def test_includes_of_a_config_that_does_not_parse_are_a_located_error() -> None:
    with pytest.raises(CompileError, match=r"^nginx\.conf:1: unexpected end of file"):
        relative_includes("http {\n", filename="nginx.conf")


def test_included_files_are_written_in_place_of_their_line_with_their_origin() -> None:
    text, origin = inline(
        "\ufeffa\n\t include x.conf;\r\nb\ninclude none;",
        {2: [("x.conf", "\ufeffu1\nu2\n"), ("y.conf", "y1")], 4: []},
        base_name="nginx.conf",
    )
    assert text == (
        "a\n\t # include x.conf;  (specctl: inlined from x.conf, y.conf)\r\nu1\nu2\ny1\nb\n"
        "# include none;  (specctl: inlined from no file)"
    )
    assert origin == (
        ("nginx.conf", 1),
        ("nginx.conf", 2),
        ("x.conf", 1),
        ("x.conf", 2),
        ("y.conf", 1),
        ("nginx.conf", 3),
        ("nginx.conf", 4),
    )


def test_a_message_about_the_inlined_text_names_the_file_and_line_it_came_from() -> None:
    origin = (("nginx.conf", 1), ("x.conf", 7), ("x.conf", 8), ("nginx.conf", 2), ("y", 1))
    message = "nginx.conf:2: and nginx.conf:5 nginx.conf:0 nginx.conf:99 other:2 nginx-conf:1"
    assert relocate(message, "nginx.conf", origin) == (
        "x.conf:7: and y:1 nginx.conf:0 nginx.conf:99 other:2 nginx-conf:1"
    )
    assert relocate("nginx.conf:2: x", "nginx.conf", ()) == "nginx.conf:2: x"
