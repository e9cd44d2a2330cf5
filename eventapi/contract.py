"""The contract between the writer of a stage's published settings (`eventapi.deploy`) and their readers (the
client, the local tools, the web export): the SSM Parameter Store layout, the schema of the `config` JSON
(`EventsConfig.to_json()` / `from_json()`), and the file formats `export` writes from it (a JSON file with the
`config` keys plus `apiKey`, an env file of `ENV_KEYS`, aws-amplify's `amplify_outputs.json`).

Pure Python: the standard library and the protocol's vocabulary (auth modes, endpoint paths) only. A value that
breaks the schema raises `ContractError` (`where: problem`); the client re-raises it as its `EventsConfigError`.
The API key lives in the `api-key` SecureString and is never part of `to_json()` unless asked for.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Self
from urllib.parse import urlsplit, urlunsplit

from eventapi.protocol.limits import HTTP_PATH, REALTIME_PATH
from eventapi.protocol.modes import AuthMode


class SsmParam(StrEnum):
    """Parameter names under a stage's SSM prefix (`<prefix>/<name>`)."""

    HTTP_ENDPOINT = "http-endpoint"  # String: https://<http host>/event
    REALTIME_ENDPOINT = "realtime-endpoint"  # String: wss://<realtime host>/event/realtime
    HTTP_HOST = "http-host"  # String: the host every auth object names
    REALTIME_HOST = "realtime-host"  # String
    API_ID = "api-id"  # String
    REGION = "region"  # String
    AUTH_MODES = "auth-modes"  # String (JSON): {"connect": [...], "publish": [...], "subscribe": [...]}
    NAMESPACES = "namespaces"  # String (JSON): [{"name", "publish": [...], "subscribe": [...]}]
    USER_POOL_ID = "cognito-user-pool-id"  # String, only with Cognito
    USER_POOL_CLIENT_ID = "cognito-client-id"  # String, only with Cognito
    API_KEY = "api-key"  # SecureString: the key value (da2-...)
    API_KEY_EXPIRES = "api-key-expires"  # String: ISO 8601 UTC
    CONFIG = "config"  # String (JSON): everything above except the key, for clients that read one parameter
    # SecureString (JSON): {"keyId", "rotatedAt", "finishAfter"} while a key rotation is under way; written by
    # `eventapi.deploy rotate-key`, deleted by `rotate-key --finish`. Clients never read it.
    API_KEY_PREVIOUS = "api-key-previous"


def ssm_name(prefix: str, param: SsmParam) -> str:
    """Full parameter name of `param` under `prefix`."""
    return f"{prefix.rstrip('/')}/{param.value}"


# Env file keys (one definition: the post-deploy step writes them, the client reads them).
ENV_KEYS: Final[Mapping[str, str]] = {
    "http_endpoint": "EVENTAPI_HTTP_ENDPOINT",
    "realtime_endpoint": "EVENTAPI_REALTIME_ENDPOINT",
    "http_host": "EVENTAPI_HTTP_HOST",
    "realtime_host": "EVENTAPI_REALTIME_HOST",
    "region": "EVENTAPI_REGION",
    "api_id": "EVENTAPI_API_ID",
    "api_key": "EVENTAPI_API_KEY",
    "api_key_expires": "EVENTAPI_API_KEY_EXPIRES",
    "auth_modes": "EVENTAPI_AUTH_MODES",  # JSON: {"connect": [...], "publish": [...], "subscribe": [...]}
    "namespaces": "EVENTAPI_NAMESPACES",  # JSON: [{"name", "publish": [...], "subscribe": [...]}]
    "user_pool_id": "EVENTAPI_COGNITO_USER_POOL_ID",
    "user_pool_client_id": "EVENTAPI_COGNITO_CLIENT_ID",
}
# `export --format env` adds it after the `ENV_KEYS` lines: the one mode a web build uses by default
# (`EventsConfig.default_auth_mode`). The Python client reads the modes of `EVENTAPI_AUTH_MODES` instead.
ENV_DEFAULT_AUTH_MODE: Final = "EVENTAPI_AUTH_MODE"
AMPLIFY_OUTPUTS_VERSION: Final = "1.4"  # amplify_outputs.json schema version aws-amplify v6 accepts
# Amplify `defaultAuthMode` names <-> AppSync auth modes.
AMPLIFY_AUTH_MODES: Final[Mapping[str, AuthMode]] = {
    "apiKey": AuthMode.API_KEY,
    "userPool": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "iam": AuthMode.AWS_IAM,
    "oidc": AuthMode.OPENID_CONNECT,
    "lambda": AuthMode.AWS_LAMBDA,
}


