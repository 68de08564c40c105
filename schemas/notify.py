"""Who hears about deployments, and where the metrics go: the spec's `notify:` and `metrics:`
sections; pure value types."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from specctl.schemas.units import Duration, Port

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

# The events a channel can subscribe to. An apply that ends sends one message carrying all the
# names that apply to it (a bake breach is also a failed apply that rolled back automatically).
Event = Literal[
    "apply.started",
    "apply.succeeded",
    "apply.failed",
    "apply.rolled_back",
    "rollback.succeeded",
    "rollback.failed",
    "bake.breach",
    "backup.failed",
    "lock.taken_over",
]
EVENTS: tuple[Event, ...] = get_args(Event)
DEFAULT_EVENTS: tuple[Event, ...] = tuple(e for e in EVENTS if e != "apply.started")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Channel(_Strict):
    name: str | None = Field(
        default=None, description="Shown in history and errors (default: the kind and host)."
    )
    events: list[Event] = Field(
        default=list(DEFAULT_EVENTS),
        description="Events sent here (default: all but apply.started).",
    )


class Slack(_Channel):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): `{"text": …}`."""

    kind: Literal["slack"]
    url_env: EnvName = Field(
        description="Variable holding the webhook URL (it is a secret): from notify.env_files or "
        "the environment."
    )


class Webhook(_Channel):
    """A generic JSON webhook: the event document, versioned."""

    kind: Literal["webhook"]
    url: str | None = Field(default=None, description="The URL, when it is not a secret.")
    url_env: EnvName | None = Field(default=None, description="Variable holding the URL.")
    headers_env: dict[str, EnvName] = Field(
        default={}, description="Header name -> variable holding its value (Authorization…)."
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value

    @model_validator(mode="after")
    def _one_url(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env (a variable holding the URL)")
        return self


class Email(_Channel):
    """E-mail over SMTP."""

    kind: Literal["email"]
    host: str
    port: Port = 587
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit TLS, port 465) or none (a local relay).",
    )
    user_env: EnvName | None = None
    password_env: EnvName | None = None
    ca_file: str | None = Field(
        default=None, description="CA bundle that signed the server's certificate (PEM)."
    )
    sender: str = Field(description="The From address.")
    to: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _login(self) -> Email:
        if (self.user_env is None) != (self.password_env is None):
            raise ValueError("give both user_env and password_env (to log in), or neither")
        return self


class Grafana(_Channel):
    """An annotation through Grafana's HTTP API (POST /api/annotations)."""

    kind: Literal["grafana"]
    url: str = Field(description="Grafana's base URL, e.g. http://127.0.0.1:3000.")
    token_env: EnvName | None = Field(
        default=None, description="Variable holding a service-account token."
    )
    dashboard_uid: str | None = None
    tags: list[str] = []
    events: list[Event] = Field(
        default=["apply.succeeded", "apply.failed", "rollback.succeeded", "rollback.failed"],
        description="Default: every apply and rollback that ends.",
    )


Channel = Annotated[Slack | Webhook | Email | Grafana, Field(discriminator="kind")]


class Notify(_Strict):
    env_files: list[str] = Field(
        default=[],
        description="Env files (relative to the project root) holding the *_env variables; "
        "the process environment is read after them.",
    )
    timeout: Duration = Field(
        default="5s",
        description="The most a command waits for its notifications at its end (sent in the "
        "background while it runs); one not delivered by then is recorded as timed out.",
    )
    channels: list[Channel] = []


class Metrics(_Strict):
    textfile: str | None = Field(
        default=None,
        description="A .prom file for node_exporter's textfile collector, written atomically "
        "after every command (relative to the project root, or absolute).",
    )

    @field_validator("textfile")
    @classmethod
    def _prom(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(".prom"):
            raise ValueError(
                f"must end with .prom: node_exporter reads only those files (got {value!r})"
            )
        return value
