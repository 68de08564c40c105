"""Notifications: the events and messages an audit record makes (pure, compiler/notice.py), and
their delivery (appliers/notify.py) to real receivers on loopback: an HTTP sink for Slack,
webhooks and Grafana, an SMTP server requiring STARTTLS and AUTH (aiosmtpd), a receiver that
hangs and a port that refuses. No mocks; secrets must appear in no outcome, message or log."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from specctl.appliers.notify import Notifier
from specctl.compiler.notice import (
    ERROR_LIMIT,
    email_message,
    events_of,
    finished_notice,
    grafana_body,
    slack_body,
    started_notice,
    summary_text,
    webhook_document,
)
from specctl.schemas.notify import Notify
from tests.conftest import REPO

T0 = 1767225600.0  # 2026-01-01T00:00:00Z

PLAN = {
    "summary": {"add": 1, "change": 1, "destroy": 0, "switch": 1, "permission_fix": 0, "retire": 0},
    "changes": [
        {
            "address": "green.service.backend",
            "action": "~",
            "kind": "service",
            "fields": [{"key": "image", "before": "app:1.4", "after": "app:1.5"}],
        },
        {"address": "green.service.ml", "action": "+", "kind": "service", "fields": []},
        {
            "address": "nginx.upstream.backend",
            "action": "⇄",
            "kind": "upstream",
            "before": "blue-backend:3001",
            "after": "green-backend:3001",
            "fields": [],
        },
    ],
    "steps": [{"name": "deploy"}, {"name": "switch"}, {"name": "bake"}],
}

BAKE = {
    "color": "green",
    "requests": 50,
    "errors": 6,
    "last_window": {
        "requests": 40,
        "errors": 6,
        "error_percent": 15.0,
        "p95_seconds": 0.04,
        "p99_seconds": 1.5,
    },
    "before": None,
    "breach": ["5xx 15.0% of 40 requests > 1%"],
}


def record(**fields: Any) -> dict[str, Any]:
    """An audit record of an apply to green that failed in the bake and switched back."""
    base: dict[str, Any] = {
        "id": "0123456789ab",
        "kind": "apply",
        "started": T0,
        "finished": T0 + 42.25,
        "seconds": 42.25,
        "result": "failed",
        "error": "green breached the bake: 5xx 15.0% of 40 requests > 1%",
        "target": "green",
        "previous": "blue",
        "user": "alice",
        "host": "build-1",
        "pid": 4242,
        "plan": PLAN,
        "steps": [
            {"name": "deploy", "status": "ok", "seconds": 3.0, "detail": ""},
            {"name": "bake", "status": "failed", "seconds": 30.0, "detail": ""},
        ],
        "rolled_back": "switch-back to blue; stop green",
        "switched": True,
        "bake": BAKE,
        "final": {"active": "blue"},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


# --- compiler/notice.py: pure ------------------------------------------------------------------

FAILED_AT = [{"name": "backup", "status": "failed", "seconds": 1.0, "detail": ""}]

EVENTS_TABLE = [
    (
        "apply ok",
        {"result": "ok", "switched": True, "bake": None, "steps": []},
        ["apply.succeeded"],
    ),
    ("apply noop", {"result": "noop", "steps": [], "bake": None}, []),
    (
        "bake breach, switched back",
        {},
        ["apply.failed", "apply.rolled_back", "bake.breach"],
    ),
    (
        "breach found in the figures only",
        {"steps": []},
        ["apply.failed", "apply.rolled_back", "bake.breach"],
    ),
    (
        "failed before the switch",
        {"switched": False, "bake": None, "steps": [{"name": "health", "status": "failed"}]},
        ["apply.failed"],
    ),
    (
        "backup failed",
        {"switched": None, "bake": None, "steps": FAILED_AT},
        ["apply.failed", "backup.failed"],
    ),
    ("rollback ok", {"kind": "rollback", "result": "ok"}, ["rollback.succeeded"]),
    ("rollback failed", {"kind": "rollback"}, ["rollback.failed"]),
    ("backup create failed", {"kind": "backup", "steps": FAILED_AT}, ["backup.failed"]),
    ("backup create ok", {"kind": "backup", "result": "ok"}, []),
    ("abort", {"kind": "abort", "result": "ok"}, []),
    (
        "lock taken over",
        {"result": "ok", "bake": None, "lock_taken_over": "pid 7 on build-2 (dead)"},
        ["apply.succeeded", "lock.taken_over"],
    ),
    (
        "a noop still tells of a lock taken over",
        {"result": "noop", "lock_taken_over": "pid 7 on build-2 (dead)"},
        ["lock.taken_over"],
    ),
    ("an empty record", None, []),
]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [(f, e) for _, f, e in EVENTS_TABLE],
    ids=[i for i, _, _ in EVENTS_TABLE],
)
def test_the_events_a_record_raises(fields: dict[str, Any] | None, expected: list[str]) -> None:
    rec = {} if fields is None else record(**fields)
    assert list(events_of(rec)) == expected
    assert list(finished_notice(rec, project="demo").events) == expected


def test_a_failed_apply_says_what_why_who_how_long_and_what_was_undone() -> None:
    notice = finished_notice(record(), project="demo")
    assert notice.title == "specctl: apply to green failed (bake breach) on demo"
    assert notice.event == "apply.failed"
    assert notice.text.splitlines() == [
        "result: failed after 42.2s (step bake)",
        "colour: green (before: blue); serving now: blue",
        "by: alice@build-1",
        "error: green breached the bake: 5xx 15.0% of 40 requests > 1%",
        "rolled back: switch-back to blue; stop green",
        "plan: Plan: 1 to add, 1 to change, 0 to destroy, 1 traffic switch, 0 permission fixes.",
        "  ~ green.service.backend  image: app:1.4 → app:1.5",
        "  + green.service.ml",
        "  ⇄ nginx.upstream.backend  blue-backend:3001 → green-backend:3001",
        "bake: 50 requests on green since the switch, 6 with 5xx",
        "bake last window: 40 requests, 5xx 15.0%, p95 40ms, p99 1.5s",
        "bake breach: 5xx 15.0% of 40 requests > 1%",
        "run: 0123456789ab (specctl history)",
    ]


def test_a_success_and_a_rollback_read_well() -> None:
    ok = finished_notice(
        record(
            result="ok",
            error=None,
            rolled_back=None,
            bake=None,
            steps=[],
            final={"active": "green"},
            seconds=200.0,
        ),
        project="demo",
    )
    assert ok.title == "specctl: apply to green succeeded on demo"
    assert ok.text.splitlines()[:3] == [
        "result: ok after 3m20s",
        "colour: green (before: blue); serving now: green",
        "by: alice@build-1",
    ]
    assert "error" not in ok.text
    back = finished_notice(
        {"kind": "rollback", "result": "ok", "target": "blue", "previous": "green"}, project="x"
    )
    assert back.title == "specctl: rollback to blue succeeded on x"
    assert "by: unknown" in back.text


def test_a_long_error_is_cut_and_keeps_its_lines() -> None:
    error = "deploy: compose failed\n" + "x" * 5000 + "\nlast line"
    notice = finished_notice(record(error=error), project="demo")
    assert notice.error is not None
    assert notice.error.startswith("deploy: compose failed\nxxx")
    assert len(notice.error) < ERROR_LIMIT + 100
    assert "more characters in specctl history" in notice.error
    lines = notice.text.splitlines()
    assert lines[3] == "error: deploy: compose failed"
    assert lines[4].startswith("  xxx")  # a later line indented under its label
    assert "\n" not in notice.title


def test_the_started_notice_tells_only_what_is_known_at_the_start() -> None:
    notice = started_notice(record(), project="demo")
    assert notice.events == ("apply.started",)
    assert notice.title == "specctl: apply to green started on demo"
    assert notice.text.splitlines() == [
        "result: started",
        "colour: green (before: blue)",
        "by: alice@build-1",
        "plan: Plan: 1 to add, 1 to change, 0 to destroy, 1 traffic switch, 0 permission fixes.",
        "  ~ green.service.backend  image: app:1.4 → app:1.5",
        "  + green.service.ml",
        "  ⇄ nginx.upstream.backend  blue-backend:3001 → green-backend:3001",
        "steps: deploy, switch, bake",
        "run: 0123456789ab (specctl history)",
    ]
    assert started_notice(record(kind="rollback"), project="demo").events == ()


def test_the_summary_reads_a_plan_document_or_a_line() -> None:
    assert summary_text({"summary": "Plan: 1 to add."}) == "Plan: 1 to add."
    many = {"add": 2, "change": 0, "destroy": 1, "switch": 2, "permission_fix": 1, "retire": 1}
    assert summary_text({"summary": many}) == (
        "Plan: 2 to add, 0 to change, 1 to destroy, 2 traffic switches, 1 permission fix, "
        "1 to retire."
    )
    assert summary_text({}) == ""


def test_the_renderings() -> None:
    notice = finished_notice(record(error="bad <html> & more"), project="demo")
    slack = slack_body(notice)
    assert list(slack) == ["text"]
    assert slack["text"].startswith("specctl: apply to green failed (bake breach) on demo\n")
    assert "bad &lt;html&gt; &amp; more" in slack["text"]

    doc = webhook_document(notice)
    assert doc["format_version"] == 1
    assert (doc["event"], doc["events"]) == (
        "apply.failed",
        ["apply.failed", "apply.rolled_back", "bake.breach"],
    )
    assert (doc["started"], doc["finished"], doc["seconds"]) == (
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:00:42.250Z",
        42.25,
    )
    assert (doc["user"], doc["host"], doc["target"], doc["previous"], doc["active"]) == (
        "alice",
        "build-1",
        "green",
        "blue",
        "blue",
    )
    assert doc["bake"] == BAKE and doc["failed_step"] == "bake"
    assert doc["run_id"] == "0123456789ab"
    # The keys are stable: a record that knows little gives the same keys.
    assert list(webhook_document(finished_notice({}, project="x"))) == list(doc)
    json.dumps(doc)  # JSON as it is

    body = grafana_body(notice, tags=["prod", "specctl"], dashboard_uid="abc")
    assert (body["time"], body["timeEnd"]) == (1767225600000, 1767225642250)
    assert body["tags"] == ["specctl", "demo", "apply", "failed", "prod"]
    assert body["dashboardUID"] == "abc"
    assert body["text"].startswith(notice.title)
    start = grafana_body(started_notice(record(), project="demo"))
    assert "timeEnd" not in start and "dashboardUID" not in start
    assert start["tags"] == ["specctl", "demo", "apply", "started"]


def test_the_email_is_built_from_the_record_alone() -> None:
    notice = finished_notice(record(), project="demo")
    message = email_message(notice, sender="specctl@example.org", to=["a@example.org", "b@x.org"])
    assert message["Subject"] == notice.title
    assert message["To"] == "a@example.org, b@x.org"
    assert message["Date"] == "Thu, 01 Jan 2026 00:00:42 +0000"
    assert message["Message-ID"] == "<specctl.0123456789ab.finished@build-1>"
    body = message.get_content()
    assert notice.text in body
    again = email_message(notice, sender="specctl@example.org", to=["a@example.org", "b@x.org"])
    assert again.as_bytes() == message.as_bytes()  # no clock, no randomness


def test_the_schema_refuses_a_channel_that_could_never_deliver() -> None:
    with pytest.raises(ValidationError, match="exactly one of url or url_env"):
        Notify.model_validate({"channels": [{"kind": "webhook"}]})
    with pytest.raises(ValidationError, match="both user_env and password_env"):
        Notify.model_validate(
            {
                "channels": [
                    {
                        "kind": "email",
                        "host": "h",
                        "sender": "a@b",
                        "to": ["c@d"],
                        "user_env": "SMTP_USER",
                    }
                ]
            }
        )


# --- appliers/notify.py: real receivers on loopback ---------------------------------------------

SLACK_TOKEN = "T0SECRET/B0SECRET/xoxSecretToken4711"
GRAFANA_TOKEN = "glsa_GrafanaSecretToken_0815"
HEADER_TOKEN = "Token HeaderSecret-777"
SMTP_PASSWORD = "pw-SmtpSecret-9f8e7d"
SECRETS = (SLACK_TOKEN, *SLACK_TOKEN.split("/"), GRAFANA_TOKEN, HEADER_TOKEN, SMTP_PASSWORD)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Sink:
    """An HTTP server on 127.0.0.1 that keeps what is posted; paths under /fail get a 500 that
    repeats the path (a receiver echoing a secret URL)."""

    url: str
    posts: list[Post] = field(default_factory=list)


@pytest.fixture
def sink() -> Iterator[Sink]:
    posts: list[Post] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append(Post(self.path, dict(self.headers.items()), json.loads(raw)))
            status, answer = (500, f"boom at {self.path}") if "/fail" in self.path else (200, "ok")
            data = answer.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Sink(f"http://127.0.0.1:{server.server_address[1]}", posts)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hanging() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(32)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def notifier(
    tmp_path: Path,
    channels: list[dict[str, Any]],
    *,
    timeout: str = "5s",
    environ: dict[str, str] | None = None,
    env_files: list[str] | None = None,
) -> Notifier:
    notify = Notify.model_validate(
        {"timeout": timeout, "channels": channels, "env_files": env_files or []}
    )
    return Notifier(notify, root=tmp_path, project="demo", environ=environ or {})


def by_channel(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["channel"]: o for o in outcomes}


def test_slack_webhook_and_grafana_receive_the_notice(
    sink: Sink, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The env file's URL is wrong on purpose: the process environment wins over the files.
    (tmp_path / "notify.env").write_text(f"SLACK_URL={sink.url}/wrong\nHOOK_AUTH={HEADER_TOKEN}\n")
    environ = {
        "SLACK_URL": f"{sink.url}/services/{SLACK_TOKEN}",
        "HOOK_URL": f"{sink.url}/hook?key=HookQuerySecret",
        "GRAFANA_TOKEN": GRAFANA_TOKEN,
    }
    n = notifier(
        tmp_path,
        [
            {"kind": "slack", "url_env": "SLACK_URL"},
            {
                "kind": "webhook",
                "name": "ops hook",
                "url_env": "HOOK_URL",
                "headers_env": {"Authorization": "HOOK_AUTH"},
                "events": list(EVENTS_ALL),
            },
            {
                "kind": "grafana",
                "url": sink.url + "/",
                "token_env": "GRAFANA_TOKEN",
                "dashboard_uid": "dash-1",
                "tags": ["prod"],
            },
        ],
        environ=environ,
        env_files=["notify.env"],
    )
    n.started(record())
    n.finished(record())
    outcomes = n.wait()
    # The webhook hears apply.started too (it asked for every event); the others do not.
    assert [(o["channel"], o["events"], o["result"], o["error"]) for o in outcomes] == [
        ("ops hook", ["apply.started"], "delivered", None),
        (
            "slack 127.0.0.1",
            ["apply.failed", "apply.rolled_back", "bake.breach"],
            "delivered",
            None,
        ),
        ("ops hook", ["apply.failed", "apply.rolled_back", "bake.breach"], "delivered", None),
        ("grafana 127.0.0.1", ["apply.failed"], "delivered", None),  # its default events
    ]
    assert all(isinstance(o["seconds"], float) for o in outcomes)

    posts: dict[str, list[Post]] = {}
    for p in sink.posts:
        posts.setdefault(p.path.split("?")[0], []).append(p)
    assert set(posts) == {f"/services/{SLACK_TOKEN}", "/hook", "/api/annotations"}

    (slack,) = posts[f"/services/{SLACK_TOKEN}"]
    assert slack.body == slack_body(finished_notice(record(), project="demo"))
    assert slack.headers["Content-Type"] == "application/json"

    started, ended = sorted(posts["/hook"], key=lambda p: p.body["event"] != "apply.started")
    assert started.body["event"] == "apply.started" and started.body["result"] == "started"
    assert ended.body["events"] == ["apply.failed", "apply.rolled_back", "bake.breach"]
    assert ended.body["format_version"] == 1 and ended.body["error"].startswith("green breached")
    assert ended.headers["Authorization"] == HEADER_TOKEN  # from the env file

    (grafana,) = posts["/api/annotations"]
    assert grafana.headers["Authorization"] == f"Bearer {GRAFANA_TOKEN}"
    assert grafana.body["time"] == 1767225600000 and grafana.body["timeEnd"] == 1767225642250
    assert grafana.body["tags"] == ["specctl", "demo", "apply", "failed", "prod"]
    assert grafana.body["dashboardUID"] == "dash-1"

    # No secret in outcomes, messages or logs (httpx logs each request's URL at INFO).
    assert "HTTP Request: POST" in caplog.text
    assert_no_secret(json.dumps(outcomes), *(json.dumps(p.body) for p in sink.posts), caplog.text)
    assert "HookQuerySecret" not in caplog.text


EVENTS_ALL = (
    "apply.started",
    "apply.succeeded",
    "apply.failed",
    "apply.rolled_back",
    "rollback.succeeded",
    "rollback.failed",
    "bake.breach",
    "backup.failed",
    "lock.taken_over",
)


def test_failures_are_outcomes_never_exceptions(sink: Sink, tmp_path: Path) -> None:
    refused = free_port()  # bound and closed: nothing listens there
    n = notifier(
        tmp_path,
        [
            {"kind": "slack", "name": "refused", "url_env": "REFUSED_URL"},
            {"kind": "slack", "url_env": "FAIL_URL"},
            {"kind": "slack", "url_env": "UNSET_URL"},
            {"kind": "webhook", "name": "not a url", "url_env": "BAD_URL"},
            {"kind": "grafana", "url": sink.url, "token_env": "UNSET_TOKEN"},
            {
                "kind": "email",
                "host": "127.0.0.1",
                "port": refused,
                "security": "none",
                "sender": "specctl@example.org",
                "to": ["ops@example.org"],
            },
        ],
        environ={
            "REFUSED_URL": f"http://127.0.0.1:{refused}/services/{SLACK_TOKEN}",
            "FAIL_URL": f"{sink.url}/fail/{SLACK_TOKEN}",
            "BAD_URL": f"ftp://example.org/{SLACK_TOKEN}",
        },
        env_files=["missing.env"],
    )
    n.finished(record(result="ok"))
    outcomes = by_channel(n.wait())
    assert outcomes["refused"]["result"] == "failed"
    assert "cannot connect" in outcomes["refused"]["error"]
    assert "refused" in outcomes["refused"]["error"].lower()
    assert outcomes["email 127.0.0.1"]["result"] == "failed"
    assert outcomes["email 127.0.0.1"]["error"].startswith("cannot connect")
    assert outcomes["slack 127.0.0.1"]["result"] == "failed"
    # The receiver echoed the secret path: the reason keeps the status, not the secret.
    assert outcomes["slack 127.0.0.1"]["error"].startswith("HTTP 500 Internal Server Error: boom")
    assert outcomes["slack UNSET_URL"]["result"] == "failed"
    assert outcomes["slack UNSET_URL"]["error"] == (
        f"UNSET_URL is not set (notify.env_files not readable: {tmp_path / 'missing.env'})"
    )
    assert outcomes["not a url"]["error"] == "BAD_URL does not hold an http:// or https:// URL"
    assert outcomes["grafana 127.0.0.1"]["error"].startswith("UNSET_TOKEN is not set")
    assert [p.path for p in sink.posts] == [f"/fail/{SLACK_TOKEN}"]  # nothing sent without a token
    assert_no_secret(json.dumps(list(outcomes.values())))


def hung_channels(port: int) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = [
        {"kind": "slack", "name": f"slack {i}", "url_env": "HANG_URL"} for i in range(6)
    ]
    return [
        *channels,
        {"kind": "grafana", "url": f"http://127.0.0.1:{port}"},
        # An SMTP server that never greets.
        {
            "kind": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "specctl@example.org",
            "to": ["ops@example.org"],
        },
    ]


def test_a_hanging_receiver_delays_the_end_by_the_timeout_at_most(
    hanging: int, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{hanging}/services/{SLACK_TOKEN}"
    n = notifier(tmp_path, hung_channels(hanging), timeout="1s", environ={"HANG_URL": url})
    n.finished(record(result="ok"))
    outcomes = n.wait()
    assert len(outcomes) == 8
    assert {o["result"] for o in outcomes} == {"timed out"}
    assert {o["error"] for o in outcomes} == {"no answer within 1s"}
    assert_no_secret(json.dumps(outcomes))


def test_sending_never_waits_for_the_receivers(tmp_path: Path) -> None:
    """`finished` returns while every receiver still hangs (they answer only when the test
    lets them: it closes the listening socket, which resets the connections)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(32)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/{SLACK_TOKEN}"
    n = notifier(tmp_path, hung_channels(port), timeout="60s", environ={"HANG_URL": url})
    try:
        n.finished(record(result="ok"))
        pending = list(n._deliveries)
        assert len(pending) == 8
        assert not any(d.done.is_set() for d in pending)
    finally:
        sock.close()
    outcomes = n.wait()
    assert len(outcomes) == 8 and "delivered" not in {o["result"] for o in outcomes}


