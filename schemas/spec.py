"""The spec a user writes: strict, unknown keys rejected, frozen; pure value types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from specctl.schemas.engine import ComposeEngine, Engine, Placement
from specctl.schemas.notify import Metrics, Notify
from specctl.schemas.units import Address, Duration, Mode, Port, Size, seconds

COLORS: tuple[str, str] = ("blue", "green")
Color = Literal["blue", "green"]
Scope = Literal["color", "shared"]
PullPolicy = Literal["missing", "always", "never"]
PULL_FIELD_HELP = (
    "When a registry image is pulled: missing (when not on this host), always (every deploy), "
    "never (it must be here already). Built images are built, never pulled."
)

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=48)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = str | int | float | bool


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ColorSpec(Strict):
    port_base: Port = Field(description="First host port of this colour; offsets count from it.")


class Colors(Strict):
    blue: ColorSpec = ColorSpec(port_base=4000)
    green: ColorSpec = ColorSpec(port_base=5000)


class Owner(Strict):
    uid: int = Field(default=1001, ge=0)
    gid: int = Field(default=1001, ge=0)


class Build(Strict):
    context: str
    dockerfile: str | None = None
    args: dict[str, str] = {}
    target: str | None = None


class HostPort(Strict):
    """Either an offset from each colour's port base, or an explicit port per colour."""

    offset: int | None = Field(default=None, ge=0)
    blue: Port | None = None
    green: Port | None = None

    @model_validator(mode="after")
    def _one_form(self) -> HostPort:
        explicit = self.blue is not None or self.green is not None
        if self.offset is not None and explicit:
            raise ValueError("give either offset or blue/green ports, not both")
        if self.offset is None and (self.blue is None or self.green is None):
            raise ValueError("give offset, or both blue and green")
        return self


class Mount(Strict):
    """A volume of a service: a managed path (`path:`) or a named volume (`volume:`)."""

    path: str | None = None
    volume: str | None = None
    target: str
    read_only: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Mount:
        if (self.path is None) == (self.volume is None):
            raise ValueError("give exactly one of path (a managed path) or volume (a named volume)")
        if not self.target.startswith("/"):
            raise ValueError(
                f"target must be an absolute path in the container (got {self.target!r})"
            )
        return self


class Healthcheck(Strict):
    http: str | None = Field(default=None, description="Path answered with 2xx when healthy.")
    command: list[str] | str | None = None
    interval: Duration = "10s"
    timeout: Duration = "5s"
    retries: int = Field(default=5, ge=1)
    start_period: Duration = "0s"

    @model_validator(mode="after")
    def _one_test(self) -> Healthcheck:
        if (self.http is None) == (self.command is None):
            raise ValueError("give exactly one of http (a path) or command")
        if self.http is not None and not self.http.startswith("/"):
            raise ValueError(f"http must be a path starting with / (got {self.http!r})")
        return self


class Resources(Strict):
    memory: Size | None = None
    cpus: float | None = Field(default=None, gt=0)
    memory_reservation: Size | None = None


DependsCondition = Literal["started", "healthy", "completed"]

# Compose keys that have a first-class spec field; the pass-through may not set them.
OWNED_COMPOSE_KEYS: dict[str, str] = {
    "image": "image",
    "build": "build",
    "command": "command",
    "ports": "port / host_port",
    "environment": "environment",
    "env_file": "env_files",
    "volumes": "volumes",
    "healthcheck": "healthcheck",
    "depends_on": "depends_on",
    "networks": "the generated network",
    "labels": "the generated labels",
    "container_name": "the generated names",
    "pull_policy": "pull",
}


PER_COLOR_KEYS = frozenset(
    {
        "image",
        "build",
        "command",
        "environment",
        "env_files",
        "healthcheck",
        "resources",
        "restart",
        "compose",
    }
)


