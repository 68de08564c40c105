"""The TLS check: every certificate nginx will load can be loaded inside the proxy container
(side effects: reads the certificate files).

Certificates come from the spec's `proxy.tls` and from the `ssl_certificate` lines of the base
config. Each must lie under the folder mounted into the proxy (`tls.target`), resolve there
(certbot's live/ files are symlinks into ../../archive/: a symlink that leaves the mounted folder
is a file nginx cannot open), parse, match its key and be within its dates."""

from __future__ import annotations

import os
import posixpath
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from specctl.appliers.checks.base import FAIL, WARN, Context, Finding, Outcome, summarize
from specctl.compiler.nginx_walk import certificate_pairs


def check_tls(ctx: Context) -> Outcome:
    tls = ctx.project.spec.proxy.tls
    if tls is None:
        return "pass", "no TLS configured"
    managed = next(p for p in ctx.desired.paths if p.name == tls.path)
    folder = ctx.project.path(managed.path)
    target = tls.target.rstrip("/") or "/"
    pairs = [(posixpath.join(target, tls.certificate), posixpath.join(target, tls.key))]
    base = ctx.project.inputs.base_nginx
    if base is not None:
        pairs += [p for p in certificate_pairs(base) if p not in pairs]
    findings: list[Finding] = []
    notes: list[str] = []
    now = datetime.now(UTC)
    for cert_in, key_in in pairs:
        try:
            cert_at, key_at = (on_host(p, target=target, folder=folder) for p in (cert_in, key_in))
            shown_cert, shown_key = (shown(p, target, managed.path) for p in (cert_in, key_in))
            cert = _load_certificate(cert_at, shown_cert)
            key = _load_key(key_at, shown_key)
        except ValueError as exc:
            findings.append((FAIL, str(exc)))
            continue
        if _spki(cert.public_key()) != _spki(key.public_key()):
            findings.append((FAIL, f"{shown_key} does not match {shown_cert}"))
            continue
        status, detail = certificate_dates(
            cert, now=now, warn_days=ctx.project.spec.checks.pre.cert_warn_days
        )
        if status == "pass":
            notes.append(f"{shown_cert}: {detail}")
        else:
            findings.append((status, f"{shown_cert}: {detail}"))
    return summarize(findings, "; ".join(notes))


def shown(inside: str, target: str, managed: str) -> str:
    """A path as the spec names it: the managed path plus the part below the mount point."""
    rel = posixpath.relpath(posixpath.normpath(inside), target)
    return posixpath.join(managed, rel)


def on_host(inside: str, *, target: str, folder: Path) -> Path:
    """The host file behind a path nginx opens in the container; ValueError when the file is
    not mounted, is missing, or is a symlink that leaves the mounted folder."""
    if "$" in inside:
        raise ValueError(f"{inside}: a path with variables cannot be checked before a request")
    rel = posixpath.relpath(posixpath.normpath(inside), target)
    if rel == ".." or rel.startswith("../"):
        raise ValueError(
            f"{inside} is not under {target}, the folder mounted from the host (proxy.tls.target)"
        )
    path = folder / rel
    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    if real != root and root not in real.parents:
        raise ValueError(
            f"{inside} is a symlink to {real}, outside {folder} (mounted at {target}): nginx "
            "in the container cannot open it; mount the folder that holds both (for certbot, "
            "/etc/letsencrypt)"
        )
    if not real.is_file():
        raise ValueError(f"{inside} ({path} on the host) does not exist")
    return real


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


def _load_certificate(path: Path, shown: str) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{shown}: not readable ({exc.strerror})") from None
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{shown}: not a PEM certificate") from None
    return chain[0]  # the leaf comes first in a full chain


def _load_key(path: Path, shown: str) -> PrivateKeyTypes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{shown}: not readable ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(f"{shown}: the key is encrypted (nginx needs it unencrypted)") from None
    except ValueError:
        raise ValueError(f"{shown}: not a PEM private key") from None
    return key


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
