"""Fixtures for the local Event API: a conformance template, a running server on port 0, WebSocket helpers."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from eventapi.local import IamCredential, LocalApiKey, LocalApiSpec, LocalSettings
from eventapi.local.issuer import LocalIssuer, token_rules
from eventapi.local.server import LocalServer
from eventapi.protocol import ApiKeyAuth, IamAuth, TokenAuth, subprotocols
from eventapi.protocol.modes import AuthMode

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "da2-" + "a" * 26
OTHER_KEY = "da2-" + "b" * 26
EXPIRED_KEY = "da2-" + "c" * 26
AKID = "AKIDLOCALTEST"
SECRET = "local-secret-key"
REGION = "eu-west-1"
HOST = "localhost"
POOL_ID = "eu-west-1_Test123"
OIDC_ISSUER = "https://issuer.example.com"
GUARDED_JS = """
import { util } from '@aws-appsync/utils';
export function onSubscribe(ctx) {
  if (ctx.info.channel.segments.includes('private')) util.unauthorized();
  if (ctx.info.channel.segments.includes('broken')) util.error('subscriptions to broken are refused');
}
export function onPublish(ctx) {
  if (ctx.events.some((e) => e.payload && e.payload.deny)) util.unauthorized();
  if (ctx.events.some((e) => e.payload && e.payload.fail)) util.error('bad event', 'CustomError');
  if (ctx.events.some((e) => e.payload && e.payload.loop)) { while (true) {} }
  if (ctx.events.some((e) => e.payload && e.payload.huge)) {
    return ctx.events.map((e) => ({ id: e.id, payload: { big: 'x'.repeat(250 * 1024) } }));
  }
  return ctx.events.map((e) => (e.payload && e.payload.reject ? { id: e.id, error: 'rejected by handler' }
    : { id: e.id, payload: { ...e.payload, seenBy: ctx.identity && ctx.identity.username || null,
        channel: ctx.info.channel.path, id: util.autoId().length } }));
}
"""


def _modes(*modes: str) -> list[dict[str, str]]:
    return [{"AuthType": m} for m in modes]


ALL = ("API_KEY", "AWS_IAM", "AMAZON_COGNITO_USER_POOLS", "OPENID_CONNECT", "AWS_LAMBDA")


# A handler with no data source: drop empty comments, stamp the rest with the server time.
FILTER_HANDLER = """
import { util } from '@aws-appsync/utils';
export function onPublish(ctx) {
  return ctx.events
    .filter((event) => event.payload && typeof event.payload.content === 'string' && event.payload.content.trim() !== '')
    .map((event) => ({ id: event.id, payload: { ...event.payload, receivedAt: util.time.nowISO8601() } }));
}
"""


def conformance_template() -> dict[str, Any]:
    """A template with every provider and namespaces that exercise per-namespace modes and handlers."""
    comments = FILTER_HANDLER
    api_ref = {"Fn::GetAtt": ["Api", "ApiId"]}

    def ns(name: str, **props: Any) -> dict[str, Any]:
        return {"Type": "AWS::AppSync::ChannelNamespace", "Properties": {"ApiId": api_ref, "Name": name, **props}}

    return {
        "Resources": {
            "Api": {
                "Type": "AWS::AppSync::Api",
                "Properties": {
                    "Name": "conformance",
                    "EventConfig": {
                        "AuthProviders": [
                            {"AuthType": "API_KEY"},
                            {"AuthType": "AWS_IAM"},
                            {
                                "AuthType": "AMAZON_COGNITO_USER_POOLS",
                                "CognitoConfig": {"AwsRegion": REGION, "UserPoolId": POOL_ID},
                            },
                            {
                                "AuthType": "OPENID_CONNECT",
                                "OpenIDConnectConfig": {
                                    "Issuer": OIDC_ISSUER,
                                    "ClientId": "web",
                                    "AuthTTL": 3600000,
                                    "IatTTL": 7200000,
                                },
                            },
                            {
                                "AuthType": "AWS_LAMBDA",
                                "LambdaAuthorizerConfig": {
                                    "AuthorizerUri": "arn:aws:lambda:eu-west-1:123456789012:function:a",
                                    "AuthorizerResultTtlInSeconds": 0,
                                    "IdentityValidationExpression": "^Bearer .+$",
                                },
                            },
                        ],
                        "ConnectionAuthModes": _modes(*ALL),
                        "DefaultPublishAuthModes": _modes(*ALL),
                        "DefaultSubscribeAuthModes": _modes(*ALL),
                    },
                },
            },
            "Key": {"Type": "AWS::AppSync::ApiKey", "Properties": {"ApiId": api_ref, "Expires": 1822348800}},
            "NsDefault": ns("default"),
            "NsSecure": ns(
                "secure", PublishAuthModes=_modes("AWS_IAM"), SubscribeAuthModes=_modes("AMAZON_COGNITO_USER_POOLS")
            ),
            "NsKeyonly": ns("keyonly", PublishAuthModes=_modes("API_KEY"), SubscribeAuthModes=_modes("API_KEY")),
            "NsOidc": ns(
                "oidc", PublishAuthModes=_modes("OPENID_CONNECT"), SubscribeAuthModes=_modes("OPENID_CONNECT")
            ),
            "NsLambda": ns("lambda", PublishAuthModes=_modes("AWS_LAMBDA"), SubscribeAuthModes=_modes("AWS_LAMBDA")),
            "NsComments": ns("comments", CodeHandlers=comments),
            "NsGuarded": ns("guarded", CodeHandlers=GUARDED_JS),
        },
        "Outputs": {"EventApiRegion": {"Value": REGION}},
    }


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One state dir (CA, issuer key) for the whole session."""
    return tmp_path_factory.mktemp("eventapi-local-state")


