"""The switch proof's view of an nginx reload (appliers/proof.py), against the real engine."""

from __future__ import annotations

import time

from specctl.appliers.proof import Reload, serving_workers


def test_a_container_docker_cannot_list_falls_back_to_nginx_s_pause(docker_engine: None) -> None:
    """`docker top` fails (here: no such container): the proof waits out nginx's fixed pause."""
    missing = "0" * 64
    assert serving_workers(missing) is None
    reload = Reload(missing, frozenset({"1"}))
    reload.started = time.monotonic() + 60  # the pause has not passed
    assert not reload.finished()
    reload.started = time.monotonic() - Reload.FALLBACK_SECONDS
    assert reload.finished()


def test_nginx_started_with_the_new_config_needs_no_wait() -> None:
    assert Reload(None, None).finished()
