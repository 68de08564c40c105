"""A real OpenSSH server on 127.0.0.1 in front of Docker engines, for the tests of ssh://
engine addresses (side effects: one sshd process, stopped by its pid; files in a temp folder).

    with SshServer({"m1": "unix:///run/specctl-swarm/m1.sock"}, tmp_path) as ssh:
        ssh.address("m1")   # ssh://root@127.0.0.1:PORT, whose `docker` reaches m1's engine
        run(..., env=ssh.env)   # PATH starts with an `ssh` that uses this server's key

sshd comes from testbed/sshd.sh (Debian's openssh-server unpacked, never installed as a
service). Each engine gets a port; an ssh login there runs with DOCKER_HOST set to that engine
(authorized_keys `environment=`), so `ssh … docker system dial-stdio`, which the docker CLI
and the Docker SDK run for an ssh:// address, reaches it as it would on a remote machine. The
client side is the real ssh binary with a config of its own (key, known hosts), put first in
PATH by a two-line wrapper: the user's ~/.ssh is never read or written."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.conftest import REPO

FIRST_PORT = 31621


class SshServer:
    def __init__(self, engines: dict[str, str], folder: Path, *, first_port: int = FIRST_PORT):
        self.engines = engines
        self.folder = folder
        self.ports = {name: first_port + i for i, name in enumerate(engines)}
        self.log = folder / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def address(self, name: str) -> str:
        return f"ssh://root@127.0.0.1:{self.ports[name]}"

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.folder / 'bin'}:{os.environ['PATH']}"}

    def connections(self, name: str) -> int:
        """Connections made to this engine's port so far (sshd logs each one)."""
        mark = f" on 127.0.0.1 port {self.ports[name]} "
        text = self.log.read_text() if self.log.exists() else ""
        return sum(1 for line in text.splitlines() if "Connection from" in line and mark in line)

    def __enter__(self) -> SshServer:
        sshd = subprocess.run(
            ["bash", str(REPO / "testbed" / "sshd.sh")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        d = self.folder
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)
        for key in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True
            )
        client = (d / "client_key.pub").read_text().strip()
        config = [
            *(f"ListenAddress 127.0.0.1:{port}" for port in self.ports.values()),
            f"HostKey {d / 'host_key'}",
            f"PidFile {d / 'sshd.pid'}",
            "PermitUserEnvironment yes",  # the environment= of each authorized key
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "LogLevel VERBOSE",
            "StrictModes no",  # the keys live in a temp folder under the world-writable /tmp
        ]
        for name, engine in self.engines.items():
            keys = d / f"{name}.keys"
            keys.write_text(f'environment="DOCKER_HOST={engine}" {client}\n')
            keys.chmod(0o600)
            config += [f"Match LocalPort {self.ports[name]}", f"  AuthorizedKeysFile {keys}"]
        (d / "sshd_config").write_text("\n".join(config) + "\n")
        (d / "ssh_config").write_text(
            "Host 127.0.0.1\n"
            f"  IdentityFile {d / 'client_key'}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {d / 'known_hosts'}\n"
            "  StrictHostKeyChecking accept-new\n"
            "  BatchMode yes\n"
        )
        (d / "bin").mkdir(exist_ok=True)
        wrapper = d / "bin" / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {d / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)
        config_file = str(d / "sshd_config")
        subprocess.run([sshd, "-t", "-f", config_file], check=True)
        self.proc = subprocess.Popen([sshd, "-D", "-f", config_file, "-E", str(self.log)])
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {self.log.read_text()}")
            time.sleep(0.1)
        return self

    def _listening(self) -> bool:
        text = self.log.read_text() if self.log.exists() else ""
        return all(f"listening on 127.0.0.1 port {port}." in text for port in self.ports.values())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.proc.terminate()  # by the pid this object started; its sessions end with it
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
