"""Auth per mode and per namespace: API key, Cognito and OIDC tokens from the local issuer, IAM, Lambda."""

from __future__ import annotations

import time

import aiohttp
import pytest

from eventapi.local.server import LocalServer
from eventapi.protocol import TokenAuth
from eventapi.protocol.modes import AuthMode

from . import authorizers
from .conftest import (
    OIDC_ISSUER,
    POOL_ID,
    REGION,
    SECRET,
    connect,
    http_publish,
    iam_auth,
    key_auth,
    token,
)

pytestmark = pytest.mark.clock

UNAUTHORIZED = {
    "errorType": "UnauthorizedException",
    "errorCode": 401,
    "message": "You are not authorized to make this call.",
}


def oidc(server: LocalServer, **kwargs) -> TokenAuth:
    return TokenAuth(token(server, AuthMode.OPENID_CONNECT, **kwargs), AuthMode.OPENID_CONNECT)


async def _connect_result(session, server, auth) -> dict:
    ws = await connect(session, server, auth, init=False)
    await ws.send({"type": "connection_init"})
    frame = await ws.recv()
    await ws.close()
    return frame


async def test_cognito_token_claims(server: LocalServer) -> None:
    """Minted Cognito ID tokens name the pool issuer, groups, token_use and an expiry."""
    claims = server.issuer.verify(
        token(server, groups=["admins"]), server.broker.auth._rules[AuthMode.AMAZON_COGNITO_USER_POOLS]
    )
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
    assert (claims["cognito:groups"], claims["token_use"], claims["cognito:username"]) == (["admins"], "id", "alice")
    assert claims["exp"] > time.time()


@pytest.mark.parametrize(
    "make",
    [
        lambda s: key_auth(),
        lambda s: iam_auth(),
        lambda s: TokenAuth(token(s)),
        lambda s: TokenAuth(token(s, token_use="access")),
        lambda s: TokenAuth(token(s, AuthMode.OPENID_CONNECT), AuthMode.OPENID_CONNECT),
        lambda s: TokenAuth("Bearer good", AuthMode.AWS_LAMBDA),
    ],
    ids=["api-key", "iam", "cognito-id", "cognito-access", "oidc", "lambda"],
)
async def test_every_mode_connects_subscribes_publishes(server: LocalServer, session, make) -> None:
    """Each mode authorizes connect, subscribe and publish over the socket, and publish over HTTP."""
    auth = make(server)
    ws = await connect(session, server, auth)
    assert await ws.subscribe("s", "/default/m") == {"type": "subscribe_success", "id": "s"}
    await ws.publish("p", "/default/m", ['{"x":1}'])
    frames = [await ws.recv(), await ws.recv()]
    assert {"type": "data", "id": "s", "event": '{"x":1}'} in frames
    assert next(f for f in frames if f["type"] != "data")["type"] == "publish_success"
    status, _ = await http_publish(session, server, "/default/m", ['{"y":2}'], auth)
    assert status == 200
    assert await ws.recv() == {"type": "data", "id": "s", "event": '{"y":2}'}
    await ws.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda s: TokenAuth(token(s, ttl_seconds=-10)),
        lambda s: TokenAuth(token(s, token_use="refresh")),
        lambda s: TokenAuth(token(s, AuthMode.OPENID_CONNECT, client_id="other"), AuthMode.OPENID_CONNECT),
        lambda s: TokenAuth(token(s, AuthMode.OPENID_CONNECT, ttl_seconds=-1), AuthMode.OPENID_CONNECT),
        lambda s: TokenAuth(
            token(s, AuthMode.OPENID_CONNECT, now=time.time() - 3 * 3600, ttl_seconds=6 * 3600), AuthMode.OPENID_CONNECT
        ),
        lambda s: TokenAuth(token(s)[:-4] + "AAAA"),
        lambda s: TokenAuth("not-a-jwt"),
        lambda s: iam_auth(secret="wrong"),
        lambda s: iam_auth(region="us-west-2"),
        lambda s: iam_auth(akid="AKIDUNKNOWN"),
        lambda s: TokenAuth("Bearer bad", AuthMode.AWS_LAMBDA),
        lambda s: TokenAuth("good", AuthMode.AWS_LAMBDA),
    ],
    ids=[
        "cognito-expired",
        "cognito-refresh-token",
        "oidc-wrong-audience",
        "oidc-expired",
        "oidc-auth-ttl",
        "bad-signature",
        "garbage",
        "iam-wrong-secret",
        "iam-wrong-region",
        "iam-unknown-key",
        "lambda-denied",
        "lambda-fails-validation-regex",
    ],
)
async def test_bad_credentials_refused(server: LocalServer, session, make) -> None:
    """Bad, expired or mis-addressed credentials get UnauthorizedException on HTTP publish."""
    status, body = await http_publish(session, server, "/default/x", ["1"], make(server))
    assert (status, body) == (401, {"errors": [UNAUTHORIZED]})


