"""Compose files (as `docker compose config` normalises them) and an nginx config -> a commented
spec, and the list of what did not map, each with the line it came from; pure.

The shell (cli/import_cmd.py) runs `docker compose config --no-interpolate --no-path-resolution`
on each group of files (one per colour, or one for all), so anchors, `x-` blocks, `extends`,
several files, long and short syntax arrive in one shape; `${VAR}` stays as written. It also
reads what is on disk at each bind mount's source (file or folder, owner, mode), so the spec's
permission manifest adopts what is there instead of changing it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from specctl.compiler.load import load_spec
from specctl.compiler.validate import SECRET_NAME
from specctl.importers.commented_yaml import N, render
from specctl.importers.compose_lines import Lines
from specctl.importers.compose_model import (
    STATEFUL,
    Group,
    Mounted,
    Nginx,
    Service,
    State,
    is_proxy,
    managed_path,
    port_number,
    proxy_score,
    published,
    template,
    template_name,
)
from specctl.importers.compose_proxy import proxy_of, upstream_ports
from specctl.importers.legacy import ImportResult, looks_secret
from specctl.schemas.errors import SpecError
from specctl.schemas.spec import COLORS

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_CONDITIONS = {
    "service_healthy": "healthy",
    "service_started": "started",
    "service_completed_successfully": "completed",
}
# Keys specctl derives itself, or that do not carry over: why, for the notes.
_DROPPED = {
    "networks": "specctl puts each colour on its own network and the shared services and the "
    "proxy on a shared one",
    "labels": "specctl labels its containers itself; add yours under compose: if you need them",
    "profiles": "specctl starts every service of the spec",
    "pull_policy": "see the service's pull:",
    "hostname": "a fixed hostname would be the same in both colours",
    "links": "services reach each other by name on the colour's network",
    "network_mode": "specctl puts each service on its colour's network (host networking would "
    "give both colours the same ports)",
    "secrets": "Compose secrets need top-level definitions specctl does not write: mount the "
    "file as a managed path (kind: file, mode 0600) instead",
    "configs": "Compose configs need top-level definitions specctl does not write: mount the "
    "file as a managed path (kind: file) instead",
}
_OWN = {"image", "build", "command", "ports", "expose", "environment", "env_file", "volumes"}
_OWN |= {"healthcheck", "depends_on", "restart", "container_name", "deploy"}


def import_compose(
    groups: list[Group],
    *,
    nginx: Nginx | None,
    mounted: Mapping[str, Mounted],
    root: str,
    project: str,
    output_name: str = "spec.yaml",
) -> ImportResult:
    """The spec for these groups of Compose files (one group per colour, or one in all)."""
    state = State()
    for group in groups:
        state.volume_names[group.color or ""] = {
            str(key): str((value or {}).get("name") or f"{group.config.get('name')}_{key}")
            for key, value in (group.config.get("volumes") or {}).items()
        }
    lines = Lines(groups)
    services = sorted(_match_services(groups), key=lines.order)
    state.names = {s.name for s in services}
    per_color = any(g.color for g in groups)
    candidates = [s for s in services if is_proxy(s)]
    proxy_service = max(candidates, key=proxy_score) if candidates else None
    state.proxy = proxy_service.name if proxy_service else None
    app = [s for s in services if s is not proxy_service]
    bases = _port_bases(groups, app, per_color)
    ports_in_nginx = upstream_ports(nginx, services) if nginx else {}
    if nginx is not None and nginx.found:
        state.notes.append(
            (
                nginx.found,
                f"nginx config: {nginx.name}, which the Compose files mount as nginx.conf, "
                "is proxy.base (pass --nginx to choose another)",
            )
        )

    tree: dict[str, Any] = {
        "version": 1,
        "project": N(
            project,
            "the Compose project name; specctl's containers, networks and "
            "volumes are named after it",
        ),
        "root": N(root, "the folder the Compose files were in: relative paths count from it"),
        "colors": N(
            {c: {"port_base": bases[c]} for c in COLORS},
            None
            if per_color
            else "one Compose file for both colours: green publishes each host port "
            f"{bases['green'] - bases['blue']:+d} from blue's",
        ),
    }
    out_services: dict[str, Any] = {}
    for svc in app:
        out_services[svc.name] = _service(
            svc, services, state, lines, mounted, bases, per_color, ports_in_nginx
        )
    tree["services"] = out_services
    proxy = proxy_of(proxy_service, services, app, nginx, state, lines, mounted, bases)
    if state.paths:  # the proxy's mounts and TLS add paths too
        tree["paths"] = state.paths
    if state.volumes:
        tree["volumes"] = state.volumes
    tree["proxy"] = proxy
    if not proxy.get("upstreams"):
        state.notes.append(
            (
                lines.file(groups[0].color or ""),
                "no service publishes or exposes a port nginx could route to: give the one "
                "users reach a port: and add it to proxy.upstreams and proxy.locations",
            )
        )
    tree = {k: v for k, v in tree.items() if v is not None}

    header = [
        f"Imported by `specctl import` from {', '.join(n for g in groups for n, _ in g.files)}"
        + (f" and {nginx.name}" if nginx else "")
        + ". Read it through: comments say where each value came from, and the notes at the "
        "end list what did not carry over.",
    ]
    notes = [f"{where}: {text}" for where, text in state.notes]
    footer = ["Not carried over, or worth a look:", *notes] if notes else ["Everything mapped."]
    text = render(tree, header=header, footer=footer)
    problems: list[str] = []
    try:
        load_spec(text, filename=output_name, env=dict.fromkeys(state.variables, "x"))
    except SpecError as exc:
        problems = [p.render() for p in exc.problems]
    variables = [f"${{{v}}}" for v in sorted(state.variables)]
    if variables:
        notes.append(
            f"{', '.join(variables)}: left for specctl to fill from its environment when it "
            "compiles, as Compose did"
        )
    return ImportResult(text, notes, sorted(s.name for s in app), problems)


def _match_services(groups: list[Group]) -> list[Service]:
    """The spec's services: a colour file's `blue-web` and `web-blue` are `web`, matched with
    the other colour file's."""
    found: dict[str, Service] = {}
    for group in groups:
        color = group.color or ""
        for name, config in group.config.get("services", {}).items():
            base = _strip_color(name, group.color) if group.color else name
            base = re.sub(r"[^A-Za-z0-9_-]", "_", base)
            svc = found.setdefault(base, Service(base, {}, {}))
            svc.sources[color] = name
            svc.configs[color] = config
    return list(found.values())


