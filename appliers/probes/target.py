"""What every probe needs to know about the colour it checks, and how a probe reports a skip or
a failure (side effects: reads env files)."""

from __future__ import annotations

from dataclasses import dataclass

from specctl.appliers.envfiles import read_env
from specctl.appliers.nginx import proxy_host, public_url
from specctl.appliers.project import Project
from specctl.compiler.probe_rules import direct_url, looks_secret, proxy_url, safe_line
from specctl.schemas.desired import Desired, DesiredService
from specctl.schemas.spec import Probe


class Skipped(Exception):
    """The probe does not apply to this pass; it counts as passed, with the reason as detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Failed(Exception):
    """The probe ran and found something wrong; `detail` is safe to show and log."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Target:
    """One verification pass: a colour, checked directly or through nginx."""

    project: Project
    desired: Desired
    through_proxy: bool
    secrets: tuple[str, ...] = ()
    # When the deploy began (epoch seconds); None: since each container started.
    since: float | None = None

    @property
    def color(self) -> str:
        return self.desired.color

    @property
    def host(self) -> str | None:
        """The site name a request through nginx asks for (Host, and SNI over TLS)."""
        return proxy_host(self.project) if self.through_proxy else None

    @property
    def color_header(self) -> str:
        return self.project.spec.proxy.color_header

    def service(self, name: str) -> DesiredService:
        try:
            return self.desired.service(name)
        except KeyError:
            raise Failed(f"no service {name!r} in the spec") from None

    def environment(self, svc: DesiredService) -> dict[str, str | None]:
        """What the container sees: env-file values, overridden by the spec's `environment`."""
        return {**read_env(self.project, svc), **svc.environment}

    def http_url(self, probe: Probe) -> str:
        """nginx's public URL, or the service's host port; Skipped when there is neither."""
        if self.through_proxy:
            return proxy_url(public_url(self.project), probe.path)
        if probe.service is None:
            raise Skipped("no service named; checked through nginx")
        svc = self.service(probe.service)
        if not svc.host_port:
            raise Skipped("no host port; checked through nginx")
        return direct_url(svc.host_port, probe.path, ip=svc.host_ip)

    def host_port(self, svc: DesiredService) -> int:
        """For stores reached only from the host: no host port means nothing to connect to."""
        if not svc.host_port:
            raise Skipped(f"{svc.address} has no host port; not reachable from the host")
        return svc.host_port

    def safe(self, text: str) -> str:
        return safe_line(text, self.secrets)

    def error(self, where: str, exc: BaseException) -> Failed:
        """A failure from an exception: its type and first line, secrets hidden."""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return Failed(self.safe(f"{where}: {text}"))


def collect_secrets(project: Project, desired: Desired) -> tuple[str, ...]:
    """Values that must never appear in a detail: every env-file value, and every environment
    value whose name looks secret, of every service of this colour and the shared ones."""
    values: set[str] = set()
    for svc in (*desired.services, *desired.shared):
        values.update(v for v in read_env(project, svc).values() if v)
        values.update(v for k, v in svc.environment.items() if v and looks_secret(k))
    return tuple(sorted(values))
