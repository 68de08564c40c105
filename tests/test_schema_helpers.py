"""Small helpers of the pure types: placement constraints, the engine shorthand, lookups."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from specctl.schemas.engine import ComposeEngine, Engine, Placement, SwarmEngine
from specctl.schemas.live import Live, LiveContainer
from tests.test_images import desired


@pytest.mark.parametrize(
    ("placement", "constraints"),
    [
        ({}, []),
        ({"node": "db1"}, ["node.hostname == db1"]),
        ({"role": "worker"}, ["node.role == worker"]),
        (
            {"node": "w2", "labels": {"zone": "b", "gpu": "true"}, "role": "manager"},
            [
                "node.hostname == w2",
                "node.labels.gpu == true",
                "node.labels.zone == b",
                "node.role == manager",
            ],
        ),
    ],
)
def test_placement_constraints_in_a_stable_order(
    placement: dict[str, object], constraints: list[str]
) -> None:
    assert Placement.model_validate(placement).constraints() == constraints


def test_the_engine_may_be_named_by_its_kind_alone() -> None:
    adapter: TypeAdapter[ComposeEngine | SwarmEngine] = TypeAdapter(Engine)
    assert isinstance(adapter.validate_python("swarm"), SwarmEngine)
    assert isinstance(adapter.validate_python("compose"), ComposeEngine)
    assert isinstance(adapter.validate_python({"kind": "swarm"}), SwarmEngine)


def test_a_desired_service_is_found_among_services_shared_and_the_proxy() -> None:
    d = desired()
    for svc in d.services:
        assert d.service(svc.name) is svc
    assert d.service(d.shared[0].name) is d.shared[0]
    assert d.service(d.proxy.name) is d.proxy
    with pytest.raises(KeyError):
        d.service("nope")


def test_the_containers_of_one_compose_project() -> None:
    def box(name: str, project: str) -> LiveContainer:
        return LiveContainer(id=name, name=name, project=project)

    live = Live(
        project="p", containers=[box("a", "p-blue"), box("b", "p-green"), box("c", "p-blue")]
    )
    assert [c.name for c in live.of_project("p-blue")] == ["a", "c"]
    assert live.of_project("q") == []


def test_a_missing_desired_service_names_itself() -> None:
    with pytest.raises(KeyError) as caught:
        desired().service("nope")
    assert caught.value.args == ("nope",)