def _strip_color(name: str, color: str | None) -> str:
    if not color:
        return name
    for sep in "-_":
        if name.startswith(f"{color}{sep}") and len(name) > len(color) + 1:
            return name[len(color) + 1 :]
        if name.endswith(f"{sep}{color}") and len(name) > len(color) + 1:
            return name[: -len(color) - 1]
    return name


def _port_bases(groups: list[Group], app: list[Service], per_color: bool) -> dict[str, int]:
    ports: dict[str, list[int]] = {c: [] for c in COLORS}
    for svc in app:
        for color, config in svc.configs.items():
            for port in published(config):
                number = port_number(port["published"])
                if number is not None:
                    for c in [color] if color else COLORS:
                        ports[c].append(number)
    bases: dict[str, int] = {}
    for color in COLORS:
        if ports[color]:
            bases[color] = min(ports[color])
    if "blue" not in bases and "green" not in bases:
        return {"blue": 4000, "green": 5000}
    if not per_color or "green" not in bases:
        # green's host ports are blue's moved by 1000: up, unless that passes 65535
        highest = max(ports["blue"], default=bases.get("blue", 4000))
        shift = 1000 if highest + 1000 <= 65535 or bases.get("blue", 4000) <= 1000 else -1000
        bases["green"] = bases.get("blue", 4000) + shift
    bases.setdefault("blue", bases["green"] - 1000 if bases["green"] > 2000 else 4000)
    return bases


