"""`specctl status` as a typed, versioned document (the JSON keys are stable); pure types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from specctl.schemas.live import Active

FORMAT_VERSION = 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceStatus(Frozen):
    state: str | None  # running | exited | … | absent
    health: str | None = None
    image: str | None = None
    uptime: str | None = None  # Docker's own words: "3 minutes"
    container: str | None = None
    tasks: str | None = None  # on a Swarm: "2/2 tasks on w1, w2" (and why not, when short)
    adopted: bool = False  # a container specctl did not create, taken over (`container`)


class ColorStatus(Frozen):
    services: dict[str, ServiceStatus]
    running: bool
    healthy: bool


class NginxStatus(Frozen):
    running: bool
    config_present: bool
    upstreams: dict[str, list[str]]
    parse_error: str | None = None
    pending_reload: bool = False


class BackupAge(Frozen):
    id: str
    age_seconds: int


class RollbackStatus(Frozen):
    color: str | None
    ready: bool
    running: bool
    healthy: bool
    missing_images: list[str]
    last_backup: BackupAge | None = None


class BakeStatus(Frozen):
    color: str
    previous: str | None
    until: float  # seconds since the epoch
    seconds_left: int
    watching: bool  # the specctl process that runs it is alive
    pid: int | None = None
    verdict: str | None = None


class MaintenanceStatus(Frozen):
    since: float | None = None  # seconds since the epoch
    retry_after: int | None = None
    allow: list[str] = []


class HeldLock(Frozen):
    user: str | None = None
    host: str | None = None
    since: float | None = None  # seconds since the epoch
    message: str | None = None


class Status(Frozen):
    format_version: int = FORMAT_VERSION
    project: str
    active: Active
    colors: dict[str, ColorStatus]
    shared: dict[str, ServiceStatus]
    nginx: NginxStatus
    exposed: list[str] = []  # container ports published beyond loopback (the proxy's left out)
    rollback: RollbackStatus
    bake: BakeStatus | None = None  # a bake in progress or interrupted
    maintenance: MaintenanceStatus | None = None  # None: off
    preview: str | None = None  # the colour a preview routes cookie/header requests to
    lock: HeldLock | None = None  # the deploy lock a person holds (specctl lock acquire)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
