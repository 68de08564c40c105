"""Checks of meaning beyond types (ports, references, paths, secrets); pure."""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator

from specctl.compiler.validate_engine import engine_findings
from specctl.schemas.spec import COLORS, OWNED_COMPOSE_KEYS, PRE_CHECKS, Mount, Service, Spec
from specctl.schemas.units import size_bytes

Where = tuple[str | int, ...]
Finding = tuple[Where, str]

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_KEY|APIKEY)$", re.IGNORECASE)


def validate_meaning(spec: Spec) -> list[Finding]:
    checks = (
        _skips,
        _owner_only,
        _ports,
        _proxy_ports,
        _references,
        _managed_paths,
        _escaping_paths,
        _secret_literals,
        _compose_passthrough,
        _placeholders,
        _container_names,
        _deploy_breakers,
    )
    return [finding for check in checks for finding in check(spec)] + engine_findings(spec)


Place = Callable[[Where], Where | None]


def _services(spec: Spec) -> Iterator[tuple[str, Service, Place]]:
    """Each service as written, then as each colour with `per_color` runs it; a finding about
    the colour's service is placed at the override that caused it (a finding about a field the
    colour does not override was already reported for the service as written)."""
    for name, svc in spec.services.items():
        yield name, svc, lambda where: where
        for color, override in svc.per_color.items():

            def place(
                where: Where,
                name: str = name,
                color: str = color,
                keys: frozenset[str] = frozenset(override),
            ) -> Where | None:
                if where[2] in keys:
                    return ("services", name, "per_color", color, *where[2:])
                return None

            yield name, svc.for_color(color), place


def _skips(spec: Spec) -> Iterator[Finding]:
    for index, name in enumerate(spec.checks.pre.skip):
        if name not in PRE_CHECKS:
            yield ("checks", "pre", "skip", index), _unknown("check", name, PRE_CHECKS)


def _owner_only(spec: Spec) -> Iterator[Finding]:
    for name, managed in spec.paths.items():
        private = managed.kind in ("secret", "certificate")
        if private and managed.mode is not None and int(managed.mode, 8) & 0o077:
            yield (
                ("paths", name, "mode"),
                (
                    f"a {managed.kind} must be readable by its owner only "
                    f"(got {managed.mode}; use 0600 for a file, 0700 for a folder)"
                ),
            )


def host_ports(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str, int]]:
    """Every published host port: (spec path, owner label, port)."""
    for name, service in spec.services.items():
        where = ("services", name, "host_port")
        hp = service.host_port
        if hp is None:
            continue
        if isinstance(hp, int):
            if service.scope == "shared":
                yield where, f"services.{name}", hp
            else:
                for color in COLORS:
                    yield where, f"{color}.service.{name}", hp
            continue
        for color in COLORS:
            port = getattr(hp, color) if hp.offset is None else _base(spec, color) + hp.offset
            yield where, f"{color}.service.{name}", port
    for index, port_map in enumerate(spec.proxy.ports):
        yield ("proxy", "ports", index, "host"), "proxy", port_map.host


def _base(spec: Spec, color: str) -> int:
    base: int = getattr(spec.colors, color).port_base
    return base


def _ports(spec: Spec) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for path, owner, port in host_ports(spec):
        if not 1 <= port <= 65535:
            yield path, f"host port {port} of {owner} is outside 1-65535"
        elif port in seen and seen[port] != owner:
            yield path, f"host port {port} of {owner} collides with {seen[port]}"
        else:
            seen.setdefault(port, owner)


def _proxy_ports(spec: Spec) -> Iterator[Finding]:
    """The proxy cannot publish one host port twice on one address (0.0.0.0 and :: are every
    address of their family): Docker would refuse to start it."""
    seen: list[tuple[int, int, str]] = []
    for index, port_map in enumerate(spec.proxy.ports):
        for earlier, port, bind in seen:
            if port == port_map.host and (bind == port_map.bind or _overlap(bind, port_map.bind)):
                yield (
                    ("proxy", "ports", index, "host"),
                    f"host port {port} on {port_map.bind} is published already by proxy.ports"
                    f"[{earlier}] (on {bind})",
                )
                break
        seen.append((index, port_map.host, port_map.bind))


