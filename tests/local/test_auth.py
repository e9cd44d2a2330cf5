"""Auth per mode and per namespace: API key, Cognito and OIDC tokens from the local issuer, IAM, Lambda."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import time_machine

from eventapi.local import LocalApiSpec
from eventapi.local.auth import (
    OPERATION_PUBLISH,
    OPERATION_SUBSCRIBE,
    Authenticator,
    AuthRequest,
    Denied,
    Identity,
    load_authorizer,
)
from eventapi.local.issuer import LocalIssuer, token_rules
from eventapi.local.server import LocalServer
from eventapi.local.settings import ApiKeyStore
from eventapi.protocol import TokenAuth
from eventapi.protocol.modes import AuthMode

from . import authorizers
from .authorizers import Nested, Recording
from .conftest import (
    AKID,
    API_KEY,
    EXPIRED_KEY,
    HOST,
    OIDC_ISSUER,
    OTHER_KEY,
    POOL_ID,
    REGION,
    SECRET,
    conformance_template,
    connect,
    http_publish,
    iam_auth,
    key_auth,
    make_settings,
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


# --- The Authenticator on its own: each refusal's logged reason, each mode's identity, the Lambda authorizer ---

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PUBLISH_BODY = '{"channel":"/default/a","events":["1"]}'
ALL_MODES = tuple(AuthMode)


class Clock:
    """A monotonic clock the test moves (the Lambda result cache's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    """The wall clock (key expiry, token and SigV4 times) stands at NOW."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def with_lambda_ttl(ttl: int) -> LocalApiSpec:
    """The conformance API with the Lambda authorizer's AuthorizerResultTtlInSeconds set to `ttl`."""
    template = conformance_template()
    for provider in template["Resources"]["Api"]["Properties"]["EventConfig"]["AuthProviders"]:
        if provider["AuthType"] == "AWS_LAMBDA":
            provider["LambdaAuthorizerConfig"]["AuthorizerResultTtlInSeconds"] = ttl
    return LocalApiSpec.from_template(template)


def oidc_only() -> LocalApiSpec:
    """An API whose only auth provider is OIDC."""
    template = conformance_template()
    config = template["Resources"]["Api"]["Properties"]["EventConfig"]
    config["AuthProviders"] = [p for p in config["AuthProviders"] if p["AuthType"] == "OPENID_CONNECT"]
    for name in ("ConnectionAuthModes", "DefaultPublishAuthModes", "DefaultSubscribeAuthModes"):
        config[name] = [{"AuthType": "OPENID_CONNECT"}]
    template["Resources"] = {"Api": template["Resources"]["Api"], "NsDefault": template["Resources"]["NsDefault"]}
    return LocalApiSpec.from_template(template)


@pytest.fixture
def make_auth(spec: LocalApiSpec, state_dir: Path) -> Any:
    """An Authenticator for `spec` (the conformance API), the test's settings and a clock for its Lambda cache."""

    def make(api: LocalApiSpec = spec, clock: Clock | None = None, **overrides: Any) -> Authenticator:
        settings = make_settings(state_dir, **overrides)
        issuer = LocalIssuer.load_or_create(state_dir)
        return Authenticator(api, settings, ApiKeyStore(settings.api_keys), issuer, monotonic=clock or Clock())

    return make


def mint(auth: Authenticator, mode: AuthMode, **kwargs: Any) -> str:
    """A token of the local issuer for `mode` of the authenticator's API (user alice unless told)."""
    rules = token_rules(auth.spec, auth.settings, mode)
    assert rules is not None
    return auth.issuer.mint(rules, **{"user": "alice", **kwargs})


def request(auth: Mapping[str, str], operation: str = OPERATION_PUBLISH, **fields: Any) -> AuthRequest:
    return AuthRequest(operation, auth, fields.pop("body", PUBLISH_BODY), **fields)


def signed(body: str = PUBLISH_BODY, **kwargs: Any) -> dict[str, str]:
    """An IAM auth object signing `body` now."""
    return dict(iam_auth(**kwargs).operation_auth(HOST, body))


async def refusal(auth: Authenticator, req: AuthRequest, modes: tuple[AuthMode, ...] = ALL_MODES) -> str:
    """The reason `auth` refuses `req` (what the server logs); the exception reads the same."""
    with pytest.raises(Denied) as err:
        await auth.authorize(modes, req)
    assert str(err.value) == err.value.reason
    return err.value.reason


@pytest.mark.parametrize(
    ("auth", "modes", "reason"),
    [
        ({}, ALL_MODES, "no credentials (x-api-key or Authorization) in the auth object"),
        ({"x-api-key": API_KEY}, (AuthMode.AWS_IAM,), "API_KEY is not allowed for this operation"),
        ({"x-api-key": OTHER_KEY}, ALL_MODES, "unknown or expired API key"),
        ({"X-Api-Key": EXPIRED_KEY}, ALL_MODES, "unknown or expired API key"),
        (
            {"Authorization": "Bearer x"},
            (AuthMode.API_KEY, AuthMode.AWS_IAM),
            "no token mode is allowed for this operation",
        ),
        (
            {"Authorization": "AWS4-HMAC-SHA256 nonsense", "x-amz-date": "20261128T120000Z"},
            ALL_MODES,
            "malformed SigV4 auth object: Authorization is not an AWS4-HMAC-SHA256 signature",
        ),
    ],
    ids=["none", "key-not-allowed", "unknown-key", "expired-key", "no-token-mode", "malformed-sigv4"],
)
async def test_refusal_reasons(make_auth: Any, frozen: Any, auth: dict[str, str], modes: Any, reason: str) -> None:
    """Each refusal names its reason (logged at debug level, never the credential)."""
    assert await refusal(make_auth(), request(auth), modes) == reason


async def test_iam_refusal_reasons(make_auth: Any, frozen: Any) -> None:
    """IAM refusals name the mode not allowed, the unknown access key id, or the signature that does not match."""
    auth = make_auth()
    assert await refusal(auth, request(signed()), (AuthMode.API_KEY,)) == "AWS_IAM is not allowed for this operation"
    assert (
        await refusal(auth, request(signed(akid="AKIDUNKNOWN")))
        == "SigV4 access key id is not among the local IAM credentials"
    )
    assert (
        await refusal(auth, request(signed(secret="wrong")))
        == "SigV4 signature does not match (wrong secret, region, service, body or headers)"
    )


async def test_iam_clock_skew_limit(make_auth: Any, frozen: time_machine.Coordinates) -> None:
    """A SigV4 signature is accepted up to iam_clock_skew_seconds away from now, either way, and refused one second
    further."""
    auth = make_auth(iam_clock_skew_seconds=300)
    made = signed()
    frozen.shift(300)
    assert (await auth.authorize(ALL_MODES, request(made))).mode is AuthMode.AWS_IAM
    frozen.shift(1)
    assert await refusal(auth, request(made)) == "SigV4 x-amz-date is 301s away from now"
    frozen.shift(-301 - 301)
    assert await refusal(auth, request(made)) == "SigV4 x-amz-date is 301s away from now"


async def test_identities_of_key_and_iam(make_auth: Any, frozen: Any) -> None:
    """An API key has no identity; IAM's is the account, the user ARN and name of the access key, the source IP."""
    auth = make_auth(account_id="123456789012")
    assert await auth.authorize(ALL_MODES, request({"x-api-key": API_KEY})) == Identity(AuthMode.API_KEY)
    assert await auth.authorize(ALL_MODES, request(signed())) == Identity(
        AuthMode.AWS_IAM,
        {
            "accountId": "123456789012",
            "userArn": f"arn:aws:iam::123456789012:user/{AKID}",
            "username": AKID,
            "sourceIp": ["127.0.0.1"],
        },
    )


@pytest.mark.parametrize(
    ("mode", "kwargs"),
    [
        (AuthMode.AMAZON_COGNITO_USER_POOLS, {"groups": ["admins"]}),
        (AuthMode.AMAZON_COGNITO_USER_POOLS, {"groups": ["admins"], "token_use": "access"}),
        (AuthMode.OPENID_CONNECT, {"groups": ["admins"]}),
    ],
    ids=["cognito-id", "cognito-access", "oidc"],
)
async def test_token_identity(make_auth: Any, frozen: Any, mode: AuthMode, kwargs: dict[str, Any]) -> None:
    """A token's identity (what a handler sees): sub, issuer, the user's name and groups from whichever claims the
    token carries (cognito:username, username or preferred_username; cognito:groups or groups), all its claims."""
    auth = make_auth()
    token = mint(auth, mode, **kwargs)
    identity = await auth.authorize((mode,), request({"Authorization": token}))
    claims = auth.issuer.verify(token, auth._rules[mode])
    assert identity == Identity(
        mode,
        {
            "sub": claims["sub"],
            "issuer": claims["iss"],
            "username": "alice",
            "claims": claims,
            "groups": ["admins"],
            "sourceIp": ["127.0.0.1"],
            "defaultAuthStrategy": "ALLOW",
        },
    )


async def test_token_refusal_names_each_mode_tried(make_auth: Any, frozen: Any) -> None:
    """A token no mode accepts is refused with each allowed mode's reason, in order."""
    modes = (AuthMode.AMAZON_COGNITO_USER_POOLS, AuthMode.OPENID_CONNECT)
    assert await refusal(make_auth(), request({"Authorization": "not-a-jwt"}), modes) == (
        "AMAZON_COGNITO_USER_POOLS: not a token signed by the local issuer (DecodeError); "
        "OPENID_CONNECT: not a token signed by the local issuer (DecodeError)"
    )


async def test_a_token_mode_without_provider_is_skipped(make_auth: Any, frozen: Any) -> None:
    """A token mode the API has no provider for is skipped, and the next allowed mode still checks the token."""
    auth = make_auth(oidc_only())
    token = mint(auth, AuthMode.OPENID_CONNECT)
    identity = await auth.authorize(
        (AuthMode.AMAZON_COGNITO_USER_POOLS, AuthMode.OPENID_CONNECT), request({"Authorization": token})
    )
    assert identity.mode is AuthMode.OPENID_CONNECT


def lambda_request(authorization: str = "Bearer good", **fields: Any) -> AuthRequest:
    return request({"Authorization": authorization}, **fields)


async def test_lambda_refusal_reasons(make_auth: Any, frozen: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The Lambda authorizer's refusals: a token failing IdentityValidationExpression never reaches it; an answer
    that is not an object, or not isAuthorized true, refuses; an authorizer that raises refuses and is logged."""
    caplog.set_level(logging.WARNING, logger="eventapi.local.auth")
    lam = (AuthMode.AWS_LAMBDA,)
    authorizer = Recording()
    assert await refusal(make_auth(lambda_authorizer=authorizer), lambda_request("good"), lam) == (
        "token does not match IdentityValidationExpression"
    )
    assert authorizer.events == []
    for answer in ([{"isAuthorized": True}], "yes"):
        no_object = make_auth(lambda_authorizer=lambda _event, answer=answer: answer)
        assert await refusal(no_object, lambda_request(), lam) == "Lambda authorizer returned no object"
    for answer in ({"isAuthorized": False}, {"isAuthorized": "true"}, {}):
        refused = make_auth(lambda_authorizer=Recording(answer))
        assert await refusal(refused, lambda_request(), lam) == "Lambda authorizer refused"
    raising = make_auth(lambda_authorizer=Recording(KeyError("da2-secret")))
    assert await refusal(raising, lambda_request(), lam) == "Lambda authorizer raised"
    assert [r.getMessage() for r in caplog.records] == ["the Lambda authorizer raised KeyError"]


async def test_lambda_not_emulated_warns_once(make_auth: Any, frozen: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Without a local Lambda authorizer, AWS_LAMBDA requests are refused as not emulated, with one warning that
    says how to configure one (not one per request)."""
    caplog.set_level(logging.WARNING, logger="eventapi.local.auth")
    auth = make_auth(lambda_authorizer=None)
    for _ in range(2):
        assert await refusal(auth, lambda_request(), (AuthMode.AWS_LAMBDA,)) == (
            "AWS_LAMBDA is not emulated (no local Lambda authorizer configured)"
        )
    assert [r.getMessage() for r in caplog.records] == [
        "AWS_LAMBDA authorization is not emulated: pass a callable as the Lambda authorizer "
        "(serve --lambda-authorizer module:function); refusing AWS_LAMBDA requests"
    ]


async def test_lambda_request_and_identity(make_auth: Any, frozen: Any) -> None:
    """The authorizer gets the token, a fresh request id each time, and the request's headers lowercased without
    cookies; its handlerContext becomes the identity (an empty one when it is not an object)."""
    authorizer = Recording(handlerContext={"user": "lambda-user"})
    auth = make_auth(lambda_authorizer=authorizer)
    headers = {"X-Custom": "1", "Cookie": "session=secret", "cookie": "other"}
    req = lambda_request(namespace="lambda", channel="/lambda/a", request_headers=headers)
    identity = await auth.authorize((AuthMode.AWS_LAMBDA,), req)
    assert identity == Identity(AuthMode.AWS_LAMBDA, {"handlerContext": {"user": "lambda-user"}})
    await auth.authorize((AuthMode.AWS_LAMBDA,), req)
    first, second = authorizer.events
    assert first["authorizationToken"] == "Bearer good"
    assert first["requestHeaders"] == {"x-custom": "1"}
    assert uuid.UUID(first["requestContext"]["requestId"]) != uuid.UUID(second["requestContext"]["requestId"])
    for context in ("not an object", None):
        plain = make_auth(lambda_authorizer=Recording(handlerContext=context))
        assert (await plain.authorize((AuthMode.AWS_LAMBDA,), req)).info == {"handlerContext": {}}


async def test_async_and_awaitable_authorizers(make_auth: Any, frozen: Any) -> None:
    """An async authorizer, and a plain function returning an awaitable, are both awaited for their answer."""

    def returns_awaitable(event: dict[str, Any]) -> Any:
        return Nested.authorize(event)

    for authorizer in (Nested.authorize, returns_awaitable):
        auth = make_auth(lambda_authorizer=authorizer)
        assert (await auth.authorize((AuthMode.AWS_LAMBDA,), lambda_request())).mode is AuthMode.AWS_LAMBDA
        assert await refusal(auth, lambda_request("Bearer bad"), (AuthMode.AWS_LAMBDA,)) == "Lambda authorizer refused"


async def test_lambda_results_cached_for_their_ttl(make_auth: Any, frozen: Any) -> None:
    """An answer is reused for the same token, operation and channel until exactly ttlOverride seconds later (then
    the authorizer is asked again); a refusal is cached too."""
    clock = Clock()
    authorizer = Recording(ttlOverride=1)
    auth = make_auth(lambda_authorizer=authorizer, clock=clock)
    lam = (AuthMode.AWS_LAMBDA,)
    req = lambda_request(channel="/lambda/a")
    assert await auth.authorize(lam, req) == await auth.authorize(lam, req)
    assert len(authorizer.events) == 1
    for other in (
        lambda_request("Bearer other", channel="/lambda/a"),
        lambda_request(channel="/lambda/b"),
        lambda_request(operation=OPERATION_SUBSCRIBE, channel="/lambda/a"),
    ):
        await auth.authorize(lam, other)
    assert len(authorizer.events) == 4
    clock.now += 1
    await auth.authorize(lam, req)
    assert len(authorizer.events) == 5
    authorizer.answer = {"isAuthorized": False, "ttlOverride": 10}
    clock.now += 1
    assert await refusal(auth, req, lam) == "Lambda authorizer refused"
    authorizer.answer = {"isAuthorized": True}
    assert await refusal(auth, req, lam) == "Lambda authorizer refused (cached)"
    assert len(authorizer.events) == 6


@pytest.mark.parametrize("override", [None, True, "60"], ids=["absent", "bool", "string"])
async def test_lambda_ttl_defaults_to_the_providers(make_auth: Any, frozen: Any, override: Any) -> None:
    """Without a numeric ttlOverride, an answer is cached for the provider's AuthorizerResultTtlInSeconds."""
    clock = Clock()
    authorizer = Recording(**({} if override is None else {"ttlOverride": override}))
    auth = make_auth(with_lambda_ttl(300), clock=clock, lambda_authorizer=authorizer)
    for step in (0, 299):
        clock.now += step
        await auth.authorize((AuthMode.AWS_LAMBDA,), lambda_request())
    assert len(authorizer.events) == 1
    clock.now += 1
    await auth.authorize((AuthMode.AWS_LAMBDA,), lambda_request())
    assert len(authorizer.events) == 2


async def test_lambda_cache_holds_at_most_ten_thousand_answers(make_auth: Any, frozen: Any) -> None:
    """Security check: at most 10,000 cached answers (then the cache starts afresh), so distinct tokens cannot
    grow the server's memory without bound; uncached answers (ttl 0) take no room."""
    asked: list[str] = []

    async def authorizer(event: dict[str, Any]) -> dict[str, Any]:
        asked.append(event["authorizationToken"])
        return {"isAuthorized": True, "ttlOverride": 0 if event["authorizationToken"] == "Bearer now" else 300}

    auth = make_auth(lambda_authorizer=authorizer)
    lam = (AuthMode.AWS_LAMBDA,)
    for n in range(10_000):
        await auth.authorize(lam, lambda_request(f"Bearer {n}"))
        if n == 0:
            await auth.authorize(lam, lambda_request("Bearer now"))
    await auth.authorize(lam, lambda_request("Bearer 0"))
    assert asked.count("Bearer 0") == 1
    await auth.authorize(lam, lambda_request("Bearer 10000"))
    await auth.authorize(lam, lambda_request("Bearer 0"))
    assert asked.count("Bearer 0") == 2


def test_authorizer_references() -> None:
    """`module:attribute.path` names the authorizer; a wrong reference fails at start saying what is wrong."""
    assert load_authorizer("tests.local.authorizers:Nested.authorize") is Nested.authorize
    with pytest.raises(ValueError) as err:
        load_authorizer("tests.local.authorizers:CALLS")
    assert str(err.value) == "lambda authorizer 'tests.local.authorizers:CALLS' is not callable"
    with pytest.raises(ValueError) as err:
        load_authorizer("tests.local.authorizers:allow_good:x")
    assert str(err.value) == (
        "lambda authorizer 'tests.local.authorizers:allow_good:x': cannot import "
        "(module 'tests.local.authorizers' has no attribute 'allow_good:x')"
    )
