"""TLS: https:// and wss:// on one port with the generated local CA; the CA is reused across restarts."""

from __future__ import annotations

import ssl

import aiohttp
import pytest

from eventapi.local.server import LocalServer
from eventapi.local.tls import ensure_tls

from .conftest import connect, http_publish, make_settings

pytestmark = pytest.mark.clock


async def test_wss_and_https_with_local_ca(spec, state_dir, session: aiohttp.ClientSession) -> None:
    """A client trusting only the local CA publishes over https and receives over wss on the same port."""
    async with LocalServer(spec, make_settings(state_dir, port=None, tls_port=0)) as srv:
        assert srv.tls is not None and srv.ports.http_port is None
        ctx = srv.tls.client_context()
        ws = await connect(session, srv, url=srv.ports.wss_url, ssl=ctx)
        assert ws.ws.protocol == "aws-appsync-event-ws"
        await ws.subscribe("s", "/default/tls")
        status, _ = await http_publish(session, srv, "/default/tls", ['"secure"'], url=srv.ports.https_url, ssl=ctx)
        assert status == 200
        assert await ws.recv() == {"type": "data", "id": "s", "event": '"secure"'}
        assert srv.tls.node_extra_ca_certs == f"NODE_EXTRA_CA_CERTS={state_dir / 'ca.pem'}"
        await ws.close()


async def test_untrusted_without_ca(spec, state_dir, session: aiohttp.ClientSession) -> None:
    """Without the local CA the TLS handshake fails (the certificate is not self-trusted by accident)."""
    async with LocalServer(spec, make_settings(state_dir, port=None, tls_port=0)) as srv:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(srv.ports.https_url.replace("/event", "/health"), ssl=ssl.create_default_context())


def test_ca_reused_and_names(tmp_path) -> None:
    """The CA is made once and reused; the server certificate names localhost, 127.0.0.1 and ::1."""
    from cryptography import x509

    first = ensure_tls(tmp_path)
    ca_bytes = first.ca_cert.read_bytes()
    second = ensure_tls(tmp_path)
    assert second.ca_cert.read_bytes() == ca_bytes
    cert = x509.load_pem_x509_certificate(second.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sorted(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) == ["127.0.0.1", "::1"]
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"


def test_issuer_key_survives_restart(tmp_path) -> None:
    """A token minted before a restart verifies after it (the issuer key is persisted)."""
    from eventapi.local.issuer import LocalIssuer, TokenRules
    from eventapi.protocol.modes import AuthMode

    rules = TokenRules(AuthMode.OPENID_CONNECT, "https://issuer.example.com")
    tok = LocalIssuer.load_or_create(tmp_path).mint(rules, user="bob")
    assert LocalIssuer.load_or_create(tmp_path).verify(tok, rules)["preferred_username"] == "bob"


def test_expired_ca_is_replaced_with_a_note(tmp_path) -> None:
    """Eleven years on, the cached CA has expired: a new CA and server certificate are made, the server
    certificate chains to the new CA and verifies then, and the note says what happened and what to do."""
    from datetime import UTC, datetime, timedelta

    import time_machine
    from cryptography import x509

    made = datetime(2026, 3, 1, tzinfo=UTC)
    with time_machine.travel(made, tick=False):
        first = ensure_tls(tmp_path)
    old_ca = first.ca_cert.read_bytes()
    assert first.note is None
    later = made + timedelta(days=11 * 365)
    with time_machine.travel(later, tick=False):
        again = ensure_tls(tmp_path)
        ca = x509.load_pem_x509_certificate(again.ca_cert.read_bytes())
        server = x509.load_pem_x509_certificate(again.cert.read_bytes())
    assert again.ca_cert.read_bytes() != old_ca and again.ca_cert == first.ca_cert
    server.verify_directly_issued_by(ca)
    assert ca.not_valid_before_utc <= later < server.not_valid_after_utc
    assert again.note == (
        f"the local CA {tmp_path / 'ca.pem'} expired on {made + timedelta(days=3650):%Y-%m-%d}: made a new one at "
        "the same path; restart clients that loaded the old one (NODE_EXTRA_CA_CERTS or a CA file) and re-import "
        "it where you trusted it by hand"
    )
    with time_machine.travel(later, tick=False):
        assert ensure_tls(tmp_path).note is None  # replaced once, then reused