def _overlap(one: str, other: str) -> bool:
    family = {":" in one, ":" in other}
    return len(family) == 1 and bool({one, other} & {"0.0.0.0", "::"})


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    return f"unknown {kind} {name!r}{_did_you_mean(name, known)}"


def _references(spec: Spec) -> Iterator[Finding]:
    services = spec.services
    for name, service in services.items():
        for dep in service.depends_on:
            where: Where = ("services", name, "depends_on", dep)
            if dep not in services:
                yield where, _unknown("service", dep, services)
            elif dep == name:
                yield where, "a service cannot depend on itself"
            elif service.scope == "shared" and services[dep].scope == "color":
                yield where, f"shared service {name!r} cannot depend on per-colour service {dep!r}"
        for index, mount in enumerate(service.volumes):
            yield from _mount_refs(spec, ("services", name, "volumes", index), mount, service.scope)
    for index, mount in enumerate(spec.proxy.volumes):
        yield from _mount_refs(spec, ("proxy", "volumes", index), mount, "shared")
    for up_name in spec.proxy.upstreams:
        upstream = spec.upstream(up_name)
        where = ("proxy", "upstreams", up_name)
        target = services.get(upstream.service)
        if target is None:
            yield where, _unknown("service", upstream.service, services)
        elif target.scope != "color":
            yield where, f"upstream {up_name!r} must point at a per-colour service"
        elif (upstream.port or target.port) is None:
            yield where, f"service {upstream.service!r} has no port; give port here or there"
    for index, location in enumerate(spec.proxy.locations):
        if location.upstream not in spec.proxy.upstreams:
            yield (
                ("proxy", "locations", index, "upstream"),
                _unknown("upstream", location.upstream, spec.proxy.upstreams),
            )
    if spec.proxy.base is not None and spec.proxy.locations:
        yield ("proxy", "locations"), "locations apply to the built-in template only, not to base"
    if not spec.proxy.upstreams:
        yield ("proxy", "upstreams"), "at least one upstream is needed to route traffic"
    if spec.proxy.base is None:
        routed = {location.upstream for location in spec.proxy.locations}
        for up_name in spec.proxy.upstreams:
            if up_name not in routed:
                yield (
                    ("proxy", "upstreams", up_name),
                    (
                        f"no location routes to upstream {up_name!r}; add one in proxy.locations "
                        "(or give your own nginx config as proxy.base)"
                    ),
                )
    if spec.proxy.tls is not None:
        yield from _path_ref(spec, ("proxy", "tls", "path"), spec.proxy.tls.path)
    hook = spec.hooks.migrate
    if hook is not None and hook.service not in services:
        yield ("hooks", "migrate", "service"), _unknown("service", hook.service, services)
    database = spec.backups.database
    if database is not None and database.service not in services:
        yield ("backups", "database", "service"), _unknown("service", database.service, services)
    for index, path_name in enumerate(spec.backups.paths):
        yield from _path_ref(spec, ("backups", "paths", index), path_name)
    for index, probe in enumerate(spec.checks.post):
        if probe.service is not None and probe.service not in services:
            yield ("checks", "post", index, "service"), _unknown("service", probe.service, services)
        if probe.upload_dir is not None:
            yield from _path_ref(spec, ("checks", "post", index, "upload_dir"), probe.upload_dir)


def _path_ref(spec: Spec, where: tuple[str | int, ...], name: str) -> Iterator[Finding]:
    if name not in spec.paths:
        yield where, _unknown("managed path", name, spec.paths)


def _mount_refs(
    spec: Spec, where: tuple[str | int, ...], mount: Mount, scope: str
) -> Iterator[Finding]:
    path_name = mount.path
    volume_name = mount.volume
    if path_name is not None:
        if path_name not in spec.paths:
            yield (*where, "path"), _unknown("managed path", path_name, spec.paths)
        elif scope == "shared" and "{color}" in spec.paths[path_name].path:
            yield (*where, "path"), f"a shared service cannot mount per-colour path {path_name!r}"
    if volume_name is not None:
        if volume_name not in spec.volumes:
            yield (*where, "volume"), _unknown("volume", volume_name, spec.volumes)
        elif scope == "shared" and spec.volumes[volume_name].scope == "color":
            yield (
                (*where, "volume"),
                f"a shared service cannot mount per-colour volume {volume_name!r}; "
                "give the volume scope: shared",
            )


def expand_path(template: str, color: str) -> str:
    return posixpath.normpath(template.replace("{color}", color))


