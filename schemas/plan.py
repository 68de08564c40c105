"""The plan: what apply will change, field by field; pure value types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "+"
    UPDATE = "~"
    REPLACE = "±"
    DELETE = "-"
    SWITCH = "⇄"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldChange(Frozen):
    key: str
    before: Any = None
    after: Any = None


Kind = Literal["service", "shared", "proxy", "upstream", "path"]


class Change(Frozen):
    address: str  # green.service.backend, nginx.upstream.backend, path.uploads.green
    action: Action
    kind: Kind
    fields: list[FieldChange] = []
    before: Any = None
    after: Any = None
    reason: str = ""  # for display only; code never branches on it


class Plan(Frozen):
    format_version: int = FORMAT_VERSION
    project: str
    target: str
    active: str | None
    active_state: str
    spec_hash: str
    live_fingerprint: str
    changes: list[Change] = []
    unchanged: int = 0
    warnings: list[str] = []
    steps: list[str] = []

    @property
    def empty(self) -> bool:
        return not self.changes

    def of_kind(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]

    def summary(self) -> dict[str, int]:
        def count(*actions: Action, kinds: tuple[str, ...] = ("service", "shared", "proxy")) -> int:
            return sum(1 for c in self.changes if c.action in actions and c.kind in kinds)

        return {
            "add": count(Action.CREATE),
            "change": count(Action.UPDATE, Action.REPLACE),
            "destroy": count(Action.DELETE),
            "switch": count(Action.SWITCH, kinds=("upstream",)),
            "permission_fix": count(Action.CREATE, Action.UPDATE, kinds=("path",)),
        }

    def document(self) -> dict[str, Any]:
        """The versioned JSON form (stable keys)."""
        return {
            "format_version": self.format_version,
            "project": self.project,
            "target": self.target,
            "active": self.active,
            "active_state": self.active_state,
            "spec_hash": self.spec_hash,
            "live_fingerprint": self.live_fingerprint,
            "changes": [
                {
                    "address": c.address,
                    "action": c.action.value,
                    "kind": c.kind,
                    "before": c.before,
                    "after": c.after,
                    "fields": [f.model_dump() for f in c.fields],
                    "reason": c.reason,
                }
                for c in self.changes
            ],
            "unchanged": self.unchanged,
            "warnings": self.warnings,
            "steps": self.steps,
            "summary": self.summary(),
        }
