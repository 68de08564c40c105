"""Which backups to prune: older than the retention, then the oldest beyond the count; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dated:
    id: str
    created: float  # seconds since the epoch


def select_prunable(
    backups: Sequence[Dated], *, now: float, max_age: float, keep: int, min_keep: int = 1
) -> list[str]:
    """Ids to remove, oldest first. Everything older than `max_age` seconds goes, then the
    oldest until at most `keep` are left. The newest `min_keep` always stay, however old: a
    host that has not deployed for a while must not lose its only backup."""
    ordered = sorted(backups, key=lambda b: (b.created, b.id))
    # Sliced from len - min_keep, not from -min_keep: none are protected for 0 (or less), where
    # ordered[-0:] would be all of them; all of them for more than there are.
    protected = {b.id for b in ordered[max(len(ordered) - min_keep, 0) :]}
    doomed = {b.id for b in ordered if b.created < now - max_age and b.id not in protected}
    left = [b for b in ordered if b.id not in doomed]
    for b in left[: max(len(left) - keep, 0)]:
        if b.id not in protected:
            doomed.add(b.id)
    return [b.id for b in ordered if b.id in doomed]
