"""Images: digests of build contexts, what the engine has, builds and pulls (side effects: reads
build contexts, Docker API, `docker compose build|pull`)."""

from __future__ import annotations

import collections
import hashlib
import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from specctl.appliers.engine import api
from specctl.appliers.errors import api_error
from specctl.compiler.images import (
    TAG_PREFIX,
    Need,
    built,
    image_needs,
    normalized,
    wanted_images,
    with_tags,
)
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.errors import ApplyError, SpecctlError

if TYPE_CHECKING:
    from specctl.appliers.counting import CountingAPIClient
    from specctl.appliers.project import Project

BUILD_TAIL = 20  # lines of a failed build's output shown in the error

_digests: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def ignore_patterns(context: Path) -> list[str]:
    """The context's .dockerignore, read the way the Docker SDK reads it."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_digest(context: Path, dockerfile: str | None) -> str:
    """sha256 over the files a build sends (the .dockerignore applied), with their paths and
    executable bits; the Dockerfile counts even when it lies outside the context."""
    from docker.utils.build import exclude_paths

    key = (str(context), dockerfile or "")
    with _lock:
        if key in _digests:
            return _digests[key]
    name = dockerfile or "Dockerfile"
    digest = hashlib.sha256()
    for rel in sorted(exclude_paths(str(context), ignore_patterns(context), dockerfile=name)):
        path = context / rel
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            digest.update(f"L {rel}\0{os.readlink(path)}\0".encode())
        elif stat.S_ISREG(info.st_mode):
            digest.update(f"F {rel} {info.st_mode & 0o111:o}\0".encode())
            with path.open("rb") as handle:  # in chunks: a context may hold large files
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        elif stat.S_ISDIR(info.st_mode):
            digest.update(f"D {rel}\0".encode())
    outside = (context / name).resolve()
    if not outside.is_relative_to(context.resolve()) and outside.is_file():
        digest.update(b"dockerfile\0" + outside.read_bytes())
    value = digest.hexdigest()
    with _lock:
        _digests[key] = value
    return value


def build_context(root: Path, svc: DesiredService) -> Path:
    assert svc.build is not None
    context = str(svc.build["context"])
    return Path(context) if context.startswith("/") else root / context


def build_problem(root: Path, svc: DesiredService) -> str | None:
    """Why `svc` cannot be built here (missing context or Dockerfile), or None."""
    assert svc.build is not None
    context = build_context(root, svc)
    if not context.is_dir():
        return f"{svc.address}: build context {svc.build['context']} is not a directory"
    dockerfile = str(svc.build.get("dockerfile") or "Dockerfile")
    if not (context / dockerfile).is_file():
        return f"{svc.address}: no {dockerfile} in build context {svc.build['context']}"
    return None


def tagged(root: Path, desired: Desired) -> Desired:
    """`desired` with every built service's image set to the tag of its context as it is now.
    A service whose context or Dockerfile is missing keeps the spec's image name: a plan, a
    status or a rollback still work, and the images pre-check stops an apply on it."""
    digests: dict[str, str] = {}
    for svc in built(desired):
        if build_problem(root, svc) is None:
            assert svc.build is not None
            digests[svc.name] = context_digest(
                build_context(root, svc), svc.build.get("dockerfile")
            )
    return with_tags(desired, digests)


def build_warnings(root: Path, desired: Desired) -> list[str]:
    return [
        f"{problem}; apply stops at its pre-checks"
        for svc in built(desired)
        if (problem := build_problem(root, svc)) is not None
    ]


def present_tags(refs: list[str], *, client: CountingAPIClient | None = None) -> set[str]:
    """Which of `refs` the engine (or `client`'s) holds, as it names them (one API call)."""
    from docker.errors import DockerException

    if not refs:
        return set()
    wanted = {normalized(r) for r in refs}
    try:
        images = (client or api()).images(filters={"reference": sorted(wanted)})
    except DockerException as exc:
        raise api_error("list images", exc) from None
    names = {n for i in images for n in (*(i.get("RepoTags") or []), *(i.get("RepoDigests") or []))}
    return names & wanted


def needs(desired: Desired) -> list[Need]:
    """What the images step builds or pulls for `desired`, as the engine stands now."""
    return image_needs(desired, present_tags(wanted_images([desired])))


def provide(project: Project, desired: Desired, todo: list[Need]) -> None:
    """Build and pull what `todo` lists through Compose, with the generated files (their
    context, Dockerfile and args; BuildKit's cache) and the runtime override that names each
    build's tag. A failed build raises with its last lines; nothing has changed by then."""
    from python_on_whales.exceptions import DockerException

    from specctl.appliers import compose

    mine = {s.name for s in desired.services}
    groups = {
        which: [n for n in todo if (n.service in mine) == (which == desired.color)]
        for which in (desired.color, "shared")
    }
    for which, needs_here in groups.items():
        if not needs_here:
            continue
        docker = compose.client(project, desired, which)
        builds = sorted({n.service for n in needs_here if n.action == "build"})
        pulls = sorted({n.service for n in needs_here if n.action == "pull"})
        if builds:
            tail: collections.deque[str] = collections.deque(maxlen=BUILD_TAIL)
            try:
                for _source, raw in (
                    docker.compose.build(services=builds, progress="plain", stream_logs=True) or []
                ):
                    line = raw.decode(errors="replace").rstrip()
                    if line:
                        tail.append(line)
            except DockerException as exc:
                shown = "\n  ".join(tail) or str(exc)
                raise ApplyError(
                    f"build of {', '.join(builds)} failed (exit {exc.return_code}); "
                    f"nothing was changed. Its last lines:\n  {shown}",
                    hint="fix the build, then apply again (specctl build builds on its own)",
                ) from None
        if pulls:
            try:
                docker.compose.pull(services=pulls, quiet=True)
            except DockerException as exc:
                detail = " / ".join((exc.stderr or "").strip().splitlines()[-3:])
                raise ApplyError(
                    f"pull of {', '.join(pulls)} failed; nothing was changed: {detail}",
                    hint="is the registry reachable and the name right? For an image you "
                    "build or load yourself, set pull: never on the service",
                ) from None


def prune_builds(repositories: list[str], keep: int) -> str:
    """Remove the build tags of `repositories` beyond the newest `keep` of each that no
    container (running or not) uses. Never raises: the deploy is done by then, and a tag that
    could not be removed is only disk."""
    from docker.errors import DockerException

    try:
        images = api().images(filters={"reference": [f"{r}:{TAG_PREFIX}*" for r in repositories]})
        used = {c.get("ImageID") for c in api().containers(all=True)}
    except (DockerException, SpecctlError) as exc:
        return f"skipped: cannot list images ({str(exc).splitlines()[0][:200]})"
    removed: list[str] = []
    problems: list[str] = []
    for repo in repositories:
        prefix = f"{repo}:{TAG_PREFIX}"
        mine = [i for i in images if any(t.startswith(prefix) for t in i.get("RepoTags") or [])]
        mine.sort(key=lambda i: int(i.get("Created") or 0), reverse=True)
        for image in mine[keep:]:
            if image.get("Id") in used:
                continue
            for tag in (t for t in image.get("RepoTags") or [] if t.startswith(prefix)):
                try:
                    api().remove_image(tag)
                    removed.append(tag.rsplit(":", 1)[-1])
                except DockerException as exc:
                    problems.append(f"{tag}: {str(exc).splitlines()[0][:120]}")
    count = f"{len(removed)} old build" + ("" if len(removed) == 1 else "s")
    text = f"removed {count}" + (f" ({', '.join(removed)})" if removed else "")
    return text + (f"; could not remove {'; '.join(problems)}" if problems else "")
