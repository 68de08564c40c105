"""A user's own nginx config as proxy.base: specctl changes only the server address of each
managed upstream and keeps every other byte (pure; compiler/nginx.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from specctl.compiler.access_log import access_log, log_format
from specctl.compiler.nginx import find_upstreams, render_nginx
from specctl.schemas.desired import DesiredUpstream
from specctl.schemas.errors import CompileError


class _Desired:
    """What render_nginx reads of a Desired for a base config: the colour and the upstreams."""

    def __init__(self, color: str, **services: str) -> None:
        self.color = color
        self.upstreams = [
            DesiredUpstream(
                name=name,
                address=f"nginx.upstream.{name}",
                service=service.split(":")[0],
                server=f"{color}-{service}",
                keepalive=None,
                probe="/",
            )
            for name, service in services.items()
        ]


class _Spec:
    class proxy:
        base = "nginx.conf"

    class deploy:
        bake = None


def render(base: str, color: str = "green", **services: str) -> str:
    """The rendered config without specctl's access log on the `http {` line (tested below),
    which every base with an http block gets."""
    desired = _Desired(color, **(services or {"backend": "backend:3001"}))
    text = render_nginx(_Spec(), desired, header="", base=base)  # type: ignore[arg-type]
    added = f" {log_format(color)} {access_log()}"
    assert (added in text) == ("http {" in base)
    return text.replace(added, "", 1)


def test_every_line_of_a_rich_upstream_block_is_kept() -> None:
    base = """\
http {
    upstream backend {
        zone backend 64k;   # shared memory for the workers
        least_conn;
        server blue-backend:3001 max_fails=3 fail_timeout=30s;
        server maintenance:8080 backup;
        include /etc/nginx/upstream-extra.conf;
        keepalive 32;
        keepalive_timeout 60s;
    } # end of backend
}
"""
    assert render(base) == base.replace(
        "server blue-backend:3001 max_fails", "server green-backend:3001 max_fails"
    )


def test_a_one_line_block_changes_only_the_managed_address() -> None:
    base = "upstream backend { server old:1 backup; server blue-backend:3001 weight=2; }\n"
    assert render(base) == (
        "upstream backend { server old:1 backup; server green-backend:3001 weight=2; }\n"
    )


def test_crlf_line_ends_survive_and_a_bom_is_dropped() -> None:
    base = "\ufeffhttp {\r\n    upstream backend {\r\n        server blue-backend:3001;\r\n    }\r\n}\r\n"
    assert render(base) == (
        "http {\r\n    upstream backend {\r\n        server green-backend:3001;\r\n    }\r\n}\r\n"
    )


def test_a_stream_upstream_of_the_same_name_is_left_alone() -> None:
    base = """\
