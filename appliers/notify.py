"""Notifications: send a run's notice to Slack, JSON webhooks, e-mail and Grafana in background
threads, and report how each delivery ended (side effects: network, env files, threads).

A notification never fails or slows a deploy: every delivery runs in a daemon thread while the
command works, and `Notifier.wait` at the command's end waits for them at most `notify.timeout`.
Each delivery has its own deadline, `notify.timeout` after it began; its request's timeout is
what is left of it. A delivery still running at its deadline is recorded as timed out (its
thread is abandoned; it never keeps the process alive).

Secrets (webhook URLs, tokens, passwords) are read from the variables the `*_env` fields name:
first `notify.env_files` (relative to the project root, later files win), then the process
environment, which wins over the files as it does for docker compose. They never appear in an
outcome, a message or a log line: a channel is named by its `name`, or by its kind and host."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from specctl.schemas.notify import Email, Grafana, Notify, Slack, Webhook
from specctl.schemas.units import seconds

if TYPE_CHECKING:
    from email.message import EmailMessage

    from specctl.compiler.notice import Notice

AnyChannel = Slack | Webhook | Email | Grafana
REASON_LIMIT = 200  # characters of a failure's reason kept in an outcome


class Undelivered(Exception):
    """A delivery that failed, with a reason that is safe to show (no secret in it)."""


class TimedOut(Exception):
    """A delivery that ran out of time."""


class Notifier:
    """The notifications of one command: `started` and `finished` send in the background,
    `wait` collects the outcomes for the audit record."""

    def __init__(
        self,
        notify: Notify,
        *,
        root: Path,
        project: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.notify = notify
        self.project = project
        self.timeout = seconds(notify.timeout)
        self._secrets = Secrets(notify.env_files, root=root, environ=environ)
        self._root = root
        self._deliveries: list[Delivery] = []

    def started(self, record: Mapping[str, Any]) -> None:
        """Send the `apply.started` notice to the channels subscribed to it."""
        if not self.notify.channels:
            return
        from specctl.compiler.notice import started_notice

        self._send(started_notice(record, project=self.project))

    def finished(self, record: Mapping[str, Any]) -> None:
        """Send the notice of the ended run to every channel subscribed to one of its events."""
        if not self.notify.channels:
            return
        from specctl.compiler.notice import finished_notice

        self._send(finished_notice(record, project=self.project))

    def wait(self) -> list[dict[str, Any]]:
        """Wait until every delivery ends or reaches its deadline, never longer than
        `notify.timeout` in all; return one outcome per delivery since the last wait:
        `{"channel", "events", "result": delivered|failed|timed out, "error", "seconds"}`
        (`error` is None when delivered)."""
        bound = time.monotonic() + self.timeout
        deliveries, self._deliveries = self._deliveries, []
        for delivery in deliveries:
            left = min(delivery.deadline, bound) - time.monotonic()
            if not delivery.done.wait(max(0.0, left)):
                delivery.settle("timed out", delivery.late())
        return [d.outcome() for d in deliveries]

    def _send(self, notice: Notice) -> None:
        for channel in self.notify.channels:
            events = tuple(e for e in notice.events if e in channel.events)
            if not events:
                continue
            began = time.monotonic()
            delivery = Delivery(
                channel=channel_label(channel, self._secrets),
                events=events,
                began=began,
                deadline=began + self.timeout,
            )
            self._deliveries.append(delivery)
            try:
                send = self._sender(channel, notice, delivery)
            except Undelivered as exc:
                delivery.settle("failed", str(exc))
                continue
            thread = threading.Thread(
                target=delivery.run,
                args=(send,),
                name=f"specctl-notify {delivery.channel}",
                daemon=True,
            )
            thread.start()

    def _sender(
        self, channel: AnyChannel, notice: Notice, delivery: Delivery
    ) -> Callable[[], None]:
        """What sends the notice on the channel, its secrets resolved (here, so that a missing
        variable is an outcome at once); raises Undelivered."""
        from specctl.compiler import notice as render

        get = self._secrets.get
        hide = delivery.hide
        if isinstance(channel, Slack):
            url = hide_url(hide, _url(channel.url_env, get(channel.url_env)))
            return lambda: post(url, render.slack_body(notice), {}, delivery)
        if isinstance(channel, Webhook):
            if channel.url_env is not None:
                url = hide_url(hide, _url(channel.url_env, get(channel.url_env)))
            elif channel.url is not None:
                url = channel.url
            else:
                raise Undelivered("webhook: neither url nor url_env is set")
            headers = {name: get(var) for name, var in channel.headers_env.items()}
            hide.extend(headers.values())
            return lambda: post(url, render.webhook_document(notice), headers, delivery)
        if isinstance(channel, Grafana):
            headers = {}
            if channel.token_env is not None:
                token = get(channel.token_env)
                hide.append(token)
                headers["Authorization"] = f"Bearer {token}"
            body = render.grafana_body(
                notice, tags=channel.tags, dashboard_uid=channel.dashboard_uid
            )
            url = f"{channel.url.rstrip('/')}/api/annotations"
            return lambda: post(url, body, headers, delivery)
        login = None
        if channel.user_env is not None and channel.password_env is not None:
            login = (get(channel.user_env), get(channel.password_env))
            hide.append(login[1])
        message = render.email_message(notice, sender=channel.sender, to=channel.to)
        cafile = str(self._root / channel.ca_file) if channel.ca_file else None
        return lambda: send_mail(channel, message, login=login, cafile=cafile, delivery=delivery)


@dataclass
class Delivery:
    """One notice on its way to one channel; the first outcome settled is the one kept."""

    channel: str
    events: tuple[str, ...]
    began: float  # monotonic
    deadline: float
    hide: list[str] = field(default_factory=list)  # secrets this delivery must not show
    done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _result: str | None = None
    _error: str | None = None
    _seconds: float = 0.0

    def remaining(self) -> float:
        """What is left of the deadline, for a request's timeout; raises TimedOut at zero."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimedOut
        return left

    def late(self) -> str:
        return f"no answer within {self.deadline - self.began:g}s"

    def settle(self, result: str, error: str | None = None) -> None:
        with self._lock:
            if self._result is None:
                self._result = result
                self._error = scrub(error, self.hide) if error is not None else None
                self._seconds = time.monotonic() - self.began
        self.done.set()

    def run(self, send: Callable[[], None]) -> None:
        """The thread's body: send, and settle whatever happens (nothing escapes it)."""
        try:
            send()
        except TimedOut:
            self.settle("timed out", self.late())
        except Undelivered as exc:
            self.settle("failed", str(exc))
        except Exception as exc:
            if _is_timeout(exc):
                self.settle("timed out", self.late())
            else:
                self.settle("failed", reason(exc))
        else:
            self.settle("delivered")

    def outcome(self) -> dict[str, Any]:
        with self._lock:
            return {
                "channel": self.channel,
                "events": list(self.events),
                "result": self._result or "timed out",
                "error": self._error,
                "seconds": round(self._seconds, 2),
            }


