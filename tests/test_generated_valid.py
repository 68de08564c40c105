"""Generated files are valid for the real tools: `docker compose config -q` accepts every compose
file, and `nginx -t` in the test nginx image accepts every nginx config, with the upstream host
names resolvable (nginx 1.22 resolves them when it loads the config)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from specctl.appliers.project import load_project
from specctl.schemas.spec import Tls
from tests.certbot import certbot_tree, self_signed
from tests.conftest import REPO, SPECS

NGINX_IMAGE = "specctl-testbed/nginx:1.22"
APP_IMAGE = "specctl-testbed/app:1.0"


def compose_config_argv(path: Path) -> list[str]:
    return ["docker", "compose", "-f", str(path), "config", "-q"]


def nginx_test_argv(config: str) -> list[str]:
    return ["nginx", "-t", "-c", config]


def test_argv_builders() -> None:
    assert " ".join(compose_config_argv(Path("g/compose.blue.yml"))) == (
        "docker compose -f g/compose.blue.yml config -q"
    )
    assert " ".join(nginx_test_argv("/etc/nginx/specctl/nginx.conf")) == (
        "nginx -t -c /etc/nginx/specctl/nginx.conf"
    )


@pytest.fixture(scope="module")
def copy_of_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/ compiled into a scratch tree, with the env files every spec names."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "config", root / "config")
    for name in SPECS:
        project = load_project(root / "config" / f"{'spec' if name == 'spec' else 'demo'}.yaml")
        for rel, text in project.compile().items():
            target = project.generated / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        for color in ("blue", "green"):
            for svc in (*project.expanded(color).services, *project.expanded(color).shared):
                for env in svc.env_files:
                    path = project.path(env)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("".join(f"{k}=x\n" for k in svc.required_env))
    return root


def compose_files(root: Path) -> list[Path]:
    return sorted((root / "generated").glob("*/compose.*.yml"))


def test_every_generated_compose_file_passes_compose_config(
    copy_of_repo: Path, docker_engine: None
) -> None:
    files = compose_files(copy_of_repo)
    assert len(files) == 6
    for path in files:
        proc = subprocess.run(compose_config_argv(path), capture_output=True, text=True)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"


def _certificates(folder: Path, tls: Tls, domain: str) -> None:
    """The certificate and key where the spec says nginx finds them: in a certbot-shaped tree
    when they are under live/, else as two files."""
    if tls.certificate.startswith("live/"):
        certbot_tree(folder, domain)
    else:
        self_signed(folder, domain)


@pytest.fixture
def network(docker_engine: None) -> Iterator[str]:
    client = docker.from_env()
    name = f"specctl-nginx-t-{uuid.uuid4().hex[:8]}"
    net = client.networks.create(name)
    try:
        yield name
    finally:
        for container in client.containers.list(all=True, filters={"network": name}):
            container.remove(force=True)
        net.remove()


@pytest.mark.parametrize(
    "conf",
    [
        "demo/nginx.blue.conf",
        "demo/nginx.green.conf",
        "spheroseg/nginx.blue.conf",
        "spheroseg/nginx.green.conf",
    ],
)
def test_every_generated_nginx_config_passes_nginx_t(
    copy_of_repo: Path, network: str, tmp_path: Path, conf: str
) -> None:
    client = docker.from_env()
    project_name, file = conf.split("/")
    color = file.split(".")[1]
    spec_file = "spec.yaml" if project_name == "spheroseg" else "demo.yaml"
    project = load_project(copy_of_repo / "config" / spec_file)
    desired = project.expanded(color)
    # Stand-ins answer to each upstream's host name, so nginx can resolve it.
    hosts = sorted({u.server.split(":")[0] for u in desired.upstreams})
    client.containers.run(
        APP_IMAGE,
        ["sleep", "60"],
        detach=True,
        network=network,
        labels={"specctl.test": "nginx-t"},
        name=f"{network}-hosts",
        networking_config={network: client.api.create_endpoint_config(aliases=hosts)},
    )
    volumes = {
        str(copy_of_repo / "generated" / project_name): {"bind": "/etc/nginx/specctl", "mode": "ro"}
    }
    if project.spec.proxy.tls is not None:
        certs = tmp_path / "certs"
        _certificates(certs, project.spec.proxy.tls, project.spec.domain or "localhost")
        volumes[str(certs)] = {"bind": project.spec.proxy.tls.target, "mode": "ro"}
    output = client.containers.run(
        NGINX_IMAGE,
        nginx_test_argv(f"/etc/nginx/specctl/{file}"),
        network=network,
        volumes=volumes,
        remove=True,
        stderr=True,
        stdout=True,
    )
    assert b"test is successful" in output, output.decode()


def test_nginx_t_fails_when_an_upstream_host_is_missing(copy_of_repo: Path, network: str) -> None:
    client = docker.from_env()
    volumes = {
        str(copy_of_repo / "generated" / "demo"): {"bind": "/etc/nginx/specctl", "mode": "ro"}
    }
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run(
            NGINX_IMAGE,
            nginx_test_argv("/etc/nginx/specctl/nginx.blue.conf"),
            network=network,
            volumes=volumes,
            remove=True,
            stderr=True,
        )
    assert b"host not found in upstream" in info.value.stderr
