"""compiler/compose.py, rule by rule: each key of a Compose service, the labels, the networks,
the pass-through and the YAML it is written as; pure."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from specctl.compiler.compose import (
    compose_service,
    deploy_resources,
    dump_yaml,
    edge_services,
    escape,
    escape_all,
    host_path,
    labels,
    merge_passthrough,
    mount_entry,
    named_volumes,
    render_color_compose,
    render_shared_compose,
)
from specctl.compiler.expand import expand, finish, view_json
from specctl.schemas.desired import Desired, DesiredMount, DesiredService
from specctl.schemas.spec import Spec

BASE: dict[str, Any] = {
    "name": "web",
    "address": "blue.service.web",
    "scope": "color",
    "color": "blue",
    "project": "shop-blue",
    "image": "shop/web:1",
    "build": None,
    "command": None,
    "port": None,
    "host_port": None,
    "environment": {},
    "env_files": [],
    "required_env": [],
    "mounts": [],
    "healthcheck": None,
    "health_url_path": None,
    "depends_on": {},
    "resources": {},
    "restart": "unless-stopped",
    "compose": {},
    "aliases": ["blue-web"],
}
SHARED: dict[str, Any] = {
    **BASE,
    "name": "redis",
    "address": "shared.service.redis",
    "scope": "shared",
    "color": None,
    "project": "shop-shared",
    "aliases": ["redis"],
}


def service(**fields: Any) -> DesiredService:
    return finish({**BASE, **fields})


def shared(**fields: Any) -> DesiredService:
    return finish({**SHARED, **fields})


def render(svc: DesiredService, *, local: set[str] | None = None, **options: Any) -> dict[str, Any]:
    return compose_service(svc, root_ref="../..", local=local or set(), **options)


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


# --- paths, escapes and mounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/data", "/srv/data"),
        ("/srv/./data/", "/srv/./data/"),
        ("data/uploads", "../../data/uploads"),
        ("./data/../env/.env", "../../env/.env"),
        (".", "../.."),
    ],
)
def test_a_spec_path_is_seen_from_the_generated_folder(path: str, expected: str) -> None:
    assert host_path("../..", path) == expected


def test_a_dollar_reaches_the_container_as_written() -> None:
    assert escape("pa$$word ${HOME} $x") == "pa$$$$word $${HOME} $$x"
    assert escape_all(["sh", "-c", "echo $HOME", ["$a"]]) == ["sh", "-c", "echo $$HOME", ["$$a"]]
    assert escape_all("$x") == "$$x"
    assert escape_all(5) == 5
    assert escape_all(None) is None


def test_a_bind_mount_is_seen_from_the_generated_folder_and_a_volume_by_name() -> None:
    bind = DesiredMount(kind="bind", source="data/up", target="/up")
    volume = DesiredMount(kind="volume", source="shop-data", target="/data", read_only=True)
    assert mount_entry(bind, "..") == {"type": "bind", "source": "../data/up", "target": "/up"}
    assert mount_entry(volume, "..") == {
        "type": "volume",
        "source": "shop-data",
        "target": "/data",
        "read_only": True,
    }


# --- one service -----------------------------------------------------------------------------------


def test_a_plain_service_has_its_image_restart_labels_and_networks() -> None:
    svc = service()
    assert render(svc) == {
        "image": "shop/web:1",
        "restart": "unless-stopped",
        "labels": labels(svc),
        "networks": {"default": {"priority": 100}, "edge": {"aliases": ["blue-web"]}},
    }
    assert list(render(service(), on_edge=False)) == ["image", "restart", "labels"]


def test_a_built_service_names_its_context_from_the_generated_folder() -> None:
    svc = service(image=None, build={"context": "web", "dockerfile": "Dockerfile.prod"})
    out = render(svc)
    assert out["build"] == {"context": "../../web", "dockerfile": "Dockerfile.prod"}
    assert "image" not in out
    assert svc.build == {"context": "web", "dockerfile": "Dockerfile.prod"}  # not changed


def test_commands_and_environment_are_escaped_for_compose() -> None:
    out = render(service(command=["sh", "-c", "echo $HOME"], environment={"B": "$2", "A": "x"}))
    assert out["command"] == ["sh", "-c", "echo $$HOME"]
    assert list(out["environment"].items()) == [("A", "x"), ("B", "$$2")]
    assert render(service(command="echo $X"))["command"] == "echo $$X"


def test_env_files_are_required_and_seen_from_the_generated_folder() -> None:
    out = render(service(env_files=[".env.blue", "/etc/shop.env"]))
    assert out["env_file"] == [
        {"path": "../../.env.blue", "required": True},
        {"path": "/etc/shop.env", "required": True},
    ]


def test_a_port_is_published_only_with_a_host_port() -> None:
    assert "ports" not in render(service(port=80))
    assert render(service(port=80, host_port=4001))["ports"] == [
        {"target": 80, "published": "4001", "protocol": "tcp"}
    ]
    assert render(service(port=80, host_port=4001, host_ip="127.0.0.1"))["ports"] == [
        {"target": 80, "published": "4001", "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]


def test_volumes_are_listed_in_order() -> None:
    mounts = [
        DesiredMount(kind="bind", source="up", target="/up", read_only=True),
        DesiredMount(kind="volume", source="shop-data", target="/data"),
    ]
    assert render(service(mounts=mounts))["volumes"] == [
        {"type": "bind", "source": "../../up", "target": "/up", "read_only": True},
        {"type": "volume", "source": "shop-data", "target": "/data"},
    ]


def test_only_the_test_of_a_health_check_is_escaped() -> None:
    check = {"test": ["CMD-SHELL", "test $X"], "interval": "$10s", "retries": 3}
    assert render(service(healthcheck=check))["healthcheck"] == {
        "test": ["CMD-SHELL", "test $$X"],
        "interval": "$10s",
        "retries": 3,
    }


def test_depends_on_keeps_only_services_of_the_same_file_with_compose_conditions() -> None:
    svc = service(
        depends_on={"db": "healthy", "cache": "started", "migrate": "completed", "mail": "healthy"}
    )
    out = render(svc, local={"db", "cache", "migrate"})
    assert out["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "cache": {"condition": "service_started"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert "depends_on" not in render(svc, local={"web"})


def test_resources_become_limits_and_reservations() -> None:
    svc = service(resources={"memory": "1G", "cpus": 1.5, "memory_reservation": "256M"})
    assert render(svc)["deploy"] == {
        "resources": {
            "limits": {"memory": "1G", "cpus": "1.5"},
            "reservations": {"memory": "256M"},
        }
    }


def test_gpus_are_a_device_reservation() -> None:
    assert render(service(gpus=2))["deploy"] == {
        "resources": {
            "reservations": {"devices": [{"driver": "nvidia", "count": 2, "capabilities": ["gpu"]}]}
        }
    }


@pytest.mark.parametrize(
    ("resources", "gpus", "expected"),
    [
        ({}, None, {}),
        ({"memory": "1G"}, None, {"limits": {"memory": "1G"}}),
        ({"cpus": 2}, None, {"limits": {"cpus": "2"}}),
        ({"memory_reservation": "1G"}, None, {"reservations": {"memory": "1G"}}),
        ({}, 1, {"reservations": {"gpu": "yes"}}),
        (
            {"memory_reservation": "1G", "cpus": 0.5},
            1,
            {"limits": {"cpus": "0.5"}, "reservations": {"memory": "1G", "gpu": "yes"}},
        ),
    ],
)
def test_deploy_resources(resources: dict[str, Any], gpus: int | None, expected: object) -> None:
    svc = service(resources=resources, gpus=gpus)
    assert deploy_resources(svc, gpus={"gpu": "yes"}) == expected


def test_no_deploy_key_without_resources_or_gpus() -> None:
    assert "deploy" not in render(service())


def test_a_container_name_is_given_when_asked() -> None:
    assert render(service(container_name="blue-web"))["container_name"] == "blue-web"


def test_labels_name_the_project_service_scope_hash_view_and_colour() -> None:
    svc = service(project="my-shop-blue", environment={"PRICE": "$5"})
    assert labels(svc) == {
        "specctl.project": "my-shop",
        "specctl.service": "web",
        "specctl.scope": "color",
        "specctl.config-hash": svc.config_hash,
        "specctl.config": view_json(svc.view).replace("$", "$$"),
        "specctl.color": "blue",
    }
    assert "$$5" in labels(svc)["specctl.config"]
    redis = shared()
    assert labels(redis) == {
        "specctl.project": "shop",
        "specctl.service": "redis",
        "specctl.scope": "shared",
        "specctl.config-hash": redis.config_hash,
        "specctl.config": view_json(redis.view),
    }


def test_a_shared_service_joins_only_the_edge_network() -> None:
    assert render(shared())["networks"] == {"edge": {"aliases": ["redis"]}}


def test_a_service_off_the_edge_joins_it_anyway_for_its_extra_aliases() -> None:
    svc = service(extra_aliases=["web-blue"])
    assert render(svc, on_edge=False)["networks"] == {
        "default": {"priority": 100},
        "edge": {"aliases": ["blue-web", "web-blue"]},
    }


def test_external_networks_are_joined_besides_the_edge() -> None:
    svc = shared(networks=["monitoring", "mail"])
    assert render(svc)["networks"] == {
        "edge": {"aliases": ["redis"]},
        "monitoring": {},
        "mail": {},
    }


def test_the_pass_through_wins_and_merges_mappings() -> None:
    svc = service(compose={"labels": {"extra": "1"}, "restart": "always", "shm_size": "1g"})
    out = render(svc)
    assert out["labels"] == {**labels(svc), "extra": "1"}
    assert (out["restart"], out["shm_size"]) == ("always", "1g")


def test_merge_passthrough_merges_deeply_and_replaces_everything_else() -> None:
    base = {"a": {"b": {"c": 1, "d": 2}, "e": [1]}, "f": 1, "g": {"h": 1}}
    extra = {"a": {"b": {"c": 3}, "e": [2]}, "f": {"x": 1}, "g": 2, "i": 3}
    assert merge_passthrough(base, extra) == {
        "a": {"b": {"c": 3, "d": 2}, "e": [2]},
        "f": {"x": 1},
        "g": 2,
        "i": 3,
    }
    assert base == {"a": {"b": {"c": 1, "d": 2}, "e": [1]}, "f": 1, "g": {"h": 1}}


def test_named_volumes_are_the_volume_mounts_once_each_in_name_order() -> None:
    data = DesiredMount(kind="volume", source="shop-data", target="/d")
    cache = DesiredMount(kind="volume", source="shop-cache", target="/c")
    bind = DesiredMount(kind="bind", source="up", target="/up")
    services = [service(mounts=[data, bind]), shared(mounts=[cache, data])]
    assert named_volumes(services) == {
        "shop-cache": {"name": "shop-cache"},
        "shop-data": {"name": "shop-data"},
    }
    assert named_volumes([service(mounts=[bind])]) == {}


# --- whole files -----------------------------------------------------------------------------------


SPEC: dict[str, Any] = {
    "project": "shop",
    "services": {
        "web": {"image": "w", "port": 80, "depends_on": {"api": "healthy"}},
        "api": {
            "image": "a",
            "port": 3000,
            "depends_on": {"db": "healthy"},
            "volumes": [{"volume": "cache", "target": "/c"}],
        },
        "worker": {"image": "k", "depends_on": {"api": "started"}, "env_files": [".env"]},
        "db": {"image": "d", "scope": "shared", "volumes": [{"volume": "db", "target": "/v"}]},
    },
    "volumes": {"cache": {}, "db": {"scope": "shared"}},
    "proxy": {"image": "nginx", "upstreams": {"web": "web"}, "networks": ["monitoring"]},
}


def desired(spec: dict[str, Any] = SPEC) -> Desired:
    return expand(Spec.model_validate(spec), "blue", spec_digest="0" * 64)


def test_the_edge_holds_what_nginx_routes_to_and_what_needs_a_shared_service() -> None:
    assert edge_services(desired()) == {"web", "api"}


def test_a_colour_file_names_its_project_and_the_shared_network() -> None:
    doc = load(render_color_compose(desired(), root_ref="..", header=""))
    assert doc["name"] == "shop-blue"
    assert doc["networks"] == {"edge": {"name": "shop-edge", "external": True}}
    assert doc["volumes"] == {"shop-blue-cache": {"name": "shop-blue-cache"}}
    assert list(doc["services"]) == ["api", "web", "worker"]
    services = doc["services"]
    assert services["web"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert "depends_on" not in services["api"]  # db is in the shared file
    assert services["api"]["networks"]["edge"] == {"aliases": ["blue-api"]}
    assert "networks" not in services["worker"]
    assert services["worker"]["env_file"] == [{"path": "../.env", "required": True}]


def test_a_file_starts_with_its_header() -> None:
    text = render_color_compose(desired(), root_ref="..", header="# generated\n")
    assert text.startswith("# generated\nname: shop-blue\n")
    shared_text = render_shared_compose(desired(), root_ref="..", header="# shared\n")
    assert shared_text.startswith("# shared\nname: shop-shared\n")


def test_no_volumes_key_without_named_volumes() -> None:
    spec = {**SPEC, "services": {"web": {"image": "w", "port": 80}}, "volumes": {}}
    assert "volumes" not in load(render_color_compose(desired(spec), root_ref="..", header=""))
    assert "volumes" not in load(render_shared_compose(desired(spec), root_ref="..", header=""))


def test_the_shared_file_holds_shared_services_and_the_proxy_on_its_networks() -> None:
    doc = load(render_shared_compose(desired(), root_ref="..", header=""))
    assert doc["name"] == "shop-shared"
    assert list(doc["services"]) == ["db", "proxy"]
    assert doc["networks"] == {
        "edge": {"name": "shop-edge", "external": True},
        "monitoring": {"name": "monitoring", "external": True},
    }
    assert doc["volumes"] == {"shop-db": {"name": "shop-db"}}
    assert doc["services"]["proxy"]["networks"] == {
        "edge": {"aliases": ["proxy"]},
        "monitoring": {},
    }
    assert doc["services"]["db"]["networks"] == {"edge": {"aliases": ["db"]}}


def test_a_shared_service_waits_on_another_shared_service() -> None:
    spec = {
        **SPEC,
        "services": {
            "web": {"image": "w", "port": 80},
            "db": {"image": "d", "scope": "shared"},
            "mail": {"image": "m", "scope": "shared", "depends_on": {"db": "started"}},
        },
    }
    doc = load(render_shared_compose(desired(spec), root_ref="..", header=""))
    assert doc["services"]["mail"]["depends_on"] == {"db": {"condition": "service_started"}}


def test_the_yaml_is_block_style_in_insertion_order_and_never_wrapped() -> None:
    long = "w " * 60
    doc = {"b": {"x": [1, {"k": "v", "a": 2}], "long": long}, "a": [], "c": {}}
    assert dump_yaml(doc) == (
        f"b:\n  x:\n    - 1\n    - k: v\n      a: 2\n  long: '{long}'\na: []\nc: {{}}\n"
    )


def test_a_null_is_written_as_null() -> None:
    """A pass-through key the user set to null stays spelled out in the generated file."""
    assert dump_yaml({"init": None}) == "init: null\n"