async def test_oidc_specific_failures_on_connect(server: LocalServer, session) -> None:
    """Expired and wrong-audience OIDC tokens are refused at connect."""
    for auth in (oidc(server, ttl_seconds=-5), oidc(server, client_id="other")):
        assert await _connect_result(session, server, auth) == {"type": "connection_error", "errors": [UNAUTHORIZED]}
    assert (await _connect_result(session, server, oidc(server)))["type"] == "connection_ack"


async def test_oidc_namespace_issuer(server: LocalServer) -> None:
    """OIDC tokens carry the template's issuer and client id."""
    claims = server.issuer.verify(
        token(server, AuthMode.OPENID_CONNECT), server.broker.auth._rules[AuthMode.OPENID_CONNECT]
    )
    assert (claims["iss"], claims["aud"]) == (OIDC_ISSUER, "web")


async def test_wrong_mode_for_namespace(server: LocalServer, session) -> None:
    """`secure` allows IAM publish and Cognito subscribe only: a valid API key is refused for both."""
    ws = await connect(session, server)
    assert await ws.subscribe("s", "/secure/a") == {"type": "subscribe_error", "id": "s", "errors": [UNAUTHORIZED]}
    await ws.publish("p", "/secure/a", ["1"])
    assert await ws.recv() == {"type": "publish_error", "id": "p", "errors": [UNAUTHORIZED]}
    oidc_token = TokenAuth(token(server, AuthMode.OPENID_CONNECT), AuthMode.OPENID_CONNECT)
    assert await ws.subscribe("s1", "/secure/a", oidc_token) == {
        "type": "subscribe_error",
        "id": "s1",
        "errors": [UNAUTHORIZED],
    }
    assert await ws.subscribe("s2", "/secure/a", TokenAuth(token(server))) == {"type": "subscribe_success", "id": "s2"}
    await ws.publish("p2", "/secure/a", ["2"], iam_auth())
    frames = [await ws.recv(), await ws.recv()]
    assert {"type": "data", "id": "s2", "event": "2"} in frames
    status, body = await http_publish(session, server, "/secure/a", ["1"], TokenAuth(token(server)))
    assert (status, body) == (401, {"errors": [UNAUTHORIZED]})
    await ws.close()


async def test_iam_signature_covers_body(server: LocalServer, session) -> None:
    """An IAM publish signature made for other events does not authorize these events."""
    ws = await connect(session, server, iam_auth())
    signed_for = iam_auth().operation_auth("localhost", '{"channel":"/default/a","events":["1"]}')
    await ws.send({"type": "publish", "id": "p", "channel": "/default/a", "events": ["2"], "authorization": signed_for})
    assert await ws.recv() == {"type": "publish_error", "id": "p", "errors": [UNAUTHORIZED]}
    await ws.close()


async def test_iam_connect_with_upgrade_headers(server: LocalServer, session) -> None:
    """IAM connect auth sent as upgrade headers (native clients) is verified with botocore."""
    ws = await connect(session, server, iam_auth(), headers_mode=True, init=False)
    await ws.send({"type": "connection_init"})
    assert (await ws.recv())["type"] == "connection_ack"
    await ws.close()


