"""Legacy bash deployment.config -> a commented spec and the list of what was not mapped; pure."""

from __future__ import annotations

import io
import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from dotenv import dotenv_values

from specctl.compiler.load import load_spec
from specctl.importers.bash_config import BashConfig, Note, parse_bash_config
from specctl.importers.commented_yaml import N, render
from specctl.schemas.errors import SpecError
from specctl.schemas.spec import COLORS
from specctl.schemas.units import parse_size

SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|API_KEY|WEBHOOK|CREDENTIAL|PRIVATE|_KEY$|^KEY$", re.I
)
_NOT_SECRET = ("_FILE", "_DIR", "_PATH", "_ENV_VAR")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SERVER = re.compile(r"server\s+(blue|green)-([A-Za-z0-9_.-]+):(\d+)")
# The legacy nginx.prod.conf names its upstream blocks after the service, except this one.
_UPSTREAM_NAMES = {"ML": "ml_service"}
_SERVICE_ALIASES = {"DB": "postgres", "DATABASE": "postgres", "POSTGRES": "postgres"}
_STOCK = {
    "postgres": ("postgres:15-alpine", 5432, "/var/lib/postgresql/data"),
    "redis": ("redis:7-alpine", 6379, "/data"),
    "mailhog": ("mailhog/mailhog:v1.0.1", 8025, None),
}
MIGRATE = ["npx", "prisma", "migrate", "deploy"]

_PROXY = "specctl runs one shared proxy (proxy.ports) instead of an nginx per colour"
_MONITORING = (
    "specctl runs no Prometheus or Grafana: point yours at node_exporter's textfile collector "
    "(metrics.textfile) and import docs/grafana/specctl.json"
)
_LB = "for an external load balancer; give services a healthcheck (http: /health) instead"
_APP = "an application setting; it belongs in the env files"
_STRATEGY = "specctl always deploys blue/green and rolls back by switching traffic back"
_REASONS: tuple[tuple[str, str], ...] = (
    ("LOCAL_PORTS_START", "there is no local colour; specctl deploys blue and green"),
    (r"(BLUE|GREEN)_MAILHOG_SMTP", "a service publishes one host port; this one stays internal"),
    (r"(BLUE|GREEN)_NGINX_HTTPS?", _PROXY),
    (r".*_COMPOSE_FILE", "specctl generates the compose files (specctl compile)"),
    (r"NGINX_(BLUE|GREEN)_CONFIG", "specctl generates the nginx config of each colour"),
    ("NGINX_PROD_CONFIG", "not used: to keep it, copy it beside the spec and set proxy.base"),
    ("PRODUCTION_URL", "follows from domain"),
    (r"(BLUE|GREEN)_SERVICES", "specctl names the containers itself ({color}-{service})"),
    (r"(BLUE|GREEN)_NETWORK", "specctl names the networks itself"),
    (r"SMTP_.*|FROM_EMAIL", _APP),
    (r"ADMIN_EMAIL|SLACK_.*|.*WEBHOOK.*", "no alert channel for it (notify.channels)"),
    ("ENABLE_GPU_SUPPORT", "GPU access is Compose configuration: use the service's compose key"),
    (r"PROMETHEUS_.*|GRAFANA_.*", _MONITORING),
    (r"ENABLE_MONITORING|ENABLE_METRICS", "off: no metrics.textfile"),
    ("DRY_RUN", "`specctl plan` shows what apply would do"),
    (r"SKIP_(HEALTH_CHECKS|BACKUPS)|VERBOSE_LOGGING", "a switch for one run, not configuration"),
    (
        "VALIDATION_CHECKS",
        "pre-deployment checks are built in; name those to skip in checks.pre.skip",
    ),
    ("VERIFICATION_TESTS", "declare post-deployment probes under checks.post"),
    ("MAX_CPU_USAGE_PERCENT", "checks.pre has no CPU threshold"),
    ("ENABLE_RATE_LIMITING", "rate limits belong in the nginx config (proxy.base)"),
    ("SUCCESS_INDICATORS", "success is judged by health checks and probes, not by log lines"),
    (r"DEPLOYMENT_STRATEGY|ROLLBACK_STRATEGY|CANARY_.*", _STRATEGY),
    (r"LB_HEALTH_CHECK_.*", _LB),
    (r"ENABLE_.*|SESSION_TIMEOUT", _APP),
)


