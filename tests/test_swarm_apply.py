"""Blue/green on a real three-node Swarm (testbed/swarm.sh), run as a user runs it: `specctl
apply` and `specctl rollback` on a spec with `engine: swarm`, under a steady load through the
edge nginx from a client that never retries and opens a new connection per request.

What it shows: images reach the workers without a registry (they start on the manager only),
the database lives on the manager and the migration runs as a Swarm job against it, the
backend's two replicas land on two different workers, the plan reads the cluster in three API
calls, blue → green → rollback with no failed request, a colour whose tasks never become
healthy is never switched to (and is scaled back to zero), a worker's daemon stopped in the
middle of an apply leaves traffic where it was, and so does an image missing on one node;
a preview, its abort and maintenance mode work on the edge; and the same deploy works with
every engine address an ssh:// one (real sshd's on 127.0.0.1, tests/sshd.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from specctl.appliers.counting import CountingAPIClient
from specctl.appliers.loadgen import Load, describe
from specctl.appliers.swarm.observe import observe_cluster
from specctl.compiler.cluster import placement
from specctl.compiler.preview import COOKIE
from tests import swarm
from tests.conftest import run_cli
from tests.sshd import SshServer
from tests.swarm import Cluster

swarm_cluster = swarm.swarm_cluster
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

NAME = "swapp"
PORT = 31600
IMAGE = f"specctl-testbed/{NAME}:1"  # a tag of the app double only this test uses
HEALTH = "{http: /health, interval: 1s, timeout: 2s, retries: 30}"


def spec(cluster: Cluster, addresses: dict[str, str] | None = None) -> str:
    """The spec; addresses: each node's Docker address (default: its own socket)."""
    address = addresses or {n.name: n.host for n in cluster.nodes.values()}
    nodes = "\n".join(f"    {name}: {host}" for name, host in address.items())
    return f"""\
version: 1
project: {NAME}
root: ..
engine:
  kind: swarm
  host: {address[cluster.manager.name]}
  endpoint_mode: dnsrr
  images: ${{IMAGES:-load}}
  registry: 127.0.0.1:5000   # none runs: with images: registry the nodes find nothing to pull
  edge_address: {cluster.manager.address}
  nodes:
{nodes}
services:
  web:
    image: {IMAGE}
    port: 8080
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}", APP_FAIL_HEALTH: "${{FAIL:-0}}"}}
    healthcheck: {HEALTH}
  api:
    image: {IMAGE}
    port: 8080
    replicas: 2
    placement: {{role: worker, max_per_node: 1}}
    environment: {{APP_NAME: api, APP_COLOR: "{{color}}"}}
    env_files: [.env.app]
    healthcheck: {HEALTH}
  postgres:
    image: specctl-testbed/postgres:15
    scope: shared
    port: 5432
    placement: {{node: w1}}   # not the manager: backups reach it through w1's own engine
    environment: {{POSTGRES_USER: app, POSTGRES_DB: app}}
    env_files: [.env.db]
    volumes: [{{volume: pgdata, target: /var/lib/postgresql/data}}]
    healthcheck: {{command: "pg_isready -h 127.0.0.1 -U app -d app", interval: 1s, timeout: 2s, retries: 60}}
volumes:
  pgdata: {{scope: shared}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PORT}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
    api: {{service: api, probe: /api/version}}
  locations:
    - {{path: /api/, upstream: api}}
    - {{path: /, upstream: web}}
hooks:
  migrate: {{service: api, command: [python3, /app/migrate.py], timeout: 2m}}
deploy:
  health_timeout: ${{HEALTH_TIMEOUT:-90s}}
  drain: 1s
backups:
  dir: backups
  database: {{service: postgres, user: app, name: app, password_env: POSTGRES_PASSWORD}}
"""


