"""The plan: what apply will change, field by field; pure value types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

FORMAT_VERSION = 2  # 2: steps are typed objects (name, colour, detail, undo)


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


Kind = Literal["service", "shared", "proxy", "upstream", "path", "retire"]


class Change(Frozen):
    address: str  # green.service.backend, nginx.upstream.backend, path.uploads.green
    action: Action
    kind: Kind
    fields: list[FieldChange] = []
    before: Any = None
    after: Any = None
    reason: str = ""  # for display only; code never branches on it


class StepName(StrEnum):
    """The steps apply and rollback execute, in the words the user reads."""

    PRE_CHECKS = "pre-checks"
    ADOPT = "adopt"
    IMAGES = "images"
    PERMISSIONS = "permissions"
    BACKUP = "backup"
    DEPLOY = "deploy"
    START = "start"
    HEALTH = "health"
    MAINTENANCE = "maintenance"
    MIGRATE = "migrate"
    VERIFY_DIRECT = "verify-direct"
    PREVIEW = "preview"
    STAGE = "stage"
    SWITCH = "switch"
    SWITCH_BACK = "switch-back"
    VERIFY_PROXY = "verify-proxy"
    BAKE = "bake"
    RETIRE = "retire"
    PRUNE_BUILDS = "prune-builds"


class Step(Frozen):
    """One step of an apply or a rollback, with what undoes it when a later step fails."""

    name: StepName
    color: str | None = None  # the colour the step acts on
    detail: str = ""
    undo: str | None = None  # what undoes it; None: nothing to undo
    services: list[str] = []  # deploy: services created, recreated or started; start, retire
    remove: list[str] = []  # deploy: services no longer in the spec
    leftovers: list[str] = []  # deploy: containers an interrupted Compose run left behind
    recreate: list[str] = []  # deploy: shared services and the proxy to recreate (on request)
    # deploy: shared services and the proxy served by containers of a system taken over
    # (service -> container): never started by Compose, replaced only when recreated.
    adopted: dict[str, str] = {}


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
    notes: list[str] = []  # facts worth seeing before applying, e.g. per-colour differences
    steps: list[Step] = []
    rollback: bool = False  # a plan of `specctl rollback`

    @property
    def empty(self) -> bool:
        """Live state matches the spec: nothing differs and nothing is to be done."""
        return not self.changes and not self.steps

    def step(self, name: StepName) -> Step | None:
        return next((s for s in self.steps if s.name is name), None)

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
            "retire": count(Action.UPDATE, kinds=("retire",)),
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
            "notes": self.notes,
            "rollback": self.rollback,
            "steps": [
                s.model_dump(mode="json", exclude=set() if s.adopted else {"adopted"})
                for s in self.steps
            ],
            "summary": self.summary(),
        }