def _service(
    svc: Service,
    services: list[Service],
    state: State,
    lines: Lines,
    mounted: Mapping[str, Mounted],
    bases: dict[str, int],
    per_color: bool,
    upstream_ports: dict[str, int],
) -> dict[str, Any]:
    colors = [c for c in svc.configs if c]
    first_color = colors[0] if colors else ""
    config = svc.configs[first_color]
    where = lines.where(svc, first_color)
    stateful = not per_color and bool(STATEFUL.search(str(config.get("image") or "")))
    out: dict[str, Any] = {}
    if per_color and len(colors) == 1:
        state.once(
            "one colour",
            (
                lines.file(first_color),
                f"only a {first_color} file: the other colour runs the "
                f"same services, with {first_color} in names and paths replaced by the other's",
            ),
        )

    def text(value: str, color: str) -> str:
        return template(value, color, services)

    def one(key: str) -> Any:
        """A value both colours have alike ({color} where they differ by the colour), or the
        first colour's, with the rest in per_color."""
        return _agree(svc, key, text)

    if "image" in config:
        out["image"] = one("image")
    if "build" in config:
        out["build"] = _build(one("build"))
    if config.get("command") is not None:
        out["command"] = one("command")
    if stateful:
        out["scope"] = N("shared", "a database: one for both colours, its data kept")
    port, host_port, bind = _ports(svc, state, lines, bases, per_color, upstream_ports)
    if port is not None:
        out["port"] = port
    if host_port is not None and not stateful:
        out["host_port"] = host_port
        if bind is not None:
            out["bind"] = bind
    elif host_port is not None:
        state.notes.append(
            (
                lines.where(svc, first_color, "ports"),
                f"{svc.name}: its published host port is "
                "not kept (a shared service publishes none; reach it through its colour network, "
                "or set host_port by hand)",
            )
        )
    environment, required = _environment(svc, state, lines, services)
    if environment:
        out["environment"] = environment
    env_files = one("env_file")
    if env_files:
        out["env_files"] = [str(e["path"] if isinstance(e, dict) else e) for e in env_files]
        optional = [
            e["path"] for e in env_files if isinstance(e, dict) and not e.get("required", True)
        ]
        for path in optional:
            state.once(
                f"optional {path}",
                (
                    lines.where(svc, first_color, "env_file"),
                    f"{path} is optional in Compose "
                    "(required: false); specctl needs every env file to exist",
                ),
            )
    if required:
        out["required_env"] = required
    volumes = _mounts(svc, state, lines, mounted, stateful)
    if volumes:
        out["volumes"] = volumes
    health = _healthcheck(svc, state, lines, text)
    if health is not None:
        out["healthcheck"] = health
    depends = {
        _base_of(dep, services): _CONDITIONS.get(str((how or {}).get("condition")), "started")
        for dep, how in (config.get("depends_on") or {}).items()
        if _base_of(dep, services) not in (None, state.proxy)
    }
    if depends:
        out["depends_on"] = depends
    resources, passthrough = _deploy(svc, state, lines)
    if resources:
        out["resources"] = resources
    restart = config.get("restart")
    if restart in ("no", "always", "on-failure", "unless-stopped"):
        if restart != "unless-stopped":
            out["restart"] = restart
    elif restart:
        passthrough["restart"] = restart
    else:
        state.notes.append(
            (
                where,
                f"{svc.name}: no restart policy in Compose (its default: no); specctl's "
                "default is unless-stopped",
            )
        )
    if config.get("container_name"):
        state.once(
            "container_name",
            (
                lines.where(svc, first_color, "container_name"),
                "container_name not carried "
                "over: specctl names each colour's containers itself and gives each service the "
                "network alias COLOR-SERVICE (blue-backend), which nginx upstreams use",
            ),
        )
    for key in sorted(set(config) - _OWN):
        if key == "networks" and set(config["networks"] or {}) <= {"default"}:
            continue  # Compose's own default network, added by `config`
        if key in _DROPPED:
            state.once(
                key,
                (lines.where(svc, first_color, key), f"{key} not carried over: {_DROPPED[key]}"),
            )
        else:
            passthrough[key] = one(key)
    if passthrough:
        out["compose"] = N(passthrough, "passed through to Compose as written")
    differs = _per_color(svc, state, lines, text)
    if differs:
        out["per_color"] = differs
    return out


