"""Authorization of one operation (connect, subscribe, publish) against the modes the template allows.

Which mode applies is inferred from the auth object (docs/protocol.md, Auth): `x-api-key` -> API_KEY; a SigV4
`Authorization` with `x-amz-date` -> AWS_IAM; any other `Authorization` -> the allowed token modes in order
(Cognito, then OIDC via the local issuer, then the Lambda authorizer). A credential of a mode the operation does
not allow is refused, even when it is valid for another namespace.

Reasons for a refusal are logged at debug level without the credential; callers answer the client with the
service's generic `UnauthorizedException`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from eventapi.local.issuer import LocalIssuer, TokenError, token_rules
from eventapi.local.settings import ApiKeyStore, LocalSettings
from eventapi.local.template import LocalApiSpec
from eventapi.protocol import AuthFormatError, AuthHeaders, AuthKind, classify_auth, parse_iam_authorization
from eventapi.protocol import verify_iam_signature as _verify_iam
from eventapi.protocol.modes import AuthMode

log = logging.getLogger("eventapi.local.auth")

OPERATION_CONNECT = "EVENT_CONNECT"
OPERATION_SUBSCRIBE = "EVENT_SUBSCRIBE"
OPERATION_PUBLISH = "EVENT_PUBLISH"
TOKEN_MODES = (AuthMode.AMAZON_COGNITO_USER_POOLS, AuthMode.OPENID_CONNECT, AuthMode.AWS_LAMBDA)
MAX_LAMBDA_CACHE = 10_000


class Denied(Exception):
    """An operation the credentials do not authorize; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Identity:
    """Who made a request: the mode that authorized it and what a handler sees as `ctx.identity`."""

    mode: AuthMode
    info: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class AuthRequest:
    """One operation to authorize. `body` is the exact text an IAM signature covers."""

    operation: str
    auth: Mapping[str, str]
    body: str
    namespace: str | None = None
    channel: str | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)