class Service(Strict):
    image: str | None = None
    build: Build | None = None
    pull: PullPolicy = Field(default="missing", description=PULL_FIELD_HELP)
    command: list[str] | str | None = None
    scope: Scope = "color"
    port: Port | None = Field(default=None, description="The port the service listens on inside.")
    host_port: HostPort | Port | None = None
    bind: Address = Field(
        default="127.0.0.1",
        description="Host address of host_port; 0.0.0.0 publishes it on every address.",
    )
    environment: dict[EnvName, EnvValue] = {}
    env_files: list[str] = []
    required_env: list[EnvName] = []
    volumes: list[Mount] = []
    healthcheck: Healthcheck | None = None
    depends_on: dict[str, DependsCondition] = {}
    resources: Resources | None = None
    restart: Literal["no", "always", "unless-stopped", "on-failure"] = "unless-stopped"
    aliases: list[str] = Field(
        default=[],
        description="More names on the network nginx shares, e.g. postgres-{color}.",
    )
    container_name: str | None = Field(
        default=None, description="A fixed container name, e.g. {color}-backend."
    )
    compose: dict[str, Any] = Field(
        default={}, description="Any other Compose service key, passed through as written."
    )
    replicas: int = Field(
        default=1, ge=0, description="How many tasks run (engine: swarm; Compose runs one)."
    )
    placement: Placement | None = Field(
        default=None, description="Which Swarm nodes may run it (engine: swarm)."
    )
    gpus: int | None = Field(
        default=None,
        ge=1,
        description="GPUs reserved: a Compose device reservation (driver nvidia), on Swarm the "
        "generic resource NVIDIA-GPU that nodes advertise.",
    )
    per_color: dict[Color, dict[str, Any]] = Field(
        default={},
        description="Where one colour differs: "
        + ", ".join(sorted(PER_COLOR_KEYS))
        + " (environment merges, the others replace).",
    )

    def for_color(self, color: str) -> Service:
        """This service as `color` runs it, with its per-colour differences applied."""
        override = {str(k): v for k, v in self.per_color.items()}.get(color)
        if not override:
            return self
        doc = self.model_dump(exclude_unset=True, exclude={"per_color"})
        for key, value in override.items():
            if key == "environment" and isinstance(value, dict):
                doc[key] = {**doc.get(key, {}), **value}
            else:
                doc[key] = value
        return Service.model_validate(doc)

    @model_validator(mode="after")
    def _image_or_build(self) -> Service:
        if self.image is None and self.build is None:
            raise ValueError("give image, build, or both (build with image names the built tag)")
        if self.build is not None and "pull" in self.model_fields_set:
            raise ValueError(
                "pull applies to registry images; this service is built from build.context "
                "(its image is tagged by the build, never pulled)"
            )
        if self.host_port is not None and self.port is None:
            raise ValueError("host_port needs port (the container port it publishes)")
        if "bind" in self.model_fields_set and self.host_port is None:
            raise ValueError("bind needs host_port (bind is the host address it is published on)")
        return self

    @model_validator(mode="after")
    def _per_color(self) -> Service:  # after the service's own checks: they blame no colour
        for color, override in self.per_color.items():
            unknown = sorted(set(override) - PER_COLOR_KEYS)
            if unknown:
                raise ValueError(
                    f"per_color.{color}: {', '.join(unknown)} cannot differ per colour "
                    f"(these can: {', '.join(sorted(PER_COLOR_KEYS))})"
                )
            try:
                self.for_color(color)
            except ValidationError as exc:
                error = exc.errors()[0]
                where = "".join(f".{p}" for p in error["loc"])  # none for the whole service
                message = str(error["msg"]).removeprefix("Value error, ")
                raise ValueError(f"per_color.{color}{where}: {message}") from None
        return self


class RequiredFile(Strict):
    name: str
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    min_size: Size | None = None


class Cleanup(Strict):
    subdir: str = "temp"
    older_than: Duration = "24h"


PathKind = Literal["directory", "file", "secret", "certificate"]


class ManagedPath(Strict):
    path: str = Field(description="Relative to the project root; may contain {color}.")
    kind: PathKind = "directory"
    uid: int | None = Field(default=None, ge=0)
    gid: int | None = Field(default=None, ge=0)
    mode: Mode | None = None
    subdirs: list[str] = []
    files: list[RequiredFile] = []
    cleanup: Cleanup | None = None
    shared: bool = Field(
        default=False,
        description="On storage every Swarm node mounts at this same path (NFS, CephFS…), so a "
        "service using it may run on any node.",
    )