@pytest.fixture(scope="module")
def project(swarm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The spec in a temporary project, compiled; the test image on the manager only; every
    stack, the network and the volume removed afterwards."""
    root = tmp_path_factory.mktemp(NAME)
    (root / "config").mkdir()
    (root / "config" / "spec.yaml").write_text(spec(swarm_cluster))
    for name, text in {
        ".env.app": "DATABASE_URL=postgresql://app:pw@postgres:5432/app\n",
        ".env.db": "POSTGRES_PASSWORD=pw\n",
    }.items():
        (root / name).write_text(text)
        (root / name).chmod(0o600)
    compiled = run_cli("-f", "config/spec.yaml", "compile", cwd=root)
    assert compiled.code == 0, compiled.err
    swarm_cluster.load(["specctl-testbed/app:1.0", "specctl-testbed/postgres:15"])
    swarm_cluster.load(["specctl-testbed/nginx:1.22"])
    for node in swarm_cluster.nodes.values():
        swarm_cluster.docker("rmi", IMAGE, node=node.name, check=False)
    swarm_cluster.docker("tag", "specctl-testbed/app:1.0", IMAGE)
    yield root
    for stack in (f"{NAME}-blue", f"{NAME}-green", f"{NAME}-shared"):
        swarm_cluster.docker("stack", "rm", stack, check=False)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the network and volume go once the tasks are gone
        gone = swarm_cluster.docker("network", "rm", f"{NAME}-edge", check=False).returncode
        if gone == 0:
            break
        time.sleep(1)
    swarm_cluster.docker("volume", "rm", f"{NAME}-pgdata", node="w1", check=False)


def specctl(root: Path, *args: str, **env: str) -> tuple[int, str]:
    result = run_cli("-f", "config/spec.yaml", *args, cwd=root, env=env)
    return result.code, result.out + result.err


def manager(cluster: Cluster) -> CountingAPIClient:
    return CountingAPIClient(base_url=cluster.manager_host, version="auto", timeout=60)


def under_load(cluster: Cluster, root: Path, *args: str, **env: str) -> tuple[int, str, Load]:
    # seconds: the load runs as long as the command, which may take longer than its default
    with Load(
        PORT, path="/api/version", rate=50, address=cluster.manager.address, seconds=600
    ) as load:
        time.sleep(1)
        code, out = specctl(root, *args, **env)
        time.sleep(1)
    return code, out, load


def test_blue_then_green_then_rollback_with_no_failed_request(
    swarm_cluster: Cluster, project: Path
) -> None:
    code, out = specctl(project, "apply", "--target", "blue", "--yes")
    assert code == 0, out
    # The image was only on the manager: specctl loaded it into both workers.
    assert f"loading {IMAGE} into w1" in out and f"loading {IMAGE} into w2" in out, out
    assert "✓ migrate" in out and "as a job of api" in out, out
    client = manager(swarm_cluster)
    cluster = observe_cluster(client, NAME)
    assert cluster.api_calls == 3
    api = next(s for s in cluster.of_stack(f"{NAME}-blue") if s.service == "api")
    assert placement(cluster, api) == {"w1": 1, "w2": 1}

    code, out = specctl(project, "plan", "--format", "json")
    assert code == 0, out
    plan = json.loads(out)
    assert plan["active"] == "blue" and plan["changes"] == [], out  # read back as deployed

    code, out, load = under_load(swarm_cluster, project, "apply", "--target", "green", "--yes")
    report = load.report
    assert code == 0, out
    assert report.failed == 0, describe(report)
    assert {s.color for s in report.samples} == {"blue", "green"}, describe(report)
    assert "✓ retire" in out and "blue scaled to 0" in out, out
    assert "✓ backup" in out and "not dumped" not in out, out  # pg_dump ran on w1

    code, out, load = under_load(swarm_cluster, project, "rollback")
    report = load.report
    assert code == 0, out
    assert report.failed == 0, describe(report)
    assert report.samples[-1].color == "blue", describe(report)
    code, out = specctl(project, "status")
    assert code == 0 and "active blue" in out, out
    assert "2/2 tasks on w1, w2" in out, out  # where api's tasks run

    # logs and exec reach the tasks wherever they run
    code, out = specctl(project, "logs", "api", "--grep", "listening on")
    assert code == 0 and out.count("listening on") >= 2, out  # both replicas (and earlier tasks)
    code, out = specctl(project, "exec", "web", "--", "sh", "-c", "echo $APP_COLOR")
    assert code == 0 and out.strip().endswith("blue"), out


def test_a_colour_that_never_becomes_healthy_is_not_switched_to(
    swarm_cluster: Cluster, project: Path
) -> None:
    code, out, _ = under_load(swarm_cluster, project, "apply", "--target", "green", "--yes")
    assert code == 0, out  # green again, from the rollback's blue
    bad = {"FAIL": "1", "HEALTH_TIMEOUT": "20s"}  # blue's web answers 503 on /health
    assert specctl(project, "compile", **bad)[0] == 0
    with Load(PORT, path="/", rate=20, address=swarm_cluster.manager.address) as load:
        code, out = specctl(project, "apply", "--target", "blue", "--yes", **bad)
    assert code == 1, out
    assert "✗ health" in out and f"{NAME}-blue.web" in out, out
    assert "blue scaled to 0" in out, out
    assert load.report.failed == 0, describe(load.report)
    assert {s.color for s in load.report.samples} == {"green"}, describe(load.report)


def test_a_worker_stopped_mid_apply_never_gets_traffic_switched(
    swarm_cluster: Cluster, project: Path
) -> None:
    """api wants two replicas at most one per worker: with w2's daemon stopped while blue
    deploys, blue cannot converge; the apply fails and traffic stays on green."""
    assert specctl(project, "compile", HEALTH_TIMEOUT="20s")[0] == 0
    swarm_cluster.stop_node("w2")
    try:
        swarm_cluster.wait_node_state("w2", "Down", timeout=60)
        code, out = specctl(project, "apply", "--target", "blue", "--yes", HEALTH_TIMEOUT="20s")
    finally:
        swarm_cluster.start_node("w2")
    assert code == 1, out
    assert "✗ health" in out and f"{NAME}-blue.api: 1 of 2 tasks" in out, out
    code, out = specctl(project, "status")
    assert "active green" in out, out
    with Load(PORT, path="/api/version", rate=20, address=swarm_cluster.manager.address) as load:
        time.sleep(2)
    assert load.report.failed == 0 and {s.color for s in load.report.samples} == {"green"}


def test_an_image_missing_on_one_node_is_named_and_never_switched_to(
    swarm_cluster: Cluster, project: Path
) -> None:
    """With images: registry specctl leaves images to the nodes; w2 lacks the image and no
    registry has it, so blue's api task there cannot start: the apply fails at health with
    Swarm's words, and traffic stays on green."""
    env = {"IMAGES": "registry", "HEALTH_TIMEOUT": "20s"}
    assert specctl(project, "compile", **env)[0] == 0
    swarm_cluster.docker("rmi", "-f", IMAGE, node="w2", check=False)
    with Load(PORT, path="/api/version", rate=20, address=swarm_cluster.manager.address) as load:
        code, out = specctl(project, "apply", "--target", "blue", "--yes", **env)
    assert code == 1, out
    assert "✗ health" in out and f"{NAME}-blue.api: 1 of 2 tasks" in out, out
    assert "image" in out.split("✗ health", 1)[1].lower(), out
    assert load.report.failed == 0, describe(load.report)
    assert {s.color for s in load.report.samples} == {"green"}, describe(load.report)


def test_preview_abort_and_maintenance_work_on_the_edge(
    swarm_cluster: Cluster, project: Path
) -> None:
    """The nginx-only features need nothing of the engine but the edge: a preview of blue
    (loaded into w2 again, which lost the image above) for those who ask, aborted (blue scaled
    to 0); maintenance on and off."""
    env = {"HEALTH_TIMEOUT": "20s"}
    assert specctl(project, "compile", **env)[0] == 0
    code, out = specctl(project, "apply", "--preview", "--target", "blue", "--yes", **env)
    assert code == 0, out
    url = f"http://{swarm_cluster.manager.address}:{PORT}/api/version"
    assert httpx.get(url, cookies={COOKIE: "blue"}).headers["X-App-Color"] == "blue"
    assert httpx.get(url).headers["X-App-Color"] == "green"
    code, out = specctl(project, "abort")
    assert code == 0 and "blue scaled to 0" in out, out
    assert httpx.get(url, cookies={COOKIE: "blue"}).headers["X-App-Color"] == "green"

    code, out = specctl(project, "maintenance", "on")
    assert code == 0, out
    assert httpx.get(url).status_code == 503
    code, out = specctl(project, "maintenance", "off")
    assert code == 0, out
    assert httpx.get(url).headers["X-App-Color"] == "green"


def test_the_same_deploy_through_ssh_addresses(
    swarm_cluster: Cluster, project: Path, tmp_path: Path
) -> None:
    """engine.host and engine.nodes as ssh:// addresses, each a real sshd whose logins reach
    one node's engine: the Docker SDK and the docker CLI both go through the ssh binary (a
    key of the test's own, never ~/.ssh). The image reaches w2 over ssh, the backup dumps on
    w1 over ssh, the stack deploys on the manager over ssh; traffic switches with no failed
    request; exec enters a task on a worker."""
    engines = {n.name: n.host for n in swarm_cluster.nodes.values()}
    with SshServer(engines, tmp_path / "ssh") as ssh:
        addresses = {name: ssh.address(name) for name in engines}
        (project / "config" / "ssh.yaml").write_text(spec(swarm_cluster, addresses))
        assert "ssh://" in (project / "config" / "ssh.yaml").read_text()
        env = {**ssh.env, "HEALTH_TIMEOUT": "60s"}
        ran = run_cli("-f", "config/ssh.yaml", "compile", cwd=project, env=env)
        assert ran.code == 0, ran.err
        swarm_cluster.docker("rmi", "-f", IMAGE, node="w2", check=False)

        def over_ssh(*args: str) -> tuple[int, str]:
            ran = run_cli("-f", "config/ssh.yaml", *args, cwd=project, env=env)
            return ran.code, ran.out + ran.err

        code, out = over_ssh("status")
        assert code == 0, out
        target = "green" if "active blue" in out else "blue"
        # a cold target, so the apply deploys it and loads the image into w2 (over ssh)
        cold = [f"{NAME}-{target}_{svc}=0" for svc in ("api", "web")]
        swarm_cluster.docker("service", "scale", "--detach", *cold, check=False)
        edge = swarm_cluster.manager.address
        with Load(PORT, path="/api/version", rate=50, address=edge, seconds=600) as load:
            time.sleep(1)
            code, out = over_ssh("apply", "--target", target, "--yes")
            time.sleep(1)
        assert code == 0, out
        assert load.report.failed == 0, describe(load.report)
        assert load.report.samples[-1].color == target, f"{describe(load.report)}\n{out}"
        assert f"loading {IMAGE} into w2" in out, out
        assert "✓ backup" in out and "not dumped" not in out, out  # pg_dump on w1
        code, out = over_ssh("exec", "api", "--", "sh", "-c", "echo $APP_COLOR")
        assert code == 0 and out.strip().endswith(target), out  # a task on a worker
        code, out = over_ssh("status")
        assert code == 0 and f"active {target}" in out, out
        assert all(ssh.connections(name) > 0 for name in engines), ssh.log.read_text()
