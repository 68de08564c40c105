"""The Swarm demo: config/demo-swarm.yaml on a three-node Swarm on this machine (testbed/swarm.sh:
a manager m1 with the edge nginx and PostgreSQL, workers w1 and w2 with the backend's two
replicas), blue → green → rollback under load through the edge nginx. The images start on the
manager only: specctl loads them into the workers. Run: `python -m specctl.demo_swarm`
(`--down` removes the demo's stacks and data; `bash testbed/swarm.sh down` stops the cluster).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from specctl import demo
from specctl.appliers.loadgen import Load, describe
from specctl.demo import say, write_secret

REPO = Path.cwd()
SPEC = "config/demo-swarm.yaml"
DATA = REPO / ".demo-swarm"
GENERATED = DATA / "generated"
PROJECT = "demoswarm"
EDGE = "10.231.0.11"  # m1's address on the test bed's bridge: host-mode ports answer there
PUBLIC_PORT = 18180
MANAGER = "unix:///run/specctl-swarm/m1.sock"
IMAGES = [
    "specctl-testbed/app:1.0",
    "specctl-testbed/app:1.1",
    "specctl-testbed/redis:7",
    "specctl-testbed/postgres:15",
    "specctl-testbed/nginx:1.22",
]


def specctl(*args: str, env: dict[str, str] | None = None) -> None:
    demo.specctl(*args, env=env, spec=SPEC, generated=GENERATED)


def docker(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "-H", MANAGER, *args], capture_output=True, text=True, check=check
    )


def down() -> None:
    """The demo's stacks, network, volume and data (the cluster keeps running)."""
    if Path(MANAGER.removeprefix("unix://")).exists():
        docker("stack", "rm", *(f"{PROJECT}-{s}" for s in ("blue", "green", "shared")))
        deadline = time.monotonic() + 60
        while docker("network", "rm", f"{PROJECT}-edge").returncode != 0:
            if (
                time.monotonic() > deadline
                or "not found" in docker("network", "inspect", f"{PROJECT}-edge").stderr
            ):
                break
            time.sleep(1)
        docker("volume", "rm", f"{PROJECT}-pgdata")
    shutil.rmtree(DATA, ignore_errors=True)


def cluster() -> None:
    """Three nodes up; the images on the manager (saved from this host's engine)."""
    subprocess.run(["bash", "testbed/swarm.sh", "up", "3"], check=True)
    for image in IMAGES:
        if docker("image", "inspect", image).returncode == 0:
            continue
        print(f"  loading {image} into m1", flush=True)
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", MANAGER, "load", "-q"], stdin=save.stdout, check=True)
        save.wait()


def prepare() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    url = f"postgresql://demo:{password}@postgres:5432/demo"
    for color in ("blue", "green"):
        write_secret(DATA / f".env.{color}", f"DB_PASSWORD={password}\nDATABASE_URL={url}\n")
    write_secret(DATA / ".env.shared", f"POSTGRES_PASSWORD={password}\n")


def main() -> None:
    if not Path(SPEC).is_file():
        raise SystemExit(f"demo: run from the repository root ({SPEC} not found)")
    if "--down" in sys.argv:
        down()
        print("demo removed (the cluster runs on: bash testbed/swarm.sh down stops it)")
        return
    say("Starting clean: a three-node Swarm (m1 manager, w1 and w2 workers), no earlier demo")
    cluster()
    down()
    prepare()

    say("1. Deploy version 1.0 to blue: images loaded into the workers, backend on w1 and w2")
    specctl("compile")
    specctl("apply", "--target", "blue", "--yes")

    say(f"2. Traffic: 100 requests/s through the edge nginx on {EDGE}:{PUBLIC_PORT} from now on")
    with Load(PUBLIC_PORT, path="/api/version", rate=100, seconds=300, address=EDGE) as load:
        time.sleep(2)
        new = {"DEMO_VERSION": "1.1"}
        say(
            "3. Release 1.1 to green while traffic flows: stack, convergence, migration job, "
            "verify, switch, blue scaled to 0"
        )
        specctl("compile", env=new)
        specctl("apply", "--yes", env=new)
        time.sleep(2)
        specctl("status", env=new)

        say("4. Roll back to blue (scaled up again, then the validated switch)")
        specctl("rollback", env=new)
        time.sleep(2)
        report = load.stop()

    say("5. What the clients saw")
    print(describe(report))
    print(
        f"\nDemo done: {report.total} requests, {report.failed} failed (a new connection per "
        f"request, no retries). It keeps running on http://{EDGE}:{PUBLIC_PORT}/ ; remove it "
        "with: .venv/bin/python -m specctl.demo_swarm --down"
    )
    if report.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