class NamedVolume(Strict):
    scope: Scope = "color"
    name: str | None = Field(default=None, description="Docker volume name; may use {color}.")


class Upstream(Strict):
    service: str
    port: Port | None = None
    keepalive: int | None = Field(default=None, ge=1)
    probe: str = Field(default="/", description="Path requested through nginx to prove a switch.")


class Location(Strict):
    path: str
    upstream: str
    upstream_path: str | None = Field(
        default=None,
        description="The path the upstream gets in place of `path` (nginx `proxy_pass "
        "http://up/api/v1/;`): path /api/ml/ with upstream_path /api/v1/ sends /api/ml/x as "
        "/api/v1/x.",
    )
    websocket: bool = False
    max_body: Size | None = None


class ProxyPort(Strict):
    host: Port
    container: Port = 80
    bind: Address = Field(
        default="0.0.0.0", description="Host address; 0.0.0.0 publishes on every address."
    )


class Tls(Strict):
    path: str = Field(description="Managed path (kind certificate) holding the certificate files.")
    target: str = "/etc/nginx/certs"
    certificate: str = "fullchain.pem"
    key: str = "privkey.pem"


class Proxy(Strict):
    image: str
    pull: PullPolicy = Field(default="missing", description=PULL_FIELD_HELP)
    ports: list[ProxyPort] = [ProxyPort(host=80)]
    base: str | None = Field(
        default=None,
        description="Your own nginx.conf; specctl then owns only the managed upstream blocks.",
    )
    upstreams: dict[str, Upstream | str] = {}
    locations: list[Location] = []
    tls: Tls | None = None
    color_header: str = Field(
        default="X-App-Color", description="Response header in which the app names its colour."
    )
    volumes: list[Mount] = []
    networks: list[str] = Field(
        default=[],
        description="Existing Docker networks the proxy joins too (another app it fronts).",
    )
    compose: dict[str, Any] = {}


