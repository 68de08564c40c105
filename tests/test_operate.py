"""The operator's everyday commands on the real engine: `specctl logs` and `specctl exec` find
the serving colour's containers by themselves (or the colour named), and a deploy lock held by a
person blocks apply and rollback with their message until it is released."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox, new_sandbox, remove_project

NAME = "operate1"
BASE = 31200
PUBLIC = BASE + 80

SPEC = f"""\
version: 1
project: {NAME}
root: ..
colors:
  blue: {{port_base: {BASE + 100}}}
  green: {{port_base: {BASE + 200}}}
services:
  web:
    image: specctl-testbed/app:1.0
    port: 8080
    host_port: {{offset: 0}}
    environment: {{APP_NAME: web, APP_COLOR: "{{color}}"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
  api:
    image: specctl-testbed/app:1.0
    port: 8080
    environment: {{APP_NAME: api, APP_COLOR: "{{color}}"}}
    healthcheck: {{http: /health, interval: 1s, timeout: 2s, retries: 30}}
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{{host: {PUBLIC}, container: 80}}]
  upstreams:
    web: {{service: web, probe: /health}}
  locations:
    - {{path: /, upstream: web}}
deploy:
  health_interval: 1s
  switch_timeout: 5s
  drain: 1s
  retire: keep
backups: {{enabled: false}}
notify:
  env_files: [config/notify.env]
  timeout: 2s
  channels:
    - kind: webhook
      name: sink
      url_env: SINK_URL
      events: [apply.started, apply.succeeded, apply.failed, rollback.succeeded]
    - {{kind: slack, name: stuck, url_env: STUCK_URL}}
"""
SECRET = "T0KEN-s3cret-path"


class Sink(ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Sandbox]:
    """Blue deployed, then green: both run, green serves. Notifications go to a sink that
    answers and to one that never answers (a listening socket nobody accepts on)."""
    sandbox = new_sandbox(tmp_path_factory.mktemp("operate"), NAME, SPEC)
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(16)
    sandbox.write(
        "config/notify.env",
        f"SINK_URL=http://127.0.0.1:{sink.server_address[1]}/hook/{SECRET}\n"
        f"STUCK_URL=http://127.0.0.1:{stuck.getsockname()[1]}/services/{SECRET}\n",
    )
    sandbox.sink = sink  # type: ignore[attr-defined]
    try:
        for target in ("blue", "green"):
            done = sandbox.run("apply", "--target", target, "--yes")
            assert done.code == 0, done.out + done.err
        assert sandbox.active() == "green"
        yield sandbox
    finally:
        sink.shutdown()
        sink.server_close()
        stuck.close()
        remove_project(NAME)


def test_logs_default_to_the_serving_colour(box: Sandbox) -> None:
    served = box.cli("logs", "web")
    assert served.code == 0, served.err
    assert "app web color=green" in served.out
    assert "color=blue" not in served.out
    named = box.cli("logs", "web", "--color", "blue")
    assert named.code == 0, named.err
    assert "app web color=blue" in named.out and "color=green" not in named.out


def test_logs_of_a_colour_are_prefixed_filtered_and_cut(box: Sandbox) -> None:
    every = box.cli("logs", "--grep", "listening on")
    assert every.code == 0, every.err
    lines = every.out.splitlines()
    assert sorted(line.split(" | ")[0].strip() for line in lines) == [
        f"{NAME}-green-api-1",
        f"{NAME}-green-web-1",
    ], lines
    assert all("listening on 8080" in line for line in lines)
    last = box.cli("logs", "web", "--tail", "1", "--timestamps")
    assert last.code == 0, last.err
    assert len(last.out.splitlines()) == 1
    assert last.out[:4].isdigit() and "T" in last.out.split()[0]  # Docker's RFC 3339 time
    future = box.cli("logs", "web", "--since", "2099-01-01T00:00:00Z")
    assert future.code == 0 and future.out == ""


def test_logs_of_the_proxy_and_mistakes(box: Sandbox) -> None:
    httpx.get(f"http://127.0.0.1:{PUBLIC}/proxy-log-marker", timeout=10)
    proxy = box.cli("logs", "proxy", "--grep", "proxy-log-marker")
    assert proxy.code == 0, proxy.err
    assert "proxy-log-marker" in proxy.out
    unknown = box.cli("logs", "nope")
    assert unknown.code == 1
    assert "error: no service 'nope' in the spec" in unknown.err
    assert "hint: services: api, proxy, web" in unknown.err
    bad = box.cli("logs", "web", "--grep", "(")
    assert bad.code == 1 and "not a regular expression" in bad.err


def test_logs_follow_prints_new_lines(box: Sandbox) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "specctl", "-f", str(box.spec_path), "logs", "web", "-F"],
        cwd=box.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "follow-marker" in line:
                seen.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not seen.is_set() and time.monotonic() < deadline:
            httpx.get(f"http://127.0.0.1:{PUBLIC}/follow-marker", timeout=10)
            seen.wait(0.5)
        assert seen.is_set(), "the followed log never showed the new request"
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_exec_runs_in_the_serving_colour_with_its_exit_code(box: Sandbox) -> None:
    served = box.cli("exec", "web", "--", "sh", "-c", "echo $APP_COLOR")
    assert served.code == 0, served.err
    assert served.out.strip() == "green"
    named = box.cli("exec", "web", "--color", "blue", "--", "sh", "-c", "echo $APP_COLOR")
    assert named.out.strip() == "blue"
    failed = box.cli("exec", "api", "--", "sh", "-c", "echo oops >&2; exit 7")
    assert failed.code == 7 and "oops" in failed.err
    piped = subprocess.run(
        [sys.executable, "-m", "specctl", "-f", str(box.spec_path), "exec", "web", "--", "cat"],
        input="through the pipe\n",
        capture_output=True,
        text=True,
        cwd=box.root,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stdout == "through the pipe\n"
    missing = box.cli("exec", "web")
    assert missing.code == 1 and "name the command to run" in missing.err


def test_a_held_lock_blocks_apply_and_rollback_with_its_message(box: Sandbox) -> None:
    message = "restoring the database by hand; ask alice before deploying"
    taken = box.cli("lock", "acquire", "-m", message)
    assert taken.code == 0, taken.err
    assert message in taken.out
    try:
        status = box.cli("lock", "status")
        assert status.code == 0 and status.out.startswith("locked by ") and message in status.out
        assert box.status()["lock"]["message"] == message
        assert "locked: by " in box.cli("status").out
        again = box.cli("lock", "acquire", "-m", "me too")
        assert again.code == 1 and "already held" in again.err and message in again.err
        for args in (("apply", "--yes"), ("rollback",)):
            refused = box.run(*args, CI="true")
            assert refused.code == 1, refused.out
            assert message in refused.err, refused.err
            assert "hint: wait for them, or specctl lock release" in refused.err
            assert box.last_record()["result"] == "failed"
        plan = box.cli("plan")  # reading is never blocked
        assert plan.code == 0, plan.err
        assert box.active() == "green"
    finally:
        released = box.cli("lock", "release")
    assert released.code == 0 and message in released.out
    assert box.cli("lock", "status").out.strip() == "not locked"
    assert box.status()["lock"] is None
    assert box.cli("lock", "release").out.startswith("the deploy lock was not held")
    # A run killed with -9 left its record in the lock file: the next run takes it over, warns
    # and tells the channels (lock.taken_over).
    dead = subprocess.Popen(["true"])
    dead.wait()
    (box.root / ".specctl" / "lock").write_text(
        json.dumps({"pid": dead.pid, "host": "ci", "user": "bob", "command": "specctl apply"})
    )
    back = box.cli("rollback")
    assert back.code == 0, back.out + back.err
    assert "warning: took over the lock from pid" in back.out
    assert box.active() == "blue"
    assert "by bob since" in box.last_record()["lock_taken_over"]


def test_each_step_is_one_json_line_for_log_shippers(box: Sandbox) -> None:
    lines = (box.root / "logs" / "deployment" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    runs = [e for e in events if e["attributes"]["event.name"] == "specctl.run"]
    steps = [e for e in events if e["attributes"]["event.name"] == "specctl.step"]
    green = next(r for r in runs if r["attributes"].get("specctl.target.color") == "green")
    assert green["attributes"]["specctl.run.result"] == "ok"
    assert green["resource"]["service.name"] == "specctl"
    mine = [s for s in steps if s["trace_id"] == green["trace_id"]]
    names = [s["attributes"]["specctl.step.name"] for s in mine]
    assert {"deploy", "health", "switch"} <= set(names), names
    switch = mine[names.index("switch")]
    assert switch["attributes"]["specctl.step.status"] == "ok"
    assert switch["attributes"]["specctl.target.color"] == "green"
    assert switch["severity_text"] == "INFO" and switch["timestamp"].endswith("Z")
    assert len({s["span_id"] for s in mine}) == len(mine)


def test_notifications_of_real_runs_reach_the_sink_and_a_stuck_one_is_bounded(
    box: Sandbox,
) -> None:
    """Runs after the lock test (file order): the refused apply and the rollback told too."""
    received: list[dict[str, Any]] = box.sink.received  # type: ignore[attr-defined]
    seen = [(doc["event"], doc.get("target")) for doc in received]
    assert ("apply.started", "green") in seen and ("apply.succeeded", "green") in seen, seen
    assert ("rollback.succeeded", "blue") in seen, seen
    rolled = next(doc for doc in received if doc["event"] == "rollback.succeeded")
    assert "lock.taken_over" in rolled["events"], rolled
    refused = next(doc for doc in received if doc["event"] == "apply.failed")
    assert "ask alice before deploying" in refused["error"]
    history = [json.loads(line) for line in box.cli("history", "--json").out.splitlines()]
    green = next(r for r in history if r["kind"] == "apply" and r.get("target") == "green")
    outcomes = {n["channel"]: n for n in green["notifications"]}
    assert outcomes["sink"]["result"] == "delivered"
    assert outcomes["stuck"]["result"] == "timed out"
    assert "stuck timed out" in box.cli("history").out
    everything = json.dumps(history) + json.dumps(received)
    logs = "".join(p.read_text() for p in (box.root / "logs" / "deployment").glob("*"))
    assert SECRET not in everything and SECRET not in logs
