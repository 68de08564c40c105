"""What the fault and kill suites share: a deployed sandbox, asking which colour serves, an
inventory of what must never be lost, load through nginx, and the record of outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import httpx

from specctl.appliers.loadgen import Load, Report
from tests.conftest import Result, Sandbox, remove_project
from tests.e2e_spec import files, spec_text
from tests.reliability import Outcome, Record

RECORD = Record()  # one record for both suites: docs/RELIABILITY.md lists them all
PUBLIC_OF: dict[str, int] = {}  # project name -> nginx's public port


def deployed(
    root: Path,
    name: str,
    base: int,
    *,
    retire: str,
    drain: str = "1s",
    keep: int = 50,
    built: bool = False,
) -> Sandbox:
    remove_project(name)
    PUBLIC_OF[name] = base + 80
    spec_path = root / "config" / "spec.yaml"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(
        spec_text(name, base, backups=True, retire=retire, drain=drain, keep=keep, built=built)
    )
    sandbox = Sandbox(root=root, spec_path=spec_path, name=name)
    for rel, text in files().items():
        sandbox.write(rel, text)
    assert sandbox.cli("compile").code == 0
    first = sandbox.cli("apply", "--target", "blue", "--yes")
    assert first.code == 0, first.out + first.err
    return sandbox


def cli(box: Sandbox, *args: str, **env: str) -> Result:
    compiled = box.cli("compile", env=env)
    assert compiled.code == 0, compiled.err
    return box.cli(*args, env=env)


def serving(box: Sandbox) -> str | None:
    """Which colour answers through nginx right now (asked the way a client would)."""
    try:
        response = httpx.get(f"http://127.0.0.1:{PUBLIC_OF[box.name]}/api/version", timeout=5)
    except httpx.HTTPError:
        return None
    return response.headers.get("X-App-Color") if response.status_code < 500 else None


def inventory(box: Sandbox) -> set[str]:
    """Everything that must never be lost: containers, volumes, upload files, backups."""
    client = docker.from_env()
    label = f"specctl.project={box.name}"
    found = {
        f"container {c.name}" for c in client.containers.list(all=True, filters={"label": label})
    }
    found |= {
        f"volume {v.name}" for v in client.volumes.list() if v.name.startswith(f"{box.name}-")
    }
    for folder in ("data", "backups"):
        base = box.root / folder
        if base.is_dir():
            found |= {f"file {p.relative_to(box.root)}" for p in base.rglob("*") if p.is_file()}
    return found


def seed_uploads(box: Sandbox) -> None:
    for color in ("blue", "green"):
        folder = box.root / "data" / color / "images"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"keep-{color}.png").write_bytes(b"user data")


def back_to_blue(box: Sandbox) -> None:
    """Between cases: blue serves, green may or may not run."""
    if serving(box) != "blue":
        result = cli(box, "apply", "--target", "blue", "--yes")
        assert result.code == 0, result.out + result.err
    assert serving(box) == "blue"


def outcome(
    fault: str,
    promise: str,
    test: str,
    result: Result | None,
    report: Report,
    box: Sandbox,
    before: set[str],
    serving_after: str | None = None,
    **extra: object,
) -> Outcome:
    """`serving_after` is who served right after the command under test, before any clean-up;
    by default it is asked now."""
    after = inventory(box)
    # Recreated containers keep their names; temp files are not user data.
    lost = sorted(x for x in before - after if "/temp/" not in x)
    message = ""
    if result is not None:
        lines = [line for line in result.err.splitlines() if line.startswith("error:")]
        message = lines[0] if lines else result.out.strip().splitlines()[-1]
    return RECORD.add(
        Outcome(
            fault=fault,
            promise=promise,
            test=test,
            exit_code=None if result is None else result.code,
            failed_requests=report.failed,
            requests=report.total,
            serving_after=serving_after or serving(box),
            lost=lost,
            message=message,
            **extra,  # type: ignore[arg-type]
        )
    )


def load(box: Sandbox) -> Load:
    return Load(PUBLIC_OF[box.name], path="/api/version", rate=200, seconds=180)


def step_names(box: Sandbox, *args: str, **env: str) -> list[str]:
    result = cli(box, "plan", "--format", "json", *args, **env)
    assert result.code == 0, result.err
    return [step["name"] for step in json.loads(result.out)["steps"]]


def containers(box: Sandbox) -> str:
    """The project's containers as Docker lists them, for a failure message."""
    client = docker.from_env()
    rows = client.api.containers(all=True, filters={"label": f"specctl.project={box.name}"})
    return "; ".join(
        f"{r['Names'][0]} {r['State']} oneoff={r['Labels'].get('com.docker.compose.oneoff')}"
        for r in rows
    )