stream {
    upstream backend { server blue-backend:5432; }
}
http {
    upstream backend { server blue-backend:3001; }
}
"""
    out = render(base)
    assert "upstream backend { server blue-backend:5432; }" in out
    assert "upstream backend { server green-backend:3001; }" in out
    blocks = find_upstreams(out, filename="nginx.conf")["backend"]
    assert [(b.context, b.servers) for b in blocks] == [
        ("stream", ("blue-backend:5432",)),
        ("http", ("green-backend:3001",)),
    ]


def test_a_conf_d_fragment_without_http_works() -> None:
    base = "# conf.d/app.conf\nupstream backend {\n    server blue-backend:3001;\n}\n"
    assert render(base) == base.replace("blue-backend", "green-backend")


def test_a_server_that_names_no_colour_is_taken_when_it_is_the_only_one() -> None:
    base = "upstream backend {\n    server backend:3001;  # server blue-x:1 in a comment\n}\n"
    assert render(base) == (
        "upstream backend {\n    server green-backend:3001;  # server blue-x:1 in a comment\n}\n"
    )


def test_the_address_in_a_comment_is_not_the_one_changed() -> None:
    base = "upstream backend {  # was server blue-backend:3001;\n    server blue-backend:3001;\n}\n"
    assert render(base) == (
        "upstream backend {  # was server blue-backend:3001;\n    server green-backend:3001;\n}\n"
    )


def test_going_back_to_blue_is_the_base_itself() -> None:
    base = "upstream backend {\n    server blue-backend:3001;\n    keepalive 8;\n}\n"
    assert render(render(base), "blue") == base


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("upstream other { server x:1; }\n", "'backend' is missing"),
        (
            "upstream backend { server blue-backend:1; }\nupstream backend { server blue-backend:1; }\n",
            "appears 2 times",
        ),
        (
            "upstream backend { server blue-backend:1; server green-backend:1; }\n",
            "lists blue-backend:1 and green-backend:1",
        ),
        ("upstream backend { server a:1; server b:1; }\n", "no server line names a colour"),
    ],
)
def test_a_base_specctl_cannot_retarget_is_a_located_error(base: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        render(base)


def test_a_spec_keepalive_must_agree_with_the_base() -> None:
    base = "upstream backend {\n    server blue-backend:3001;\n    keepalive 16;\n}\n"
    desired = _Desired("green", backend="backend:3001")
    desired.upstreams = [u.model_copy(update={"keepalive": 32}) for u in desired.upstreams]
    with pytest.raises(CompileError, match="says keepalive 16, the spec says keepalive 32"):
        render_nginx(_Spec(), desired, header="", base=base)  # type: ignore[arg-type]
    desired.upstreams = [u.model_copy(update={"keepalive": 16}) for u in desired.upstreams]
    assert "keepalive 16;" in render_nginx(_Spec(), desired, header="", base=base)  # type: ignore[arg-type]


PER_COLOUR_BASE = """\
upstream backend {
    server blue-backend:3001;
}
server {
    location /uploads/ { alias /srv/uploads/blue/; }  # specctl: per-colour
    add_header X-Colour "blue";   # specctl: per-color (either spelling)
    location /docs/ { alias /srv/docs/blue/; }
    location /bluebird/ { return 204; }  # specctl: per-colour (not a colour word)
}
"""


def test_a_line_marked_per_colour_names_the_target_colour() -> None:
    green = render(PER_COLOUR_BASE).split("\n")
    assert (
        green[4] == "    location /uploads/ { alias /srv/uploads/green/; }  # specctl: per-colour"
    )
    assert green[5] == '    add_header X-Colour "green";   # specctl: per-color (either spelling)'
    assert green[6] == "    location /docs/ { alias /srv/docs/blue/; }"  # not marked: as written
    assert green[7] == PER_COLOUR_BASE.split("\n")[7]
    assert render(render(PER_COLOUR_BASE), "blue") == PER_COLOUR_BASE


def test_only_unmarked_lines_that_name_a_colour_are_warned_about() -> None:
    from specctl.compiler.load import load_spec
    from specctl.compiler.nginx import colour_lines

    spec = load_spec(
        "version: 1\nproject: p\nservices:\n  backend: {image: x, port: 3001}\n"
        "proxy:\n  image: nginx\n  base: nginx.conf\n  upstreams: {backend: backend}\n",
        filename="spec.yaml",
    )
    warnings = colour_lines(PER_COLOUR_BASE, spec, base_name="nginx.conf")
    assert [w.split(":")[1] for w in warnings] == ["7"]
    assert "names blue outside the managed upstreams" in warnings[0]
    assert "# specctl: per-colour" in warnings[0]


INCLUDING_SPEC = """\
version: 1
project: inc
root: ..
services:
  backend: {image: x, port: 3001}
  frontend: {image: x, port: 80}
proxy:
  image: nginx
  base: nginx.conf
  upstreams: {backend: backend, frontend: frontend}