class Bake(Strict):
    """After the switch, watch the new colour's real traffic in nginx's access log and switch
    back by itself on a breach; the retire step waits for the bake to pass."""

    duration: Duration = Field(description="How long the new colour is watched after the switch.")
    window: Duration = Field(
        default="30s", description="Each judgement covers the requests of this last stretch."
    )
    min_requests: int = Field(
        default=20, ge=1, description="Requests a window needs before it is judged at all."
    )
    max_5xx_percent: float = Field(
        default=1.0, ge=0, le=100, description="Share of 5xx answers (in percent) that breaches."
    )
    max_p95: Duration | None = Field(default=None, description="95th percentile request time.")
    max_p99: Duration | None = Field(default=None, description="99th percentile request time.")
    max_slowdown: float | None = Field(
        default=None,
        gt=1,
        description="Breach when p95 exceeds the old colour's p95 before the switch by this "
        "factor (latencies under 100ms never count as a slowdown).",
    )
    too_little_traffic: Literal["pass", "switch-back"] = Field(
        default="pass",
        description="What a bake that never saw min_requests requests concludes.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """`bake: 5m` is `bake: {duration: 5m}`."""
        return {"duration": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _window_fits(self) -> Bake:
        if seconds(self.duration) <= 0:
            raise ValueError("duration: must be longer than 0s")
        return self


class Deploy(Strict):
    start_timeout: Duration = Field(
        default="180s", description="The longest a deploy waits for its services to be healthy."
    )
    health_timeout: Duration = "30s"
    health_retries: int = Field(default=10, ge=1)
    health_interval: Duration = "5s"
    switch_timeout: Duration = "10s"
    drain: Duration = "5s"
    retire: Literal["stop", "keep"] = Field(
        default="stop", description="After a switch: stop the previous colour, or keep it warm."
    )
    rollback_timeout: Duration = Field(
        default="60s", description="The longest a rollback waits for a stopped colour to come up."
    )
    keep_builds: int = Field(
        default=3,
        ge=1,
        description="Builds kept per built image after a deploy; older ones that no container "
        "uses are removed.",
    )
    bake: Bake | None = Field(
        default=None,
        description="Watch the new colour after the switch and switch back on a breach.",
    )


# The pre-deployment checks, by their stable names (what checks.pre.skip may list).
PRE_CHECKS = (
    "docker",
    "compose_files",
    "images",
    "env_files",
    "tls",
    "paths",
    "required_files",
    "database",
    "nginx_config",
    "disk",
    "memory",
    "ports",
    "volumes",
)


class PreChecks(Strict):
    min_disk: Size = "10G"
    min_memory: Size = "4096M"
    cert_warn_days: int = Field(default=30, ge=0)
    secrets: Literal["fail", "warn"] = Field(
        default="fail",
        description="An env file or the fingerprint key that other users can read, or that "
        "another user owns: the env_files check fails (or only warns).",
    )
    skip: list[str] = []


class Probe(Strict):
    name: str
    kind: Literal[
        "http",
        "upload",
        "websocket",
        "postgres",
        "redis",
        "inference",
        "routing",
        "resources",
        "logs",
    ]
    service: str | None = None
    method: str = "GET"
    path: str = "/"
    expect_status: int = 200
    expect_body: str | None = None
    expect_json: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body: dict[str, Any] | None = None
    message: str = "ping"
    query: str = "SELECT 1"
    upload_dir: str | None = Field(
        default=None, description="Managed path in which an uploaded file must appear."
    )
    timeout: Duration = "10s"


class Checks(Strict):
    pre: PreChecks = PreChecks()
    post: list[Probe] = []
    critical_errors: list[str] = [
        "FATAL",
        "ECONNREFUSED",
        "MODULE_NOT_FOUND",
        "ENOENT",
        "EACCES",
    ]


class Database(Strict):
    service: str
    user: str = "postgres"
    name: str = Field(default="postgres", description="Database name; may use {color}.")
    password_env: EnvName | None = None


class Backups(Strict):
    enabled: bool = True
    dir: str = "backups"
    retention: Duration = "30d"
    keep: int = Field(default=10, ge=1)
    database: Database | None = None
    paths: list[str] = Field(default=[], description="Managed paths archived with each backup.")
    nginx: bool = True
    verify: bool = Field(default=False, description="Refuse to switch unless the backup verifies.")
    timeout: Duration = "600s"


class Hook(Strict):
    service: str
    command: list[str] | str
    timeout: Duration = "300s"
    restore_on_failure: bool = False
    contract: bool = Field(
        default=False,
        description="Not backward compatible (the old colour cannot run on the migrated "
        "schema): apply shows the maintenance page from the migration until the switch, and "
        "neither apply nor rollback switches back past it.",
    )


class Hooks(Strict):
    migrate: Hook | None = None


class Logs(Strict):
    dir: str = "logs/deployment"
    retention: Duration = "90d"
    events: bool = Field(
        default=True,
        description="Also write each step as one JSON line (OpenTelemetry attribute names) to "
        "events.jsonl in the log folder, for log shippers.",
    )


class Spec(Strict):
    version: Literal[1] = 1
    project: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    domain: str | None = None
    root: str = Field(default=".", description="Project root, relative to the spec file.")
    state_dir: str = Field(default=".specctl", description="Live nginx config, lock, audit log.")
    colors: Colors = Colors()
    owner: Owner = Owner()
    services: dict[Name, Service]
    paths: dict[Name, ManagedPath] = {}
    volumes: dict[Name, NamedVolume] = {}
    proxy: Proxy
    deploy: Deploy = Deploy()
    checks: Checks = Checks()
    backups: Backups = Backups()
    hooks: Hooks = Hooks()
    logs: Logs = Logs()
    notify: Notify = Notify()
    metrics: Metrics = Metrics()
    engine: Engine = Field(
        default=ComposeEngine(),
        description="compose (one Docker host, the default) or swarm (a Swarm cluster).",
    )

    def upstream(self, name: str) -> Upstream:
        value = self.proxy.upstreams[name]
        return Upstream(service=value) if isinstance(value, str) else value
