"""Image references, build tags and the images step's list, exactly (compiler/images.py); pure."""

from __future__ import annotations

import hashlib
import json

import pytest

from specctl.compiler.images import (
    Need,
    build_tag,
    built_repositories,
    describe,
    image_needs,
    normalized,
    repository,
    wanted_images,
    with_tags,
)
from tests.test_diff import SPEC_TEXT
from tests.test_images import desired


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("app", "app"),
        ("app:1.0", "app"),
        ("csh/app:1.0", "csh/app"),
        ("registry.local:5000/app", "registry.local:5000/app"),
        ("registry.local:5000/app:2", "registry.local:5000/app"),
        ("app@sha256:" + "a" * 64, "app"),
        ("app:1@sha256:" + "a" * 64, "app"),
        ("a/b/c:tag:odd", "a/b/c"),
    ],
)
def test_the_repository_of_an_image_reference(image: str, repo: str) -> None:
    svc = desired().service("backend").model_copy(update={"image": image})
    assert repository(svc) == repo


@pytest.mark.parametrize(
    ("project", "repo"), [("demo-blue", "demo-backend"), ("a-b-green", "a-b-backend")]
)
def test_without_an_image_the_repository_drops_the_colour_from_the_project(
    project: str, repo: str
) -> None:
    svc = desired().service("backend").model_copy(update={"image": None, "project": project})
    assert repository(svc) == repo


def test_the_build_tag_is_the_digest_of_the_context_and_the_settings_but_the_context() -> None:
    svc = desired().service("backend")
    assert svc.build is not None
    settings = json.dumps({k: v for k, v in svc.build.items() if k != "context"}, sort_keys=True)
    digest = hashlib.sha256(f"{'c' * 64}\0{settings}".encode()).hexdigest()
    assert build_tag(svc, "c" * 64) == f"specctl-testbed/app:b-{digest[:12]}"
    moved = svc.model_copy(update={"build": {**svc.build, "context": "elsewhere"}})
    assert build_tag(moved, "c" * 64) == build_tag(svc, "c" * 64)


def test_built_repositories_and_wanted_images() -> None:
    d = desired()
    assert built_repositories(d) == ["specctl-testbed/app"]
    assert built_repositories(desired(SPEC_TEXT)) == []
    images = wanted_images([d, desired(color="green")])
    assert images == sorted(set(images))
    assert "specctl-testbed/redis:7" in images
    assert d.proxy.image in images
    assert all(s.image in images for s in (*d.services, *d.shared) if s.image)


def test_with_tags_sets_each_built_image_and_its_config_hash() -> None:
    d = desired()
    tagged = with_tags(d, {"backend": "e" * 64})
    before, after = d.service("backend"), tagged.service("backend")
    assert after.image == build_tag(before, "e" * 64)
    assert after.config_hash != before.config_hash
    others = [s for s in d.services if s.name != "backend"]
    assert [tagged.service(s.name) for s in others] == others
    assert tagged.shared == d.shared
    assert with_tags(d, {}) is d
    assert with_tags(d, {"redis": "e" * 64}).services == d.services  # not a built service


@pytest.mark.parametrize(
    ("ref", "listed"),
    [
        ("redis", "redis:latest"),
        ("redis:7", "redis:7"),
        ("registry.local:5000/redis", "registry.local:5000/redis:latest"),
        ("registry.local:5000/redis:7", "registry.local:5000/redis:7"),
        ("redis@sha256:" + "a" * 64, "redis@sha256:" + "a" * 64),
    ],
)
def test_a_reference_as_the_engine_lists_it(ref: str, listed: str) -> None:
    assert normalized(ref) == listed


def test_the_images_step_lists_each_image_once_with_why() -> None:
    d = desired()
    everything = {normalized(s.image) for s in (*d.services, *d.shared, d.proxy) if s.image}
    assert image_needs(d, everything) == []
    needs = image_needs(d, set())
    assert [n for n in needs if n.action == "build"] == [
        Need("backend", "specctl-testbed/app:1.0", "build", "not built yet")
    ]
    pulls = [n for n in needs if n.action == "pull"]
    assert all(n.why == "not on this host" for n in pulls)
    assert len({n.image for n in needs}) == len(needs)
    every = (*d.services, *d.shared, d.proxy)
    built = {s.image for s in every if s.build is not None}
    assert {n.image for n in pulls} == {s.image for s in every if s.image} - built


def test_an_image_without_a_tag_is_found_under_latest() -> None:
    d = desired()
    proxy = d.proxy.model_copy(update={"image": "nginx"})
    d = d.model_copy(update={"proxy": proxy})
    assert [n.image for n in image_needs(d, {"nginx:latest"}) if n.service == proxy.name] == []
    assert [n.why for n in image_needs(d, set()) if n.service == proxy.name] == ["not on this host"]


@pytest.mark.parametrize(
    ("todo", "text"),
    [
        ([], "every image is here"),
        ([Need("backend", "app:b-1", "build", "not built yet")], "build backend → app:b-1"),
        (
            [
                Need("backend", "app:b-1", "build", "not built yet"),
                Need("ml", "ml:b-2", "build", "not built yet"),
                Need("redis", "redis:7", "pull", "pull: always"),
                Need("db", "pg:15", "pull", "not on this host"),
                Need("proxy", "nginx:1", "pull", "not on this host"),
            ],
            "build backend → app:b-1, ml → ml:b-2; pull pg:15, nginx:1 (not on this host); "
            "pull redis:7 (pull: always)",
        ),
        ([Need("redis", "redis:7", "pull", "pull: always")], "pull redis:7 (pull: always)"),
    ],
)
def test_the_images_step_in_one_line(todo: list[Need], text: str) -> None:
    assert describe(todo) == text


def test_the_build_settings_count_whatever_order_they_are_written_in() -> None:
    svc = desired().service("backend")
    one = svc.model_copy(update={"build": {"context": "x", "target": "prod", "args": {"A": "1"}}})
    two = svc.model_copy(update={"build": {"args": {"A": "1"}, "context": "x", "target": "prod"}})
    assert build_tag(one, "c" * 64) == build_tag(two, "c" * 64)


def test_pull_always_names_the_image_and_why() -> None:
    d = desired(SPEC_TEXT)
    redis = d.service("redis").model_copy(update={"pull": "always"})
    d = d.model_copy(
        update={
            key: [redis if s.name == "redis" else s for s in getattr(d, key)]
            for key in ("services", "shared")
        }
    )
    everything = {normalized(s.image) for s in (*d.services, *d.shared, d.proxy) if s.image}
    assert image_needs(d, everything) == [
        Need("redis", "specctl-testbed/redis:7", "pull", "pull: always")
    ]


def test_a_built_shared_service_gets_its_tag_too() -> None:
    d = desired()
    shared = d.shared[0].model_copy(update={"build": {"context": "db"}})
    d = d.model_copy(update={"shared": [shared, *d.shared[1:]]})
    tagged = with_tags(d, {shared.name: "e" * 64})
    assert tagged.shared[0].image == build_tag(shared, "e" * 64)