def _agree(svc: Service, key: str, text: Any) -> Any:
    values = {
        c: _deep(cfg.get(key), lambda s, c=c: text(s, c) if c else s)
        for c, cfg in svc.configs.items()
        if key in cfg
    }
    if not values:
        return None
    return next(iter(values.values()))


def _per_color(svc: Service, state: State, lines: Lines, text: Any) -> dict[str, Any]:
    """Where the two colour files differ after templating: image, command and environment
    become green's per_color; any other difference is a note (blue's is kept)."""
    if set(svc.configs) != set(COLORS):
        return {}
    differs: dict[str, Any] = {}
    fixed = {c: _deep(svc.configs[c], lambda s, c=c: text(s, c)) for c in COLORS}
    for key in ("image", "command"):
        if fixed["blue"].get(key) != fixed["green"].get(key):
            differs.setdefault("green", {})[key] = fixed["green"].get(key)
    env = {c: _env_map(svc.configs[c], lambda s, c=c: text(s, c)) for c in COLORS}
    changed: dict[str, Any] = {}
    for name, value in env["green"].items():
        if env["blue"].get(name) != value:
            where = lines.where(svc, "green", "environment", name)
            kept = _env_entry(svc, name, value, state, where)
            if kept is not None and kept != "required":
                changed[name] = kept
    if changed:
        differs.setdefault("green", {})["environment"] = changed
    only_blue = sorted(set(env["blue"]) - set(env["green"]))
    if only_blue:
        state.notes.append(
            (
                lines.where(svc, "green", "environment"),
                f"{svc.name}: {', '.join(only_blue)} only in the blue file: green gets it too "
                "(per_color can change a variable, not remove it)",
            )
        )
    ignored = {"image", "command", "environment", "ports", "container_name", "networks"}
    for key in sorted((set(fixed["blue"]) | set(fixed["green"])) - ignored):
        if fixed["blue"].get(key) != fixed["green"].get(key):
            state.notes.append(
                (
                    lines.where(svc, "green", key),
                    f"{svc.name}: {key} differs between the colour files beyond the colour's "
                    "name: the blue file's is kept",
                )
            )
    return differs


def _deep(value: Any, fix: Any) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_deep(v, fix) for v in value]
    if isinstance(value, dict):
        return {k: _deep(v, fix) for k, v in value.items()}
    return value


def _base_of(name: str, services: list[Service]) -> str | None:
    found = [s for s in services if name in s.sources.values()]
    return found[0].name if found else None


def _build(build: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"context": str(build.get("context", "."))}
    if build.get("dockerfile"):
        out["dockerfile"] = build["dockerfile"]
    args = build.get("args")
    if isinstance(args, list):
        args = dict(a.split("=", 1) if "=" in a else (a, "") for a in args)
    if args:
        out["args"] = {str(k): "" if v is None else str(v) for k, v in args.items()}
    if build.get("target"):
        out["target"] = build["target"]
    return out