class Secrets:
    """The values of the `*_env` variables: `notify.env_files` first (later files win), then
    the process environment, which wins over the files (as for docker compose)."""

    def __init__(
        self, env_files: Iterable[str], *, root: Path, environ: Mapping[str, str] | None
    ) -> None:
        self._files = [root / f for f in env_files]
        self._environ = environ
        self._values: dict[str, str | None] | None = None
        self._missing: list[str] = []
        self._lock = threading.Lock()

    def _load(self) -> dict[str, str | None]:
        with self._lock:
            if self._values is None:
                values: dict[str, str | None] = {}
                if self._files:
                    from dotenv import dotenv_values

                    for path in self._files:
                        try:
                            if not path.is_file():
                                raise FileNotFoundError
                            values.update(dotenv_values(path, interpolate=False))
                        except (OSError, UnicodeDecodeError):
                            self._missing.append(str(path))
                self._values = values
            return self._values

    def get(self, name: str) -> str:
        """The value of `name`; raises Undelivered when it is unset or empty."""
        values = self._load()
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(name) or values.get(name)
        if not value:
            unread = f" (notify.env_files not readable: {', '.join(self._missing)})"
            raise Undelivered(f"{name} is not set{unread if self._missing else ''}")
        return value

    def peek(self, name: str) -> str | None:
        try:
            return self.get(name)
        except Undelivered:
            return None


