"""What one colour should look like once the spec is expanded for it; pure value types."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from specctl.schemas.spec import PathKind


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DesiredMount(Frozen):
    kind: Literal["bind", "volume"]
    source: str  # bind: path relative to the project root (or absolute); volume: Docker name
    target: str
    read_only: bool = False


class DesiredService(Frozen):
    """One container: `blue.service.backend`, or `shared.service.postgres`."""

    name: str
    address: str
    scope: Literal["color", "shared"]
    color: str | None
    project: str
    image: str | None
    build: dict[str, Any] | None
    command: list[str] | str | None
    port: int | None
    host_port: int | None
    host_ip: str | None = None  # the address host_port is published on; None: every address
    environment: dict[str, str]
    env_files: list[str]
    required_env: list[str]
    mounts: list[DesiredMount]
    healthcheck: dict[str, Any] | None
    health_url_path: str | None
    depends_on: dict[str, str]
    resources: dict[str, Any]
    restart: str
    compose: dict[str, Any]
    aliases: list[str]
    # Set only when the spec asks, so the config hash of every other container stays as it was.
    extra_aliases: list[str] | None = None
    container_name: str | None = None
    networks: list[str] | None = None  # external networks joined besides the shared one
    pull: str = "missing"  # registry images: missing | always | never (never a recreate)
    # Set only when the spec asks (config hashes of other services stay as they were).
    replicas: int | None = None  # Swarm tasks; None: one
    placement: list[str] | None = None  # Swarm placement constraints
    max_per_node: int | None = None
    gpus: int | None = None
    view: dict[str, Any]  # what decides a recreate, stored on the container as a label
    config_hash: str


class DesiredUpstream(Frozen):
    """`nginx.upstream.backend` routed to `blue-backend:8080`."""

    name: str
    address: str
    service: str
    server: str
    keepalive: int | None
    probe: str


class DesiredPath(Frozen):
    """`path.uploads.blue`: a managed path with its owner, mode and contents."""

    name: str
    address: str
    color: str | None
    path: str
    kind: PathKind
    uid: int
    gid: int
    mode: str
    subdirs: list[str]
    files: list[dict[str, Any]]
    cleanup: dict[str, Any] | None


class Desired(Frozen):
    """The spec expanded for one colour, plus the shared services and the proxy."""

    project: str
    color: str
    color_project: str
    shared_project: str
    network: str
    spec_hash: str
    services: list[DesiredService]
    shared: list[DesiredService]
    proxy: DesiredService
    live_config_dir: str
    upstreams: list[DesiredUpstream]
    paths: list[DesiredPath]

    def service(self, name: str) -> DesiredService:
        for service in (*self.services, *self.shared, self.proxy):
            if service.name == name:
                return service
        raise KeyError(name)
