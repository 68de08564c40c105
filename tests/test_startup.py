"""Start-up: each command imports only what it uses. A fresh interpreter runs a command's code
path (or imports the modules it needs) and reports `sys.modules`; the heavy libraries a command
does not use must be absent. Pure: no Docker (nothing here reaches the engine). Timings are in
bench/startup.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from specctl.compiler.diff import field_changes
from tests.conftest import REPO

# Only Compose operations need python-on-whales; only checks, probes and backups need the
# database, Redis, WebSocket and X.509 clients.
APPLY_ONLY = ("python_on_whales", "psycopg", "redis", "websockets", "cryptography")


def loaded_after(code: str) -> tuple[set[str], str]:
    """The top-level packages in sys.modules after `code` ran in a fresh interpreter, and what
    `code` printed."""
    probe = (
        "import sys, json\n"
        f"{code}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *printed, modules = done.stdout.splitlines()
    return set(json.loads(modules)), "\n".join(printed)


# `specctl ARGV` as the console script runs it; an exit other than 0 fails the probe
RUN = """\
from specctl.cli import main
try:
    main({argv!r})
except SystemExit as exc:
    assert not exc.code, exc.code"""


def test_version_imports_neither_typer_nor_the_project() -> None:
    loaded, printed = loaded_after(RUN.format(argv=["--version"]))
    assert printed == "specctl 0.1.0"
    assert not loaded & {"typer", "click", "pydantic", "docker", "ruamel", *APPLY_ONLY}


def test_help_builds_the_app_without_the_appliers() -> None:
    loaded, printed = loaded_after(RUN.format(argv=["--help"]))
    assert "Commands:" in printed
    assert "typer" in loaded  # the app was built, so the absences below mean something
    assert not loaded & {"pydantic", "docker", "deepdiff", "jinja2", *APPLY_ONLY}


def test_validate_loads_the_spec_and_nothing_of_docker() -> None:
    loaded, printed = loaded_after(RUN.format(argv=["-f", "config/demo.yaml", "validate"]))
    assert printed == "config/demo.yaml: valid (5 services, project demo)"
    assert "pydantic" in loaded
    assert not loaded & {"docker", "deepdiff", "jinja2", "httpx", *APPLY_ONLY}


def test_compile_check_without_docker() -> None:
    loaded, printed = loaded_after(
        RUN.format(argv=["-f", "config/spec.yaml", "compile", "--check"])
    )
    assert printed.startswith("generated/spheroseg: up to date")
    assert "ruamel" in loaded
    assert not loaded & {"docker", "deepdiff", "httpx", *APPLY_ONLY}


def test_plan_needs_no_compose_client_and_no_store_clients() -> None:
    """What `specctl plan` imports before it observes: the Docker SDK comes with the first
    engine.api() call, deepdiff only when a service changed."""
    loaded, _ = loaded_after(
        "import specctl.commands, specctl.appliers.planning, specctl.compiler.show.plan"
    )
    assert "specctl" in loaded
    assert not loaded & {"docker", "deepdiff", "jinja2", "httpx", *APPLY_ONLY}


def test_engine_names_docker_errors_without_importing_the_sdk() -> None:
    loaded, printed = loaded_after(
        "from specctl.appliers import engine\n"
        "print('docker' in sys.modules)\n"
        "import docker.errors\n"
        "print(engine.DockerException is docker.errors.DockerException)"
    )
    assert printed == "False\nTrue"
    assert "docker" in loaded
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        from specctl.appliers import engine

        _ = engine.Nothing  # type: ignore[attr-defined]


def test_paramiko_loads_only_for_an_ssh_address() -> None:
    """The Docker SDK imports paramiko (0.1 s) whenever it is installed; the CLI defers it to
    the first ssh:// client, which still gets the SDK's ssh transport (no ssh server needed:
    the client is made, never used)."""
    loaded, printed = loaded_after(
        "from specctl.cli import defer_ssh\n"
        "defer_ssh()\n"
        "import docker.api.client as sdk\n"
        "print(sys.modules.get('paramiko') is None, hasattr(sdk, 'SSHHTTPAdapter'))\n"
        "from specctl.appliers.counting import _ssh_transport\n"
        "_ssh_transport()\n"
        "client = sdk.APIClient(base_url='ssh://nobody@127.0.0.1:1', use_ssh_client=True,"
        " version='1.41')\n"
        "print(type(client.get_adapter('http+docker://ssh')).__name__)"
    )
    assert printed == "True False\nSSHHTTPAdapter"
    assert "paramiko" in loaded


@pytest.mark.parametrize(
    ("before", "after", "keys"),
    [
        ({"image": "app:1", "ports": [1, 2]}, {"ports": [1, 2], "image": "app:1"}, []),
        ({"cpus": 1}, {"cpus": 1.0}, ["cpus"]),  # a type change is a change, as deepdiff says
        ({"init": True}, {"init": 1}, ["init"]),
        ({"ports": [1, 2]}, {"ports": [2, 1]}, ["ports"]),
    ],
)
def test_field_changes_skips_deepdiff_only_when_nothing_changed(
    before: dict[str, object], after: dict[str, object], keys: list[str]
) -> None:
    assert [c.key for c in field_changes(before, after)] == keys
