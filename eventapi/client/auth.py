"""Auth providers: where the client gets credentials, and when it refreshes them.

Each provider turns the current `EventsConfig` into a protocol `Authorizer` (an immutable auth object maker).
The client asks again before every connect and operation, so a rotated API key (re-read config), an expired
token (callable source) or refreshed AWS credentials are picked up without restarting.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from eventapi.client.config import EventsConfig
from eventapi.client.errors import EventsConfigError
from eventapi.protocol import ApiKeyAuth, Authorizer, IamAuth, TokenAuth
from eventapi.protocol.modes import AuthMode

TokenSource = str | Callable[[], str | Awaitable[str]]
Clock = Callable[[], float]  # seconds since the epoch, as `time.time`


class AuthProvider(ABC):
    """Makes the `Authorizer` for the current config; `refresh=True` after the service said Unauthorized."""

    @abstractmethod
    async def authorizer(self, config: EventsConfig, *, refresh: bool = False) -> Authorizer: ...

    @property
    def refreshable(self) -> bool:
        """Whether `refresh=True` can produce different credentials."""
        return False


class ApiKey(AuthProvider):
    """API_KEY. With no key given, the config's key is used (re-read with the config, so rotation works)."""

    def __init__(self, api_key: str | None = None) -> None:
        self._api_key = api_key

    async def authorizer(self, config: EventsConfig, *, refresh: bool = False) -> Authorizer:
        key = self._api_key or config.api_key
        if not key:
            raise EventsConfigError(
                "apiKey", "no API key: the config has none (is API_KEY enabled for this stage?) and none was given"
            )
        return ApiKeyAuth(key)

    def __repr__(self) -> str:
        return "ApiKey(<from config>)" if self._api_key is None else "ApiKey(<hidden>)"


class Token(AuthProvider):
    """A Cognito user pool / OIDC token or a Lambda authorizer token: a fixed value or a (sync or async) callable.

    A callable is called at first use, again when the cached token is a JWT within `refresh_margin` seconds of
    its `exp`, and again after the service answered Unauthorized.
    """

    def __init__(
        self,
        token: TokenSource,
        *,
        mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS,
        refresh_margin: float = 60.0,
        clock: Clock = time.time,
    ) -> None:
        TokenAuth("-", mode)  # validates the mode
        self._source = token
        self._mode = mode
        self._margin = refresh_margin
        self._clock = clock
        self._cached: str | None = token if isinstance(token, str) else None
        self._lock = asyncio.Lock()

    @property
    def refreshable(self) -> bool:
        return callable(self._source)

    async def authorizer(self, config: EventsConfig, *, refresh: bool = False) -> Authorizer:
        async with self._lock:
            if callable(self._source) and (refresh or self._cached is None or self._expiring(self._cached)):
                value = self._source()
                self._cached = await value if inspect.isawaitable(value) else value
            if not self._cached:
                raise EventsConfigError("token", "the token source returned an empty token")
            return TokenAuth(self._cached, self._mode)

    def _expiring(self, token: str) -> bool:
        expires = jwt_expiry(token)
        return expires is not None and expires - self._margin <= self._clock()

    def __repr__(self) -> str:
        return f"Token(mode={self._mode.value})"


class Cognito(Token):
    """A Cognito user pool token (ID or access token)."""

    def __init__(self, token: TokenSource, *, refresh_margin: float = 60.0, clock: Clock = time.time) -> None:
        super().__init__(token, mode=AuthMode.AMAZON_COGNITO_USER_POOLS, refresh_margin=refresh_margin, clock=clock)


class Oidc(Token):
    """An OpenID Connect token."""

    def __init__(self, token: TokenSource, *, refresh_margin: float = 60.0, clock: Clock = time.time) -> None:
        super().__init__(token, mode=AuthMode.OPENID_CONNECT, refresh_margin=refresh_margin, clock=clock)


class Lambda(Token):
    """A token for the API's Lambda authorizer."""

    def __init__(self, token: TokenSource, *, refresh_margin: float = 60.0, clock: Clock = time.time) -> None:
        super().__init__(token, mode=AuthMode.AWS_LAMBDA, refresh_margin=refresh_margin, clock=clock)


class Iam(AuthProvider):
    """AWS_IAM with a boto3 Session's credentials (refreshed by botocore) or explicit botocore credentials.

    The signing region is `region`, else the config's region.
    """

    def __init__(self, session: Any = None, *, credentials: Any = None, region: str | None = None) -> None:
        if session is None and credentials is None:
            import boto3  # noqa: PLC0415 - only IAM users need boto3

            session = boto3.Session()
        self._session = session
        self._credentials = credentials
        self._region = region

    async def authorizer(self, config: EventsConfig, *, refresh: bool = False) -> Authorizer:
        credentials = self._credentials if self._credentials is not None else self._session.get_credentials()
        if credentials is None:
            raise EventsConfigError("credentials", "no AWS credentials found; set AWS_PROFILE or run aws sso login")
        return IamAuth(credentials, self._region or config.region)

    def __repr__(self) -> str:
        return f"Iam(region={self._region!r})"


class Static(AuthProvider):
    """A fixed protocol `Authorizer` (e.g. `ApiKeyAuth("da2-…")`) used as it is."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    async def authorizer(self, config: EventsConfig, *, refresh: bool = False) -> Authorizer:
        return self._authorizer

    def __repr__(self) -> str:
        return f"Static({type(self._authorizer).__name__})"


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (read, not verified: the service verifies), or None for opaque tokens."""
    parts = token.split(".")  # a "Bearer " prefix stays in the header part, which is not read
    if len(parts) != 3:
        return None
    try:
        # Strictly base64url: the lenient decoder skips stray characters and would read an exp out of a malformed
        # payload of some lengths but not others.
        payload = base64.b64decode(parts[1] + "=" * (-len(parts[1]) % 4), altchars=b"-_", validate=True)
        exp = json.loads(payload).get("exp")
    except (binascii.Error, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