def channel_label(channel: AnyChannel, secrets: Secrets) -> str:
    """How outcomes name a channel: its `name`, or its kind and host (`slack hooks.slack.com`);
    never its URL, which may be a secret."""
    if channel.name:
        return channel.name
    if isinstance(channel, Email):
        return f"email {channel.host}"
    if isinstance(channel, Grafana):
        return f"grafana {host_of(channel.url)}"
    if isinstance(channel, Webhook) and channel.url is not None and channel.url_env is None:
        return f"webhook {host_of(channel.url)}"
    # A secret URL: its host when the variable is set, else the variable's name.
    var = channel.url_env
    value = secrets.peek(var) if var is not None else None
    return f"{channel.kind} {host_of(value) if value else var or '?'}"


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise Undelivered(f"{name} does not hold an http:// or https:// URL")
    return value


def hide_url(hide: list[str], url: str) -> str:
    """Mark a secret URL's parts as not to be shown: the URL, its path and query, and the
    longer pieces of them (a token is one of those)."""
    parts = urlsplit(url)
    hide.append(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
    if len(rest) > 1:
        hide.append(rest)
    pieces = [*parts.path.split("/"), *parts.query.replace("=", "&").split("&")]
    hide.extend(p for p in pieces if len(p) >= 6)
    if parts.password:
        hide.append(parts.password)
    return url


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def reason(exc: BaseException) -> str:
    """A failure in a few words: the exception's first line, cut."""
    import ssl

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if isinstance(exc, ssl.SSLError):
        text = f"TLS: {text}"
    elif type(exc).__module__ == "smtplib":
        text = f"SMTP: {_smtp_text(exc) or text}"
    elif type(exc).__name__ == "ConnectError" or isinstance(exc, ConnectionRefusedError):
        text = f"cannot connect: {text}"
    elif not isinstance(exc, OSError) and type(exc).__module__.split(".")[0] != "httpx":
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _smtp_text(exc: BaseException) -> str:
    code, message = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if code is None:
        return ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {' '.join(str(message).split())}"


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return True
    return type(exc).__module__.split(".")[0] == "httpx" and type(exc).__name__.endswith("Timeout")


# Senders: they run in the delivery's thread ----------------------------------------------------


def post(url: str, body: dict[str, Any], headers: dict[str, str], delivery: Delivery) -> None:
    """POST `body` as JSON; anything but a 2xx answer is a failure. No retries, no redirects
    (a redirect would carry the secret URL's token elsewhere)."""
    import httpx

    _redact_logs(delivery.hide)
    timeout = delivery.remaining()
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        response = client.post(url, json=body, headers={"User-Agent": "specctl", **headers})
    if not response.is_success:
        said = " ".join(response.text.split())[:120]
        raise Undelivered(
            f"HTTP {response.status_code} {response.reason_phrase}" + (f": {said}" if said else "")
        )


def send_mail(
    channel: Email,
    message: EmailMessage,
    *,
    login: tuple[str, str] | None,
    cafile: str | None,
    delivery: Delivery,
) -> None:
    """Send over SMTP: implicit TLS, STARTTLS (the server's certificate checked against
    `cafile`, or the system's CAs) or plain for a local relay; log in when asked to."""
    import smtplib
    import ssl

    context = ssl.create_default_context(cafile=cafile) if channel.security != "none" else None
    smtp: smtplib.SMTP
    if channel.security == "tls":
        smtp = smtplib.SMTP_SSL(
            channel.host, channel.port, timeout=delivery.remaining(), context=context
        )
    else:
        smtp = smtplib.SMTP(channel.host, channel.port, timeout=delivery.remaining())
    with smtp:
        if channel.security == "starttls":
            _tighten(smtp, delivery)
            smtp.starttls(context=context)
        if login is not None:
            _tighten(smtp, delivery)
            smtp.login(*login)
        _tighten(smtp, delivery)
        smtp.send_message(message)


def _tighten(smtp: Any, delivery: Delivery) -> None:
    """The socket's timeout cut to what is left of the deadline."""
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        sock.settimeout(delivery.remaining())


# httpx logs each request's URL (INFO); a secret URL is replaced before any handler sees it.
_HIDDEN: set[str] = set()
_HIDDEN_LOCK = threading.Lock()
_FILTERED = False


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        with _HIDDEN_LOCK:
            secrets = list(_HIDDEN)
        text = record.getMessage()
        clean = scrub(text, secrets)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


def _redact_logs(secrets: Iterable[str]) -> None:
    global _FILTERED
    with _HIDDEN_LOCK:
        _HIDDEN.update(s for s in secrets if s)
        if not _FILTERED:
            logging.getLogger("httpx").addFilter(_Redact())
            _FILTERED = True
