"""Which image each container runs: built services get an immutable tag made from a digest of
their build context, so blue and green can run different builds at once and a container keeps
the image it was created from; pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from specctl.compiler.expand import finish, recipe
from specctl.schemas.desired import Desired, DesiredService

TAG_PREFIX = "b-"


def repository(svc: DesiredService) -> str:
    """The name a built image is tagged under: the spec's `image` without its tag, or
    `<project>-<service>` (what Compose itself would call it)."""
    if svc.image is None:
        return f"{svc.project.rsplit('-', 1)[0]}-{svc.name}"
    name = svc.image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def build_tag(svc: DesiredService, context_digest: str) -> str:
    """`<repository>:b-<12 hex>`: the digest of the context's files with the build settings
    (Dockerfile, args, target), so a change to any of them is a new tag."""
    assert svc.build is not None
    settings = json.dumps({k: v for k, v in svc.build.items() if k != "context"}, sort_keys=True)
    digest = hashlib.sha256(f"{context_digest}\0{settings}".encode()).hexdigest()
    return f"{repository(svc)}:{TAG_PREFIX}{digest[:12]}"


def built(desired: Desired) -> list[DesiredService]:
    return [s for s in (*desired.services, *desired.shared) if s.build is not None]


def built_repositories(desired: Desired) -> list[str]:
    return sorted({repository(s) for s in built(desired)})


def wanted_images(desired: list[Desired]) -> list[str]:
    """Every image reference the spec names for these colours, the proxy's included."""
    return sorted({s.image for d in desired for s in (*d.services, *d.shared, d.proxy) if s.image})


def with_tags(desired: Desired, digests: dict[str, str]) -> Desired:
    """`desired` with each built service's image set to its immutable tag (`digests`: service
    name -> digest of its build context); the config hash follows, so a new build is a
    recreate that the plan shows as `image: old tag → new tag`."""
    if not digests:
        return desired

    def tagged(svc: DesiredService) -> DesiredService:
        if svc.build is None or svc.name not in digests:
            return svc
        fields = recipe(svc)
        fields["image"] = build_tag(svc, digests[svc.name])
        return finish(fields)

    return desired.model_copy(
        update={
            "services": [tagged(s) for s in desired.services],
            "shared": [tagged(s) for s in desired.shared],
        }
    )


@dataclass(frozen=True)
class Need:
    """What the images step does for one image before any container changes."""

    service: str
    image: str
    action: str  # build | pull
    why: str


def image_needs(desired: Desired, present: set[str]) -> list[Need]:
    """Images to build or pull: built ones that are missing; registry ones by pull policy
    (`missing`: pull when absent, `always`: pull every deploy, `never`: must be here already,
    which the pre-checks tell). `present`: the tags on this host, as the engine lists them."""
    out: list[Need] = []
    seen: set[str] = set()
    for svc in (*desired.shared, *desired.services, desired.proxy):
        image = svc.image
        if image is None or image in seen:
            continue
        seen.add(image)
        here = normalized(image) in present
        if svc.build is not None:
            if not here:
                out.append(Need(svc.name, image, "build", "not built yet"))
        elif svc.pull == "always":
            out.append(Need(svc.name, image, "pull", "pull: always"))
        elif svc.pull == "missing" and not here:
            out.append(Need(svc.name, image, "pull", "not on this host"))
    return out


def normalized(ref: str) -> str:
    """A reference as the engine lists it in RepoTags (`redis` is `redis:latest`)."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in ref else f"{name}:latest"


def describe(todo: list[Need]) -> str:
    """`build backend → csh/backend:b-1a2b3c4d5e6f; pull redis:7`."""
    builds = [f"{n.service} → {n.image}" for n in todo if n.action == "build"]
    parts = ["build " + ", ".join(builds)] if builds else []
    for why in sorted({n.why for n in todo if n.action == "pull"}):
        images = [n.image for n in todo if n.action == "pull" and n.why == why]
        parts.append(f"pull {', '.join(images)} ({why})")
    return "; ".join(parts) or "every image is here"