def _managed_paths(spec: Spec) -> Iterator[Finding]:
    expanded = [
        (name, color, expand_path(mp.path, color))
        for name, mp in spec.paths.items()
        for color in (COLORS if "{color}" in mp.path else ("",))
    ]
    for name, color, path in expanded:
        where = ("paths", name, "path")
        parts = path.split("/")
        colored = [i for i, part in enumerate(parts) if part in COLORS]
        if len(colored) > 1:
            if color == COLORS[-1]:
                continue  # the same template nests for both colours: say it once
            yield (
                where,
                (
                    f"{path} nests a colour directory inside another colour's directory "
                    f"({'/'.join(parts[: colored[1]])}): the duplicate path structure the old "
                    "scripts had to repair; use a single {color} level"
                ),
            )
            continue
        for other_name, other_color, other in expanded:
            if not color or not other_color or color == other_color:
                continue
            if path.startswith(other + "/"):
                yield (
                    where,
                    (
                        f"{path} ({color}) lies inside {other} ({other_color}'s {other_name!r}): "
                        "one colour would write into the other's files"
                    ),
                )


def _escaping_paths(spec: Spec) -> Iterator[Finding]:
    candidates: list[tuple[tuple[str | int, ...], str]] = [
        (("state_dir",), spec.state_dir),
        (("backups", "dir"), spec.backups.dir),
        (("logs", "dir"), spec.logs.dir),
    ]
    candidates += [(("paths", n, "path"), mp.path) for n, mp in spec.paths.items()]
    for name, service, place in _services(spec):
        mine: list[tuple[Where, str]] = [
            (("services", name, "env_files", i), f) for i, f in enumerate(service.env_files)
        ]
        if service.build is not None:
            mine.append((("services", name, "build", "context"), service.build.context))
        candidates += [(at, f) for w, f in mine if (at := place(w)) is not None]
    for where, path in candidates:
        # An absolute path stays absolute; `{color}` fills one whole name, never `.` or `..`.
        normal = posixpath.normpath(path)
        if normal == ".." or normal.startswith("../"):
            yield where, f"{path!r} escapes the project root; keep paths inside it"


# `scheme://user:password@host`: a password written into a URL (Redis writes no user:
# `redis://:password@host`).
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@", re.IGNORECASE)


def _secret_literals(spec: Spec) -> Iterator[Finding]:
    for name, service, place in _services(spec):
        for key, value in service.environment.items():
            where = place(("services", name, "environment", key))
            if where is None:
                continue
            if SECRET_NAME.search(key) and str(value) != "":
                yield (
                    where,
                    (
                        f"{key} looks like a secret; secrets belong in env files "
                        "(env_files), never in the spec"
                    ),
                )
            elif _URL_PASSWORD.search(str(value)):
                yield (
                    where,
                    (
                        f"{key} holds a URL with a password, which would be written into the "
                        "generated files and a container label; "
                        f"put {key} in an env file (env_files)"
                    ),
                )


def _compose_passthrough(spec: Spec) -> Iterator[Finding]:
    for name, service, place in _services(spec):
        for key in service.compose:
            placed = place(("services", name, "compose", key))
            if placed is None:
                continue
            where: Where = placed
            if key in OWNED_COMPOSE_KEYS:
                yield (
                    where,
                    (f"{key!r} is set by specctl from {OWNED_COMPOSE_KEYS[key]}; use that instead"),
                )
            elif key not in COMPOSE_SERVICE_KEYS and not key.startswith("x-"):
                yield where, _unknown("Compose service key", key, COMPOSE_SERVICE_KEYS)
    for key in spec.proxy.compose:
        where = ("proxy", "compose", key)
        if key in OWNED_COMPOSE_KEYS:
            yield where, f"{key!r} is set by specctl; use the proxy keys"
        elif key not in COMPOSE_SERVICE_KEYS and not key.startswith("x-"):
            yield where, _unknown("Compose service key", key, COMPOSE_SERVICE_KEYS)
    for name, volume in spec.volumes.items():
        if volume.scope == "color" and volume.name is not None and "{color}" not in volume.name:
            yield (
                ("volumes", name, "name"),
                (
                    f"{volume.name!r} would give both colours one volume; put {{color}} in it, or "
                    "set scope: shared when both colours must share its data"
                ),
            )


