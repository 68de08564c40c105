"""Images, pure: immutable build tags, what the images step builds or pulls, and how a new build
shows in the plan; the digest of a build context (a temporary folder, no Docker)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from specctl.appliers.images import build_problem, context_digest, tagged
from specctl.compiler.expand import expand
from specctl.compiler.images import build_tag, describe, image_needs, repository, with_tags
from specctl.compiler.load import load_spec
from specctl.schemas.desired import Desired
from specctl.schemas.errors import SpecError
from specctl.schemas.plan import StepName
from tests.test_diff import HERE, SPEC_TEXT, live, plan_for, spec

BUILT = SPEC_TEXT.replace(
    "  backend:\n    image: specctl-testbed/app:${DEMO_VERSION:-1.0}\n",
    "  backend:\n    image: specctl-testbed/app:${DEMO_VERSION:-1.0}\n"
    "    build: {context: app/backend, args: {CHANNEL: stable}}\n",
)


def desired(text: str = BUILT, color: str = "blue") -> Desired:
    return expand(spec(text), color, spec_digest="0" * 64)


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("spheroseg/backend:latest", "spheroseg/backend"),
        ("registry.local:5000/csh/ml:2.1", "registry.local:5000/csh/ml"),
        ("registry.local:5000/csh/ml", "registry.local:5000/csh/ml"),
        ("csh/frontend@sha256:" + "a" * 64, "csh/frontend"),
    ],
)
def test_a_built_image_keeps_the_repository_the_spec_names(image: str, repo: str) -> None:
    svc = desired().service("backend").model_copy(update={"image": image})
    assert repository(svc) == repo
    assert build_tag(svc, "d" * 64).startswith(f"{repo}:b-")


def test_without_an_image_the_repository_is_what_compose_would_name_it() -> None:
    svc = desired().service("backend").model_copy(update={"image": None})
    assert repository(svc) == "demo-backend"


def test_the_tag_follows_the_context_and_the_build_settings() -> None:
    svc = desired().service("backend")
    assert build_tag(svc, "a" * 64) == build_tag(svc, "a" * 64)
    assert build_tag(svc, "a" * 64) != build_tag(svc, "b" * 64)
    other_args = svc.model_copy(update={"build": {**(svc.build or {}), "args": {"CHANNEL": "x"}}})
    assert build_tag(svc, "a" * 64) != build_tag(other_args, "a" * 64)


def test_a_new_build_is_a_recreate_that_names_both_tags() -> None:
    """Blue runs the build of context digest a; the context changed (digest b): the plan
    recreates the backend, shows `image: old tag → new tag`, and builds it first."""
    old = with_tags(desired(), {"backend": "a" * 64})
    new = with_tags(desired(), {"backend": "b" * 64})
    old_tag, new_tag = old.service("backend").image, new.service("backend").image
    assert old_tag != new_tag and old_tag and new_tag
    assert new.service("backend").config_hash != old.service("backend").config_hash
    assert new.service("frontend") == old.service("frontend")

    present = set(HERE) | {old_tag}
    todo = image_needs(new, present)
    assert [(n.service, n.image, n.action) for n in todo] == [("backend", new_tag, "build")]
    assert describe(todo) == f"build backend → {new_tag}"
    assert image_needs(old, present) == []


def test_the_images_step_comes_before_anything_changes() -> None:
    the_live = live().model_copy(update={"images": []})
    plan = plan_for(spec(), "green", the_live)
    names = [s.name for s in plan.steps]
    assert names[:2] == [StepName.PRE_CHECKS, StepName.IMAGES]
    assert names.index(StepName.IMAGES) < names.index(StepName.BACKUP)
    step = plan.step(StepName.IMAGES)
    assert step is not None and "(not on this host)" in step.detail
    assert plan_for(spec(), "green", live()).step(StepName.IMAGES) is None  # all here


@pytest.mark.parametrize(
    ("policy", "here", "wanted"),
    [
        ("missing", True, []),
        ("missing", False, ["pull"]),
        ("always", True, ["pull"]),
        ("never", False, []),  # the pre-check fails instead: nothing to do here
    ],
)
def test_pull_policy(policy: str, here: bool, wanted: list[str]) -> None:
    text = SPEC_TEXT.replace(
        "  redis:\n    image: specctl-testbed/redis:7\n",
        f"  redis:\n    image: specctl-testbed/redis:7\n    pull: {policy}\n",
    )
    assert f"pull: {policy}" in text
    d = desired(text)
    present = set(HERE) if here else set(HERE) - {"specctl-testbed/redis:7"}
    assert [n.action for n in image_needs(d, present) if n.service == "redis"] == wanted


def test_the_pull_policy_never_forces_a_recreate() -> None:
    text = SPEC_TEXT.replace(
        "  redis:\n    image: specctl-testbed/redis:7\n",
        "  redis:\n    image: specctl-testbed/redis:7\n    pull: always\n",
    )
    assert desired(text).service("redis").config_hash == desired().service("redis").config_hash


def test_a_built_service_refuses_a_pull_policy() -> None:
    text = BUILT.replace(
        "build: {context: app/backend", "pull: always\n    build: {context: app/backend"
    )
    with pytest.raises(SpecError, match="pull applies to registry images"):
        load_spec(text, filename="demo.yaml")


def test_the_context_digest_follows_files_and_honours_dockerignore(tmp_path: Path) -> None:
    context = tmp_path / "backend"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (context / "main.py").write_text("print(1)\n")
    (context / ".dockerignore").write_text("# build junk\nnode_modules\n*.log\n")
    first = context_digest(context, None)

    def again() -> str:
        from specctl.appliers import images

        images._digests.clear()
        return context_digest(context, None)

    (context / "debug.log").write_text("noise\n")
    (context / "node_modules").mkdir()
    (context / "node_modules" / "x.js").write_text("1\n")
    assert again() == first  # ignored files do not make a new build
    (context / "main.py").write_text("print(2)\n")
    changed = again()
    assert changed != first
    (context / "main.py").chmod(0o755)
    assert again() != changed  # the executable bit is part of the image


def test_a_missing_context_or_dockerfile_is_named(tmp_path: Path) -> None:
    svc = desired().service("backend")
    assert "is not a directory" in str(build_problem(tmp_path, svc))
    assert tagged(tmp_path, desired()).service("backend") == svc  # untagged, no error
    (tmp_path / "app" / "backend").mkdir(parents=True)
    assert "no Dockerfile in build context app/backend" in str(build_problem(tmp_path, svc))
    (tmp_path / "app" / "backend" / "Dockerfile").write_text("FROM scratch\n")
    assert build_problem(tmp_path, svc) is None
    assert str(tagged(tmp_path, desired()).service("backend").image).startswith(
        "specctl-testbed/app:b-"
    )


def test_a_deploy_of_built_services_ends_by_pruning_old_builds() -> None:
    the_live = live().model_copy(update={"images": []})
    plan = plan_for(spec(BUILT), "green", the_live)
    last = plan.steps[-1]
    assert last.name is StepName.PRUNE_BUILDS
    assert last.detail == (
        "remove builds of specctl-testbed/app beyond the newest 3 that no container uses"
    )
    assert plan_for(spec(), "green", the_live).step(StepName.PRUNE_BUILDS) is None


def test_prune_keeps_the_newest_builds_and_every_one_a_container_uses(
    docker_engine: None,
) -> None:
    import subprocess

    from specctl.appliers.images import prune_builds

    repo = "specctl-test-prune/web"

    def tags() -> list[str]:
        out = subprocess.run(
            ["docker", "images", "--format", "{{.Tag}}", repo],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sorted(out.split())

    subprocess.run(["docker", "rm", "-f", "specctl-test-prune"], capture_output=True)
    subprocess.run(["docker", "rmi", "-f", *(f"{repo}:{t}" for t in tags())], capture_output=True)
    try:
        for n in range(1, 5):  # four builds, oldest first (distinct images, distinct times)
            subprocess.run(
                ["docker", "build", "-q", "-t", f"{repo}:b-{n:012d}", "-"],
                input=f"FROM specctl-testbed/base:bookworm\nLABEL build={n}\n",
                text=True,
                capture_output=True,
                check=True,
                env={**os.environ, "DOCKER_BUILDKIT": "0"},
            )
            time.sleep(1.1)  # Created has one-second resolution
        subprocess.run(
            ["docker", "create", "--name", "specctl-test-prune", f"{repo}:b-{1:012d}", "true"],
            capture_output=True,
            check=True,
        )
        said = prune_builds([repo], keep=2)
        assert said == f"removed 1 old build (b-{2:012d})", said
        assert tags() == [f"b-{n:012d}" for n in (1, 3, 4)]  # 1: a container uses it
    finally:
        subprocess.run(["docker", "rm", "-f", "specctl-test-prune"], capture_output=True)
        subprocess.run(
            ["docker", "rmi", "-f", *(f"{repo}:{t}" for t in tags())], capture_output=True
        )
