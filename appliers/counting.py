"""The Docker SDK's low-level client, counting its requests (side effects: HTTP to the engine).
Imported by engine.api() on first use, so that only commands that talk to the engine load the
SDK."""

from __future__ import annotations

from typing import Any

import docker


class CountingAPIClient(docker.APIClient):
    """Counts HTTP requests to the engine, so tests and benchmarks can show they stay constant."""

    calls = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().request(*args, **kwargs)
