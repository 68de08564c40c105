"""Docker failures as specctl errors, in one place: a Compose command keeps its argv, exit code
and the end of its stderr; an API call keeps its HTTP status and Docker's explanation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from specctl.schemas.errors import ApplyError

if TYPE_CHECKING:
    from docker.errors import DockerException as ApiException
    from python_on_whales.exceptions import DockerException as CliException


def compose_error(what: str, exc: CliException) -> ApplyError:
    stderr = (exc.stderr or "").strip().splitlines()[-8:]
    detail = "\n  ".join(stderr) if stderr else str(exc)
    return ApplyError(
        f"{what}: `{' '.join(exc.docker_command)}` exited {exc.return_code}\n  {detail}"
    )


def api_error(what: str, exc: ApiException) -> ApplyError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    explanation = getattr(exc, "explanation", None) or str(exc).splitlines()[0][:300]
    code = f"HTTP {status}: " if status else ""
    return ApplyError(f"{what}: Docker API: {code}{explanation}")


def not_found(exc: ApiException) -> bool:
    return getattr(getattr(exc, "response", None), "status_code", None) == 404


def being_removed(exc: ApiException) -> bool:
    """409 "removal of container … is already in progress": the engine removes it anyway."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status == 409 and "already in progress" in str(exc)