def _ports(
    svc: Service,
    state: State,
    lines: Lines,
    bases: dict[str, int],
    per_color: bool,
    upstream_ports: dict[str, int],
) -> tuple[int | None, Any, str | None]:
    """port (inside), host_port (an offset from the colour's base, or a port per colour), bind."""
    first: dict[str, dict[str, Any]] = {}
    port: int | None = None
    for color, config in svc.configs.items():
        ports = published(config)
        for loose in [p for p in config.get("ports") or [] if not p.get("published")]:
            state.notes.append(
                (
                    lines.where(svc, color, "ports"),
                    f"{svc.name}: port {loose['target']} was published on a host port Docker "
                    "picks: not kept",
                )
            )
        for extra in ports[1:]:
            state.notes.append(
                (
                    lines.where(svc, color, "ports"),
                    f"{svc.name}: host port "
                    f"{extra['published']}:{extra['target']} not kept: a service publishes one "
                    "host port in the spec (add the others under compose: per colour by hand)",
                )
            )
        if ports:
            first[color] = ports[0]
            port = int(ports[0]["target"])
    if port is None:
        config = next(iter(svc.configs.values()))
        exposed = [str(e).split("/")[0] for e in config.get("expose") or []]
        if svc.name in upstream_ports:
            port = upstream_ports[svc.name]
        elif exposed and exposed[0].isdigit():
            port = int(exposed[0])
    if not first:
        return port, None, None
    numbers: dict[str, int] = {}
    for color, p in first.items():
        number = port_number(p["published"])
        if number is None:
            state.notes.append(
                (
                    lines.where(svc, color, "ports"),
                    f"{svc.name}: host port {p['published']} (a range or none) not kept",
                )
            )
            return port, None, None
        for c in [color] if color else COLORS:
            numbers[c] = number + (bases[c] - bases["blue"] if not color else 0)
    host_ip = next((p.get("host_ip") for p in first.values() if p.get("host_ip")), None)
    bind = None
    if host_ip and host_ip != "127.0.0.1":
        bind = host_ip
    elif not host_ip:
        state.notes.append(
            (
                lines.where(svc, next(iter(first)), "ports"),
                f"{svc.name}: Compose published "
                "its port on every address; specctl binds it to 127.0.0.1 (nginx is the way in). "
                "Set bind: 0.0.0.0 to keep it open",
            )
        )
    offsets = {c: numbers[c] - bases[c] for c in numbers}
    if len(numbers) == 2 and len(set(offsets.values())) == 1 and min(offsets.values()) >= 0:
        return port, {"offset": offsets["blue"]}, bind
    if len(numbers) == 1:
        ((color, number),) = numbers.items()
        offset = number - bases[color]
        if offset >= 0:
            return port, {"offset": offset}, bind
    shift = bases["green"] - bases["blue"]
    numbers.setdefault("green", numbers.get("blue", 0) + shift)
    numbers.setdefault("blue", numbers["green"] - shift)
    return port, {"blue": numbers["blue"], "green": numbers["green"]}, bind


def _env_map(config: dict[str, Any], fix: Any) -> dict[str, str | None]:
    env = config.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {str(k): None if v is None else fix(str(v)) for k, v in env.items()}


def _environment(
    svc: Service, state: State, lines: Lines, services: list[Service]
) -> tuple[dict[str, Any], list[str]]:
    color = next(iter(svc.configs))
    env = _env_map(svc.configs[color], lambda s: template(s, color, services))
    out: dict[str, Any] = {}
    required: list[str] = []
    for name, value in env.items():
        where = lines.where(svc, color, "environment", name)
        if not color and value == "blue":  # one file, blue's: the variable names the colour
            state.notes.append(
                (where, f"{svc.name}: {name}: blue names the colour: {{color}} (green's is green)")
            )
            value = "{color}"
        kept = _env_entry(svc, name, value, state, where)
        if kept == "required":
            required.append(name)
        elif kept is not None:
            out[name] = kept
    return out, required


def _env_entry(svc: Service, name: str, value: str | None, state: State, where: str) -> Any:
    """One variable: its value for the spec, "required" (it moves to an env file), or None
    (it cannot be written in a spec); a note says why for the last two."""
    if not _ENV_NAME.fullmatch(name):
        state.notes.append(
            (
                where,
                f"{svc.name}: {name} is not a name a shell can use, which the spec's "
                "environment takes only: put it in an env file (env_files)",
            )
        )
        return None
    if value is None:
        state.notes.append(
            (
                where,
                f"{svc.name}: {name} came from the shell that ran Compose; put it in an env "
                "file (env_files)",
            )
        )
        return "required"
    names = [m.group(1) or m.group(2) for m in _VAR.finditer(value.replace("$$", ""))]
    secret = [n for n in names if SECRET_NAME.search(n)]
    if secret or (names and looks_secret(name)):
        state.notes.append(
            (
                where,
                f"{svc.name}: {name} is built from ${{{(secret or names)[0]}}}, a secret: "
                "specctl never writes one into generated files; put the whole value in an env "
                "file (env_files) and list it in required_env (done)",
            )
        )
        return "required"
    state.variables.update(names)
    return value


