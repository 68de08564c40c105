"""compiler/stack.py and compiler/cluster.py, rule by rule: each key of a Swarm stack service,
the proxy's wait for its config, and how one observation of the cluster reads as converged or
not; pure."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from specctl.compiler.cluster import as_containers, placement, service_problems, stack_problems
from specctl.compiler.compose import labels
from specctl.compiler.expand import expand, finish
from specctl.compiler.stack import render_color_stack, render_shared_stack, stack_service
from specctl.schemas.cluster import Cluster, ClusterNode, ClusterService, ClusterTask
from specctl.schemas.desired import Desired, DesiredMount, DesiredService
from specctl.schemas.engine import SwarmEngine
from specctl.schemas.spec import Spec
from tests.test_compose_rules import BASE

SWARM = SwarmEngine()


def service(**fields: Any) -> DesiredService:
    return finish({**BASE, **fields})


def shared(**fields: Any) -> DesiredService:
    return service(
        name="redis",
        address="shared.service.redis",
        scope="shared",
        color=None,
        project="shop-shared",
        aliases=["redis"],
        **fields,
    )


def render(svc: DesiredService, *, on_edge: bool = True, **options: Any) -> dict[str, Any]:
    options.setdefault("engine", SWARM)
    return stack_service(svc, root_ref="../..", on_edge=on_edge, **options)


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


DEPLOY: dict[str, Any] = {
    "mode": "replicated",
    "replicas": 1,
    "endpoint_mode": "vip",
    "restart_policy": {"condition": "any"},
    "update_config": {"failure_action": "pause", "order": "stop-first"},
}


# --- one stack service -----------------------------------------------------------------------------


def test_a_plain_service_runs_one_task_that_stops_before_its_update() -> None:
    svc = service()
    assert render(svc) == {
        "image": "shop/web:1",
        "labels": labels(svc),
        "deploy": {**DEPLOY, "labels": labels(svc)},
        "networks": {"default": {}, "edge": {"aliases": ["blue-web"]}},
    }
    assert list(render(svc, on_edge=False)) == ["image", "labels", "deploy"]


def test_a_built_service_runs_the_latest_tag_of_its_repository() -> None:
    assert render(service(image=None, build={"context": "."}))["image"] == "shop-web:latest"


def test_commands_environment_and_env_files_as_the_stack_reads_them() -> None:
    out = render(
        service(
            command=["sh", "-c", "echo $HOME"],
            environment={"B": "$2", "A": "x"},
            env_files=[".env.blue", "/etc/shop.env"],
        )
    )
    assert out["command"] == ["sh", "-c", "echo $$HOME"]
    assert list(out["environment"].items()) == [("A", "x"), ("B", "$$2")]
    assert out["env_file"] == ["../../.env.blue", "/etc/shop.env"]


def test_volumes_and_health_check() -> None:
    mounts = [DesiredMount(kind="bind", source="up", target="/up", read_only=True)]
    check = {"test": ["CMD-SHELL", "test $X"], "interval": "$10s"}
    out = render(service(mounts=mounts, healthcheck=check))
    assert out["volumes"] == [
        {"type": "bind", "source": "../../up", "target": "/up", "read_only": True}
    ]
    assert out["healthcheck"] == {"test": ["CMD-SHELL", "test $$X"], "interval": "$10s"}


def test_published_ports_are_in_host_mode_and_replace_the_pass_through_ports() -> None:
    svc = service(compose={"ports": ["80:80"], "stop_signal": "SIGQUIT"})
    out = render(svc, published=[(80, 8080), (443, 8443)])
    assert out["ports"] == [
        {"target": 8080, "published": 80, "protocol": "tcp", "mode": "host"},
        {"target": 8443, "published": 443, "protocol": "tcp", "mode": "host"},
    ]
    assert out["stop_signal"] == "SIGQUIT"
    assert render(svc)["ports"] == ["80:80"]
    assert render(svc, published=[])["ports"] == ["80:80"]


def test_a_shared_service_joins_the_edge_and_its_external_networks() -> None:
    assert render(shared(networks=["monitoring"]))["networks"] == {
        "edge": {"aliases": ["redis"]},
        "monitoring": {},
    }


def test_a_service_off_the_edge_joins_it_for_its_extra_aliases() -> None:
    assert render(service(extra_aliases=["web-blue"]), on_edge=False)["networks"] == {
        "default": {},
        "edge": {"aliases": ["blue-web", "web-blue"]},
    }


@pytest.mark.parametrize(
    ("restart", "condition"),
    [("no", "none"), ("always", "any"), ("unless-stopped", "any"), ("on-failure", "on-failure")],
)
def test_restart_becomes_swarms_restart_policy(restart: str, condition: str) -> None:
    out = render(service(restart=restart))
    assert out["deploy"]["restart_policy"] == {"condition": condition}
    assert "restart" not in out


def test_replicas_and_the_endpoint_mode_reach_deploy() -> None:
    deploy = render(service(replicas=0), engine=SwarmEngine(endpoint_mode="dnsrr"))["deploy"]
    assert (deploy["replicas"], deploy["endpoint_mode"]) == (0, "dnsrr")
    assert render(service(replicas=3))["deploy"]["replicas"] == 3


def test_placement_constraints_a_pinned_node_and_a_cap_per_node() -> None:
    svc = service(placement=["node.role == worker"], max_per_node=2)
    assert render(svc)["deploy"]["placement"] == {
        "constraints": ["node.role == worker"],
        "max_replicas_per_node": 2,
    }
    assert render(svc, node="edge1")["deploy"]["placement"] == {
        "constraints": ["node.hostname == edge1", "node.role == worker"],
        "max_replicas_per_node": 2,
    }
    assert svc.placement == ["node.role == worker"]  # not changed


def test_a_node_already_pinned_is_not_pinned_twice() -> None:
    svc = service(placement=["node.role == worker", "node.hostname == edge1"])
    assert render(svc, node="edge1")["deploy"]["placement"] == {
        "constraints": ["node.role == worker", "node.hostname == edge1"]
    }
    assert render(service(), node="edge1")["deploy"]["placement"] == {
        "constraints": ["node.hostname == edge1"]
    }
    assert render(service(max_per_node=1))["deploy"]["placement"] == {"max_replicas_per_node": 1}


def test_gpus_are_a_generic_resource_beside_the_limits() -> None:
    deploy = render(service(gpus=2, resources={"memory": "1G"}))["deploy"]
    assert deploy["resources"] == {
        "limits": {"memory": "1G"},
        "reservations": {
            "generic_resources": [{"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 2}}]
        },
    }
    assert "resources" not in render(service())["deploy"]


# --- whole files -----------------------------------------------------------------------------------


SPEC: dict[str, Any] = {
    "project": "shop",
    "services": {
        "web": {"image": "w", "port": 80},
        "api": {"image": "a", "port": 3000, "depends_on": {"db": "healthy"}},
        "worker": {"image": "k", "volumes": [{"volume": "cache", "target": "/c"}]},
        "db": {"image": "d", "scope": "shared", "volumes": [{"volume": "db", "target": "/v"}]},
    },
    "volumes": {"cache": {}, "db": {"scope": "shared"}},
    "proxy": {"image": "nginx", "upstreams": {"web": "web"}, "networks": ["monitoring"]},
}
WAIT = 'trap : HUP; until [ -f /etc/nginx/specctl/nginx.conf ]; do sleep 0.2; done; exec "$$@"'
NGINX = ["nginx", "-c", "/etc/nginx/specctl/nginx.conf", "-g", "daemon off;"]


def desired(spec: dict[str, Any] = SPEC) -> Desired:
    return expand(Spec.model_validate(spec), "blue", spec_digest="0" * 64)


def test_a_colour_stack_has_its_own_overlay_network_beside_the_edge() -> None:
    doc = load(render_color_stack(desired(), engine=SWARM, root_ref="..", header="# h\n"))
    assert doc["version"] == "3.8"
    assert doc["networks"] == {
        "default": {"driver": "overlay", "attachable": True},
        "edge": {"name": "shop-edge", "external": True},
    }
    assert doc["volumes"] == {"shop-blue-cache": {"name": "shop-blue-cache"}}
    assert list(doc["services"]) == ["api", "web", "worker"]
    assert "networks" in doc["services"]["api"]  # it needs the shared db
    assert "networks" in doc["services"]["web"]  # nginx routes to it
    assert "networks" not in doc["services"]["worker"]
    text = render_color_stack(desired(), engine=SWARM, root_ref="..", header="# h\n")
    assert text.startswith("# h\nversion: '3.8'\n")


def test_no_volumes_key_without_named_volumes() -> None:
    spec = {**SPEC, "services": {"web": {"image": "w", "port": 80}}, "volumes": {}}
    assert "volumes" not in load(
        render_color_stack(desired(spec), engine=SWARM, root_ref="..", header="")
    )
    assert "volumes" not in load(
        render_shared_stack(desired(spec), engine=SWARM, root_ref="..", header="", proxy_ports=[])
    )


def shared_stack(engine: SwarmEngine = SWARM, spec: dict[str, Any] = SPEC) -> Any:
    text = render_shared_stack(
        desired(spec), engine=engine, root_ref="..", header="# s\n", proxy_ports=[(80, 80)]
    )
    assert text.startswith("# s\nversion: '3.8'\n")
    return load(text)


def test_the_shared_stack_holds_the_shared_services_and_the_proxy() -> None:
    doc = shared_stack()
    assert list(doc["services"]) == ["db", "proxy"]
    assert doc["networks"] == {
        "edge": {"name": "shop-edge", "external": True},
        "monitoring": {"name": "monitoring", "external": True},
    }
    assert doc["volumes"] == {"shop-db": {"name": "shop-db"}}
    assert doc["services"]["db"]["networks"] == {"edge": {"aliases": ["db"]}}
    proxy = doc["services"]["proxy"]
    assert proxy["ports"] == [{"target": 80, "published": 80, "protocol": "tcp", "mode": "host"}]
    assert proxy["networks"] == {"edge": {"aliases": ["proxy"]}, "monitoring": {}}


def test_the_proxy_waits_for_its_first_config_on_the_manager() -> None:
    proxy = shared_stack()["services"]["proxy"]
    assert proxy["command"] == ["sh", "-c", WAIT, "sh", *NGINX]
    assert proxy["deploy"]["placement"] == {"constraints": ["node.role == manager"]}


def test_the_proxy_runs_on_the_edge_node_when_one_is_named() -> None:
    proxy = shared_stack(SwarmEngine(edge_node="edge1"))["services"]["proxy"]
    assert proxy["deploy"]["placement"] == {"constraints": ["node.hostname == edge1"]}


def with_proxy(**fields: Any) -> Desired:
    d = desired()
    return d.model_copy(update={"proxy": d.proxy.model_copy(update=fields)})


def shared_proxy(d: Desired, engine: SwarmEngine = SWARM) -> Any:
    text = render_shared_stack(d, engine=engine, root_ref="..", header="", proxy_ports=[])
    return load(text)["services"]["proxy"]


def test_the_proxy_without_a_command_waits_then_runs_nginx() -> None:
    assert shared_proxy(with_proxy(command=None))["command"] == ["sh", "-c", WAIT, "sh", *NGINX]


def test_the_proxy_waits_then_runs_its_own_command() -> None:
    proxy = shared_proxy(with_proxy(command=["nginx", "-g", "daemon off;"]))
    assert proxy["command"] == ["sh", "-c", WAIT, "sh", "nginx", "-g", "daemon off;"]


def test_the_manager_comes_first_among_the_proxys_constraints() -> None:
    proxy = shared_proxy(with_proxy(placement=["node.labels.edge == yes"], max_per_node=1))
    assert proxy["deploy"]["placement"] == {
        "constraints": ["node.role == manager", "node.labels.edge == yes"],
        "max_replicas_per_node": 1,
    }


# --- a cluster observed ----------------------------------------------------------------------------


NODES = [
    ClusterNode(id="n1", hostname="m1", role="manager"),
    ClusterNode(id="n2", hostname="w1", role="worker"),
    ClusterNode(id="n3"),
]


def backend(**fields: object) -> ClusterService:
    base: dict[str, object] = {
        "id": "s1",
        "name": "shop-blue_backend",
        "stack": "shop-blue",
        "service": "backend",
        "color": "blue",
        "image": "app:1",
        "replicas": 2,
        "labels": {"specctl.config-hash": "abc"},
    }
    return ClusterService.model_validate({**base, **fields})


def task(i: int, state: str | None, node: str | None = "n2", **fields: object) -> ClusterTask:
    base: dict[str, object] = {
        "id": f"t{i}",
        "service_id": "s1",
        "node_id": node,
        "state": state,
        "desired_state": "running",
        "image": "app:1",
    }
    return ClusterTask.model_validate({**base, **fields})


def cluster(*tasks: ClusterTask, **fields: object) -> Cluster:
    return Cluster(nodes=NODES, services=[backend(**fields)], tasks=list(tasks))


def problems(c: Cluster) -> list[str]:
    return service_problems(c, c.services[0])


def test_a_cluster_finds_nodes_stacks_and_tasks() -> None:
    other = backend(id="s2", stack="shop-green")
    c = Cluster(
        nodes=NODES,
        services=[backend(), other],
        tasks=[task(1, "running"), task(2, "running", service_id="s2")],
    )
    assert c.node("n2") == NODES[1]
    assert c.node("n9") is None
    assert c.node(None) is None
    assert c.of_stack("shop-green") == [other]
    assert c.of_stack("shop") == []
    assert [t.id for t in c.tasks_of(other)] == ["t2"]
    assert backend().config_hash == "abc"
    assert backend(labels={}).config_hash is None


def test_enough_running_tasks_of_the_image_are_no_problem() -> None:
    assert problems(cluster(task(1, "running"), task(2, "running"), task(3, "running"))) == []


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("paused", "shop-blue.backend: Swarm's update is paused"),
        ("rollback_started", "shop-blue.backend: Swarm's update is rollback started"),
        ("rollback_paused", "shop-blue.backend: Swarm's update is rollback paused"),
        ("rollback_completed", "shop-blue.backend: Swarm's update is rollback completed"),
    ],
)
def test_a_stuck_update_is_named_whatever_the_tasks(state: str, message: str) -> None:
    c = cluster(task(1, "running"), task(2, "running"), update_state=state)
    assert problems(c) == [message]
    c = cluster(update_state=state, update_message="update out of sequence")
    assert problems(c) == [message + ": update out of sequence"]


@pytest.mark.parametrize("state", ["updating", "completed", None])
def test_an_update_under_way_or_done_is_judged_by_its_tasks(state: str | None) -> None:
    assert problems(cluster(task(1, "running"), task(2, "running"), update_state=state)) == []


def test_without_replicas_the_desired_task_count_is_wanted() -> None:
    c = cluster(task(1, "running"), replicas=None, desired_tasks=3)
    assert problems(c) == ["shop-blue.backend: 1 of 3 tasks running and healthy"]
    assert problems(cluster(replicas=None)) == []


def test_tasks_being_shut_down_do_not_count() -> None:
    c = cluster(task(1, "running"), task(2, "running", desired_state="shutdown"))
    assert problems(c) == ["shop-blue.backend: 1 of 2 tasks running and healthy"]


def test_the_states_of_waiting_tasks_are_named_once_each_in_order() -> None:
    c = cluster(
        task(1, "starting"),
        task(2, "preparing"),
        task(3, "starting"),
        task(4, None),
        replicas=4,
    )
    assert problems(c) == [
        "shop-blue.backend: 0 of 4 tasks running and healthy (?, preparing, starting)"
    ]


def test_the_last_failure_with_an_error_is_named() -> None:
    c = cluster(
        task(1, "failed", desired_state="shutdown", error="exit 1"),
        task(2, "rejected", desired_state="shutdown", error="no suitable node"),
        task(3, "orphaned", desired_state="shutdown"),
        task(4, "complete", desired_state="shutdown", error="not a failure"),
    )
    assert problems(c) == [
        "shop-blue.backend: 0 of 2 tasks running and healthy; last failure: no suitable node"
    ]


@pytest.mark.parametrize("state", ["failed", "rejected", "orphaned"])
def test_each_failed_state_gives_its_error(state: str) -> None:
    c = cluster(task(1, state, desired_state="shutdown", error="why"), replicas=1)
    assert problems(c) == ["shop-blue.backend: 0 of 1 tasks running and healthy; last failure: why"]


def test_a_stack_lists_missing_services_first_then_each_services_problem() -> None:
    c = Cluster(
        nodes=NODES,
        services=[
            backend(),
            backend(id="s2", service="web", name="shop-blue_web", replicas=1),
            backend(id="s3", service="backend", stack="shop-green", replicas=5),
        ],
        tasks=[task(1, "running", service_id="s2")],
    )
    assert stack_problems(c, "shop-blue", expected=["web", "cron", "backend", "mail"]) == [
        "shop-blue.cron: not deployed",
        "shop-blue.mail: not deployed",
        "shop-blue.backend: 0 of 2 tasks running and healthy",
    ]


def test_placement_counts_running_tasks_by_node_name() -> None:
    c = cluster(
        task(1, "running", "n2"),
        task(2, "running", "n2"),
        task(3, "running", "n3"),
        task(4, "running", None),
        task(5, "running", "n9"),
        task(6, "starting", "n1"),
        task(7, "running", "n1", desired_state="shutdown"),
    )
    assert list(placement(c, c.services[0]).items()) == [("?", 1), ("n3", 1), ("n9", 1), ("w1", 2)]


def containers(c: Cluster) -> list[dict[str, Any]]:
    return [x.model_dump(exclude_defaults=True) for x in as_containers(c)]


def test_a_converged_service_reads_as_a_healthy_running_container() -> None:
    c = cluster(task(1, "running", "n1"), task(2, "running", "n2"))
    assert containers(c) == [
        {
            "id": "s1",
            "name": "shop-blue_backend",
            "project": "shop-blue",
            "service": "backend",
            "color": "blue",
            "image": "app:1",
            "state": "running",
            "status": "2/2 tasks on m1, w1",
            "health": "healthy",
            "labels": {"specctl.config-hash": "abc"},
        }
    ]


def test_a_service_scaled_to_zero_reads_as_exited() -> None:
    (one,) = containers(cluster(replicas=0))
    assert (one["state"], one["status"]) == ("exited", "0/0 tasks")
    assert "health" not in one


def test_a_service_that_wants_no_tasks_reads_as_exited() -> None:
    (one,) = containers(cluster(replicas=None, desired_tasks=None))
    assert (one["state"], one["status"]) == ("exited", "0/0 tasks")


def test_a_starting_service_reads_as_restarting_and_starting() -> None:
    (one,) = containers(cluster(task(1, "running"), task(2, "starting")))
    assert (one["state"], one["health"]) == ("restarting", "starting")
    assert one["status"] == (
        "1/2 tasks on w1; shop-blue.backend: 1 of 2 tasks running and healthy (starting)"
    )


def test_a_service_with_a_failed_task_reads_as_unhealthy() -> None:
    failed = task(2, "failed", desired_state="shutdown")
    (one,) = containers(cluster(task(1, "running"), failed))
    assert (one["state"], one["health"]) == ("restarting", "unhealthy")
    (one,) = containers(cluster(failed, replicas=None, desired_tasks=1))
    assert (one["state"], one["health"]) == ("restarting", "unhealthy")
    assert one["status"] == "0/1 tasks; shop-blue.backend: 0 of 1 tasks running and healthy"


def test_containers_are_in_project_then_name_order() -> None:
    c = Cluster(
        services=[
            backend(id="a", name="b_x", stack="b", replicas=0),
            backend(id="b", name="a_y", stack="a", replicas=0),
            backend(id="c", name="a_x", stack="a", replicas=0),
            backend(id="d", name="z", stack=None, replicas=0),
            backend(id="e", name="4shop_x", stack="4shop", replicas=0),
        ]
    )
    assert [(x.project, x.name) for x in as_containers(c)] == [
        (None, "z"),
        ("4shop", "4shop_x"),
        ("a", "a_x"),
        ("a", "a_y"),
        ("b", "b_x"),
    ]