# The paths the old nginx.prod.conf routed to each upstream, most specific first.
def letsencrypt_tree(cert_dir: str) -> tuple[str, str] | None:
    """`/etc/letsencrypt/live/example.org` -> (`/etc/letsencrypt`, `example.org`), else None."""
    head, domain = posixpath.split(cert_dir.rstrip("/"))
    root, live = posixpath.split(head)
    return (root, domain) if live == "live" and domain else None


_ROUTES = (
    ("/api/ml/", "ml_service", False),
    ("/socket.io/", "backend", True),
    ("/uploads/", "backend", False),
    ("/api/", "backend", False),
    ("/", "frontend", False),
)
# The old nginx.prod.conf rewrote /api/ml/X to /api/v1/X for the ML service.
_UPSTREAM_PATHS = {"/api/ml/": "/api/v1/"}


@dataclass(frozen=True)
class ImportResult:
    yaml: str  # the spec, commented with where each value came from
    unmapped: list[str]  # `<where>: <NAME>: <why it was not mapped>`; never a value
    mapped: list[str]  # names of the variables the spec was built from
    problems: list[str]  # why the spec does not validate (empty when it does)


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith(_NOT_SECRET)


def color_template(blue: str | None, green: str | None) -> tuple[str | None, bool]:
    """One `{color}` template for both values if they fit it, else the best guess and False."""
    guesses = [_templated(v, c) for v, c in ((blue, "blue"), (green, "green")) if v is not None]
    guess = next((g for g in guesses if "{color}" in g), None)
    if guess is not None:
        fits = all(v == guess.replace("{color}", c) for v, c in ((blue, "blue"), (green, "green")))
        return guess, fits
    if blue is not None and blue == green:
        return blue, True
    return (blue if blue is not None else green), False


def _templated(value: str, color: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9]){color}(?![A-Za-z0-9])", "{color}", value)


def import_legacy(
    config_text: str,
    *,
    source_name: str,
    env_texts: dict[str, str],
    root: str = ".",
    output_name: str = "spec.yaml",
) -> ImportResult:
    """Map what a legacy config says onto a spec; `env_texts` contribute variable names only."""
    parsed = parse_bash_config(config_text)
    env_names = {
        name: [k for k in dotenv_values(stream=io.StringIO(text), interpolate=False)]
        for name, text in sorted(env_texts.items())
    }
    mapper = _Mapper(parsed, source_name, env_names)
    tree = mapper.build(root)
    unmapped = mapper.unmapped()
    header = [
        f"Imported by `specctl import` from {source_name}. Review it: each value says where it "
        "came from; secrets are never copied. What could not be mapped is listed at the end."
    ]
    prefix = re.compile(rf"{re.escape(source_name)}:(\d+)(-\d+)?:")
    footer = [
        prefix.sub(lambda m: f"line{'s' if m[2] else ''} {m[1]}{m[2] or ''}:", line, count=1)
        for line in unmapped
    ]
    text = render(
        tree, header=header, footer=["Not imported (line numbers in the config):", *footer]
    )
    problems: list[str] = []
    try:
        load_spec(text, filename=output_name)
    except SpecError as exc:
        problems = [p.render() for p in exc.problems]
    return ImportResult(text, unmapped, sorted(mapper.used), problems)