class ContractError(ValueError):
    """A value that breaks the schema: `where` names the field or source, `problem` says what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


def iso(when: datetime) -> str:
    """ISO 8601 UTC with a `Z`, as the SSM parameters, the `config` JSON and the env file spell times."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(raw: Any, where: str) -> datetime:
    """A time written by `iso` (or any ISO 8601 time; naive means UTC)."""
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        raise ContractError(where, f"{raw!r} is not an ISO 8601 time like 2027-01-01T00:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuthModes:
    """The API's auth modes per operation, as the `authModes` key of the config."""

    connect: tuple[AuthMode, ...] = ()
    publish: tuple[AuthMode, ...] = ()
    subscribe: tuple[AuthMode, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {
            "connect": [m.value for m in self.connect],
            "publish": [m.value for m in self.publish],
            "subscribe": [m.value for m in self.subscribe],
        }

    @classmethod
    def from_json(cls, raw: Any, where: str = "authModes") -> AuthModes:
        obj = expect_object(raw, where)
        return cls(*(_auth_mode_list(obj.get(op, []), f"{where}.{op}") for op in ("connect", "publish", "subscribe")))

    @classmethod
    def only(cls, mode: AuthMode) -> AuthModes:
        return cls((mode,), (mode,), (mode,))


@dataclass(frozen=True)
class NamespaceInfo:
    """A channel namespace and its effective publish/subscribe auth modes."""

    name: str
    publish: tuple[AuthMode, ...] = ()
    subscribe: tuple[AuthMode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "publish": [m.value for m in self.publish],
            "subscribe": [m.value for m in self.subscribe],
        }

    @classmethod
    def from_json(cls, raw: Any, where: str) -> NamespaceInfo:
        obj = expect_object(raw, where)
        return cls(
            required_text(obj, "name", where),
            _auth_mode_list(obj.get("publish", []), f"{where}.publish"),
            _auth_mode_list(obj.get("subscribe", []), f"{where}.subscribe"),
        )


@dataclass(frozen=True)
class CognitoInfo:
    user_pool_id: str
    client_id: str

    def to_json(self) -> dict[str, str]:
        return {"userPoolId": self.user_pool_id, "clientId": self.client_id}


@dataclass(frozen=True)
class EventsConfig:
    """Endpoints, hosts, region and auth modes of one Event API; `api_key` is kept out of repr and to_json()."""

    http_endpoint: str  # https://<http host>/event (http:// for a local Event API)
    realtime_endpoint: str  # wss://<realtime host>/event/realtime (ws:// locally)
    region: str
    http_host: str  # the host every auth object names
    realtime_host: str
    api_id: str | None = None
    auth_modes: AuthModes = AuthModes()
    namespaces: tuple[NamespaceInfo, ...] = ()
    cognito: CognitoInfo | None = None
    api_key_expires: datetime | None = None
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        http_endpoint: str,
        region: str,
        *,
        realtime_endpoint: str | None = None,
        http_host: str | None = None,
        realtime_host: str | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """Build a config from an HTTP endpoint, deriving what is missing (realtime endpoint, hosts)."""
        http_endpoint = _http_endpoint(http_endpoint)
        realtime_endpoint = realtime_endpoint or realtime_endpoint_for(http_endpoint)
        _check_url(realtime_endpoint, "realtimeEndpoint", ("ws", "wss"))
        return cls(
            http_endpoint=http_endpoint,
            realtime_endpoint=realtime_endpoint,
            region=region,
            http_host=http_host or urlsplit(http_endpoint).netloc,
            realtime_host=realtime_host or urlsplit(realtime_endpoint).netloc,
            api_key=api_key,
            **kwargs,
        )

    def with_api_key(self, api_key: str | None) -> Self:
        return replace(self, api_key=api_key)

    # --- the SSM `config` parameter / JSON file ---

    def to_json(self, *, include_api_key: bool = False) -> dict[str, Any]:
        """The `config` parameter's JSON (camelCase); `apiKey` only with include_api_key=True (files, not SSM)."""
        out: dict[str, Any] = {
            "apiId": self.api_id,
            "region": self.region,
            "httpEndpoint": self.http_endpoint,
            "realtimeEndpoint": self.realtime_endpoint,
            "httpHost": self.http_host,
            "realtimeHost": self.realtime_host,
            "authModes": self.auth_modes.to_json(),
            "namespaces": [ns.to_json() for ns in self.namespaces],
            "cognito": self.cognito.to_json() if self.cognito else None,
            "apiKeyExpires": iso(self.api_key_expires) if self.api_key_expires else None,
        }
        if include_api_key and self.api_key is not None:
            out["apiKey"] = self.api_key
        return out

    @classmethod
    def from_json(cls, raw: Any, *, api_key: str | None = None, source: str = "config") -> Self:
        """Parse the `config` JSON (an `apiKey` key inside wins over the `api_key` argument)."""
        obj = expect_object(raw, source)
        cognito = obj.get("cognito")
        expires = obj.get("apiKeyExpires")
        key = obj.get("apiKey", api_key)
        return cls.create(
            required_text(obj, "httpEndpoint", source),
            required_text(obj, "region", source),
            realtime_endpoint=optional_text(obj, "realtimeEndpoint", source),
            http_host=optional_text(obj, "httpHost", source),
            realtime_host=optional_text(obj, "realtimeHost", source),
            api_id=optional_text(obj, "apiId", source),
            auth_modes=AuthModes.from_json(obj.get("authModes") or {}, f"{source}.authModes"),
            namespaces=tuple(
                NamespaceInfo.from_json(ns, f"{source}.namespaces[{i}]")
                for i, ns in enumerate(expect_list(obj.get("namespaces") or [], f"{source}.namespaces"))
            ),
            cognito=None
            if cognito is None
            else CognitoInfo(
                required_text(expect_object(cognito, f"{source}.cognito"), "userPoolId", f"{source}.cognito"),
                required_text(cognito, "clientId", f"{source}.cognito"),
            ),
            api_key_expires=None if expires is None else parse_time(expires, f"{source}.apiKeyExpires"),
            api_key=key if isinstance(key, str) and key else None,
        )

    # --- the env file ---

    def to_env(self, *, include_api_key: bool = True) -> str:
        """An env file (`KEY=value` lines of `ENV_KEYS`, shell-quoted), as the client's `from_env` reads it."""
        values = {
            "http_endpoint": self.http_endpoint,
            "realtime_endpoint": self.realtime_endpoint,
            "http_host": self.http_host,
            "realtime_host": self.realtime_host,
            "region": self.region,
            "api_id": self.api_id,
            "api_key": self.api_key if include_api_key else None,
            "api_key_expires": iso(self.api_key_expires) if self.api_key_expires else None,
            "auth_modes": json.dumps(self.auth_modes.to_json(), separators=(",", ":")),
            "namespaces": json.dumps([ns.to_json() for ns in self.namespaces], separators=(",", ":")),
            "user_pool_id": self.cognito.user_pool_id if self.cognito else None,
            "user_pool_client_id": self.cognito.client_id if self.cognito else None,
        }
        return "".join(f"{ENV_KEYS[k]}={shlex.quote(v)}\n" for k, v in values.items() if v is not None)

    # --- Amplify ---

    def default_auth_mode(self) -> AuthMode:
        """The mode a web build uses by default: the API key if there is one that may connect, else the first."""
        connect = self.auth_modes.connect
        if self.api_key is not None and (AuthMode.API_KEY in connect or not connect):
            return AuthMode.API_KEY
        return connect[0] if connect else AuthMode.API_KEY

    def to_amplify_config(self) -> dict[str, Any]:
        """`{"API": {"Events": {...}}}`, the object `Amplify.configure()` takes (includes the API key)."""
        default = self.default_auth_mode()
        events: dict[str, Any] = {
            "endpoint": self.http_endpoint,
            "region": self.region,
            "defaultAuthMode": next(k for k, v in AMPLIFY_AUTH_MODES.items() if v is default),
        }
        if self.api_key is not None:
            events["apiKey"] = self.api_key
        return {"API": {"Events": events}}

    def to_amplify_outputs(self) -> dict[str, Any]:
        """The `amplify_outputs.json` file: aws-amplify v6 reads an Event API from `custom.events`.

        (amplify-js `parseAmplifyOutputs.ts`, `parseCustom`: url -> endpoint, aws_region -> region,
        default_authorization_type -> defaultAuthMode, api_key -> apiKey; the file's `version` starts with "1".)
        """
        events: dict[str, str] = {
            "url": self.http_endpoint,
            "aws_region": self.region,
            "default_authorization_type": self.default_auth_mode().value,
        }
        if self.api_key is not None:
            events["api_key"] = self.api_key
        return {"version": AMPLIFY_OUTPUTS_VERSION, "custom": {"events": events}}


def realtime_endpoint_for(http_endpoint: str) -> str:
    """The realtime endpoint that goes with an HTTP endpoint (the AWS host naming, else the same host)."""
    parts = urlsplit(http_endpoint)
    host = parts.netloc.replace(".appsync-api.", ".appsync-realtime-api.", 1)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", host, REALTIME_PATH, "", ""))


def _http_endpoint(url: str) -> str:
    _check_url(url, "httpEndpoint", ("http", "https"))
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or HTTP_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _check_url(url: str, where: str, schemes: Sequence[str]) -> None:
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        valid = parts is not None and parts.scheme in schemes and bool(parts.hostname) and parts.port != 0
    except ValueError:  # e.g. an unclosed `[` of an IPv6 address, or a port that is not a number
        valid = False
    if not valid:
        raise ContractError(where, f"{url!r} is not a {' or '.join(s + '://' for s in schemes)} URL")


# --- reading JSON fields (the config here; the client's readers of the other formats too) ---------------------


def expect_object(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ContractError(where, f"expected an object, got {type(raw).__name__}")
    return raw


def expect_list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ContractError(where, f"expected a list, got {type(raw).__name__}")
    return raw


def required_text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ContractError(f"{where}.{key}", "missing or not a string")
    return value


def optional_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ContractError(f"{where}.{key}", "not a string")
    return value


def _auth_mode_list(raw: Any, where: str) -> tuple[AuthMode, ...]:
    names = [m.value for m in AuthMode]
    items = expect_list(raw, where)
    for item in items:
        if item not in names:
            raise ContractError(where, f"{item!r} is not an auth mode; expected one of {', '.join(names)}")
    return tuple(AuthMode(item) for item in items)
