"""Auth providers on their own: which key, token or credentials each one hands the client, and when a token source
is asked again."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.credentials import Credentials

from eventapi.client import (
    ApiKey,
    Cognito,
    EventsConfig,
    EventsConfigError,
    Iam,
    Lambda,
    Oidc,
    Static,
    Token,
    jwt_expiry,
)
from eventapi.protocol import ApiKeyAuth, Authorizer, TokenAuth, parse_iam_authorization
from eventapi.protocol.modes import AuthMode

HOST = "abc123.appsync-api.eu-west-1.amazonaws.com"
CONFIG = EventsConfig.create(f"https://{HOST}/event", "eu-west-1", api_key="da2-fromconfig")
TOKEN_PROVIDERS = [
    (Token, AuthMode.AMAZON_COGNITO_USER_POOLS),
    (Cognito, AuthMode.AMAZON_COGNITO_USER_POOLS),
    (Oidc, AuthMode.OPENID_CONNECT),
    (Lambda, AuthMode.AWS_LAMBDA),
]


def jwt(claims: object) -> str:
    """An unsigned JWT carrying `claims` (the client reads `exp`, it never verifies)."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.sig"


class Source:
    """A token source handing out the given tokens in turn, counting its calls."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.tokens.pop(0)


class Clock:
    """An injected clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def token_of(provider: Token, **refresh: bool) -> str:
    """The token `provider` hands over now (asked as the client asks: `refresh=True` after Unauthorized, else
    without the argument)."""
    authorizer = await provider.authorizer(CONFIG, **refresh)
    assert isinstance(authorizer, TokenAuth)
    return authorizer.token


# --- API key ---------------------------------------------------------------------------------------------------


async def test_api_key_given_wins_over_the_config_key() -> None:
    """`ApiKey("da2-…")` uses that key, not the config's; `ApiKey()` uses the config's; neither repr shows a key."""
    given = ApiKey("da2-given")
    assert await given.authorizer(CONFIG) == ApiKeyAuth("da2-given")
    assert await ApiKey().authorizer(CONFIG) == ApiKeyAuth("da2-fromconfig")
    assert repr(given) == "ApiKey(<hidden>)"
    assert repr(ApiKey()) == "ApiKey(<from config>)"


# --- tokens ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "mode"), TOKEN_PROVIDERS)
async def test_jwt_is_refreshed_within_the_margin(provider: type[Token], mode: AuthMode) -> None:
    """A cached JWT is kept while its exp is more than `refresh_margin` seconds after the injected clock's time,
    and replaced from the source once it is that close or closer."""
    clock = Clock(1_000.0)
    first, second = jwt({"exp": 1_006}), jwt({"exp": 2_000})
    source = Source(first, second)
    auth = provider(source, refresh_margin=5, clock=clock)
    assert await auth.authorizer(CONFIG) == TokenAuth(first, mode)
    assert await token_of(auth) == first  # 6 s left, more than the margin
    clock.now = 1_001.0
    assert await token_of(auth) == second  # 5 s left: refreshed
    assert await token_of(auth) == second
    assert source.calls == 2


@pytest.mark.parametrize(("provider", "mode"), TOKEN_PROVIDERS)
async def test_jwt_is_refreshed_a_minute_before_it_expires_by_default(provider: type[Token], mode: AuthMode) -> None:
    """Without `refresh_margin`, a JWT is replaced once it has 60 s or less left, not before."""
    clock = Clock(1_000.0)
    first, second = jwt({"exp": 1_061}), jwt({"exp": 5_000})
    auth = provider(Source(first, second), clock=clock)
    assert await token_of(auth) == first
    assert await token_of(auth) == first  # 61 s left
    clock.now = 1_001.0
    assert await token_of(auth) == second  # 60 s left


async def test_opaque_token_source_is_called_once_until_refresh() -> None:
    """A source of opaque (non-JWT) tokens is called at first use and again only when asked to refresh (after the
    service answered Unauthorized), not for every connect or operation."""
    source = Source("opaque-1", "opaque-2")
    auth = Lambda(source)
    assert [await token_of(auth) for _ in range(3)] == ["opaque-1"] * 3
    assert source.calls == 1
    assert await token_of(auth, refresh=True) == "opaque-2"
    assert auth.refreshable


async def test_fixed_token_is_used_as_given() -> None:
    """A fixed token is sent as it is, even after Unauthorized and even when its exp has passed (the service
    decides); a fixed token cannot be refreshed."""
    expired = jwt({"exp": 1})
    auth = Cognito(expired, clock=lambda: 2_000_000_000.0)
    assert await token_of(auth) == expired
    assert await token_of(auth, refresh=True) == expired
    assert not auth.refreshable


async def test_async_token_source_is_awaited() -> None:
    """An async callable source is awaited: the token it returns is what the request carries."""

    async def source() -> str:
        return "async-token"

    assert await Oidc(source).authorizer(CONFIG) == TokenAuth("async-token", AuthMode.OPENID_CONNECT)


@pytest.mark.parametrize("source", ["", lambda: ""], ids=["fixed", "callable"])
async def test_empty_token_is_a_config_error(source: str | Callable[[], str]) -> None:
    """An empty token (given, or returned by the source) is refused before anything is sent."""
    with pytest.raises(EventsConfigError) as err:
        await Token(source).authorizer(CONFIG)
    assert str(err.value) == "token: the token source returned an empty token"


