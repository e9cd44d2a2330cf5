"""Custom TLS: the client trusts a local Event API's own CA through `ca_file` or `EVENTAPI_EXTRA_CA_CERTS`, added to
the default CAs (https:// and wss://)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from eventapi.client import ConnectionLostError, EventsClient, EventsConfig, EventsConfigError
from tests.client.conftest import fast_client
from tests.client.fake_server import FakeEventApi

pytestmark = pytest.mark.clock


def make_ca_and_cert(tmp_path: Path) -> tuple[Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eventapi test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


async def test_tls_with_ca_file(tmp_path: Path) -> None:
    """With ca_file, publish over https and subscribe over wss work; without it, the certificate is refused."""
    ca, cert, key = make_ca_and_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeEventApi(ssl_context=context)
    await server.start()
    try:
        config = server.config()
        assert config.realtime_endpoint == f"wss://{server.host}/event/realtime"
        async with fast_client(config, ca_file=ca) as client:
            sub = await client.subscribe("/default/*")
            assert (await client.publish("/default/tls", {"secure": True})).ok
            async with asyncio.timeout(2):
                assert (await anext(sub)).data == {"secure": True}
        async with fast_client(config) as client:
            with pytest.raises(ConnectionLostError) as err:
                await client.publish("/default/tls", 1)
        assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
    finally:
        await server.stop()


async def tls_server(tmp_path: Path) -> tuple[FakeEventApi, Path]:
    """A fake Event API on https/wss with a certificate from its own fresh CA; returns it and the CA file."""
    tmp_path.mkdir()
    ca, cert, key = make_ca_and_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeEventApi(ssl_context=context)
    await server.start()
    return server, ca


async def test_extra_ca_env_adds_to_the_default_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EVENTAPI_EXTRA_CA_CERTS is trusted alongside the default store (here SSL_CERT_FILE), which stays trusted."""
    system, system_ca = await tls_server(tmp_path / "system")
    local, local_ca = await tls_server(tmp_path / "local")
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(system_ca))  # stands in for the system's CAs
        async with fast_client(local.config()) as client:  # without the variable: refused
            with pytest.raises(ConnectionLostError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.publish("/default/tls", 1)
        monkeypatch.setenv("EVENTAPI_EXTRA_CA_CERTS", str(local_ca))
        for server in (local, system):
            async with fast_client(server.config()) as client:
                sub = await client.subscribe("/default/*")
                assert (await client.publish("/default/tls", {"via": "extra"})).ok
                async with asyncio.timeout(2):
                    assert (await anext(sub)).data == {"via": "extra"}
        # ca_file adds to the default store too (it used to replace it)
        monkeypatch.delenv("EVENTAPI_EXTRA_CA_CERTS")
        async with fast_client(system.config(), ca_file=local_ca) as client:
            assert (await client.publish("/default/tls", 2)).ok
    finally:
        await system.stop()
        await local.stop()


def test_extra_ca_env_naming_a_missing_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable naming an unreadable file fails at construction with one line naming it and the fix."""
    missing = tmp_path / "nope.pem"
    monkeypatch.setenv("EVENTAPI_EXTRA_CA_CERTS", str(missing))
    with pytest.raises(EventsConfigError) as err:
        EventsClient(EventsConfig.create("https://localhost:1/event", "eu-west-1", api_key="da2-x"))
    assert str(err.value) == (
        f"EVENTAPI_EXTRA_CA_CERTS={missing}: cannot load it as a PEM CA certificate (No such file or directory); "
        "point it at a PEM CA certificate or unset EVENTAPI_EXTRA_CA_CERTS"
    )