def load_authorizer(ref: str) -> Callable[[dict[str, Any]], Any]:
    """Import `module:function`; raises ValueError with what to fix."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"lambda authorizer {ref!r}: expected 'module:function', e.g. 'myauth:handler'")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"lambda authorizer {ref!r}: cannot import ({err})") from None
    if not callable(target):
        raise ValueError(f"lambda authorizer {ref!r} is not callable")
    return cast(Callable[[dict[str, Any]], Any], target)


class Authenticator:
    """Checks credentials for the modes of one operation (see the module docstring)."""

    def __init__(
        self,
        spec: LocalApiSpec,
        settings: LocalSettings,
        keys: ApiKeyStore,
        issuer: LocalIssuer,
        *,
        monotonic: Callable[[], float] = time.monotonic,  # the Lambda result cache's clock (tests pass theirs)
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.keys = keys
        self.issuer = issuer
        self.region = settings.effective_region(spec.region)
        self._iam = {cred.access_key_id: cred.secret_access_key for cred in settings.iam_credentials}
        self._rules = {mode: token_rules(spec, settings, mode) for mode in TOKEN_MODES}
        ref = settings.lambda_authorizer
        self._lambda = load_authorizer(ref) if isinstance(ref, str) else ref
        self._lambda_cache: dict[tuple[str, str, str | None], tuple[float, Identity | None]] = {}
        self._warned: set[str] = set()
        self._monotonic = monotonic

    async def authorize(self, modes: tuple[AuthMode, ...], request: AuthRequest) -> Identity:
        """The identity behind `request` if one of `modes` accepts it; raises `Denied`."""
        kind = classify_auth(request.auth)
        if kind is AuthKind.API_KEY:
            return self._api_key(modes, request)
        if kind is AuthKind.IAM:
            return self._iam_check(modes, request)
        if kind is AuthKind.TOKEN:
            return await self._token(modes, request)
        raise Denied("no credentials (x-api-key or Authorization) in the auth object")

    def _api_key(self, modes: tuple[AuthMode, ...], request: AuthRequest) -> Identity:
        if AuthMode.API_KEY not in modes:
            raise Denied("API_KEY is not allowed for this operation")
        if not self.keys.is_valid(AuthHeaders(request.auth)["x-api-key"]):
            raise Denied("unknown or expired API key")
        return Identity(AuthMode.API_KEY)

    def _iam_check(self, modes: tuple[AuthMode, ...], request: AuthRequest) -> Identity:
        if AuthMode.AWS_IAM not in modes:
            raise Denied("AWS_IAM is not allowed for this operation")
        try:
            signature = parse_iam_authorization(request.auth)
        except AuthFormatError as err:
            raise Denied(f"malformed SigV4 auth object: {err}") from None
        secret = self._iam.get(signature.access_key_id)
        if secret is None:
            raise Denied("SigV4 access key id is not among the local IAM credentials")
        skew = abs(time.time() - signature.timestamp.timestamp())
        if skew > self.settings.iam_clock_skew_seconds:
            raise Denied(f"SigV4 x-amz-date is {skew:.0f}s away from now")
        # The auth object parsed above, so verifying it cannot meet a malformed one.
        if not _verify_iam(request.auth, request.body, secret_key=secret, region=self.region):
            raise Denied("SigV4 signature does not match (wrong secret, region, service, body or headers)")
        arn = f"arn:aws:iam::{self.settings.account_id}:user/{signature.access_key_id}"
        return Identity(
            AuthMode.AWS_IAM,
            {
                "accountId": self.settings.account_id,
                "userArn": arn,
                "username": signature.access_key_id,
                "sourceIp": ["127.0.0.1"],
            },
        )

    async def _token(self, modes: tuple[AuthMode, ...], request: AuthRequest) -> Identity:
        token = AuthHeaders(request.auth)["Authorization"]
        reasons: list[str] = []
        for mode in (m for m in TOKEN_MODES if m in modes):
            if mode is AuthMode.AWS_LAMBDA:
                return await self._lambda_check(token, request)
            rules = self._rules.get(mode)
            if rules is None:
                continue
            try:
                claims = self.issuer.verify(token, rules)
            except TokenError as err:
                reasons.append(f"{mode}: {err}")
                continue
            groups = claims.get("cognito:groups", claims.get("groups"))
            username = claims.get("cognito:username", claims.get("username", claims.get("preferred_username")))
            return Identity(
                mode,
                {
                    "sub": claims.get("sub"),
                    "issuer": claims.get("iss"),
                    "username": username,
                    "claims": claims,
                    "groups": groups,
                    "sourceIp": ["127.0.0.1"],
                    "defaultAuthStrategy": "ALLOW",
                },
            )
        raise Denied("; ".join(reasons) or "no token mode is allowed for this operation")

    async def _lambda_check(self, token: str, request: AuthRequest) -> Identity:
        provider = self.spec.providers.lambda_
        if self._lambda is None or provider is None:
            if "lambda" not in self._warned:
                self._warned.add("lambda")
                log.warning(
                    "AWS_LAMBDA authorization is not emulated: pass a callable as the Lambda authorizer "
                    "(serve --lambda-authorizer module:function); refusing AWS_LAMBDA requests"
                )
            raise Denied("AWS_LAMBDA is not emulated (no local Lambda authorizer configured)")
        pattern = provider.identity_validation_expression
        if pattern and not re.match(pattern, token):
            raise Denied("token does not match IdentityValidationExpression")
        cache_key = (token, request.operation, request.channel)
        cached = self._lambda_cache.get(cache_key)
        now = self._monotonic()
        if cached is not None and cached[0] > now:
            if cached[1] is None:
                raise Denied("Lambda authorizer refused (cached)")
            return cached[1]
        event = {
            "authorizationToken": token,
            "requestContext": {
                "apiId": self.settings.api_id,
                "accountId": self.settings.account_id,
                "requestId": str(uuid.uuid4()),
                "operation": request.operation,
                "channelNamespaceName": request.namespace,
                "channel": request.channel,
            },
            "requestHeaders": {k.lower(): v for k, v in request.request_headers.items() if k.lower() != "cookie"},
        }
        try:
            if inspect.iscoroutinefunction(self._lambda):
                result = await cast(Callable[[dict[str, Any]], Awaitable[Any]], self._lambda)(event)
            else:
                result = await asyncio.to_thread(self._lambda, event)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as err:  # a user's authorizer failing is a refusal, not a server crash
            log.warning("the Lambda authorizer raised %s", type(err).__name__)
            raise Denied("Lambda authorizer raised") from None
        if not isinstance(result, Mapping):
            raise Denied("Lambda authorizer returned no object")
        ttl = result.get("ttlOverride")  # absent, or not a number: the provider's
        ttl = ttl if isinstance(ttl, int | float) and not isinstance(ttl, bool) else provider.result_ttl_seconds
        identity = None
        if result.get("isAuthorized") is True:
            context = result.get("handlerContext")
            identity = Identity(AuthMode.AWS_LAMBDA, {"handlerContext": context if isinstance(context, dict) else {}})
        if ttl > 0:
            if len(self._lambda_cache) >= MAX_LAMBDA_CACHE:
                self._lambda_cache.clear()
            self._lambda_cache[cache_key] = (now + ttl, identity)
        if identity is None:
            raise Denied("Lambda authorizer refused")
        return identity