"""

MAIN = """\
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    include upstreams.conf;
    include conf.d/*.conf;   # the sites
}
"""


def including_project(tmp_path: Path, upstreams: str) -> Any:
    from specctl.appliers.project import load_project

    (tmp_path / "config" / "conf.d").mkdir(parents=True)
    (tmp_path / "config" / "spec.yaml").write_text(INCLUDING_SPEC)
    (tmp_path / "config" / "nginx.conf").write_text(MAIN)
    (tmp_path / "config" / "upstreams.conf").write_text(upstreams)
    (tmp_path / "config" / "conf.d" / "b-site.conf").write_text(
        "server {\n    listen 80;\n    location / { proxy_pass http://frontend; }\n}\n"
    )
    (tmp_path / "config" / "conf.d" / "a-api.conf").write_text(
        "upstream frontend {\n    server blue-frontend:80;\n}\n"
    )
    return load_project(tmp_path / "config" / "spec.yaml")


def test_upstreams_in_included_files_are_followed_and_written_in(tmp_path: Path) -> None:
    project = including_project(tmp_path, "upstream backend {\n    server blue-backend:3001;\n}\n")
    green = project.compile()["inc/nginx.green.conf"].split("\n", 2)[2]
    assert green == (
        "events { worker_connections 64; }\n"
        f"http {{ {log_format('green')} {access_log()}\n"
        "    include /etc/nginx/mime.types;\n"  # the container's file: as written
        "    # include upstreams.conf;  (specctl: inlined from upstreams.conf)\n"
        "upstream backend {\n"
        "    server green-backend:3001;\n"
        "}\n"
        "    # include conf.d/*.conf;   # the sites  (specctl: inlined from conf.d/a-api.conf, "
        "conf.d/b-site.conf)\n"
        "upstream frontend {\n"
        "    server green-frontend:80;\n"
        "}\n"
        "server {\n"
        "    listen 80;\n"
        "    location / { proxy_pass http://frontend; }\n"
        "}\n"
        "}\n"
    )


def test_a_problem_in_an_included_file_names_that_file_and_line(tmp_path: Path) -> None:
    project = including_project(
        tmp_path,
        "# the backends\nupstream backend {\n    server blue-backend:1;\n"
        "    server green-backend:1;\n}\n",
    )
    with pytest.raises(CompileError, match=r"^upstreams\.conf:4: upstream 'backend' lists"):
        project.compile()


def test_the_access_log_sits_on_the_http_line_and_beside_lower_level_logs() -> None:
    """An access_log in a server or location replaces the inherited ones, so specctl's log is
    added beside each (not beside `off`); lines are extended, never added."""
    base = (
        "http {  # the site\n"
        "    access_log /var/log/nginx/access.log main;\n"
        "    upstream backend { server blue-backend:3001; }\n"
        "    server {\n"
        "        access_log /var/log/nginx/site.log;  # per site\n"
        "        location / { proxy_pass http://backend; }\n"
        "        location /health { access_log off; return 200; }\n"
        "    }\n"
        "}\n"
    )
    desired = _Desired("green", backend="backend:3001")
    text = render_nginx(_Spec(), desired, header="", base=base)  # type: ignore[arg-type]
    lines = text.split("\n")
    assert len(lines) == len(base.split("\n"))
    assert lines[0] == f"http {{ {log_format('green')} {access_log()}  # the site"
    assert lines[1] == "    access_log /var/log/nginx/access.log main;"  # inherited: kept
    assert lines[4] == (f"        access_log /var/log/nginx/site.log; {access_log()}  # per site")
    assert lines[6] == "        location /health { access_log off; return 200; }"
    assert '"color":"green"' in log_format("green")


def test_access_log_off_in_the_http_block_is_refused_with_a_bake() -> None:
    """It would silence the log the bake judges: every bake would pass without judgement."""

    class Baking(_Spec):
        class deploy:
            bake = object()

    base = "http {\n    access_log off;\n    upstream backend { server blue-backend:3001; }\n}\n"
    desired = _Desired("green", backend="backend:3001")
    assert "access_log off;" in render(base)  # without a bake: kept as written
    with pytest.raises(CompileError, match=r"^nginx\.conf:2: `access_log off;` in the http block"):
        render_nginx(Baking(), desired, header="", base=base)  # type: ignore[arg-type]
    in_a_location = base.replace("access_log off;", "server { location /h { access_log off; } }")
    assert render_nginx(Baking(), desired, header="", base=in_a_location)  # type: ignore[arg-type]
