"""What was observed on the host: tolerant of missing fields, unknown keys ignored; pure types."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LiveMount(Tolerant):
    source: str | None = None
    target: str | None = None
    kind: str | None = None  # bind | volume
    read_only: bool = False


class LivePort(Tolerant):
    """One published port: `Ports[]` of the Docker list call."""

    ip: str | None = None  # 0.0.0.0, ::, 127.0.0.1
    host: int
    container: int | None = None


class LiveContainer(Tolerant):
    """One container of the spec's compose projects, as the Docker API lists it."""

    id: str
    name: str | None = None
    project: str | None = None  # com.docker.compose.project
    service: str | None = None  # com.docker.compose.service
    color: str | None = None  # specctl.color
    image: str | None = None
    image_id: str | None = None
    command: str | None = None
    state: str | None = None  # running | exited | created | restarting | paused | dead
    status: str | None = None  # "Up 3 minutes (healthy)"
    health: str | None = None  # healthy | unhealthy | starting | None when no health check
    created: int | None = None
    ports: list[str] = []  # "18001->8080/tcp"
    published: list[LivePort] = []
    mounts: list[LiveMount] = []
    labels: dict[str, str] = {}
    networks: list[str] = []
    # Not created by specctl: a container of the system specctl takes over, standing in for
    # the address (project, service and colour above are specctl's); its own name is `name`.
    adopted: str | None = None

    @property
    def config_hash(self) -> str | None:
        return self.labels.get("specctl.config-hash")

    @property
    def env_fingerprints(self) -> dict[str, str]:
        prefix = "specctl.env."
        return {k[len(prefix) :]: v for k, v in self.labels.items() if k.startswith(prefix)}

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def leftover(self) -> bool:
        """Left behind by a killed run: Compose renames a container to `<12 hex>_<name>` while
        recreating it, and a one-off container (the migration's `compose run --rm`) outlives
        the Compose process that would have removed it."""
        if self.labels.get("com.docker.compose.oneoff") == "True":
            return True
        head, sep, _ = (self.name or "").partition("_")
        return bool(sep) and len(head) == 12 and all(ch in "0123456789abcdef" for ch in head)


class Takeover(Tolerant):
    """A running container specctl did not create that serves as one of the spec's services
    (matched by Compose project, name or published port): taken over in place, never
    recreated until asked."""

    address: str  # blue.service.web, shared.service.db, proxy.nginx
    container: str  # its name
    id: str
    why: str  # how it was matched: "Compose project tko, service web"
    aliases: list[str] = []  # the names specctl's configs give it on the project's network
    joined: bool = False  # on the project's network already: adopted by an earlier apply
    config: str | None = None  # the proxy: the host file of the nginx config it loads


class LiveNginx(Tolerant):
    running: bool = False
    container_id: str | None = None
    config_path: str | None = None
    config_present: bool = False
    config_sha256: str | None = None
    upstreams: dict[str, list[str]] = {}  # managed upstream -> its server lines
    # The config on disk was installed but nginx never reloaded it (a killed switch): the
    # upstreams above are then read from the config nginx did load.
    pending_reload: bool = False
    parse_error: str | None = None
    maintenance: bool = False  # the live config is in maintenance mode
    preview: str | None = None  # the colour a preview routes cookie/header requests to
    adopted: str | None = None  # the container, when nginx is the user's own (taken over)
    serving: dict[str, list[str]] = {}  # during a preview: where the other requests go


class LiveFile(Tolerant):
    name: str
    exists: bool = False
    size: int | None = None
    sha256: str | None = None


class LivePath(Tolerant):
    address: str
    path: str
    exists: bool = False
    kind: Literal["directory", "file", "other", "missing"] = "missing"
    uid: int | None = None
    gid: int | None = None
    mode: str | None = None
    missing_subdirs: list[str] = []
    files: list[LiveFile] = []
    nested_duplicate: bool = False  # e.g. uploads/blue/blue exists
    stale_temp_files: int = 0
    pending: list[str] = []  # what fix-permissions would do, one action line each
    problems: list[str] = []  # what it would leave alone (a person must look)


ActiveState = Literal["none", "blue", "green", "mixed", "dangling", "unknown"]


class Active(Tolerant):
    """Which colour serves traffic, judged from the live nginx config and the containers."""

    color: str | None = None
    state: ActiveState = "none"
    detail: str = "nothing deployed yet"


class LiveBake(Tolerant):
    """A bake begun by a switch and not yet concluded (`<state_dir>/bake.json`)."""

    color: str  # the colour being watched
    previous: str | None = None  # the colour a breach switches back to
    switched_at: float  # seconds since the epoch
    until: float
    config_sha256: str | None = None  # the nginx config the switch installed
    pid: int | None = None  # the specctl process watching
    verdict: str | None = None  # set once a breach was found, before switching back


class Live(Tolerant):
    project: str
    containers: list[LiveContainer] = []
    nginx: LiveNginx = LiveNginx()
    paths: list[LivePath] = []
    images: list[str] = []  # the tags, of those the spec names, that this host has
    bake: LiveBake | None = None
    takeovers: list[Takeover] = []
    api_calls: int = 0

    def of_project(self, compose_project: str) -> list[LiveContainer]:
        return [c for c in self.containers if c.project == compose_project]
