"""compiler/retention.py (pure): the edges of pruning, beside the table of tests/test_backup.py."""

from __future__ import annotations

import pytest

from specctl.compiler.retention import Dated, select_prunable

THREE = [Dated("c", 300.0), Dated("a", 100.0), Dated("b", 200.0)]


@pytest.mark.parametrize(
    ("min_keep", "doomed"),
    [
        (-1, ["a", "b", "c"]),
        (0, ["a", "b", "c"]),
        (1, ["a", "b"]),
        (2, ["a"]),
        (3, []),
        (4, []),  # more than there are: all stay
        (5, []),
    ],
)
def test_the_newest_min_keep_backups_stay_whatever_their_age_and_the_count(
    min_keep: int, doomed: list[str]
) -> None:
    assert select_prunable(THREE, now=1000.0, max_age=10.0, keep=0, min_keep=min_keep) == doomed


def test_a_backup_exactly_max_age_old_is_kept() -> None:
    backups = [Dated("a", 899.5), Dated("b", 900.0), Dated("c", 990.0)]
    assert select_prunable(backups, now=1000.0, max_age=100.0, keep=5) == ["a"]


def test_backups_made_at_the_same_time_go_in_the_order_of_their_ids() -> None:
    backups = [Dated("z", 100.0), Dated("y", 100.0), Dated("x", 100.0)]
    assert select_prunable(backups, now=100.0, max_age=10.0, keep=1) == ["x", "y"]
