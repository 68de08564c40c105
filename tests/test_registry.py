"""Registry images and the pull policy against a real registry (Debian's docker-registry, the
CNCF distribution registry, serving on 127.0.0.1): an image the host lacks is pulled by the
images step before anything changes; `pull: always` gets what was pushed since; `pull: never`
stops at the pre-checks; an unreachable registry stops the apply with nothing changed
(project reg1, registry 23650, ports 23610…23680)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Sandbox, remove_images, remove_project

NAME = "reg1"
PORT = 23650
IMAGE = f"127.0.0.1:{PORT}/specctl-test/web"
PUBLIC = 23680

SPEC = f"""\
version: 1
project: {NAME}
root: ..
colors:
  blue: {{port_base: 23610}}
  green: {{port_base: 23620}}
services:
  web:
    image: "${{WEB_IMAGE:-{IMAGE}:1}}"
    pull: ${{PULL:-missing}}
    port: 8080
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_ACCESS_LOG: "0"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, bind: 127.0.0.1}}]
  upstreams:
    web: {{service: web, probe: /health}}
  locations:
    - {{path: /, upstream: web}}
deploy: {{health_timeout: 30s, health_interval: 1s, drain: 0s, retire: keep}}
backups: {{enabled: false}}
"""


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return done.stdout


def push(source: str, tag: str) -> None:
    """`source` pushed to the registry as `IMAGE:tag`, then the local tag removed."""
    docker("tag", source, f"{IMAGE}:{tag}")
    docker("push", "-q", f"{IMAGE}:{tag}")
    docker("rmi", f"{IMAGE}:{tag}")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed (testbed/setup.sh installs it)")
    folder = tmp_path_factory.mktemp("registry")
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{PORT}'}}\n"
        "log: {level: error}\n"
    )
    with (folder / "registry.log").open("w") as log:
        server = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/v2/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (folder / "registry.log").read_text()
            time.sleep(0.2)
        remove_project(NAME)
        remove_images(IMAGE)
        root = tmp_path_factory.mktemp("reg")
        spec_path = root / "config" / "spec.yaml"
        spec_path.parent.mkdir(parents=True)
        spec_path.write_text(SPEC)
        sandbox = Sandbox(root=root, spec_path=spec_path, name=NAME)
        assert sandbox.cli("compile").code == 0
        yield sandbox
    finally:
        remove_project(NAME)
        remove_images(IMAGE)
        server.terminate()
        server.wait(10)


def served_version() -> str:
    response = httpx.get(f"http://127.0.0.1:{PUBLIC}/version", timeout=5)
    return str(response.json()["version"])


def test_an_image_the_host_lacks_is_pulled_before_anything_changes(box: Sandbox) -> None:
    push("specctl-testbed/app:1.0", "1")
    planned = box.cli("plan", "--target", "blue")
    assert f"images         pull {IMAGE}:1 (not on this host)" in planned.out, planned.out
    applied = box.cli("apply", "--target", "blue", "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "✓ images" in applied.out
    assert served_version() == "1.0"


def test_pull_always_gets_what_was_pushed_since(box: Sandbox) -> None:
    push("specctl-testbed/app:1.1", "1")  # the same tag, moved to a new image
    assert box.cli("compile", env={"PULL": "always"}).code == 0
    applied = box.cli("apply", "--target", "green", "--yes", env={"PULL": "always"})
    assert applied.code == 0, applied.out + applied.err
    assert f"pull {IMAGE}:1 (pull: always)" in applied.out, applied.out
    assert served_version() == "1.1"


def test_pull_never_stops_at_the_pre_checks(box: Sandbox) -> None:
    before = docker("ps", "-aq", "--filter", f"label=specctl.project={NAME}")
    env = {"PULL": "never", "WEB_IMAGE": f"{IMAGE}:2"}
    assert box.cli("compile", env=env).code == 0
    result = box.cli("apply", "--target", "blue", "--yes", env=env)
    said = result.out + result.err
    assert result.code == 1, said
    assert f"image {IMAGE}:2 is not on this host, and pull: never" in said
    assert docker("ps", "-aq", "--filter", f"label=specctl.project={NAME}") == before
    assert served_version() == "1.1"


def test_an_unreachable_registry_stops_the_apply_before_anything_changes(box: Sandbox) -> None:
    before = docker("ps", "-aq", "--filter", f"label=specctl.project={NAME}")
    env = {"WEB_IMAGE": f"127.0.0.1:{PORT + 1}/specctl-test/web:1"}  # nothing listens there
    assert box.cli("compile", env=env).code == 0
    result = box.cli("apply", "--target", "blue", "--yes", env=env)
    said = result.out + result.err
    assert result.code == 1, said
    assert "pull of web failed; nothing was changed" in said, said
    assert docker("ps", "-aq", "--filter", f"label=specctl.project={NAME}") == before
    assert served_version() == "1.1"
