"""Checks of files on the host: env files (and that only their owner can read them), the TLS
certificate and key, managed paths, required files such as ML weights (side effects: reads files;
never reports a secret's value)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from specctl.appliers.checks.base import FAIL, WARN, Context, Finding, Outcome, plural, summarize
from specctl.appliers.envfiles import key_path, read_env
from specctl.schemas.desired import DesiredPath
from specctl.schemas.units import size_bytes

DIR_KINDS = ("directory", "certificate")


def check_env_files(ctx: Context) -> Outcome:
    project, desired = ctx.project, ctx.desired
    findings: list[Finding] = []
    count = 0
    secret_files = {f"{project.spec.state_dir}/fingerprint.key": key_path(project)}
    for svc in (*desired.services, *desired.shared):
        for rel in svc.env_files:
            if not project.path(rel).is_file():
                findings.append((FAIL, f"{svc.address}: {rel} is missing"))
            secret_files[rel] = project.path(rel)
        values = read_env(project, svc)
        for name in svc.required_env:
            count += 1
            if name in svc.environment:
                continue
            if not (values.get(name) or ""):
                findings.append((FAIL, f"{svc.address}: {name} is missing or empty"))
    for rel, path in sorted(secret_files.items()):
        mode = open_mode(path)
        if mode is not None:
            problem = f"{rel}: holds secrets, but other users have access (mode {mode})"
            findings.append((WARN, f"{problem}; chmod 600 {rel}"))
    return summarize(findings, f"every required variable is set ({count} checked)")


def open_mode(path: Path) -> str | None:
    """The mode of a file that holds secrets, when group or others have any access to it."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:  # missing: reported above, or (the key) made 0600 when first needed
        return None
    return f"{mode:04o}" if mode & 0o077 else None


# --- TLS ------------------------------------------------------------------------------------------


def check_tls(ctx: Context) -> Outcome:
    tls = ctx.project.spec.proxy.tls
    if tls is None:
        return "pass", "no TLS configured"
    managed = next(p for p in ctx.desired.paths if p.name == tls.path)
    folder = ctx.project.path(managed.path)
    cert_path, key_path = folder / tls.certificate, folder / tls.key
    try:
        cert = _load_certificate(cert_path)
    except ValueError as exc:
        return FAIL, f"{managed.path}/{tls.certificate}: {exc}"
    try:
        key = _load_key(key_path)
    except ValueError as exc:
        return FAIL, f"{managed.path}/{tls.key}: {exc}"
    if _spki(cert.public_key()) != _spki(key.public_key()):
        return FAIL, f"{managed.path}/{tls.key} does not match {tls.certificate}"
    return certificate_dates(
        cert, now=datetime.now(UTC), warn_days=ctx.project.spec.checks.pre.cert_warn_days
    )


def certificate_dates(cert: x509.Certificate, *, now: datetime, warn_days: int) -> Outcome:
    subject = cert.subject.rfc4514_string() or "(no subject)"
    ends = cert.not_valid_after_utc
    left = ends - now
    when = ends.strftime("%Y-%m-%d %H:%M UTC")
    if cert.not_valid_before_utc > now:
        return FAIL, f"{subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if left.total_seconds() <= 0:
        return FAIL, f"{subject} expired on {when} ({-left.days} days ago)"
    if left.days < warn_days:
        return WARN, f"{subject} expires on {when}, in {left.days} days (warn at {warn_days})"
    return "pass", f"{subject} valid until {when} ({left.days} days), key matches"


def _load_certificate(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"not readable ({exc.strerror})") from None
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError("not a PEM certificate") from None
    return chain[0]  # the leaf comes first in a full chain


def _load_key(path: Path) -> PrivateKeyTypes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"not readable ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("the key is encrypted (nginx needs it unencrypted)") from None
    except ValueError:
        raise ValueError("not a PEM private key") from None
    return key


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- managed paths and required files -------------------------------------------------------------


def check_paths(ctx: Context) -> Outcome:
    findings: list[Finding] = []
    for managed in ctx.desired.paths:
        findings += _path_findings(ctx.project.path(managed.path), managed)
    count = plural(len(ctx.desired.paths), "managed path")
    return summarize(findings, f"{count} and their subdirs exist")


def _path_findings(path: Path, managed: DesiredPath) -> list[Finding]:
    where = f"{managed.address} ({managed.path})"
    if managed.kind not in DIR_KINDS:
        if not path.exists():
            return [(FAIL, f"{where}: missing {managed.kind} (specctl does not create it)")]
        return [] if path.is_file() else [(FAIL, f"{where}: not a file")]
    if not path.exists():
        return [(WARN, f"{where}: missing, will be created by fix-permissions")]
    if not path.is_dir():
        return [(FAIL, f"{where}: is a file, a directory is expected")]
    out: list[Finding] = []
    missing = []
    for sub in managed.subdirs:
        child = path / sub
        if child.exists() and not child.is_dir():
            out.append((FAIL, f"{where}: {sub} is a file, a directory is expected"))
        elif not child.exists():
            missing.append(sub)
    if missing:
        out.append(
            (WARN, f"{where}: subdirs {', '.join(missing)} missing, fix-permissions creates them")
        )
    if managed.color and (path / managed.color).is_dir():
        out.append((WARN, f"{where}: nested {managed.color}/ inside, fix-permissions merges it"))
    return out


def check_required_files(ctx: Context) -> Outcome:
    findings: list[Finding] = []
    count = 0
    for managed in ctx.desired.paths:
        for spec in managed.files:
            count += 1
            problem = file_problem(ctx.project.path(managed.path) / spec["name"], spec)
            if problem:
                findings.append((FAIL, f"{managed.path}/{spec['name']}: {problem}"))
    if not count:
        return "pass", "no required files declared"
    return summarize(findings, f"{plural(count, 'required file')} present and as declared")


def file_problem(path: Path, spec: dict[str, object]) -> str | None:
    """Why a required file is not acceptable, or None."""
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a regular file"
    size = path.stat().st_size
    if size == 0:
        return "empty"
    min_size = spec.get("min_size")
    if isinstance(min_size, str) and size < size_bytes(min_size):
        return f"{size} bytes, smaller than min_size {min_size}"
    expected = spec.get("sha256")
    if isinstance(expected, str):
        actual = sha256_of(path)
        if actual != expected:
            return f"sha256 {actual[:12]}… does not match the declared {expected[:12]}…"
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