@pytest.fixture(scope="session")
def spec() -> LocalApiSpec:
    """The conformance API."""
    return LocalApiSpec.from_template(conformance_template())


def make_settings(state_dir: Path, **overrides: Any) -> LocalSettings:
    base: dict[str, Any] = {
        "port": 0,
        "tls_port": None,
        "state_dir": state_dir,
        "api_keys": (LocalApiKey(API_KEY), LocalApiKey(EXPIRED_KEY, expires=1.0)),
        "iam_credentials": (IamCredential(AKID, SECRET),),
        "lambda_authorizer": "tests.local.authorizers:allow_good",
        "handler_timeout_seconds": 1.5,
    }
    base.update(overrides)
    return LocalSettings(**base)


@pytest.fixture
async def server(spec: LocalApiSpec, state_dir: Path) -> AsyncIterator[LocalServer]:
    """A running conformance server on an ephemeral port (plain HTTP)."""
    async with LocalServer(spec, make_settings(state_dir)) as srv:
        yield srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session."""
    async with aiohttp.ClientSession() as s:
        yield s


def key_auth(key: str = API_KEY) -> ApiKeyAuth:
    return ApiKeyAuth(key)


def iam_auth(secret: str = SECRET, region: str = REGION, akid: str = AKID) -> IamAuth:
    from botocore.credentials import Credentials

    return IamAuth(Credentials(akid, secret), region)


def token(server: LocalServer, mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS, **kwargs: Any) -> str:
    rules = token_rules(server.spec, server.settings, mode)
    assert rules is not None
    return LocalIssuer.load_or_create(server.settings.state_dir).mint(rules, **{"user": "alice", **kwargs})


def cognito(server: LocalServer, **kwargs: Any) -> TokenAuth:
    return TokenAuth(token(server, **kwargs))


class Ws:
    """A thin test client over aiohttp's WebSocket: send dicts, receive dicts (ka frames skipped by default)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, auth: Any) -> None:
        self.ws = ws
        self.auth = auth

    async def send(self, obj: Mapping[str, Any] | str) -> None:
        await self.ws.send_str(obj if isinstance(obj, str) else json.dumps(obj))

    async def recv(self, timeout: float = 3.0, *, skip_ka: bool = True) -> dict[str, Any]:
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"expected a text frame, got {msg.type} {msg.data!r} {msg.extra!r}")
            obj: dict[str, Any] = json.loads(msg.data)
            if skip_ka and obj == {"type": "ka"}:
                continue
            return obj

    async def nothing(self, timeout: float = 0.3) -> None:
        """Assert no non-ka frame arrives within `timeout`."""
        try:
            obj = await self.recv(timeout=timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {obj}")

    def op_auth(self, body: str) -> dict[str, str]:
        return self.auth.operation_auth(HOST, body)

    async def subscribe(self, sub_id: str, channel: str, auth: Any = None) -> dict[str, Any]:
        from eventapi.protocol import subscribe_body

        a = auth or self.auth
        await self.send(
            {
                "type": "subscribe",
                "id": sub_id,
                "channel": channel,
                "authorization": a.operation_auth(HOST, subscribe_body(channel)),
            }
        )
        return await self.recv()

    async def publish(self, pub_id: str, channel: str, events: list[str], auth: Any = None) -> None:
        from eventapi.protocol import publish_body

        a = auth or self.auth
        await self.send(
            {
                "type": "publish",
                "id": pub_id,
                "channel": channel,
                "events": events,
                "authorization": a.operation_auth(HOST, publish_body(channel, events)),
            }
        )

    async def close(self) -> None:
        await self.ws.close()


async def connect(
    session: aiohttp.ClientSession,
    server: LocalServer,
    auth: Any = None,
    *,
    headers_mode: bool = False,
    init: bool = True,
    url: str | None = None,
    **kwargs: Any,
) -> Ws:
    """Open /event/realtime with `auth` in the header- subprotocol (or as upgrade headers)."""
    a = auth or key_auth()
    connect_auth = a.connect_auth(HOST)
    if headers_mode:
        ws = await session.ws_connect(
            url or server.ports.ws_url, protocols=["aws-appsync-event-ws"], headers=dict(connect_auth), **kwargs
        )
    else:
        ws = await session.ws_connect(url or server.ports.ws_url, protocols=subprotocols(connect_auth), **kwargs)
    client = Ws(ws, a)
    if init:
        await client.send({"type": "connection_init"})
        ack = await client.recv()
        assert ack == {"type": "connection_ack", "connectionTimeoutMs": 300000}
    return client


async def http_publish(
    session: aiohttp.ClientSession,
    server: LocalServer,
    channel: str,
    events: list[Any],
    auth: Any = None,
    *,
    url: str | None = None,
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    from eventapi.protocol import compact_json

    a = auth or key_auth()
    body = compact_json({"channel": channel, "events": events})
    headers = a.http_headers(HOST, body)
    async with session.post(url or server.ports.http_url, data=body.encode(), headers=headers, **kwargs) as resp:
        return resp.status, await resp.json()


def strip_ids(result: dict[str, Any]) -> dict[str, Any]:
    """A publish result with identifiers replaced by '<uuid>' (after checking they are UUIDs)."""
    import uuid

    out = copy.deepcopy(result)
    for key in ("successful", "failed"):
        for entry in out.get(key, []):
            uuid.UUID(entry["identifier"])
            entry["identifier"] = "<uuid>"
    return out


async def settle() -> None:
    await asyncio.sleep(0.05)
