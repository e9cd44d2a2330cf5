"""The local token issuer: a stand-in for a Cognito user pool and an OIDC provider (joserfc, RS256).

One RSA key pair, kept in the state dir (`issuer-key.json`, mode 0600) so tokens survive restarts. The server
publishes its public half at `/.well-known/jwks.json` and verifies `Authorization` tokens with it:

- AMAZON_COGNITO_USER_POOLS: `iss` must be `https://cognito-idp.<region>.amazonaws.com/<pool id>` (the pool id from
  the template, or `LocalSettings.cognito_user_pool_id`, else `<region>_local`), `token_use` `id` or `access`
  (AppSync docs say ID token, Amplify sends the access token), and when the template sets `AppIdClientRegex`, the
  client id (`aud` of an ID token, `client_id` of an access token) must match it.
- OPENID_CONNECT: `iss` must be the template's issuer; `aud` must hold `ClientId` when set; `AuthTTL` and `IatTTL`
  bound the age of `auth_time` and `iat`.
- Both: a valid RS256 signature by the local key, and `exp` in the future.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from eventapi.local.settings import LocalSettings
from eventapi.local.template import LocalApiSpec
from eventapi.protocol.modes import AuthMode

log = logging.getLogger("eventapi.local")

KEY_FILE = "issuer-key.json"
ALGORITHM = "RS256"
DEFAULT_CLIENT_ID = "local-client"
DEFAULT_TTL_SECONDS = 3600


class TokenError(ValueError):
    """A token the local issuer does not accept (the reason is logged, never the token)."""


@dataclass(frozen=True)
class TokenRules:
    """What a token must satisfy for one auth mode."""

    mode: AuthMode
    issuer: str
    client_id_regex: str | None = None  # Cognito AppIdClientRegex
    audience: str | None = None  # OIDC ClientId
    auth_ttl_seconds: float = 0
    iat_ttl_seconds: float = 0


def cognito_issuer(spec: LocalApiSpec, settings: LocalSettings) -> str:
    """The `iss` of tokens from the (local stand-in of the) API's user pool."""
    cognito = spec.providers.cognito
    region = (cognito.aws_region if cognito else None) or settings.effective_region(spec.region)
    pool_id = settings.cognito_user_pool_id or (cognito.user_pool_id if cognito else None) or f"{region}_local"
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def token_rules(spec: LocalApiSpec, settings: LocalSettings, mode: AuthMode) -> TokenRules | None:
    """The rules for `mode`, or None when the API has no such provider."""
    if mode is AuthMode.AMAZON_COGNITO_USER_POOLS and spec.providers.cognito is not None:
        return TokenRules(
            mode, cognito_issuer(spec, settings), client_id_regex=spec.providers.cognito.app_id_client_regex
        )
    oidc = spec.providers.oidc
    if mode is AuthMode.OPENID_CONNECT and oidc is not None:
        return TokenRules(
            mode,
            oidc.issuer,
            audience=oidc.client_id,
            auth_ttl_seconds=oidc.auth_ttl_ms / 1000,
            iat_ttl_seconds=oidc.iat_ttl_ms / 1000,
        )
    return None


def _warn_if_shared(state_dir: Path) -> None:
    """Warn when other users could replace the issuer key: whoever writes it can mint tokens this server accepts."""
    try:
        mode = state_dir.stat().st_mode
    except OSError:
        return  # not made yet: it is made 0700
    if mode & stat.S_IWOTH:
        log.warning(
            "the state dir %s is writable by every user: anyone could replace the token issuer's key there and mint "
            "tokens this server accepts; use a private folder (chmod 700 %s, or --state-dir)",
            state_dir,
            state_dir,
        )


class LocalIssuer:
    """Mints and verifies RS256 tokens with one persisted key pair."""

    def __init__(self, key: RSAKey) -> None:
        self._key = key
        self.kid = str(key.kid)

    @classmethod
    def load_or_create(cls, state_dir: Path) -> LocalIssuer:
        """The issuer whose key is in `state_dir`, making (and saving, 0600) a new key on first use."""
        path = state_dir / KEY_FILE
        _warn_if_shared(state_dir)
        try:
            return cls(RSAKey.import_key(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, JoseError):
            pass
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = RSAKey.generate_key(2048, private=True, auto_kid=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(key.as_dict(private=True), out)
        tmp.replace(path)
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        """The public key set (what `/.well-known/jwks.json` serves)."""
        public = dict(self._key.as_dict(private=False))
        public.update({"use": "sig", "alg": ALGORITHM})
        return {"keys": [public]}

    def encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}, claims, self._key, algorithms=[ALGORITHM])

    def mint(
        self,
        rules: TokenRules,
        *,
        user: str,
        groups: Sequence[str] = (),
        client_id: str | None = None,
        token_use: str = "id",  # noqa: S107 - a claim value, not a secret
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        now: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A token that `rules` accept (for `ttl_seconds`; a negative ttl makes an expired one)."""
        issued = int(time.time() if now is None else now)
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rules.issuer}/{user}"))
        client = client_id or rules.audience or DEFAULT_CLIENT_ID
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": rules.issuer,
            "iat": issued,
            "auth_time": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        if rules.mode is AuthMode.AMAZON_COGNITO_USER_POOLS:
            claims["token_use"] = token_use
            claims["cognito:groups"] = list(groups)
            if token_use == "access":  # noqa: S105
                claims.update({"client_id": client, "username": user, "scope": "aws.cognito.signin.user.admin"})
            else:
                claims.update({"aud": client, "cognito:username": user})
        else:
            claims.update({"aud": client, "preferred_username": user, "groups": list(groups)})
        claims.update(extra or {})
        return self.encode(claims)

    def verify(self, token: str, rules: TokenRules, *, now: float | None = None) -> dict[str, Any]:
        """The claims of `token` if `rules` accept it; raises `TokenError` with the reason."""
        current = time.time() if now is None else now
        text = token.removeprefix("Bearer ").strip()
        try:
            decoded = jwt.decode(text, self._key, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as err:
            raise TokenError(f"not a token signed by the local issuer ({type(err).__name__})") from None
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(current), iss={"essential": True, "value": rules.issuer}, exp={"essential": True}
        )
        try:
            registry.validate(claims)
        except JoseError as err:
            raise TokenError(f"claims rejected: {err}") from None
        if rules.mode is AuthMode.AMAZON_COGNITO_USER_POOLS:
            use = claims.get("token_use")
            if use not in ("id", "access"):
                raise TokenError(f"token_use {use!r} is neither 'id' nor 'access'")
            client = claims.get("client_id") if use == "access" else claims.get("aud")
            if rules.client_id_regex and not (isinstance(client, str) and re.search(rules.client_id_regex, client)):
                raise TokenError("client id does not match AppIdClientRegex")
        else:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if rules.audience is not None and rules.audience not in audiences:
                raise TokenError("aud does not hold the OIDC client id")
            for claim, ttl in (("auth_time", rules.auth_ttl_seconds), ("iat", rules.iat_ttl_seconds)):
                value = claims.get(claim)
                if ttl and (not isinstance(value, int | float) or current - value > ttl):
                    raise TokenError(f"{claim} is older than the configured TTL")
        return claims