class _Mapper:
    def __init__(self, parsed: BashConfig, source: str, env_names: dict[str, list[str]]) -> None:
        self.parsed, self.source, self.env_names = parsed, source, env_names
        self.used: set[str] = set()
        self.reports: list[tuple[int, str]] = []  # (line, text), sorted by line at the end
        self.reported: set[str] = set()
        self.env_notes: list[str] = []
        self.project_name = "app"
        self.service_names: list[str] = []
        self.upstreams: dict[str, str] = {}
        self.backend: str | None = None
        self.db_name: N | None = None
        self.env_file_node: N | None = None

    # Reading variables ------------------------------------------------------------------------

    def secret(self, name: str) -> bool:
        refs = self.parsed.refs.get(name, frozenset())
        return looks_secret(name) or any(looks_secret(ref) for ref in refs)

    def peek(self, name: str) -> str | None:
        """The value, unless it is a secret, empty, or only a running shell could work it out."""
        value = self.parsed.variables.get(name)
        if value is None or self.secret(name) or name in self.parsed.unresolved:
            return None
        text = " ".join(value) if isinstance(value, list) else value
        return text if text.strip() else None

    def get(self, name: str) -> str | None:
        value = self.peek(name)
        if value is not None:
            self.used.add(name)
        return value

    def words(self, name: str) -> list[str]:
        value = self.parsed.variables.get(name)
        if value is None or self.get(name) is None:
            return []
        return list(value) if isinstance(value, list) else value.split()

    def number(self, name: str) -> int | None:
        text = self.peek(name)
        if text is None:
            return None
        if not text.isdigit():
            self.report(name, f"not a whole number ({text!r}); left at the spec default")
            return None
        self.used.add(name)
        return int(text)

    def flag(self, name: str) -> bool | None:
        text = self.peek(name)
        if text is None:
            return None
        if text.lower() not in {"true", "false", "yes", "no", "1", "0"}:
            self.report(name, f"not true or false ({text!r}); ignored")
            return None
        self.used.add(name)
        return text.lower() in {"true", "yes", "1"}

    def src(self, *names: str) -> str:
        """`from A=1, B="x y"` for the variables given that exist."""
        parts = [f"{n}={_shell(self.peek(n) or '')}" for n in names if self.peek(n) is not None]
        return "from " + ", ".join(parts)

    def report(self, name: str, reason: str) -> None:
        self.used.discard(name)
        if name not in self.reported:
            self.reported.add(name)
            line = self.parsed.lines.get(name, 0)
            self.reports.append((line, f"{self.source}:{line}: {name}: {reason}"))

    def unmapped(self) -> list[str]:
        for name in self.parsed.variables:
            if name in self.used or name in self.reported:
                continue
            reason = next((r for pat, r in _REASONS if re.fullmatch(pat, name)), None)
            if name in self.parsed.unresolved:
                reason = "its value needs a running shell (see the notes); set it by hand"
            elif not self.secret(name) and not str(self.parsed.variables[name]).strip():
                reason = "empty" + (f"; {reason}" if reason else "")
            if self.secret(name):
                refs = sorted(r for r in self.parsed.refs.get(name, ()) if looks_secret(r))
                what = "looks like" if looks_secret(name) else f"uses {', '.join(refs)}, so is"
                reason = f"{what} a secret, never copied into the spec" + (
                    f"; {reason}" if reason else ""
                )
            self.report(name, reason or "no spec field for it")
        notes = [(n.line, f"{self.source}:{_where(n)}: {n.message}") for n in _merged(self.parsed)]
        ordered = sorted(self.reports + notes, key=lambda pair: pair[0])
        return [text for _, text in ordered] + self.env_notes

    # Building the spec ------------------------------------------------------------------------

    def build(self, root: str) -> dict[str, Any]:
        tree: dict[str, Any] = {"version": 1, "project": self.project()}
        self.project_name = tree["project"].value
        domain = self.get("PRODUCTION_DOMAIN")
        if domain:
            tree["domain"] = N(domain, self.src("PRODUCTION_DOMAIN"))
        tree["root"] = N(root, "the project root, relative to this file; paths below are in it")
        colors = self.colors()
        if colors:
            tree["colors"] = colors
        owner = {
            k: N(v, self.src(n))
            for k, n in (("uid", "DOCKER_UID"), ("gid", "DOCKER_GID"))
            if (v := self.number(n)) is not None
        }
        if owner:
            tree["owner"] = owner
        tree["services"] = self.services()
        for key, section in (
            ("paths", self.paths()),
            ("volumes", self.volumes()),
            ("proxy", self.proxy(tree["services"])),
            ("deploy", self.deploy()),
            ("checks", self.checks()),
            ("backups", self.backups(tree["services"])),
            ("hooks", self.hooks(tree["services"])),
            ("logs", self.logs()),
            ("notify", self.notify()),
            ("metrics", self.metrics()),
        ):
            if section:
                tree[key] = section
        return tree

    def project(self) -> N:
        blue, green = self.peek("BLUE_NETWORK"), self.peek("GREEN_NETWORK")
        template, fits = color_template(blue, green)
        if template and "{color}" in template:
            names = ["BLUE_NETWORK", "GREEN_NETWORK"] if fits else ["BLUE_NETWORK"]
            name = re.sub(r"[-_.]?\{color\}[-_.]?", "", template, count=1)
        elif self.peek("DB_USER"):
            names, name = ["DB_USER"], self.peek("DB_USER") or ""
        else:
            names, name = [], ""
        slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:40] or "app"
        if not names:
            return N(slug, "no BLUE_NETWORK or DB_USER to name the project after: rename it")
        for used in names:
            self.get(used)
        return N(slug, self.src(*names))

    def colors(self) -> dict[str, Any]:
        out = {}
        for color in COLORS:
            name = f"{color.upper()}_PORTS_START"
            base = self.number(name)
            if base is not None:
                out[color] = {"port_base": N(base, self.src(name))}
        return out

    def bases(self) -> dict[str, int]:
        found = {c: self.number(f"{c.upper()}_PORTS_START") for c in COLORS}
        return {c: b for c, b in found.items() if b is not None}

    # Services ---------------------------------------------------------------------------------

    def services(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.env_file_node = self.env_files()
        names: dict[str, str] = {}
        for key in self.app_keys():
            name, service = self.app_service(key)
            names[key] = name
            out[name] = service
        for name in ("postgres", "redis", "mailhog"):
            stock = self.stock_service(name)
            if stock and name not in out:
                out[name] = stock
        for name, (value, var) in self.memory_limits(names, out).items():
            out[name].setdefault("resources", {})["memory"] = N(value, self.src(var))
        self.service_names = list(out)
        return out

    def app_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for name in self.parsed.variables:
            match = re.fullmatch(r"(?:BLUE|GREEN)_([A-Z0-9_]+)_PORT", name) or re.fullmatch(
                r"NGINX_([A-Z0-9_]+)_UPSTREAM_(?:BLUE|GREEN)", name
            )
            if match and match.group(1).lower() not in _STOCK:
                keys[match.group(1)] = None
        return list(keys)

    def app_service(self, key: str) -> tuple[str, dict[str, Any]]:
        upstream = self.upstream(key)
        name = _service_name(upstream[1] if upstream else key)
        service: dict[str, Any] = {
            "image": N(f"{self.project_name}/{name}:latest", "a placeholder: no image is named")
        }
        if upstream:
            var, _, port = upstream
            service["port"] = N(port, self.src(var))
            self.upstreams[_UPSTREAM_NAMES.get(key, key.lower())] = name
        host = self.host_port(f"BLUE_{key}_PORT", f"GREEN_{key}_PORT")
        if host is not None and upstream:
            service["host_port"] = host
        elif host is not None:
            for color in COLORS:
                self.report(
                    f"{color.upper()}_{key}_PORT",
                    f"no NGINX_{key}_UPSTREAM_* gives "
                    "the container port it publishes; set port and host_port by hand",
                )
        if key == "BACKEND":
            self.backend = name
            service.update(self.backend_env())
        return name, service

    def upstream(self, key: str) -> tuple[str, str, int] | None:
        found: list[tuple[str, str, int]] = []
        for color in COLORS:
            var = f"NGINX_{key}_UPSTREAM_{color.upper()}"
            text = self.peek(var)
            match = _SERVER.search(text or "")
            if text is None:
                continue
            if not match or match.group(1) != color:
                self.report(var, f"not a `server {color}-<service>:<port>;` line; ignored")
            elif found and found[0][1:] != (match.group(2), int(match.group(3))):
                self.report(var, f"differs from {found[0][0]}, which was used")
            else:
                self.get(var)
                found.append((var, match.group(2), int(match.group(3))))
        return found[0] if found else None

    def host_port(self, blue_var: str, green_var: str) -> N | None:
        ports = {"blue": self.number(blue_var), "green": self.number(green_var)}
        blue, green = ports["blue"], ports["green"]
        if blue is None or green is None:
            for color, var in (("blue", blue_var), ("green", green_var)):
                if ports[color] is not None:
                    self.report(var, "the other colour has no such port; give host_port both")
            return None
        bases = self.bases()
        source = self.src(blue_var, green_var)
        if len(bases) == 2 and blue - bases["blue"] == green - bases["green"] >= 0:
            return N({"offset": blue - bases["blue"]}, f"{source}, minus the port bases")
        return N({"blue": blue, "green": green}, f"{source} (not one offset from the bases)")

    def stock_service(self, name: str) -> dict[str, Any] | None:
        upper = "DB" if name == "postgres" else name.upper()
        signs = [f"{c}_{name.upper()}_{s}" for c in ("BLUE", "GREEN") for s in ("VOLUME", "WEB")]
        signs += ["DB_USER", "BLUE_DB_NAME", "GREEN_DB_NAME"] if name == "postgres" else []
        signs.append(f"{upper}_MEMORY_LIMIT")
        if not any(self.peek(sign) is not None for sign in signs):
            return None
        image, port, target = _STOCK[name]
        service: dict[str, Any] = {"image": N(image, "a default: no image is named")}
        service["port"] = port
        host = self.host_port(f"BLUE_{name.upper()}_WEB", f"GREEN_{name.upper()}_WEB")
        if host is not None:
            service["host_port"] = host
        if name == "postgres":
            service.update(self.postgres_env())
        if target is not None:
            service["volumes"] = [{"volume": name, "target": target}]
        return service

    def memory_limits(
        self, keys: dict[str, str], services: dict[str, Any]
    ) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for var in self.parsed.variables:
            match = re.fullmatch(r"([A-Z0-9_]+)_MEMORY_LIMIT", var)
            if not match or (value := self.peek(var)) is None:
                continue
            prefix = match.group(1)
            name = _SERVICE_ALIASES.get(prefix) or keys.get(prefix) or prefix.lower()
            try:
                parse_size(value)
            except ValueError:
                self.report(var, f"not a size such as 512M or 2G ({value!r})")
                continue
            if name not in services:
                self.report(var, f"no service {name!r} to limit")
                continue
            self.get(var)
            out[name] = (value, var)
        return out

    def env_files(self) -> N | None:
        files = {c: self.path_of(f"{c.upper()}_ENV_FILE") for c in COLORS}
        if all(f is None for f in files.values()):
            return None
        template, fits = color_template(files["blue"], files["green"])
        pattern = template if template and (fits or "{color}" in template) else ".env.{color}"
        for color, found in files.items():
            var = f"{color.upper()}_ENV_FILE"
            wanted = pattern.replace("{color}", color)
            if found is not None and found != wanted:
                self.report(
                    var,
                    f"does not fit env_files {pattern!r}: rename it to {wanted}, or keep it with "
                    f"per_color: {{{color}: {{env_files: [{found}]}}}} on each service",
                )
            elif found is not None:
                self.get(var)
        return N([pattern], self.src("BLUE_ENV_FILE", "GREEN_ENV_FILE"))

    def backend_env(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.env_file_node is not None:
            out["env_files"] = self.env_file_node
        wanted = self.words("REQUIRED_ENV_VARS") + self.words("DB_PASSWORD_ENV_VAR")
        items = [N(n) for n in dict.fromkeys(wanted) if self.env_name(n, "REQUIRED_ENV_VARS")]
        common = self.common_env_names()
        items += [N(n, "in every --env-file") for n in common if n not in wanted]
        if items:
            source = self.src("REQUIRED_ENV_VARS", "DB_PASSWORD_ENV_VAR")
            out["required_env"] = N(items, source if wanted else None)
        return out

    def env_name(self, name: str, var: str) -> bool:
        if _ENV_NAME.fullmatch(name):
            return True
        self.report(var, f"{name!r} is not a variable name; left out")
        return False

    def common_env_names(self) -> list[str]:
        """Names set in every --env-file; each name missing from some file is noted."""
        files = self.env_names
        seen = [n for names in files.values() for n in names if _ENV_NAME.fullmatch(n)]
        required = self.words("REQUIRED_ENV_VARS")
        for name in dict.fromkeys([*seen, *required]):
            having = [f for f, names in files.items() if name in names]
            why = "required by REQUIRED_ENV_VARS but missing" if name in required else "missing"
            where = f"; set in {', '.join(having)}" if having else ""
            self.env_notes += [f"{f}: {name}: {why} here{where}" for f in files if f not in having]
        return [n for n in dict.fromkeys(seen) if all(n in names for names in files.values())]

    def postgres_env(self) -> dict[str, Any]:
        environment: dict[str, Any] = {}
        user = self.get("DB_USER")
        if user:
            environment["POSTGRES_USER"] = N(user, self.src("DB_USER"))
        self.db_name = self.color_value("BLUE_DB_NAME", "GREEN_DB_NAME", "database names")
        if self.db_name:
            environment["POSTGRES_DB"] = self.db_name
        out: dict[str, Any] = {}
        if self.env_file_node is not None:
            out["env_files"] = self.env_file_node.value
            out["required_env"] = N(
                ["POSTGRES_PASSWORD"],
                lead="the image reads its password from POSTGRES_PASSWORD: set it in each env file",
            )
        if environment:
            out["environment"] = environment
        return out

    def color_value(self, blue_var: str, green_var: str, what: str) -> N | None:
        """A `{color}` template from a blue and a green value; a misfit keeps blue's, reported."""
        template, fits = color_template(self.peek(blue_var), self.peek(green_var))
        if template is None or "{color}" not in template:
            for var in (blue_var, green_var):
                if self.peek(var) is not None:
                    self.report(
                        var, f"the {what} share no {{color}} pattern; specctl's default used"
                    )
            return None
        if fits:
            self.get(blue_var), self.get(green_var)
            return N(template, self.src(blue_var, green_var))
        self.get(blue_var)
        green = template.replace("{color}", "green")
        self.report(
            green_var,
            f"does not fit {template!r} ({blue_var}); green's will be "
            f"{green}: rename it or move its data",
        )
        return N(template, self.src(blue_var) + f"; {green_var} does not fit (see the end)")

    # Paths, volumes, proxy --------------------------------------------------------------------

    def path_of(self, var: str) -> str | None:
        """A path variable, relative to the project root (`./a/b` -> `a/b`); absolute kept."""
        value = self.peek(var)
        if value is None or not value.strip():
            return None
        path = posixpath.normpath(value.strip())
        if path == ".." or path.startswith("../"):
            self.report(var, "points outside the project root; left out")
            return None
        return path

    def paths(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        uploads = self.uploads()
        if uploads:
            out["uploads"] = uploads
        weights = self.path_of("ML_WEIGHTS_DIR")
        files = [{"name": f} for f in self.words("REQUIRED_ML_FILES")] if weights else []
        if weights:
            out["ml_weights"] = {"path": N(weights, self.src("ML_WEIGHTS_DIR"))}
            self.get("ML_WEIGHTS_DIR")
        if files:
            out["ml_weights"]["files"] = N(files, self.src("REQUIRED_ML_FILES"))
        certs = self.path_of("SSL_CERT_DIR") if self.ssl() else None
        if certs:
            self.get("SSL_CERT_DIR")
            tree = letsencrypt_tree(certs)
            out["certs"] = {
                "path": N(
                    tree[0] if tree else certs,
                    self.src("SSL_CERT_DIR")
                    + ("; the whole tree: live/ files are symlinks into archive/" if tree else ""),
                ),
                "kind": "certificate",
                "uid": N(0, "certificates stay root's, not the owner's"),
                "gid": 0,
            }
        return out

    def ssl(self) -> bool:
        return self.flag("ENABLE_SSL") is not False and self.peek("SSL_CERT_DIR") is not None

    def uploads(self) -> dict[str, Any] | None:
        blue, green = self.path_of("BLUE_UPLOAD_DIR"), self.path_of("GREEN_UPLOAD_DIR")
        base = self.path_of("UPLOAD_BASE_DIR")
        template, fits = color_template(blue, green)
        from_base = f"{base}/{{color}}" if base else None
        if not (fits and template and "{color}" in template):
            template = from_base
        if template is None:
            return None
        for var, value in (("BLUE_UPLOAD_DIR", blue), ("GREEN_UPLOAD_DIR", green)):
            color = var.split("_", 1)[0].lower()
            if value is not None and value != template.replace("{color}", color):
                self.report(var, f"does not fit {template!r}; that pattern was used")
        for var in ("UPLOAD_BASE_DIR", "BLUE_UPLOAD_DIR", "GREEN_UPLOAD_DIR"):
            if var not in self.reported and self.peek(var) is not None:
                self.get(var)
        source = self.src("UPLOAD_BASE_DIR", "BLUE_UPLOAD_DIR", "GREEN_UPLOAD_DIR")
        out: dict[str, Any] = {"path": N(template, source)}
        subdirs = self.words("UPLOAD_SUBDIRS")
        if subdirs:
            out["subdirs"] = N(subdirs, self.src("UPLOAD_SUBDIRS"))
        return out

    def volumes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("postgres", "redis"):
            if key in self.service_names:
                name = self.color_value(
                    f"BLUE_{key.upper()}_VOLUME", f"GREEN_{key.upper()}_VOLUME", "volume names"
                )
                out[key] = {"name": name} if name else {}
        return out

    def proxy(self, services: dict[str, Any]) -> dict[str, Any]:
        ports: list[Any] = [{"host": 80, "container": 80}]
        out: dict[str, Any] = {
            "image": N("nginx:1.25-alpine", "a default: no proxy image is named"),
            "ports": ports,
            "upstreams": self.upstreams,
        }
        known = {name for _, name, _ in _ROUTES}
        table = [*_ROUTES, *((f"/{n}/", n, False) for n in self.upstreams if n not in known)]
        routes = [
            {
                "path": path,
                "upstream": name,
                **({"upstream_path": _UPSTREAM_PATHS[path]} if path in _UPSTREAM_PATHS else {}),
                **({"websocket": True} if ws else {}),
            }
            for path, name, ws in table
            if name in self.upstreams
        ]
        limit = self.get("MAX_UPLOAD_SIZE")
        for route in routes:
            if route["path"] == "/api/" and limit:
                route["max_body"] = N(limit, self.src("MAX_UPLOAD_SIZE"))
        if routes:
            out["locations"] = N(
                routes,
                lead="The legacy config does not say which paths go to which upstream: these are "
                "the routes of the old nginx.prod.conf. Check them, or copy your nginx.prod.conf "
                "(NGINX_PROD_CONFIG) beside this file, set proxy.base to it and drop locations.",
            )
        if self.ssl() and "SSL_CERT_DIR" in self.used:
            ports.append(N({"host": 443, "container": 443}, self.src("ENABLE_SSL")))
            tls: dict[str, Any] = {"path": "certs"}
            tree = letsencrypt_tree(self.path_of("SSL_CERT_DIR") or "")
            if tree:
                tls["target"] = tree[0]
            defaults = {"certificate": "fullchain.pem", "key": "privkey.pem"}
            for key, var in (("certificate", "SSL_CERT_FILE"), ("key", "SSL_KEY_FILE")):
                value = self.get(var)
                if tree:
                    tls[key] = N(f"live/{tree[1]}/{value or defaults[key]}", self.src(var))
                elif value is not None:
                    tls[key] = N(value, self.src(var))
            out["tls"] = tls
        return out

    # Settings ---------------------------------------------------------------------------------

    def unit(self, var: str, unit: str) -> N | None:
        number = self.number(var)
        return None if number is None else N(f"{number}{unit}", self.src(var))

    def settings(self, table: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
        found = {key: self.unit(var, unit) for key, var, unit in table}
        return {key: value for key, value in found.items() if value is not None}

    def deploy(self) -> dict[str, Any]:
        out = self.settings(
            (
                ("start_timeout", "SERVICE_START_TIMEOUT", "s"),
                ("health_timeout", "HEALTH_CHECK_TIMEOUT", "s"),
                ("health_retries", "HEALTH_CHECK_RETRIES", ""),
                ("health_interval", "HEALTH_CHECK_INTERVAL", "s"),
                ("rollback_timeout", "ROLLBACK_TIMEOUT", "s"),
            )
        )
        if "health_retries" in out:
            retries = int(out["health_retries"].value)
            out["health_retries"] = N(max(retries, 1), out["health_retries"].note)
        return out

    def checks(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pre = self.settings(
            (("min_disk", "MIN_DISK_SPACE_GB", "G"), ("min_memory", "MIN_MEMORY_MB", "M"))
        )
        if pre:
            out["pre"] = pre
        keywords = self.words("CRITICAL_ERROR_KEYWORDS")
        if keywords:
            out["critical_errors"] = N(keywords, self.src("CRITICAL_ERROR_KEYWORDS"))
        return out

    def backups(self, services: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        before = self.flag("BACKUP_BEFORE_MIGRATE")
        if before:
            out["enabled"] = N(True, self.src("BACKUP_BEFORE_MIGRATE") + "; before every deploy")
        elif before is False:
            self.report(
                "BACKUP_BEFORE_MIGRATE",
                "specctl backs up before every deploy unless backups.enabled is false",
            )
        backup_dir = self.path_of("BACKUP_DIR")
        if backup_dir and self.get("BACKUP_DIR"):
            out["dir"] = N(backup_dir, self.src("BACKUP_DIR"))
        out |= self.settings((("retention", "BACKUP_RETENTION_DAYS", "d"),))
        keep = self.number("MAX_BACKUPS_KEEP")
        if keep is not None and keep < 1:
            self.report("MAX_BACKUPS_KEEP", "must be at least 1; left at the spec default")
        elif keep is not None:
            out["keep"] = N(keep, self.src("MAX_BACKUPS_KEEP"))
        out |= self.settings((("timeout", "BACKUP_TIMEOUT", "s"),))
        if "postgres" in services:
            database: dict[str, Any] = {"service": "postgres"}
            if "DB_USER" in self.used:
                database["user"] = N(self.get("DB_USER"), self.src("DB_USER"))
            if self.db_name is not None:
                database["name"] = self.db_name
            database["password_env"] = "POSTGRES_PASSWORD"
            out["database"] = database
        return out

    def hooks(self, services: dict[str, Any]) -> dict[str, Any]:
        auto = self.flag("AUTO_MIGRATE")
        if not auto or self.backend is None:
            if auto:
                self.report("AUTO_MIGRATE", "no backend service to run migrations in")
            return {}
        migrate: dict[str, Any] = {
            "service": self.backend,
            "command": N(MIGRATE, "the old scripts ran Prisma; the config only says to migrate"),
        }
        migrate |= self.settings((("timeout", "DB_MIGRATION_TIMEOUT", "s"),))
        restore = self.flag("ROLLBACK_ON_MIGRATION_FAILURE")
        if restore is not None:
            migrate["restore_on_failure"] = N(restore, self.src("ROLLBACK_ON_MIGRATION_FAILURE"))
        return {"migrate": N(migrate, self.src("AUTO_MIGRATE"))}

    def logs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        log_dir = self.path_of("LOG_DIR")
        if log_dir and self.get("LOG_DIR"):
            out["dir"] = N(log_dir, self.src("LOG_DIR"))
        return out | self.settings((("retention", "LOG_RETENTION_DAYS", "d"),))

    def notify(self) -> dict[str, Any]:
        """ADMIN_EMAIL through the SMTP server the app uses, and SLACK_WEBHOOK_URL (a secret:
        only its name) when it is set: the alerts the old scripts promised."""
        channels: list[Any] = []
        admin = self.get("ADMIN_EMAIL")
        host, sender = self.peek("SMTP_HOST"), self.peek("FROM_EMAIL")
        if admin and host and sender:
            self.get("SMTP_HOST")
            self.get("FROM_EMAIL")
            channel: dict[str, Any] = {"kind": "email", "host": host}
            port = self.number("SMTP_PORT")
            if port is not None:
                channel["port"] = port
            channel |= {"sender": sender, "to": [admin]}
            channels.append(
                N(
                    channel,
                    lead=f"{self.src('ADMIN_EMAIL', 'SMTP_HOST', 'SMTP_PORT', 'FROM_EMAIL')}. "
                    "STARTTLS is asked for (security: none for a relay without it); a relay "
                    "that wants a login: user_env and password_env, from an env file in "
                    "notify.env_files.",
                )
            )
        elif admin:
            self.report("ADMIN_EMAIL", "no SMTP_HOST and FROM_EMAIL to send alerts through")
        hook = self.parsed.variables.get("SLACK_WEBHOOK_URL")
        if isinstance(hook, str) and hook.strip():
            self.used.add("SLACK_WEBHOOK_URL")
            channels.append(
                N(
                    {"kind": "slack", "url_env": "SLACK_WEBHOOK_URL"},
                    lead="from SLACK_WEBHOOK_URL (a secret, not copied): put it in "
                    "config/notify.env (chmod 600)",
                )
            )
        if not channels:
            return {}
        out: dict[str, Any] = {"channels": channels}
        if any(isinstance(c.value, dict) and c.value.get("kind") == "slack" for c in channels):
            out = {"env_files": ["config/notify.env"], **out}
        return out

    def metrics(self) -> dict[str, Any]:
        on = [n for n in ("ENABLE_MONITORING", "ENABLE_METRICS") if self.flag(n)]
        if not on:
            return {}
        return {
            "textfile": N(
                "/var/lib/prometheus/node-exporter/specctl.prom",
                f"{self.src(*on)}: node_exporter's textfile collector (Debian's folder)",
            )
        }


def _merged(parsed: BashConfig) -> list[Note]:
    """Runs of the same note on consecutive lines (a block of exports) become one note."""
    out: list[Note] = []
    for note in parsed.notes:
        last = out[-1] if out else None
        if last and last.message == note.message and (last.end_line or last.line) + 1 == note.line:
            out[-1] = Note(last.line, last.message, note.end_line or note.line)
        else:
            out.append(note)
    return out


def _where(note: Note) -> str:
    end = note.end_line
    return f"{note.line}-{end}" if end is not None and end != note.line else str(note.line)


def _service_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")
    return name if re.match(r"[a-z]", name) else f"s{name}"


def _shell(value: str) -> str:
    """A value as it would be written in the config, for a comment."""
    return value if re.fullmatch(r"[\w./:@%+,={}-]+", value) else json.dumps(value)
