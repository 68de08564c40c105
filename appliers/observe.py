"""Read the live world into a Live value (side effects: Docker API, files on disk)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import crossplane

from specctl.appliers import engine
from specctl.appliers.bake import read_state
from specctl.appliers.engine import api
from specctl.appliers.images import present_tags
from specctl.appliers.permissions import locations, plan_path
from specctl.appliers.project import Project
from specctl.compiler.active import server_color
from specctl.compiler.adopt import MAIN_CONFIG, config_mount, match_takeovers, present, translate
from specctl.compiler.images import wanted_images
from specctl.compiler.maintenance import FLAG
from specctl.compiler.preview import PREVIEW, SERVING
from specctl.schemas.desired import Desired, DesiredPath
from specctl.schemas.errors import ObserveError
from specctl.schemas.live import (
    Live,
    LiveContainer,
    LiveFile,
    LiveMount,
    LiveNginx,
    LivePath,
    LivePort,
    Takeover,
)
from specctl.schemas.spec import COLORS

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def observe(project: Project, *, now: float | None = None) -> Live:
    """Both colours, the shared services, nginx and every managed path, whatever the target:
    one Docker API call for all containers (on a Swarm: three for the cluster)."""
    if project.spec.engine.kind == "swarm":
        from specctl.appliers.swarm.live import observe_swarm

        return observe_swarm(project, now=now)[0]
    client = api()
    before = client.calls
    desired = [project.desired(color) for color in COLORS]
    containers, takeovers = observe_takeover(project)
    nginx = observe_nginx(project, desired[0], containers)
    paths = {p.address: p for d in desired for p in d.paths}
    return Live(
        project=project.spec.project,
        containers=containers,
        nginx=nginx,
        paths=observe_paths(project, list(paths.values()), now=now),
        images=sorted(present_tags(wanted_images(desired))),
        bake=read_state(project),
        takeovers=takeovers,
        api_calls=client.calls - before,
    )


def observe_paths(
    project: Project, paths: list[DesiredPath], *, now: float | None = None
) -> list[LivePath]:
    at = time.time() if now is None else now
    others = locations(project)
    return [observe_path(project, p, now=at, others=others) for p in paths]


def observe_containers(project: Project) -> list[LiveContainer]:
    """The project's containers, with those of a system it takes over in specctl's terms (see
    observe_takeover), in one API call."""
    return observe_takeover(project)[0]


def observe_takeover(project: Project) -> tuple[list[LiveContainer], list[Takeover]]:
    """Every container on the host in one API call: the project's own (labelled by specctl),
    and the running ones specctl did not create that serve as its services (taken over, see
    compiler/adopt), presented as the services they serve as."""
    name = project.spec.project
    try:
        rows = api().containers(all=True)
    except engine.DockerException as exc:
        raise ObserveError(
            f"docker: cannot list containers ({str(exc).splitlines()[0][:200]})",
            hint="is the Docker engine running? `docker info` says",
        ) from None
    every = [container_from_row(row) for row in rows]
    mine = [c for c in every if c.labels.get("specctl.project") == name]
    others = [c for c in every if "specctl.project" not in c.labels]
    takeovers: list[Takeover] = []
    if others and project.spec.engine.kind != "swarm":
        desired = {color: project.desired(color) for color in COLORS}
        proxy = desired[COLORS[0]].proxy
        takeovers = match_takeovers(
            project.spec,
            desired,
            others,
            base=_base_path(project),
            network=desired[COLORS[0]].network,
            proxy_running=any(
                c.running and c.project == proxy.project and c.service == proxy.name for c in mine
            ),
        )
        by_id = {c.id: c for c in others}
        presented = [present(by_id[t.id], t, desired[COLORS[0]]) for t in takeovers]
        engine.STAND_INS.update({(c.project or "", c.service or ""): c.id for c in presented})
        mine += presented
    ordered = sorted(mine, key=lambda c: (c.project or "", c.name or ""))
    return ordered, takeovers


def container_from_row(row: dict[str, Any]) -> LiveContainer:
    """One row of `GET /containers/json` as a LiveContainer."""
    labels = row.get("Labels") or {}
    status = row.get("Status") or ""
    match = _HEALTH.search(status)
    health = None
    if match:
        health = "starting" if match.group(1) == "health: starting" else match.group(1)
    names = row.get("Names") or []
    ports = sorted(
        {
            f"{p['PublicPort']}->{p['PrivatePort']}/{p.get('Type', 'tcp')}"
            for p in row.get("Ports") or []
            if p.get("PublicPort")
        }
    )
    published = [
        LivePort(ip=p.get("IP"), host=p["PublicPort"], container=p.get("PrivatePort"))
        for p in row.get("Ports") or []
        if p.get("PublicPort")
    ]
    networks = sorted(((row.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    mounts = [
        LiveMount(
            source=m.get("Source") or m.get("Name"),
            target=m.get("Destination"),
            kind=m.get("Type"),
            read_only=not m.get("RW", True),
        )
        for m in row.get("Mounts") or []
    ]
    return LiveContainer(
        id=row["Id"],
        name=names[0].lstrip("/") if names else None,
        project=labels.get("com.docker.compose.project"),
        service=labels.get("com.docker.compose.service"),
        color=labels.get("specctl.color"),
        image=row.get("Image"),
        image_id=row.get("ImageID"),
        command=row.get("Command"),
        state=row.get("State"),
        status=status or None,
        health=health,
        created=row.get("Created"),
        ports=ports,
        published=published,
        mounts=mounts,
        labels=labels,
        networks=networks,
    )


def live_config_path(project: Project) -> Path:
    return project.path(project.spec.state_dir) / "nginx" / "nginx.conf"


def loaded_marker(project: Project) -> Path:
    """The sha256 of the config nginx last loaded, written after each successful reload."""
    return live_config_path(project).parent / "loaded.sha256"


PREVIOUS = "nginx.conf.previous"


def observe_nginx(project: Project, desired: Desired, containers: list[LiveContainer]) -> LiveNginx:
    proxy = next(
        (
            c
            for c in containers
            if c.project == desired.shared_project and c.service == desired.proxy.name
        ),
        None,
    )
    path = live_config_path(project)
    fields: dict[str, Any] = {
        "running": bool(proxy and proxy.running),
        "container_id": proxy.id if proxy else None,
        "config_path": str(path),
    }
    if proxy is not None and proxy.adopted is not None:  # the user's own nginx, taken over
        fields["adopted"] = proxy.adopted
        found = adopted_config(project, proxy)
        if found is None:
            fields["parse_error"] = (
                f"{proxy.adopted} mounts neither proxy.base nor {MAIN_CONFIG}: specctl cannot "
                "find the config it loads"
            )
            return LiveNginx(**fields)
        path = found
        fields["config_path"] = str(path)
    if not path.is_file():
        return LiveNginx(**fields)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    fields.update(config_present=True, config_sha256=sha, maintenance=FLAG.encode() in data)
    marker = loaded_marker(project)
    loaded = marker.read_text(encoding="utf-8").strip() if marker.is_file() else sha
    previous = live_config_path(project).parent / PREVIOUS
    if (
        loaded != sha
        and previous.is_file()
        and hashlib.sha256(previous.read_bytes()).hexdigest() == loaded
    ):
        # A switch was killed between installing the new config and reloading nginx: what
        # serves is the previous config.
        fields["pending_reload"] = True
        path = previous
    names = [u.name for u in desired.upstreams]
    managed = {*names, *(n + SERVING for n in names), *(n + PREVIEW for n in names)}
    payload = crossplane.parse(str(path), single=True, catch_errors=True, comments=False)
    errors = [e for cfg in payload.get("config", []) for e in cfg.get("errors", [])]
    if payload.get("status") != "ok" and errors:
        first = errors[0]
        fields["parse_error"] = f"{path}:{first.get('line')}: {first.get('error')}"
    upstreams: dict[str, list[str]] = {}
    for cfg in payload.get("config", []):
        _collect_upstreams(cfg.get("parsed", []), managed, upstreams)
    previewed = {server_color(s) for n in names for s in upstreams.pop(n + PREVIEW, [])}
    fields["preview"] = previewed.pop() if len(previewed) == 1 else None
    fields["serving"] = {n: upstreams.pop(n + SERVING) for n in names if n + SERVING in upstreams}
    if proxy is not None and proxy.adopted is not None:
        missing = [n for n in names if n not in upstreams]
        if missing and "parse_error" not in fields:
            fields["parse_error"] = (
                f"{path} has no `upstream {missing[0]}` block: {proxy.adopted}, which holds "
                "the proxy's port, is not an nginx specctl can switch (stop it, or give its "
                "config the upstream blocks proxy.upstreams names)"
            )
        both = {color: project.desired(color) for color in COLORS}
        upstreams = {
            name: [translate(s, containers, both) for s in servers]
            for name, servers in upstreams.items()
        }
    fields["upstreams"] = upstreams
    return LiveNginx(**fields)


def adopted_config(project: Project, proxy: LiveContainer) -> Path | None:
    """The host file of the config a taken-over nginx loads (see compiler/adopt)."""
    found = config_mount(proxy, _base_path(project))
    return Path(found) if found else None


def _base_path(project: Project) -> str | None:
    """proxy.base on this host, symlinks resolved (as a mount source names it)."""
    base = project.spec.proxy.base
    return os.path.realpath(project.path(base)) if base else None


def _collect_upstreams(
    block: list[dict[str, Any]], managed: set[str], out: dict[str, list[str]]
) -> None:
    for directive in block:
        name = directive.get("directive")
        args = directive.get("args", [])
        if name == "upstream" and args and args[0] in managed:
            out[args[0]] = [
                d["args"][0] for d in directive.get("block", []) if d["directive"] == "server"
            ]
        elif "block" in directive and name != "stream":  # a stream upstream may share a name
            _collect_upstreams(directive["block"], managed, out)


def observe_path(
    project: Project, desired: DesiredPath, *, now: float, others: dict[str, Path] | None = None
) -> LivePath:
    """The managed path as it is, and the fixes `fix-permissions` would make to it: the plan and
    fix-permissions share one planner, so they cannot disagree."""
    real, planned = plan_path(project, desired, now=now, others=others)
    base: dict[str, Any] = {"address": desired.address, "path": desired.path}
    files = [
        _file(real / f["name"], want_hash="sha256" in f, name=f["name"]) for f in desired.files
    ]
    pending = [fix.line(desired.path) for fix in planned.fixes]
    try:
        st = real.stat()
    except FileNotFoundError:
        return LivePath(**base, files=files, pending=pending, problems=planned.problems)
    except OSError as exc:
        raise ObserveError(f"{desired.address}: cannot read {real} ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        kind = "directory"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    ops = [fix.op for fix in planned.fixes]
    return LivePath(
        **base,
        exists=True,
        kind=kind,
        uid=st.st_uid,
        gid=st.st_gid,
        mode=f"{stat.S_IMODE(st.st_mode):04o}",
        missing_subdirs=[s for s in desired.subdirs if not (real / s).is_dir()],
        files=files,
        nested_duplicate="move" in ops,
        stale_temp_files=ops.count("remove"),
        pending=pending,
        problems=planned.problems,
    )


def _file(path: Path, *, want_hash: bool, name: str) -> LiveFile:
    try:
        size = path.stat().st_size
    except OSError:
        return LiveFile(name=name)
    digest = None
    if want_hash:
        sha = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
        digest = sha.hexdigest()
    return LiveFile(name=name, exists=True, size=size, sha256=digest)