def test_no_channels_costs_nothing() -> None:
    """A project without notify: no thread, no import of httpx, smtplib or the message
    renderer."""
    probe = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from specctl.appliers.notify import Notifier\n"
        "from specctl.schemas.notify import Notify\n"
        "n = Notifier(Notify(), root=Path('.'), project='demo')\n"
        "n.started({'kind': 'apply'}); n.finished({'kind': 'apply', 'result': 'failed'})\n"
        "print(json.dumps([n.wait(), sorted(m for m in ('httpx', 'smtplib', 'dotenv', "
        "'specctl.compiler.notice') if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[], []]


# --- e-mail: aiosmtpd requiring STARTTLS and AUTH, with a throwaway CA ---------------------------


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # user, accepted


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "specctl test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    folder = tmp_path / "tls"
    folder.mkdir()
    ca, cert, key = make_certs(folder)
    box = Mailbox(port=free_port(), ca_file=ca)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            box.messages.append(parsed)
            return "250 Message accepted"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = data.login == b"deployer" and data.password == SMTP_PASSWORD.encode()
        box.logins.append((data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def email_channel(box: Mailbox, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "email",
        "host": "127.0.0.1",
        "port": box.port,
        "security": "starttls",
        "user_env": "SMTP_USER",
        "password_env": "SMTP_PASSWORD",
        "ca_file": str(box.ca_file.relative_to(box.ca_file.parents[1])),
        "sender": "specctl@example.org",
        "to": ["ops@example.org", "dev@example.org"],
        **fields,
    }


def test_email_over_starttls_with_login(mailbox: Mailbox, tmp_path: Path) -> None:
    (tmp_path / "smtp.env").write_text(f"SMTP_USER=deployer\nSMTP_PASSWORD={SMTP_PASSWORD}\n")
    n = notifier(tmp_path, [email_channel(mailbox)], env_files=["smtp.env"])
    n.finished(record())
    (outcome,) = n.wait()
    assert (outcome["channel"], outcome["result"], outcome["error"]) == (
        "email 127.0.0.1",
        "delivered",
        None,
    )
    assert mailbox.logins == [("deployer", True)]
    assert mailbox.envelopes == [("specctl@example.org", ["ops@example.org", "dev@example.org"])]
    (message,) = mailbox.messages
    notice = finished_notice(record(), project="demo")
    assert message["Subject"] == "specctl: apply to green failed (bake breach) on demo"
    assert message["Date"] == "Thu, 01 Jan 2026 00:00:42 +0000"
    body = message.get_body(("plain",))
    assert body is not None
    assert notice.text in body.get_content().replace("\r\n", "\n")
    assert_no_secret(message.as_string(), json.dumps(outcome))


def test_email_failures_name_the_cause_and_never_the_password(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    wrong = {"SMTP_USER": "deployer", "SMTP_PASSWORD": SMTP_PASSWORD + "-wrong"}
    n = notifier(
        tmp_path,
        [
            email_channel(mailbox, name="bad password"),
            email_channel(mailbox, name="unknown ca", ca_file=None),
            email_channel(
                mailbox, name="no tls", security="none", user_env=None, password_env=None
            ),
        ],
        environ=wrong,
    )
    n.finished(record())
    outcomes = by_channel(n.wait())
    assert outcomes["bad password"]["result"] == "failed"
    assert outcomes["bad password"]["error"].startswith("SMTP: 535")
    assert outcomes["unknown ca"]["result"] == "failed"
    assert "certificate verify failed" in outcomes["unknown ca"]["error"]
    assert outcomes["no tls"]["result"] == "failed"  # the server requires STARTTLS first
    assert outcomes["no tls"]["error"].startswith("SMTP: 530")
    assert mailbox.messages == []
    assert SMTP_PASSWORD not in json.dumps(list(outcomes.values()))
