"""Handing new connections to nginx's new workers right after a reload (appliers/handover.py),
against a real nginx in a container on the local engine."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from specctl.appliers import handover, nginx, pidfd
from specctl.appliers.proof import serving_workers


@pytest.fixture
def proxy(docker_engine: None) -> Iterator[Any]:
    import docker

    client = docker.from_env(timeout=60)
    name = "specctl-test-handover"
    for old in client.containers.list(all=True, filters={"name": f"^{name}$"}):
        old.remove(force=True)
    container = client.containers.run("specctl-testbed/nginx:1.22", name=name, detach=True)
    try:
        deadline = time.monotonic() + 30
        while not serving_workers(container.id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert serving_workers(container.id), "nginx did not start its workers"
        yield container
    finally:
        container.remove(force=True)


def all_workers(container_id: str) -> dict[str, str]:
    from specctl.appliers.engine import api

    rows = api().top(container_id, ps_args="-o pid,args").get("Processes") or []
    return {str(row[0]): str(row[-1]) for row in rows if "worker process" in str(row[-1])}


def test_without_a_new_worker_nothing_is_signalled(proxy: Any) -> None:
    handle = pidfd.prepare(proxy.id)
    assert handle is not None, "the engine runs on this host: the master can be held"
    before = serving_workers(proxy.id)
    assert before
    old = handover.hold(handle.pid, before)
    assert old is not None and {str(pid) for pid in old.handles} == before
    assert handover.hand_over(old, limit=0.2) is False  # no reload: no new worker
    assert old.handles == {}  # released either way
    pidfd.close(handle)
    assert serving_workers(proxy.id) == before  # the workers were left alone


def test_a_pid_that_is_not_the_master_s_child_is_not_held(proxy: Any) -> None:
    handle = pidfd.prepare(proxy.id)
    assert handle is not None
    assert handover.hold(handle.pid, [str(handle.pid), "0", "not a pid"]) is None
    pidfd.close(handle)


def replaced(container_id: str, before: set[str]) -> frozenset[str]:
    """The workers that serve once none of `before` does (empty after 10 s without that)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        serving = serving_workers(container_id) or frozenset()
        if serving and not serving & before:
            return serving
        time.sleep(0.02)
    return frozenset()


def test_the_old_workers_stop_accepting_once_a_new_one_runs(proxy: Any) -> None:
    """Through nginx.reload, as a switch does it: the old workers are told to quit by specctl
    (hand_over returns True only when it saw a new worker and signalled them)."""
    ready = nginx.Ready.held(proxy.id)
    assert ready.handle is not None and ready.old is not None
    before = set(ready.workers or ())
    old = ready.old
    ready.old = None  # signal as reload does, but see hand_over's answer
    assert pidfd.send(ready.handle, signal.SIGHUP)
    assert handover.hand_over(old) is True
    serving = replaced(proxy.id, before)
    assert serving, all_workers(proxy.id)
    # A worker that is shutting down is not a new worker: a second reload right away must wait
    # for the workers of the second config.
    ready = nginx.Ready.held(proxy.id)
    assert set(ready.workers or ()) == set(serving)
    nginx.reload(ready)
    now = replaced(proxy.id, set(serving))
    assert now and not now & before, all_workers(proxy.id)
