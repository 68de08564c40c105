"""Checks of the host: free disk, available memory, free host ports and who holds a taken one,
ports published beyond loopback (side effects: statvfs, /proc, a bind attempt per port, Docker
listings)."""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from specctl.appliers.checks.base import (
    FAIL,
    WARN,
    Context,
    Finding,
    Outcome,
    human_size,
    plural,
    summarize,
)
from specctl.appliers.engine import api
from specctl.compiler.exposure import live_exposure
from specctl.schemas.desired import DesiredService
from specctl.schemas.errors import SpecctlError
from specctl.schemas.live import LiveContainer
from specctl.schemas.spec import COLORS
from specctl.schemas.units import size_bytes

LISTEN = "0A"  # the TCP state column of /proc/net/tcp


# --- disk and memory ------------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(ctx: Context) -> Outcome:
    spec = ctx.project.spec
    need = size_bytes(spec.checks.pre.min_disk)
    places = [("project root", ctx.project.root)]
    if spec.backups.enabled:
        places.append(("backups dir", ctx.project.path(spec.backups.dir)))
    findings: list[Finding] = []
    seen: set[int] = set()
    notes = []
    for label, path in places:
        where = _existing(path)
        device = where.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        free = shutil.disk_usage(where).free
        text = f"{human_size(free)} free for the {label} ({where})"
        notes.append(text)
        if free < need:
            findings.append((FAIL, f"{text}, below checks.pre.min_disk {spec.checks.pre.min_disk}"))
    return summarize(findings, "; ".join(notes) + f" (min {spec.checks.pre.min_disk})")


def mem_available(meminfo: str) -> int | None:
    """Bytes of MemAvailable in /proc/meminfo text, or None."""
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        if name == "MemAvailable":
            parts = rest.split()
            return int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return None


def check_memory(ctx: Context) -> Outcome:
    spec, desired = ctx.project.spec, ctx.desired
    available = mem_available(Path("/proc/meminfo").read_text(encoding="ascii"))
    if available is None:
        return WARN, "MemAvailable not found in /proc/meminfo, memory not checked"
    limited = [s for s in desired.services if s.resources.get("memory")]
    limits = sum(size_bytes(str(s.resources["memory"])) for s in limited)
    unlimited = len(desired.services) - len(limited)
    need = size_bytes(spec.checks.pre.min_memory)
    have = f"{human_size(available)} available"
    findings: list[Finding] = []
    if available < need:
        findings.append((FAIL, f"{have}, below checks.pre.min_memory {spec.checks.pre.min_memory}"))
    overlap = f"the memory limits of {desired.color} sum to {human_size(limits)}"
    if available < limits:
        findings.append((FAIL, f"{have}, but {overlap}, needed while both colours run"))
    note = f" ({plural(unlimited, 'service')} without a limit)" if unlimited else ""
    return summarize(findings, f"{have} ≥ {spec.checks.pre.min_memory} (min); {overlap}{note}")


# --- ports ----------------------------------------------------------------------------------------


def wanted_ports(ctx: Context) -> list[tuple[int, str]]:
    """(host port, owner address): the target colour's, plus those of shared services and the
    proxy whose containers are not running yet (running ones keep their ports)."""
    desired = ctx.desired
    out = [(s.host_port, s.address) for s in desired.services if s.host_port]
    for svc in desired.shared:
        if svc.host_port and not _running(ctx, svc):
            out.append((svc.host_port, svc.address))
    if not _running(ctx, desired.proxy):
        out += [(p.host, desired.proxy.address) for p in ctx.project.spec.proxy.ports]
    return sorted(set(out))


def _running(ctx: Context, svc: DesiredService) -> bool:
    try:
        return ctx.running(svc) is not None
    except SpecctlError:  # Docker down: test the port anyway; the docker check says why
        return False


def check_ports(ctx: Context) -> Outcome:
    ports = wanted_ports(ctx)
    if not ports:
        return summarize(_exposed(ctx), "no host ports to check")
    try:
        containers = ctx.host_containers()
    except Exception:  # Docker down: still test each port; the docker check says why
        containers = []
    findings: list[Finding] = []
    notes = []
    for port, owner in ports:
        holder = container_on_port(containers, port)
        if holder is not None:
            name, project = holder
            if project == ctx.project.spec.project:
                notes.append(f"{port} held by {name} (this project)")
            else:
                findings.append((FAIL, f"{port} ({owner}) is taken by container {name}"))
        elif port_free(port):
            notes.append(f"{port} free")
        elif (mine := _starting(ctx, owner, process := process_on_port(port))) is not None:
            # Docker publishes a port before the container counts as running (a start in
            # progress, say after a killed apply): the port is this service's own.
            notes.append(f"{port} held by {mine.name} ({mine.state}, this project)")
        else:
            findings.append((FAIL, f"{port} ({owner}) is taken by {process}"))
    findings += _exposed(ctx)
    return summarize(findings, "; ".join(notes))


