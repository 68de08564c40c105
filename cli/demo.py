"""The README demo: a real blue→green deploy of config/demo.yaml on the local engine, with
traffic flowing through nginx the whole time. Run: `python -m specctl.demo` (`--down` removes it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from specctl.appliers.loadgen import Load, describe

REPO = Path.cwd()
SPEC = "config/demo.yaml"
DATA = REPO / ".demo"
GENERATED = DATA / "generated"
PUBLIC_PORT = 18080


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def specctl(
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    spec: str = SPEC,
    generated: Path = GENERATED,
) -> int:
    """One specctl command as the demo shows it; `generated`: the demo's own folder, so the
    committed generated/ stays as `specctl compile` writes it."""
    shown = " ".join(args)
    prefix = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"$ {prefix + ' ' if prefix else ''}specctl -f {spec} {shown}", flush=True)
    argv = [sys.executable, "-m", "specctl", "-f", spec, "--generated", str(generated), *args]
    code = subprocess.run(argv, env={**os.environ, **(env or {})}).returncode
    if check and code not in (0, 2):
        raise SystemExit(f"demo: `specctl {shown}` failed (exit {code})")
    return code


def down() -> None:
    """Remove the demo's containers, volumes, network and data."""
    import docker

    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": "specctl.project=demo"}):
        container.remove(force=True, v=True)
    for network in client.networks.list(names=["demo-edge"]):
        network.remove()
    for volume in client.volumes.list():
        if volume.name.startswith("demo-"):
            volume.remove(force=True)
    shutil.rmtree(DATA, ignore_errors=True)


def write_secret(path: Path, text: str) -> None:
    """A file only its owner can read, from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        handle.write(text)


def prepare() -> None:
    """Env files with a fresh random password (never printed) and a stand-in model file."""
    (DATA / "weights").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    url = f"postgresql://demo:{password}@postgres:5432/demo"
    for color in ("blue", "green"):
        write_secret(DATA / f".env.{color}", f"DB_PASSWORD={password}\nDATABASE_URL={url}\n")
    write_secret(DATA / ".env.shared", f"POSTGRES_PASSWORD={password}\n")
    (DATA / "weights" / "model.bin").write_bytes(os.urandom(4096))


def main() -> None:
    if not Path(SPEC).is_file():
        raise SystemExit(f"demo: run from the repository root ({SPEC} not found)")
    if "--down" in sys.argv:
        down()
        print("demo removed")
        return
    say("Starting clean: removing any earlier demo")
    down()
    prepare()

    say("1. Compile the spec and deploy version 1.0 to blue (nothing is deployed yet)")
    specctl("compile")
    specctl("plan")
    specctl("apply", "--target", "blue", "--yes")

    say(f"2. Traffic: 200 requests/s through nginx on 127.0.0.1:{PUBLIC_PORT} from now on")
    with Load(PUBLIC_PORT, path="/api/version", rate=200, seconds=300) as load:
        time.sleep(2)
        new = {"DEMO_VERSION": "1.1"}
        say("3. Release 1.1: the plan for green shows what will change")
        specctl("compile", env=new)
        specctl("plan", env=new)

        say("4. Apply green while traffic flows: deploy, health, migrate, verify, switch")
        specctl("apply", "--yes", env=new)
        time.sleep(2)
        specctl("status", env=new)

        say("5. Roll back to blue (still warm: only the validated switch)")
        specctl("rollback", env=new)
        time.sleep(2)
        report = load.stop()

    say("6. What the clients saw")
    print(describe(report))
    specctl("history", env={"DEMO_VERSION": "1.1"})
    failed = report.failed
    print(
        f"\nDemo done: {report.total} requests, {failed} failed. The demo keeps running on "
        f"http://127.0.0.1:{PUBLIC_PORT}/ ; remove it with: .venv/bin/python -m specctl.demo --down"
    )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
