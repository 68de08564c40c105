"""Property: any valid spec compiles, deterministically, to compose files that
`docker compose config` accepts and nginx configs that `nginx -t` accepts (in the testbed's
nginx 1.22 image, the upstream host names given to it as /etc/hosts entries, no network)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specctl.compiler.compile import Inputs, compile_spec
from specctl.compiler.compose import dump_yaml
from specctl.compiler.load import load_spec
from specctl.compiler.nginx import find_upstreams

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
ENV_KEYS = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,10}\Z").filter(
    lambda k: not k.endswith(("PASSWORD", "SECRET", "TOKEN", "_KEY", "PASSWD", "APIKEY"))
)
ENV_VALUES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    st.integers(-1000, 1000),
    st.booleans(),
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    services: dict[str, Any] = {}
    for offset, name in enumerate(names):
        service: dict[str, Any] = {
            "image": draw(st.sampled_from(["specctl-testbed/app:1.0", "nginx:1.25", "x/y:z"])),
            "port": draw(st.integers(1, 65535)),
            "environment": draw(st.dictionaries(ENV_KEYS, ENV_VALUES, max_size=3)),
        }
        if draw(st.booleans()):
            service["host_port"] = {"offset": offset}
        if draw(st.booleans()):
            service["healthcheck"] = draw(
                st.sampled_from(
                    [{"http": "/health", "interval": "2s"}, {"command": ["true"], "retries": 3}]
                )
            )
        if draw(st.booleans()):
            service["resources"] = {"memory": "64M", "cpus": 0.5}
        if draw(st.booleans()):
            service["volumes"] = [{"path": "data", "target": "/data"}]
        if draw(st.booleans()):
            service["command"] = draw(st.lists(NAMES, min_size=1, max_size=3))
        services[name] = service
    if draw(st.booleans()) and len(names) > 1:
        services[names[1]]["depends_on"] = {names[0]: draw(st.sampled_from(["started", "healthy"]))}
        services[names[0]].setdefault("healthcheck", {"command": "true"})
    return {
        "project": draw(NAMES),
        "colors": {"blue": {"port_base": 30000}, "green": {"port_base": 31000}},
        "services": services,
        "paths": {"data": {"path": "data/{color}", "mode": "0750", "subdirs": ["tmp"]}},
        "proxy": {
            "image": "specctl-testbed/nginx:1.22",
            "ports": [{"host": 32000}],
            "upstreams": {"main": {"service": names[0]}},
            "locations": [{"path": "/", "upstream": "main"}],
        },
    }


def nginx_t(config: Path, hosts: list[str]) -> tuple[int, str]:
    """`nginx -t` of `config` as specctl mounts it, in a throwaway container."""
    argv = ["docker", "run", "--rm", "--network", "none"]
    for host in sorted(set(hosts)):
        argv += ["--add-host", f"{host}:127.0.0.1"]
    argv += ["-v", f"{config}:/etc/nginx/specctl/nginx.conf:ro", "specctl-testbed/nginx:1.22"]
    argv += ["nginx", "-t", "-c", "/etc/nginx/specctl/nginx.conf"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_valid_specs_compile_to_accepted_compose_files(
    docker_engine: None, doc: dict[str, Any]
) -> None:
    spec = load_spec(dump_yaml(doc), filename="random.yaml")
    inputs = Inputs(spec_name="config/random.yaml", root_ref="../..")
    files = compile_spec(spec, inputs)
    assert files == compile_spec(spec, inputs)
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            path = Path(tmp) / "generated" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if rel.endswith(".conf"):
                blocks = find_upstreams(text, filename=rel)["main"]
                hosts = [server.rsplit(":", 1)[0] for b in blocks for server in b.servers]
                code, said = nginx_t(path, hosts)
                assert code == 0, f"{rel}: {said}\n{text}"
            if rel.endswith(".yml"):
                proc = subprocess.run(
                    ["docker", "compose", "-f", str(path), "config", "-q"],
                    capture_output=True,
                    text=True,
                )
                assert proc.returncode == 0, f"{rel}: {proc.stderr}\n{text}"