async def test_iam_stale_date_refused(server: LocalServer, session) -> None:
    """A SigV4 signature older than the allowed clock skew is refused."""
    from unittest import mock

    import botocore.auth

    old = time.time() - 3600
    with mock.patch.object(botocore.auth.datetime, "datetime", wraps=botocore.auth.datetime.datetime) as dt:
        import datetime as real

        dt.now.return_value = real.datetime.fromtimestamp(old, real.UTC)
        dt.utcnow.return_value = real.datetime.utcfromtimestamp(old)
        auth = iam_auth()
        headers = auth.http_headers("localhost", '{"channel":"/default/a","events":["1"]}')
    assert headers["X-Amz-Date"][:8] == time.strftime("%Y%m%d", time.gmtime(old))
    async with session.post(
        server.ports.http_url, data='{"channel":"/default/a","events":["1"]}', headers=headers
    ) as resp:
        assert resp.status == 401
    assert SECRET not in repr(auth)


async def test_lambda_request_shape(server: LocalServer, session) -> None:
    """The Lambda authorizer receives the AppSync request shape for each operation."""
    authorizers.CALLS.clear()
    auth = TokenAuth("Bearer good", AuthMode.AWS_LAMBDA)
    ws = await connect(session, server, auth)
    await ws.subscribe("s", "/lambda/a/b")
    await ws.close()
    connect_call, sub_call = authorizers.CALLS[:2]
    assert connect_call["authorizationToken"] == "Bearer good"
    assert connect_call["requestContext"]["operation"] == "EVENT_CONNECT"
    ctx = sub_call["requestContext"]
    assert (ctx["operation"], ctx["channelNamespaceName"], ctx["channel"], ctx["apiId"]) == (
        "EVENT_SUBSCRIBE",
        "lambda",
        "/lambda/a/b",
        "local",
    )
    assert set(ctx) == {"apiId", "accountId", "requestId", "operation", "channelNamespaceName", "channel"}
    assert isinstance(sub_call["requestHeaders"], dict)


async def test_lambda_not_configured(spec, state_dir, session) -> None:
    """Without a local Lambda authorizer, AWS_LAMBDA requests are refused ("not emulated")."""
    from .conftest import make_settings

    async with LocalServer(spec, make_settings(state_dir, lambda_authorizer=None)) as srv:
        status, body = await http_publish(
            session, srv, "/lambda/a", ["1"], TokenAuth("Bearer good", AuthMode.AWS_LAMBDA)
        )
        assert (status, body) == (401, {"errors": [UNAUTHORIZED]})


async def test_bad_lambda_reference() -> None:
    """A Lambda authorizer reference that cannot be imported fails at start with what to fix."""
    from eventapi.local.auth import load_authorizer

    with pytest.raises(ValueError, match="expected 'module:function'"):
        load_authorizer("nocolon")
    with pytest.raises(ValueError, match="cannot import"):
        load_authorizer("tests.local.authorizers:missing")


async def test_operation_without_authorization_uses_connection_auth(server: LocalServer, session) -> None:
    """A subscribe frame without `authorization` is checked with the connection's auth object."""
    ws = await connect(session, server)
    await ws.send({"type": "subscribe", "id": "s", "channel": "/keyonly/a"})
    assert await ws.recv() == {"type": "subscribe_success", "id": "s"}
    await ws.close()
    ws = await connect(session, server, iam_auth())
    await ws.send({"type": "subscribe", "id": "s", "channel": "/default/a"})
    assert await ws.recv() == {"type": "subscribe_error", "id": "s", "errors": [UNAUTHORIZED]}
    await ws.close()


async def test_secrets_not_logged(server: LocalServer, session, caplog: pytest.LogCaptureFixture) -> None:
    """Refusals are logged without keys, tokens or signatures."""
    import logging

    caplog.set_level(logging.DEBUG, logger="eventapi.local")
    bad_key = "da2-" + "q" * 26
    tok = token(server, ttl_seconds=-10)
    await http_publish(session, server, "/default/a", ["1"], key_auth(bad_key))
    await http_publish(session, server, "/default/a", ["1"], TokenAuth(tok))
    await _connect_result(session, server, key_auth(bad_key))
    text = caplog.text
    assert "refused" in text
    assert bad_key not in text and tok not in text and tok[:40] not in text


async def test_aiohttp_client_session_fixture(session: aiohttp.ClientSession) -> None:
    """The session fixture is an open aiohttp client session."""
    assert not session.closed
