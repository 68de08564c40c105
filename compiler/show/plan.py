"""Plan -> text (Terraform-like), JSON (versioned) or Markdown (for a pull request); pure."""

from __future__ import annotations

import json
from typing import Any

from specctl.schemas.plan import Action, Change, Plan

NO_CHANGES = "No changes. Live state matches the spec."

_ANSI = {
    Action.CREATE: "\033[32m",
    Action.UPDATE: "\033[33m",
    Action.REPLACE: "\033[35m",
    Action.DELETE: "\033[31m",
    Action.SWITCH: "\033[36m",
}
_RESET = "\033[0m"


def show_value(value: Any, *, limit: int = 60) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(change: Change) -> list[str]:
    """What changes, as `key: before → after` parts."""
    if change.fields:
        return [f"{f.key}: {show_value(f.before)} → {show_value(f.after)}" for f in change.fields]
    if change.action is Action.SWITCH:
        return [f"{show_value(change.before)} → {show_value(change.after)}"]
    if isinstance(change.after, dict):
        return [", ".join(f"{k}: {show_value(v)}" for k, v in change.after.items())]
    if isinstance(change.before, dict):
        return [", ".join(f"{k}: {show_value(v)}" for k, v in change.before.items())]
    return []


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    parts = [f"{s['add']} to add", f"{s['change']} to change", f"{s['destroy']} to destroy"]
    parts.append(f"{s['switch']} traffic switch{'es' if s['switch'] != 1 else ''}")
    parts.append(f"{s['permission_fix']} permission fix{'es' if s['permission_fix'] != 1 else ''}")
    if s["retire"]:
        parts.append(f"{s['retire']} to retire")
    return "Plan: " + ", ".join(parts) + "."


def heading(plan: Plan) -> str:
    active = plan.active or "none"
    state = plan.active_state
    if plan.rollback:
        return f"specctl rollback: {plan.project}, back to {plan.target} (active: {active})"
    return f"specctl plan: {plan.project}, target {plan.target} (active: {active}, {state})"


def step_lines(plan: Plan) -> list[str]:
    """The steps apply (or rollback) will execute, numbered, with their undo."""
    if not plan.steps:
        return []
    width = max(len(s.name.value) for s in plan.steps) + 2
    lines = ["Rollback runs:" if plan.rollback else "Apply runs:"]
    for number, step in enumerate(plan.steps, 1):
        undo = f"  (undo: {step.undo})" if step.undo else ""
        lines.append(f"  {number:>2}. {step.name.value.ljust(width)}{step.detail}{undo}")
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    lines = [heading(plan), ""]
    if plan.empty:
        lines.append(NO_CHANGES)
    else:
        width = max(len(c.address) for c in plan.changes) + 2
        for change in plan.changes:
            symbol = change.action.value
            if color:
                symbol = f"{_ANSI[change.action]}{symbol}{_RESET}"
            parts = describe(change)
            first = parts[0] if parts else ""
            shown = change.action is Action.REPLACE or change.kind == "retire"
            tail = f"  ({change.reason})" if change.reason and shown else ""
            lines.append(f"  {symbol} {change.address.ljust(width)}{first}{tail}".rstrip())
            lines += [f"    {' ' * width}{part}" for part in parts[1:]]
        if plan.unchanged:
            lines.append(f"    ({plan.unchanged} unchanged hidden)")
        lines += ["", summary_line(plan)]
    for warning in plan.warnings:
        lines.append(f"warning: {warning}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    lines += step_lines(plan)
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(plan: Plan) -> str:
    lines = [f"### {heading(plan)}", ""]
    if plan.empty:
        lines.append(f"**{NO_CHANGES}**")
    else:
        lines += ["| | address | change |", "|---|---|---|"]
        for change in plan.changes:
            what = "<br>".join(_md_escape(p) for p in describe(change)) or change.reason
            lines.append(f"| `{change.action.value}` | `{change.address}` | {what} |")
        lines += ["", f"{plan.unchanged} unchanged. **{summary_line(plan)}**"]
    if plan.warnings or plan.notes:
        lines.append("")
        lines += [f"> ⚠️ {_md_escape(w)}" for w in plan.warnings]
        lines += [f"> ℹ️ {_md_escape(n)}" for n in plan.notes]
    if plan.steps:
        lines += ["", "<details><summary>Steps</summary>", ""]
        lines += [
            f"{n}. **{s.name.value}** {_md_escape(s.detail)}"
            + (f" _(undo: {_md_escape(s.undo)})_" if s.undo else "")
            for n, s in enumerate(plan.steps, 1)
        ]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    if fmt == "text":
        return render_text(plan, color=color)
    return render_json(plan) if fmt == "json" else render_markdown(plan)
