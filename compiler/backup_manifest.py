"""Backup manifests: check files against one, and show backups as text or JSON; pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

LIST_FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def manifest_problems(
    manifest: Mapping[str, Any], found: Mapping[str, tuple[int, str]]
) -> list[str]:
    """Compare the manifest's files with what is on disk ({name: (size, sha256)})."""
    problems = []
    listed = {}
    for item in manifest.get("files") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            listed[item["name"]] = item
    if not isinstance(manifest.get("files"), list):
        problems.append("the manifest has no list of files")
    for name, item in sorted(listed.items()):
        if name not in found:
            problems.append(f"{name}: missing")
            continue
        size, digest = found[name]
        if size != item.get("size"):
            problems.append(f"{name}: size {size} bytes, manifest says {item.get('size')}")
        if digest != item.get("sha256"):
            problems.append(f"{name}: sha256 {digest[:12]}… does not match the manifest")
    for name in sorted(set(found) - set(listed) - {MANIFEST}):
        problems.append(f"{name}: not in the manifest")
    return problems


def total_size(manifest: Mapping[str, Any]) -> int:
    return sum(int(f.get("size") or 0) for f in manifest.get("files") or [] if isinstance(f, dict))


def contents(manifest: Mapping[str, Any]) -> list[str]:
    """What is inside, in words: `database demo`, `path.uploads.blue`, `nginx`."""
    names = {f.get("name") for f in manifest.get("files") or [] if isinstance(f, dict)}
    out = []
    database = manifest.get("database")
    if isinstance(database, dict):
        out.append(f"database {database.get('name')}")
    out += sorted(str(n)[: -len(".tar.gz")] for n in names if str(n).endswith(".tar.gz"))
    if "nginx.conf" in names:
        out.append("nginx")
    return out


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def human_age(seconds: float) -> str:
    s = max(int(seconds), 0)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def list_rows(manifests: Sequence[Mapping[str, Any]], *, now: float) -> list[dict[str, Any]]:
    """One row per backup, oldest first, with stable keys (the JSON form of `backup list`)."""
    rows = []
    for m in manifests:
        created = float(m.get("created") or 0)
        rows.append(
            {
                "id": str(m.get("folder") or m.get("id")),
                "created": created,
                "age_seconds": round(now - created, 1),
                "size": total_size(m),
                "files": len(m.get("files") or []),
                "contents": contents(m),
                "reason": str(m.get("reason") or ""),
                "notes": list(m.get("notes") or []),
            }
        )
    return rows


def render_list(rows: list[dict[str, Any]], *, fmt: str) -> str:
    if fmt == "json":
        doc = {"format_version": LIST_FORMAT_VERSION, "backups": rows}
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if not rows:
        return "No backups yet.\n"
    table = [("ID", "AGE", "SIZE", "CONTENTS", "REASON")]
    table += [
        (
            r["id"],
            human_age(r["age_seconds"]),
            human_size(r["size"]),
            ", ".join(r["contents"]) or "(empty)",
            r["reason"],
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"