@pytest.mark.parametrize("mode", [AuthMode.API_KEY, AuthMode.AWS_IAM])
def test_token_refuses_a_mode_without_tokens(mode: AuthMode) -> None:
    """`Token(..., mode=API_KEY or AWS_IAM)` is refused when it is made, not at the first request."""
    with pytest.raises(ValueError) as err:
        Token("t", mode=mode)
    assert str(err.value) == f"TokenAuth is for token modes, not {mode}"


@pytest.mark.parametrize(
    ("token", "expiry"),
    [
        (jwt({"exp": 1}), 1.0),  # payloads of every length modulo 4: the padding JWTs drop is put back
        (jwt({"exp": 12}), 12.0),
        (jwt({"exp": 123}), 123.0),
        (jwt({"exp": 1234}), 1234.0),
        (jwt({"exp": 1.5}), 1.5),
        (jwt({"exp": 99, "sub": "??>>"}), 99.0),  # a payload with '-' and '_', base64url's own characters
        ("Bearer " + jwt({"exp": 7}), 7.0),
        (jwt({"sub": "u-1"}), None),  # no exp
        (jwt({"exp": True}), None),
        (jwt({"exp": "123"}), None),
        (jwt({"exp": None}), None),
        (jwt([1, 2]), None),  # a payload that is not an object
        ("eyJhbGciOiJub25lIn0.bm90IGpzb24.sig", None),  # not JSON
        ("eyJhbGciOiJub25lIn0.a.sig", None),  # not base64
        ("eyJhbGciOiJub25lIn0.eyJl!eHAiOiAxMjN9.sig", None),  # {"exp": 123} with a stray '!': not base64url
        ("eyJhbGciOiJub25lIn0.eyJleHAiOjEyfQ===.sig", None),  # {"exp":12} padded past what it needs
        ("opaque-token", None),
        ("a.b", None),
    ],
)
def test_jwt_expiry(token: str, expiry: float | None) -> None:
    """`jwt_expiry` reads a numeric `exp` claim; anything else (no claim, a non-number, an unreadable payload, an
    opaque token) is None, never an error."""
    assert jwt_expiry(token) == expiry


# --- IAM -------------------------------------------------------------------------------------------------------


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh laptop: no AWS_* variables, no ~/.aws files, instance metadata off."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def signed_by(authorizer: Authorizer) -> tuple[str, str]:
    """The access key id and region an operation's SigV4 signature names."""
    signature = parse_iam_authorization(authorizer.operation_auth(HOST, "{}"))
    return signature.access_key_id, signature.region


async def test_iam_signs_with_the_given_credentials_in_the_given_region() -> None:
    """`Iam(credentials=…)` signs with those credentials, in `region` when given, else in the config's region."""
    credentials = Credentials("AKIDGIVEN", "secret")
    assert signed_by(await Iam(credentials=credentials).authorizer(CONFIG)) == ("AKIDGIVEN", "eu-west-1")
    regional = Iam(credentials=credentials, region="us-east-2")
    assert signed_by(await regional.authorizer(CONFIG)) == ("AKIDGIVEN", "us-east-2")
    assert repr(regional) == "Iam(region='us-east-2')"


@pytest.mark.usefixtures("no_aws_config")
async def test_iam_signs_with_the_given_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Iam(session)` signs with that boto3 session's credentials, not the default chain's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDDEFAULT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    session = boto3.Session(aws_access_key_id="AKIDSESSION", aws_secret_access_key="secret")
    assert signed_by(await Iam(session).authorizer(CONFIG)) == ("AKIDSESSION", "eu-west-1")


@pytest.mark.usefixtures("no_aws_config")
async def test_iam_without_arguments_uses_the_default_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Iam()` signs with what boto3 finds by itself (here AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert signed_by(await Iam().authorizer(CONFIG)) == ("AKIDENV", "eu-west-1")


@pytest.mark.usefixtures("no_aws_config")
async def test_iam_with_credentials_never_reads_the_aws_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given credentials, `Iam` never opens a default boto3 session: an AWS_PROFILE that does not exist is no
    error."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    auth = Iam(credentials=Credentials("AKIDGIVEN", "secret"))
    assert signed_by(await auth.authorizer(CONFIG)) == ("AKIDGIVEN", "eu-west-1")


@pytest.mark.usefixtures("no_aws_config")
async def test_iam_without_credentials_is_a_config_error() -> None:
    """With no AWS credentials anywhere, `Iam()` refuses before anything is sent, saying how to get some."""
    with pytest.raises(EventsConfigError) as err:
        await Iam().authorizer(CONFIG)
    assert str(err.value) == "credentials: no AWS credentials found; set AWS_PROFILE or run aws sso login"


# --- static ----------------------------------------------------------------------------------------------------


async def test_static_authorizer_is_used_as_it_is() -> None:
    """`Static(authorizer)` hands over that very authorizer, refreshed or not; its repr names the kind, never the
    key."""
    fixed = ApiKeyAuth("da2-static")
    auth = Static(fixed)
    assert await auth.authorizer(CONFIG) is fixed
    assert await auth.authorizer(CONFIG, refresh=True) is fixed
    assert repr(auth) == "Static(ApiKeyAuth)"