def _mounts(
    svc: Service, state: State, lines: Lines, mounted: Mapping[str, Mounted], stateful: bool
) -> list[Any]:
    color = next(iter(svc.configs))
    out: list[Any] = []
    for volume in svc.configs[color].get("volumes") or []:
        kind, source = volume.get("type"), str(volume.get("source") or "")
        target = str(volume["target"])
        ro = bool(volume.get("read_only"))
        where = lines.where(svc, color, "volumes")
        if kind == "bind":
            key = managed_path(source, color, state, mounted, where)
            entry: dict[str, Any] = {"path": key, "target": target}
        elif kind == "volume" and source:
            key = _named_volume(source, color, state, stateful)
            entry = {"volume": key, "target": target}
        else:
            what = "an anonymous volume" if kind == "volume" else f"a {kind} mount"
            state.notes.append(
                (
                    where,
                    f"{svc.name}: {what} at {target} not carried over (add it under "
                    "compose: volumes is specctl's; a named volume keeps data)",
                )
            )
            continue
        if ro:
            entry["read_only"] = True
        out.append(entry)
    return out


def _named_volume(source: str, color: str, state: State, stateful: bool) -> str:
    """A named volume under the name Docker knows it by, so the data stays where it is."""
    key = re.sub(r"[^A-Za-z0-9_]", "_", template_name(source, color).replace("{color}", ""))
    key = re.sub(r"__+", "_", key).strip("_") or "data"
    if key in state.volumes:
        return key
    actual = state.volume_names.get(color, {}).get(source, source)
    name = template_name(actual, color)
    if "{color}" in name:
        state.volumes[key] = N({"name": name}, f"one per colour, as {actual} was")
    else:
        why = "a database's data" if stateful else "the same data for both colours"
        state.volumes[key] = N({"scope": "shared", "name": actual}, f"{why}: adopts {actual}")
    return key


def _healthcheck(svc: Service, state: State, lines: Lines, text: Any) -> Any:
    color = next(iter(svc.configs))
    health = svc.configs[color].get("healthcheck")
    if not health:
        return None
    if health.get("disable"):
        return None
    test = _deep(health.get("test"), lambda s: text(s, color) if color else s)
    if isinstance(test, list) and test and test[0] == "CMD-SHELL":
        command: Any = " ".join(test[1:])
    elif isinstance(test, list) and test and test[0] == "CMD":
        command = test[1:]
    elif isinstance(test, list) and test and test[0] == "NONE":
        return None
    else:
        command = test
    out: dict[str, Any] = {"command": command}
    for key in ("interval", "timeout", "start_period"):
        if health.get(key):
            out[key] = str(health[key])
    if health.get("retries"):
        out["retries"] = int(health["retries"])
    return out


def _deploy(svc: Service, state: State, lines: Lines) -> tuple[dict[str, Any], dict[str, Any]]:
    color = next(iter(svc.configs))
    deploy = dict(svc.configs[color].get("deploy") or {})
    resources = dict(deploy.pop("resources", {}) or {})
    limits = dict(resources.pop("limits", {}) or {})
    reservations = dict(resources.pop("reservations", {}) or {})
    out: dict[str, Any] = {}
    if limits.get("memory"):
        out["memory"] = str(limits.pop("memory"))
    if limits.get("cpus"):
        out["cpus"] = float(limits.pop("cpus"))
    if reservations.get("memory"):
        out["memory_reservation"] = str(reservations.pop("memory"))
    passthrough: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    if limits:
        rest.setdefault("resources", {})["limits"] = limits
    if reservations:
        rest.setdefault("resources", {})["reservations"] = reservations
    replicas = deploy.pop("replicas", None)
    if replicas not in (None, 1):
        state.notes.append(
            (
                lines.where(svc, color, "deploy"),
                f"{svc.name}: replicas {replicas} not kept: "
                "Compose runs one container per colour (engine: swarm runs replicas)",
            )
        )
    rest.update(deploy)
    if rest:
        passthrough["deploy"] = rest
    return out, passthrough
