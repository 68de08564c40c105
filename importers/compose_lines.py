"""Where a Compose service's settings are written: `file:line` for the import's notes; pure."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from specctl.importers.compose_model import Group, Service


class Lines:
    """`file:line` of a service's key (or of an environment entry) in the file that wrote it."""

    def __init__(self, groups: list[Group]) -> None:
        self.docs: dict[str, list[tuple[str, Any]]] = {}
        yaml = YAML(typ="rt")
        for group in groups:
            parsed = []
            for name, text in group.files:
                try:
                    parsed.append((name, yaml.load(text)))
                except Exception:  # compose config read it: locations are a nicety
                    continue
            self.docs[group.color or ""] = parsed

    def order(self, svc: Service) -> tuple[int, int]:
        """Where the service is first written: the spec lists services in the files' order."""
        for index, (_name, doc) in enumerate(next(iter(self.docs.values()), [])):
            services: Any = doc.get("services") if hasattr(doc, "get") else None
            for color, source in svc.sources.items():
                if color in self.docs and hasattr(services, "lc") and source in services:
                    return index, services.lc.key(source)[0]
        return 1 << 30, 0

    def file(self, color: str) -> str:
        docs = self.docs.get(color, [])
        return docs[-1][0] if docs else "the Compose files"

    def where(
        self, svc: Service, color: str, key: str | None = None, entry: str | None = None
    ) -> str:
        source = svc.sources.get(color) or next(iter(svc.sources.values()))
        for name, doc in reversed(self.docs.get(color, [])):
            services: Any = doc.get("services") if hasattr(doc, "get") else None
            node: Any = services.get(source) if hasattr(services, "get") else None
            if node is None:
                continue
            line = services.lc.key(source)[0] + 1
            if key and hasattr(node, "lc") and key in (node.lc.data or {}):
                line = node.lc.key(key)[0] + 1
                value: Any = node.get(key)
                if entry and isinstance(value, list):
                    for i, item in enumerate(value):
                        if str(item).split("=", 1)[0] == entry:
                            line = value.lc.item(i)[0] + 1  # type: ignore[attr-defined]
                elif entry and hasattr(value, "lc") and entry in (value.lc.data or {}):
                    line = value.lc.key(entry)[0] + 1
            return f"{name}:{line}"
        return svc.name
