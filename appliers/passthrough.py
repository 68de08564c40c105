"""The `compose:` pass-through checked by Compose's own rules at `validate` time: the files the
spec compiles to go through `docker compose config` (from a temporary folder, env files left
out: they may live only on the server), and what Compose refuses is reported at the spec's own
line (side effects: a temporary folder, `docker compose` processes)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from specctl.appliers.project import Project, located, shown_path
from specctl.compiler.compose import dump_yaml

# `services.web.deploy Additional …`, `services[web].stop_grace_period: …`
_WHERE = re.compile(r"services(?:\.|\[)([A-Za-z0-9_.-]+?)\]?\.([A-Za-z_][A-Za-z0-9_-]*)")
TIMEOUT = 30.0


def has_passthrough(project: Project) -> bool:
    spec = project.spec
    return bool(spec.proxy.compose) or any(
        svc.compose or any("compose" in o for o in svc.per_color.values())
        for svc in spec.services.values()
    )


def check_passthrough(project: Project) -> str | None:
    """Raise a located SpecError when Compose refuses a compiled file; a note when Compose is
    not there to ask (None when it was asked, or there is no pass-through)."""
    if not has_passthrough(project):
        return None
    if shutil.which("docker") is None:
        return "the compose: pass-through was not checked (no docker command here)"
    files = {rel.rsplit("/", 1)[-1]: text for rel, text in project.compile().items()}
    composes = {name: text for name, text in files.items() if name.startswith("compose.")}
    with tempfile.TemporaryDirectory(prefix="specctl-validate-") as folder:
        paths = []
        for name, text in sorted(composes.items()):
            path = Path(folder) / name
            path.write_text(_without_env_files(text), encoding="utf-8")
            paths.append(path)
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            results = list(pool.map(_config, paths))
    if any(code == 127 for code, _ in results):
        return "the compose: pass-through was not checked (docker compose is not installed)"
    problems: dict[tuple[str | int, ...], str] = {}
    for code, output in results:
        if code == 0:
            continue
        first = next((line for line in output.splitlines() if "services" in line), output)
        where = _place(project, first)
        text = first.replace(folder, "").strip()
        problems.setdefault(where, f"Compose refuses it: {_clean(text)}")
    if problems:
        raise located(
            project.spec_path.read_text(encoding="utf-8"),
            shown_path(project.spec_path),
            problems,
            hint="the compose: keys are passed to Compose as written; see the Compose file "
            "reference for the key's form",
        )
    return None


def _config(path: Path) -> tuple[int, str]:
    try:
        done = subprocess.run(
            ["docker", "compose", "-f", str(path), "config", "-q"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return 127, ""
    except subprocess.TimeoutExpired:
        return 0, ""  # not an answer about the spec
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0 and "is not a docker command" in output:
        return 127, output
    return done.returncode, output


def _without_env_files(text: str) -> str:
    yaml = YAML(typ="safe", pure=True)
    doc: dict[str, Any] = yaml.load(text)
    for service in (doc.get("services") or {}).values():
        service.pop("env_file", None)
    return dump_yaml(doc)


def _place(project: Project, message: str) -> tuple[str | int, ...]:
    """The spec key a Compose message is about: the pass-through key it names, else the
    service (or the proxy)."""
    match = _WHERE.search(message)
    if match is None:
        return ("services",)
    service, key = match.groups()
    spec = project.spec
    if service in spec.services:
        svc = spec.services[service]
        if key in svc.compose:
            return ("services", service, "compose", key)
        for color, override in svc.per_color.items():
            if key in (override.get("compose") or {}):
                return ("services", service, "per_color", color, "compose", key)
        return ("services", service)
    if key in spec.proxy.compose:
        return ("proxy", "compose", key)
    return ("proxy",)


def _clean(text: str) -> str:
    text = re.sub(r"^validating [^:]*: ", "", text)
    return text[:300]
