"""Real certificates for tests, made with cryptography: a self-signed pair in one folder, or a
certbot-shaped tree as Let's Encrypt leaves it on a host (`archive/<domain>/*1.pem`, and in
`live/<domain>/` relative symlinks to them such as `../../archive/<domain>/fullchain1.pem`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def pair(
    domain: str, *, days_left: float = 80, key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[bytes, bytes, ec.EllipticCurvePrivateKey]:
    """(certificate PEM, key PEM, key) of a self-signed certificate for `domain`."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=days_left))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    secret = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), secret, key


def self_signed(
    folder: Path,
    domain: str,
    *,
    days_left: float = 80,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> ec.EllipticCurvePrivateKey:
    """folder/fullchain.pem and folder/privkey.pem; returns the key."""
    cert, secret, key = pair(domain, days_left=days_left, key=key)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fullchain.pem").write_bytes(cert)
    (folder / "privkey.pem").write_bytes(secret)
    return key


def certbot_tree(root: Path, domain: str, *, days_left: float = 80) -> Path:
    """The tree under `root` (as /etc/letsencrypt); returns `root`."""
    cert, secret, _ = pair(domain, days_left=days_left)
    archive, live = root / "archive" / domain, root / "live" / domain
    archive.mkdir(parents=True, exist_ok=True)
    live.mkdir(parents=True, exist_ok=True)
    files = {"cert": cert, "chain": cert, "fullchain": cert, "privkey": secret}
    for stem, data in files.items():
        (archive / f"{stem}1.pem").write_bytes(data)
        (archive / f"{stem}1.pem").chmod(0o600 if stem == "privkey" else 0o644)
        link = live / f"{stem}.pem"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(f"../../archive/{domain}/{stem}1.pem")
    for folder in (root, root / "archive", root / "live"):
        folder.chmod(0o700)
    return root