# The service keys of the Compose specification (compose-spec.io), for the pass-through.
COMPOSE_SERVICE_KEYS = frozenset(
    [
        "annotations",
        "attach",
        "blkio_config",
        "build",
        "cap_add",
        "cap_drop",
        "cgroup",
        "cgroup_parent",
        "command",
        "configs",
        "container_name",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpu_shares",
        "cpus",
        "cpuset",
        "credential_spec",
        "depends_on",
        "deploy",
        "develop",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "driver_opts",
        "entrypoint",
        "env_file",
        "environment",
        "expose",
        "extends",
        "external_links",
        "extra_hosts",
        "gpus",
        "group_add",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "ipc",
        "isolation",
        "labels",
        "label_file",
        "links",
        "logging",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "ports",
        "post_start",
        "pre_stop",
        "privileged",
        "profiles",
        "provider",
        "pull_policy",
        "read_only",
        "restart",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "storage_opt",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "use_api_socket",
        "user",
        "userns_mode",
        "uts",
        "volumes",
        "volumes_from",
        "working_dir",
    ]
)


PLACEHOLDERS = ("color", "project")
LOOSE_FIELDS = frozenset({"command", "healthcheck", "environment", "compose"})
# `{name}` not part of `${VAR}` (Compose and shell interpolation) or of `{{`/`}}`.
_PLACEHOLDER = re.compile(r"(?<![${])\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def _placeholders(spec: Spec) -> Iterator[Finding]:
    """`{color}` and `{project}` are the only placeholders: a `{colour}` left as it is would
    give both colours one folder, env file or data volume."""
    strings: list[tuple[Where, object]] = []
    for name, svc in spec.services.items():
        doc = svc.model_dump(exclude_defaults=True, exclude={"volumes", "depends_on"})
        strings.append((("services", name), doc))
    for name, managed in spec.paths.items():
        strings.append((("paths", name, "path"), managed.path))
    for name, volume in spec.volumes.items():
        if volume.name is not None:
            strings.append((("volumes", name, "name"), volume.name))
    if spec.backups.database is not None:
        strings.append((("backups", "database"), spec.backups.database.model_dump()))
    known = [f"{{{p}}}" for p in PLACEHOLDERS]
    for where, value in strings:
        for at, text in _strings(where, value):
            # Commands, health checks, environment and the pass-through may hold shell or awk
            # braces (`awk '{print}'`): there only a near miss of a placeholder is one.
            loose = any(part in LOOSE_FIELDS for part in at)
            for match in _PLACEHOLDER.finditer(text):
                if match.group(1) in PLACEHOLDERS:
                    continue
                hint = _did_you_mean(match.group(0), known)
                near = difflib.get_close_matches(match.group(0), known, n=1, cutoff=0.75)
                if loose and not near:
                    continue
                yield (
                    at,
                    (
                        f"unknown placeholder {match.group(0)} (the placeholders are "
                        f"{' and '.join(known)}){hint}"
                    ),
                )


def _strings(where: Where, value: object) -> Iterator[tuple[Where, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings((*where, str(key)), str(key))
            yield from _strings((*where, str(key)), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings((*where, index), item)


_DOCKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _sample(name: str, spec: Spec) -> str:
    """A name as one colour gets it, to check what Docker will be given."""
    return name.replace("{color}", "blue").replace("{project}", spec.project)


def _container_names(spec: Spec) -> Iterator[Finding]:
    """Fixed container names and extra aliases: one per colour (else blue and green claim the
    same name, and nginx or a backend may reach the other colour), none on shared services."""
    for name, svc in spec.services.items():
        fields: list[tuple[str | tuple[str, int], str]] = (
            [("container_name", svc.container_name)] if svc.container_name else []
        )
        fields += [(("aliases", i), alias) for i, alias in enumerate(svc.aliases)]
        for key, value in fields:
            where = ("services", name, *(key if isinstance(key, tuple) else (key,)))
            filled = _sample(value, spec)
            if not _DOCKER_NAME.fullmatch(filled):
                yield where, f"{value!r} is not a Docker name (letters, digits, _ . -)"
            elif svc.scope == "color" and "{color}" not in value:
                yield (
                    where,
                    (
                        f"{value!r} would name both colours' containers alike; put {{color}} in it "
                        f"(e.g. {value}-{{color}})"
                    ),
                )
            elif svc.scope == "shared" and "{color}" in value:
                yield where, "a shared service has no colour; drop {color}"
    for index, network in enumerate(spec.proxy.networks):
        if not _DOCKER_NAME.fullmatch(network):
            yield ("proxy", "networks", index), f"{network!r} is not a Docker network name"


_NGINX_SIZE = re.compile(r"\d+[kKmMgG]?")
_LOCATION = re.compile(r"/[^\s;{}'\"]*")


def _deploy_breakers(spec: Spec) -> Iterator[Finding]:
    """Values that pass the types but fail later, in Docker, Compose or `nginx -t`."""
    for name, svc, place in _services(spec):
        for at, message in _service_breakers(("services", name), svc):
            placed = place(at)
            if placed is not None:
                yield placed, message
    yield from _cycles(spec)
    seen: dict[str, int] = {}
    for index, location in enumerate(spec.proxy.locations):
        where = ("proxy", "locations", index)
        if not _LOCATION.fullmatch(location.path):
            yield (
                (*where, "path"),
                (f"{location.path!r} must start with / and hold no spaces, quotes, ; or braces"),
            )
        elif location.upstream_path is not None and not (
            _LOCATION.fullmatch(location.upstream_path)
            and location.path.endswith("/") == location.upstream_path.endswith("/")
        ):
            yield (
                (*where, "upstream_path"),
                (
                    f"{location.upstream_path!r} must start with /, hold no spaces, quotes, ; or "
                    "braces, and end with / exactly when path does (nginx swaps one prefix for "
                    "the other)"
                ),
            )
        elif location.path in seen:
            yield (
                (*where, "path"),
                (f"{location.path} is already routed by location {seen[location.path]}"),
            )
        else:
            seen[location.path] = index
        if location.max_body is not None and not _NGINX_SIZE.fullmatch(location.max_body):
            yield (
                (*where, "max_body"),
                (
                    "nginx reads sizes as a whole number with k, m or g "
                    f"(got {location.max_body!r}; e.g. 500m)"
                ),
            )
    for name, volume in spec.volumes.items():
        if volume.name is not None:
            filled = _sample(volume.name, spec)
            if not _DOCKER_NAME.fullmatch(filled):
                yield (
                    ("volumes", name, "name"),
                    (f"{volume.name!r} is not a Docker volume name (letters, digits, _ . -)"),
                )
    shared_proxy = spec.services.get("proxy")
    if shared_proxy is not None and shared_proxy.scope == "shared":
        yield (
            ("services", "proxy"),
            (
                "'proxy' is the name of specctl's nginx service in the shared project; rename this "
                "service"
            ),
        )


def _service_breakers(where: Where, svc: Service) -> Iterator[Finding]:
    check = svc.healthcheck
    if check is not None and check.http is not None and svc.port is None:
        yield (
            (*where, "healthcheck", "http"),
            ("an HTTP health check needs the service's port (set port)"),
        )
    resources = svc.resources
    if resources is None:
        return
    for key in ("memory", "memory_reservation"):
        value = getattr(resources, key)
        if value is not None and value.strip().isdigit():
            yield (
                (*where, "resources", key),
                (f"{value} would be bytes; give a unit such as {value}M or {value}G"),
            )
    reservation, limit = resources.memory_reservation, resources.memory
    if reservation and limit and size_bytes(reservation) > size_bytes(limit):
        yield (
            (*where, "resources", "memory_reservation"),
            (f"{reservation} is above the limit {limit}"),
        )


def _cycles(spec: Spec) -> Iterator[Finding]:
    """depends_on must not loop (a → b → a): Compose refuses to start any of them."""
    graph = {name: sorted(svc.depends_on) for name, svc in spec.services.items()}
    done: set[str] = set()
    for start in sorted(graph):
        path: list[str] = []
        stack = [(start, iter(graph[start]))]
        on_path = {start}
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.discard(node)
                path.pop()
                done.add(node)
                continue
            if child in on_path:
                loop = [*path[path.index(child) :], child]
                yield (
                    ("services", loop[0], "depends_on"),
                    (f"depends_on goes round in a circle: {' → '.join(loop)}"),
                )
                return
            if child in done or child not in graph:
                continue
            on_path.add(child)
            path.append(child)
            stack.append((child, iter(graph[child])))
