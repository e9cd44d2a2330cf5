"""The local CA and server certificate for `https://` and `wss://` on localhost (made with `cryptography`).

Made on first run in the state dir (default `~/.cache/eventapi-local/`, never in the repo) and reused after:
`ca.pem` (what Node trusts through `NODE_EXTRA_CA_CERTS`), `ca-key.pem`, `server.pem` and `server-key.pem`
(for localhost, 127.0.0.1 and ::1). The server certificate is renewed when it has less than 30 days left or does
not chain to the CA on disk; the CA (10 years) is kept as long as it is valid, so a trusted CA stays trusted.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
CA_DAYS = 3650
SERVER_DAYS = 365
RENEW_BEFORE = timedelta(days=30)
SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the local CA certificate and the server certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path
    note: str | None = None  # set when an expired or expiring CA was replaced: clients must trust the new one

    def server_context(self) -> ssl.SSLContext:
        """An `ssl.SSLContext` serving the local certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An `ssl.SSLContext` that trusts the local CA (for Python clients and tests)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    @property
    def node_extra_ca_certs(self) -> str:
        """The line a Node app needs: `NODE_EXTRA_CA_CERTS=<ca.pem>`."""
        return f"NODE_EXTRA_CA_CERTS={self.ca_cert}"


def _now() -> datetime:
    return datetime.now(UTC)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca(state_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "eventapi-local CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eventapi local development"),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(state_dir / CA_KEY_FILE, _key_pem(key))
    _write_public(state_dir / CA_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _make_server(state_dir: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(state_dir / KEY_FILE, _key_pem(key))
    _write_public(state_dir / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))


def _load_ca(state_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((state_dir / CA_FILE).read_bytes())
        key = serialization.load_pem_private_key((state_dir / CA_KEY_FILE).read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return cert, key


def _renewal_note(state_dir: Path, ca: x509.Certificate) -> str:
    ended = ca.not_valid_after_utc
    when = f"expired on {ended:%Y-%m-%d}" if ended <= _now() else f"expires on {ended:%Y-%m-%d}"
    return (
        f"the local CA {state_dir / CA_FILE} {when}: made a new one at the same path; restart clients that "
        "loaded the old one (NODE_EXTRA_CA_CERTS or a CA file) and re-import it where you trusted it by hand"
    )


def _server_ok(state_dir: Path, ca: x509.Certificate) -> bool:
    try:
        cert = x509.load_pem_x509_certificate((state_dir / CERT_FILE).read_bytes())
        serialization.load_pem_private_key((state_dir / KEY_FILE).read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
    except Exception:  # any doubt means "make a new one"
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > _now()


def ensure_tls(state_dir: Path) -> TlsFiles:
    """The local CA and server certificate in `state_dir`: made on first run, renewed when near expiry."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    loaded = _load_ca(state_dir)
    note = None
    if loaded is not None and loaded[0].not_valid_after_utc - RENEW_BEFORE < _now():
        note = _renewal_note(state_dir, loaded[0])
        loaded = None
    ca, ca_key = loaded if loaded is not None else _make_ca(state_dir)
    if loaded is None or not _server_ok(state_dir, ca):
        _make_server(state_dir, ca, ca_key)
    return TlsFiles(ca_cert=state_dir / CA_FILE, cert=state_dir / CERT_FILE, key=state_dir / KEY_FILE, note=note)