def _starting(ctx: Context, address: str, holder: str) -> LiveContainer | None:
    """The container of this project's service at `address` that Docker is starting, when
    Docker's port proxy holds the port: a container that is not running yet, nor stopped."""
    if "docker-proxy" not in holder:
        return None
    try:
        containers = ctx.containers()
    except SpecctlError:
        return None
    if not _forwards_into_project(ctx, holder):
        # A stopped container's port held by a proxy we cannot tie to this project: not ours.
        containers = [c for c in containers if c.state not in ("exited", "dead")]
    if address == ctx.desired.proxy.address:
        scope, service = "shared", ctx.desired.proxy.name
    else:
        scope, _, service = address.partition(".service.")
    for container in containers:  # a leftover of a killed recreate counts: deploy removes it
        if container.service == service and (container.color or "shared") == scope:
            return container
    return None


def _forwards_into_project(ctx: Context, holder: str) -> bool:
    """Docker's port proxy holding the port forwards to an address inside one of this
    project's networks: a container of this project that Docker is (re)starting, even while
    it still counts as exited (its proxy starts before its state changes)."""
    pid = re.match(r"pid (\d+) ", holder)
    if pid is None:
        return False
    try:
        raw = Path(f"/proc/{pid.group(1)}/cmdline").read_bytes().split(b"\0")
        words = [part.decode("utf-8", "replace") for part in raw]
        address = ipaddress.ip_address(words[words.index("-container-ip") + 1])
        networks = api().networks()
    except Exception:  # unreadable /proc, odd arguments, the engine's errors: no proof
        return False
    prefix = f"{ctx.project.spec.project}-"
    for network in networks:
        if not str(network.get("Name", "")).startswith(prefix):
            continue
        for config in (network.get("IPAM") or {}).get("Config") or []:
            try:
                if address in ipaddress.ip_network(str(config.get("Subnet")), strict=False):
                    return True
            except ValueError:
                continue
    return False


def _exposed(ctx: Context) -> list[Finding]:
    """A warning per port this project's containers publish beyond loopback, the proxy aside."""
    try:
        containers = ctx.containers()
    except SpecctlError:  # Docker down: the docker check says why
        return []
    proxy = (ctx.desired.shared_project, ctx.desired.proxy.name)
    return [
        (WARN, f"{line} (reachable without nginx)")
        for line in live_exposure(containers, proxy=proxy)
    ] + _unknown(ctx, containers)


def _unknown(ctx: Context, containers: list[LiveContainer]) -> list[Finding]:
    """A warning per host port this project's containers publish that the spec does not (an
    old release's, a port added by hand): open on the host, and nobody planned it."""
    project = ctx.project
    spec_ports = {p.host for p in project.spec.proxy.ports}
    for color in COLORS:
        desired = project.desired(color)
        spec_ports |= {s.host_port for s in (*desired.services, *desired.shared) if s.host_port}
    out = []
    for c in containers:
        if not c.running or c.adopted is not None:
            continue
        for port in sorted({p.host for p in c.published} - spec_ports):
            out.append((WARN, f"{port} is published by {c.name} but not in the spec"))
    return out


def port_free(port: int) -> bool:
    """Whether 0.0.0.0:port can be bound now (the socket is closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def container_on_port(containers: list[dict[str, Any]], port: int) -> tuple[str, str] | None:
    """(name, specctl project or '') of a running container publishing `port`."""
    for row in containers:
        if any(p.get("PublicPort") == port for p in row.get("Ports") or []):
            names = row.get("Names") or ["?"]
            labels = row.get("Labels") or {}
            return names[0].lstrip("/"), labels.get("specctl.project", "")
    return None


def listening_inodes(table: str, port: int) -> set[int]:
    """Socket inodes listening on `port` in /proc/net/tcp or tcp6 text."""
    out = set()
    for line in table.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10 or parts[3] != LISTEN:
            continue
        if int(parts[1].rsplit(":", 1)[1], 16) == port:
            out.add(int(parts[9]))
    return out


def process_on_port(port: int) -> str:
    """`pid 123 (python3 -m http.server)`, or a hint when /proc does not tell."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            inodes |= listening_inodes(Path(table).read_text(encoding="ascii"), port)
        except OSError:
            continue
    owners = list(_socket_owners(inodes)) if inodes else []
    if not owners:
        return f"another process (not visible here, try `ss -ltnp 'sport = :{port}'`)"
    shown = ", ".join(f"pid {pid} ({command})" for pid, command in owners[:3])
    return shown + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")


def _socket_owners(inodes: set[int]) -> Iterator[tuple[int, str]]:
    links = {f"socket:[{inode}]" for inode in inodes}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry.name}/fd")
            if any(_readlink(f"/proc/{entry.name}/fd/{fd}") in links for fd in fds):
                yield int(entry.name), _command(int(entry.name))
        except OSError:  # the process ended, or its fds are not ours to read
            continue


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return text[:80] + ("…" if len(text) > 80 else "")
