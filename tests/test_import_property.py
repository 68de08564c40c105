"""The Compose importer on configs nobody wrote by hand: whatever shape `docker compose config`
can hand it (names, ports, mounts, environment, health checks, two colours or one), it never
crashes, and its spec either validates or fails only for what the user must decide. Pure."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specctl.importers.compose import import_compose
from specctl.importers.compose_model import Group, Mounted

names = st.from_regex(r"[a-z][a-z0-9]{0,6}([._-][a-z0-9]{1,4})?", fullmatch=True)
words = st.text(alphabet="abcXYZ019_-./:${}=@ ", max_size=16)
env_values = st.one_of(words, st.just("${DB_PASSWORD}"), st.just("${TAG:-1}"), st.none())
ports = st.fixed_dictionaries(
    {"target": st.integers(1, 65535), "protocol": st.just("tcp")},
    optional={
        "published": st.one_of(st.integers(1, 65535).map(str), st.just("8000-8001")),
        "host_ip": st.sampled_from(["127.0.0.1", "0.0.0.0", "::1"]),
    },
)
mounts = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("bind"),
            "source": st.sampled_from(
                ["./data", "./data/blue", "/srv/x", ".", "./a.conf", "../up"]
            ),
            "target": st.sampled_from(["/data", "/etc/a.conf", "/srv"]),
        },
        optional={"read_only": st.booleans()},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("volume"),
            "source": st.sampled_from(["pgdata", "cache_blue", "x"]),
            "target": st.sampled_from(["/var/lib/postgresql/data", "/cache"]),
        }
    ),
    st.fixed_dictionaries({"type": st.just("tmpfs"), "target": st.just("/tmp")}),
)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    svc: dict[str, Any] = {}
    if draw(st.booleans()):
        svc["image"] = draw(st.sampled_from(["postgres:16", "nginx:alpine", "app:1", "redis"]))
    else:
        svc["build"] = {"context": ".", "args": draw(st.lists(words, max_size=2))}
    if draw(st.booleans()):
        svc["ports"] = draw(st.lists(ports, max_size=3))
    if draw(st.booleans()):
        svc["volumes"] = draw(st.lists(mounts, max_size=3))
    if draw(st.booleans()):
        svc["environment"] = draw(st.dictionaries(names.map(str.upper), env_values, max_size=4))
    if draw(st.booleans()):
        svc["healthcheck"] = {
            "test": draw(st.sampled_from([["CMD", "true"], ["CMD-SHELL", "exit 0"], ["NONE"]])),
            "interval": "5s",
            "retries": draw(st.integers(1, 5)),
        }
    if draw(st.booleans()):
        svc["restart"] = draw(st.sampled_from(["no", "always", "on-failure:3", "unless-stopped"]))
    if draw(st.booleans()):
        svc["deploy"] = {"resources": {"limits": {"memory": "64M", "cpus": "0.5"}}}
    if draw(st.booleans()):
        svc["container_name"] = draw(names)
    return svc


@st.composite
def groups(draw: st.DrawFn) -> list[Group]:
    colours = draw(st.sampled_from([[None], ["blue"], ["blue", "green"]]))
    service_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    out = []
    for colour in colours:
        config: dict[str, Any] = {"name": "proj", "services": {}}
        for name in service_names:
            key = f"{colour}-{name}" if colour and draw(st.booleans()) else name
            config["services"][key] = draw(services())
        config["volumes"] = {"pgdata": {"name": "proj_pgdata"}}
        out.append(Group(colour, config, [(f"{colour or 'docker-compose'}.yml", "services: {}\n")]))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups())
def test_any_normalised_compose_config_imports_or_says_why(found: list[Group]) -> None:
    result = import_compose(
        found,
        nginx=None,
        mounted={"./data": Mounted("directory", 0, 0, "0755")},
        root=".",
        project="proj",
    )
    assert result.yaml.startswith("# Imported by `specctl import`")
    # What the importer cannot decide for the user, and the spec says so; anything else (an
    # environment name, a secret, a path key, a colour override) it must have mapped or noted.
    expected = (
        "at least one upstream is needed",  # no port to route to (a note says so too)
        "escapes the project root",  # ../up with nothing on disk to make it absolute
        "collides with",  # two services published one host port
        "unknown placeholder",  # {x} in a build argument
    )
    unexpected = [p for p in result.problems if not any(e in p for e in expected)]
    assert unexpected == [], result.yaml
