"""Env files: read them, fingerprint values with a host-local key (side effects: files)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from dotenv import dotenv_values

from specctl.appliers.project import Project
from specctl.schemas.desired import Desired, DesiredService


def key_path(project: Project) -> Path:
    return project.path(project.spec.state_dir) / "fingerprint.key"


def host_key(project: Project) -> bytes:
    """A random key kept on this host only: fingerprints can be compared, never reversed."""
    path = key_path(project)
    if path.is_file():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(32))
    return path.read_bytes()


def read_env(project: Project, svc: DesiredService) -> dict[str, str | None]:
    """Keys and values of a service's env files (later files win); missing files are skipped."""
    values: dict[str, str | None] = {}
    for rel in svc.env_files:
        path = project.path(rel)
        if path.is_file():
            values.update(dotenv_values(path, interpolate=False))
    return values


def fingerprint(key: bytes, name: str, value: str | None) -> str:
    mac = hmac.new(key, f"{name}={value or ''}".encode(), hashlib.sha256)
    return mac.hexdigest()[:12]


def env_prints(project: Project, desired: Desired) -> dict[str, dict[str, str]]:
    """Per service, a fingerprint of every env-file value."""
    services = [s for s in (*desired.services, *desired.shared) if s.env_files]
    if not services:
        return {}
    key = host_key(project)
    return {
        svc.name: {k: fingerprint(key, k, v) for k, v in sorted(read_env(project, svc).items())}
        for svc in services
    }
