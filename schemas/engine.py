"""Where a spec runs: one Docker host with Compose (the default) or a Docker Swarm cluster, and
where a service may run on the cluster; pure value types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ComposeEngine(_Strict):
    kind: Literal["compose"] = "compose"


class SwarmEngine(_Strict):
    kind: Literal["swarm"] = "swarm"
    host: str | None = Field(
        default=None,
        description="The manager's Docker address: unix:///var/run/docker.sock, "
        "tcp://HOST:2376 or ssh://USER@HOST (default: DOCKER_HOST, else the local socket).",
    )
    images: Literal["load", "registry"] = Field(
        default="load",
        description="How images reach the nodes: load (specctl saves each image on the manager, "
        "where it builds, and loads it into every node that lacks it; no registry needed; each "
        "node needs an address in `nodes`) or registry (nodes pull from `registry`).",
    )
    registry: str | None = Field(
        default=None, description="host:port of the registry built images are pushed to."
    )
    endpoint_mode: Literal["vip", "dnsrr"] = Field(
        default="vip",
        description="How a service name resolves on the overlay network: vip (one virtual IP; "
        "needs IPVS in the kernel) or dnsrr (one address per task).",
    )
    edge_node: str | None = Field(
        default=None,
        description="Hostname of the node that runs the proxy (default: the manager specctl "
        "talks to); its ports are published there in host mode.",
    )

    edge_address: str | None = Field(
        default=None,
        description="Where specctl reaches the edge node's published ports for its own checks "
        "(the switch proof, verification through nginx); default 127.0.0.1: specctl runs on "
        "the edge node.",
    )
    nodes: dict[str, str] = Field(
        default={},
        description="Node hostname -> that node's own Docker address (unix://, tcp:// or "
        "ssh://): where specctl loads images (images: load) and reaches a task's container "
        "on another node than the manager (the database of a backup, the edge proxy).",
    )

    @model_validator(mode="after")
    def _registry(self) -> SwarmEngine:
        if self.images == "registry" and self.registry is None:
            raise ValueError("images: registry needs registry (host:port the nodes pull from)")
        return self


def _shorthand(value: Any) -> Any:
    """`engine: swarm` is `engine: {kind: swarm}`."""
    return {"kind": value} if isinstance(value, str) else value


Engine = Annotated[
    ComposeEngine | SwarmEngine,
    Field(discriminator="kind"),
    BeforeValidator(
        _shorthand,
        json_schema_input_type=Literal["compose", "swarm"] | ComposeEngine | SwarmEngine,
    ),
]


class Placement(_Strict):
    """Where a service's tasks may run on a Swarm cluster."""

    node: str | None = Field(
        default=None,
        description="Only this node (its hostname): where a service's data lives on that "
        "node's disk (a database), it must stay there.",
    )
    labels: dict[str, str] = Field(
        default={}, description="Node labels a node must have, e.g. {gpu: 'true'}."
    )
    role: Literal["manager", "worker"] | None = None
    max_per_node: int | None = Field(
        default=None, ge=1, description="At most this many of its tasks on one node."
    )

    def constraints(self) -> list[str]:
        """The Swarm placement constraints, in a stable order."""
        out = [f"node.hostname == {self.node}"] if self.node else []
        out += [f"node.labels.{k} == {v}" for k, v in sorted(self.labels.items())]
        if self.role:
            out.append(f"node.role == {self.role}")
        return out
