"""Where a client finds an Event API: `EventsConfig`, the one definition of the exported config formats.

`EventsConfig.to_json()` / `from_json()` is the schema of the SSM `config` parameter (see eventapi.contract.SsmParam);
the key itself lives in the `api-key` SecureString and is never part of `to_json()` unless asked for. Three file
formats are read (and written, so the post-deploy step can reuse them):

- JSON with the `config` keys plus an optional `apiKey` (`to_json(include_api_key=True)`),
- an env file `EVENTAPI_HTTP_ENDPOINT=…` (`to_env()`, keys in `ENV_KEYS`),
- aws-amplify's `amplify_outputs.json` file (`custom.events`, `to_amplify_outputs()`) and the object
  `Amplify.configure()` takes (`{"API": {"Events": {...}}}`, `to_amplify_config()`).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from eventapi.client.errors import EventsConfigError
from eventapi.config import load_stage
from eventapi.contract import SsmParam, ssm_name
from eventapi.outputs import Output
from eventapi.protocol.limits import HTTP_PATH, REALTIME_PATH
from eventapi.protocol.modes import AuthMode

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
AMPLIFY_OUTPUTS_VERSION: Final = "1.4"  # amplify_outputs.json schema version aws-amplify v6 accepts
# Amplify `defaultAuthMode` names <-> AppSync auth modes.
AMPLIFY_AUTH_MODES: Final[Mapping[str, AuthMode]] = {
    "apiKey": AuthMode.API_KEY,
    "userPool": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "iam": AuthMode.AWS_IAM,
    "oidc": AuthMode.OPENID_CONNECT,
    "lambda": AuthMode.AWS_LAMBDA,
}


@dataclass(frozen=True)
class AuthModes:
    """The API's auth modes per operation, as the `authModes` key of the config."""

    connect: tuple[AuthMode, ...] = ()
    publish: tuple[AuthMode, ...] = ()
    subscribe: tuple[AuthMode, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {"connect": [m.value for m in self.connect], "publish": [m.value for m in self.publish],
                "subscribe": [m.value for m in self.subscribe]}  # fmt: skip

    @classmethod
    def from_json(cls, raw: Any, where: str = "authModes") -> AuthModes:
        obj = _mapping(raw, where)
        return cls(*(_modes(obj.get(op, []), f"{where}.{op}") for op in ("connect", "publish", "subscribe")))

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
        return {"name": self.name, "publish": [m.value for m in self.publish],
                "subscribe": [m.value for m in self.subscribe]}  # fmt: skip

    @classmethod
    def from_json(cls, raw: Any, where: str) -> NamespaceInfo:
        obj = _mapping(raw, where)
        return cls(_text(obj, "name", where), _modes(obj.get("publish", []), f"{where}.publish"),
                   _modes(obj.get("subscribe", []), f"{where}.subscribe"))  # fmt: skip


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

    # --- construction ---

    @classmethod
    def create(cls, http_endpoint: str, region: str, *, realtime_endpoint: str | None = None,
               http_host: str | None = None, realtime_host: str | None = None, api_key: str | None = None,
               **kwargs: Any) -> EventsConfig:  # fmt: skip
        """Build a config from an HTTP endpoint, deriving what is missing (realtime endpoint, hosts)."""
        http_endpoint = _http_endpoint(http_endpoint)
        realtime_endpoint = realtime_endpoint or realtime_endpoint_for(http_endpoint)
        _check_url(realtime_endpoint, "realtimeEndpoint", ("ws", "wss"))
        return cls(http_endpoint=http_endpoint, realtime_endpoint=realtime_endpoint, region=region,
                   http_host=http_host or urlsplit(http_endpoint).netloc,
                   realtime_host=realtime_host or urlsplit(realtime_endpoint).netloc, api_key=api_key,
                   **kwargs)  # fmt: skip

    def with_api_key(self, api_key: str | None) -> EventsConfig:
        return replace(self, api_key=api_key)

    # --- the SSM `config` parameter / JSON file ---

    def to_json(self, *, include_api_key: bool = False) -> dict[str, Any]:
        """The `config` parameter's JSON (camelCase); `apiKey` only with include_api_key=True (files, not SSM)."""
        out: dict[str, Any] = {
            "apiId": self.api_id, "region": self.region, "httpEndpoint": self.http_endpoint,
            "realtimeEndpoint": self.realtime_endpoint, "httpHost": self.http_host, "realtimeHost": self.realtime_host,
            "authModes": self.auth_modes.to_json(), "namespaces": [ns.to_json() for ns in self.namespaces],
            "cognito": self.cognito.to_json() if self.cognito else None,
            "apiKeyExpires": _iso(self.api_key_expires) if self.api_key_expires else None,
        }  # fmt: skip
        if include_api_key and self.api_key is not None:
            out["apiKey"] = self.api_key
        return out

    @classmethod
    def from_json(cls, raw: Any, *, api_key: str | None = None, source: str = "config") -> EventsConfig:
        """Parse the `config` JSON (an `apiKey` key inside wins over the `api_key` argument)."""
        obj = _mapping(raw, source)
        cognito = obj.get("cognito")
        expires = obj.get("apiKeyExpires")
        key = obj.get("apiKey", api_key)
        return cls.create(
            _text(obj, "httpEndpoint", source), _text(obj, "region", source),
            realtime_endpoint=_opt_text(obj, "realtimeEndpoint", source),
            http_host=_opt_text(obj, "httpHost", source), realtime_host=_opt_text(obj, "realtimeHost", source),
            api_id=_opt_text(obj, "apiId", source),
            auth_modes=AuthModes.from_json(obj.get("authModes") or {}, f"{source}.authModes"),
            namespaces=tuple(NamespaceInfo.from_json(ns, f"{source}.namespaces[{i}]")
                             for i, ns in enumerate(_list(obj.get("namespaces") or [], f"{source}.namespaces"))),
            cognito=None if cognito is None else CognitoInfo(_text(_mapping(cognito, f"{source}.cognito"), "userPoolId",
                                                                   f"{source}.cognito"),
                                                             _text(cognito, "clientId", f"{source}.cognito")),
            api_key_expires=None if expires is None else _parse_time(expires, f"{source}.apiKeyExpires"),
            api_key=key if isinstance(key, str) and key else None,
        )  # fmt: skip

    # --- env files ---

    def to_env(self, *, include_api_key: bool = True) -> str:
        """An env file (`KEY=value` lines, shell-quoted) that `from_env` / `from_file` read back."""
        values = {
            "http_endpoint": self.http_endpoint, "realtime_endpoint": self.realtime_endpoint,
            "http_host": self.http_host, "realtime_host": self.realtime_host, "region": self.region,
            "api_id": self.api_id, "api_key": self.api_key if include_api_key else None,
            "api_key_expires": _iso(self.api_key_expires) if self.api_key_expires else None,
            "auth_modes": json.dumps(self.auth_modes.to_json(), separators=(",", ":")),
            "namespaces": json.dumps([ns.to_json() for ns in self.namespaces], separators=(",", ":")),
            "user_pool_id": self.cognito.user_pool_id if self.cognito else None,
            "user_pool_client_id": self.cognito.client_id if self.cognito else None,
        }  # fmt: skip
        return "".join(f"{ENV_KEYS[k]}={shlex.quote(v)}\n" for k, v in values.items() if v is not None)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, source: str = "environment") -> EventsConfig:
        """Read `EVENTAPI_*` variables (a parsed env file or `os.environ`)."""

        def get(key: str) -> str | None:
            value = env.get(ENV_KEYS[key])
            return value if value else None

        endpoint, region = get("http_endpoint"), get("region")
        if endpoint is None or region is None:
            missing = [ENV_KEYS[k] for k, v in (("http_endpoint", endpoint), ("region", region)) if v is None]
            raise EventsConfigError(source, f"missing {', '.join(missing)}")
        api_key = get("api_key")
        modes_raw, namespaces_raw = get("auth_modes"), get("namespaces")
        try:
            modes = AuthModes.from_json(json.loads(modes_raw), ENV_KEYS["auth_modes"]) if modes_raw else None
            namespaces = tuple(NamespaceInfo.from_json(ns, f"{ENV_KEYS['namespaces']}[{i}]")
                               for i, ns in enumerate(_list(json.loads(namespaces_raw or "[]"),
                                                            ENV_KEYS["namespaces"])))  # fmt: skip
        except ValueError as err:
            if isinstance(err, EventsConfigError):
                raise
            raise EventsConfigError(source, f"EVENTAPI_AUTH_MODES or EVENTAPI_NAMESPACES is not JSON ({err})") from None
        pool, client = get("user_pool_id"), get("user_pool_client_id")
        expires = get("api_key_expires")
        return cls.create(
            endpoint, region, realtime_endpoint=get("realtime_endpoint"), http_host=get("http_host"),
            realtime_host=get("realtime_host"), api_key=api_key, api_id=get("api_id"),
            auth_modes=modes or (AuthModes.only(AuthMode.API_KEY) if api_key else AuthModes()),
            namespaces=namespaces, cognito=CognitoInfo(pool, client) if pool and client else None,
            api_key_expires=_parse_time(expires, ENV_KEYS["api_key_expires"]) if expires else None,
        )  # fmt: skip

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
            "endpoint": self.http_endpoint, "region": self.region,
            "defaultAuthMode": next(k for k, v in AMPLIFY_AUTH_MODES.items() if v is default),
        }  # fmt: skip
        if self.api_key is not None:
            events["apiKey"] = self.api_key
        return {"API": {"Events": events}}

    @classmethod
    def from_amplify_config(cls, raw: Any, *, source: str = "Amplify config") -> EventsConfig:
        events = _mapping(_mapping(_mapping(raw, source).get("API"), f"{source}.API").get("Events"),
                          f"{source}.API.Events")  # fmt: skip
        where = f"{source}.API.Events"
        mode_name = events.get("defaultAuthMode", "apiKey")
        if mode_name not in AMPLIFY_AUTH_MODES:
            raise EventsConfigError(f"{where}.defaultAuthMode", f"{mode_name!r} is not one of "
                                    f"{', '.join(AMPLIFY_AUTH_MODES)}")  # fmt: skip
        return cls.create(_text(events, "endpoint", where), _text(events, "region", where),
                          api_key=_opt_text(events, "apiKey", where),
                          auth_modes=AuthModes.only(AMPLIFY_AUTH_MODES[mode_name]))  # fmt: skip

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

    @classmethod
    def from_amplify_outputs(cls, raw: Any, *, source: str = "amplify_outputs.json") -> EventsConfig:
        where = f"{source}.custom.events"
        events = _mapping(_mapping(_mapping(raw, source).get("custom"), f"{source}.custom").get("events"), where)
        mode_name = events.get("default_authorization_type", AuthMode.API_KEY.value)
        if mode_name not in {m.value for m in AuthMode}:
            raise EventsConfigError(f"{where}.default_authorization_type", f"{mode_name!r} is not one of "
                                    f"{', '.join(m.value for m in AuthMode)}")  # fmt: skip
        return cls.create(_text(events, "url", where), _text(events, "aws_region", where),
                          api_key=_opt_text(events, "api_key", where),
                          auth_modes=AuthModes.only(AuthMode(mode_name)))  # fmt: skip

    # --- CloudFormation outputs ---

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], *, api_key: str | None = None,
                     auth_modes: AuthModes | None = None) -> EventsConfig:  # fmt: skip
        """From a stack's outputs keyed by `eventapi.outputs.Output` values (DescribeStacks or --outputs-file)."""

        def get(key: Output) -> str | None:
            value = outputs.get(key.value)
            return value if isinstance(value, str) and value else None

        endpoint, region = get(Output.HTTP_ENDPOINT), get(Output.REGION)
        if endpoint is None or region is None:
            missing = [o.value for o, v in ((Output.HTTP_ENDPOINT, endpoint), (Output.REGION, region)) if v is None]
            raise EventsConfigError("stack outputs", f"missing {', '.join(missing)}")
        pool, client = get(Output.USER_POOL_ID), get(Output.USER_POOL_CLIENT_ID)
        return cls.create(
            endpoint, region, realtime_endpoint=get(Output.REALTIME_ENDPOINT), http_host=get(Output.HTTP_HOST),
            realtime_host=get(Output.REALTIME_HOST), api_id=get(Output.API_ID), api_key=api_key,
            auth_modes=auth_modes or (AuthModes.only(AuthMode.API_KEY) if api_key else AuthModes()),
            cognito=CognitoInfo(pool, client) if pool and client else None,
        )  # fmt: skip

    # --- files and SSM ---

    @classmethod
    def from_file(cls, path: str | Path) -> EventsConfig:
        """Read a config JSON file, an `amplify_outputs.json`, or an env file (detected by content)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as err:
            raise EventsConfigError(str(file), f"cannot read ({err.strerror or err})") from None
        if text.lstrip().startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError as err:
                raise EventsConfigError(str(file), f"not valid JSON ({err})") from None
            if isinstance(raw, dict) and "API" in raw:
                return cls.from_amplify_config(raw, source=str(file))
            if isinstance(raw, dict) and "custom" in raw:
                return cls.from_amplify_outputs(raw, source=str(file))
            return cls.from_json(raw, source=str(file))
        return cls.from_env(parse_env_file(text, source=str(file)), source=str(file))

    @classmethod
    def from_ssm(cls, prefix: str | None = None, *, stage: str | None = None, session: Any = None,
                 project_root: str | Path = ".") -> EventsConfig:  # fmt: skip
        """Read the `config` parameter and the `api-key` SecureString (decrypted) under a stage's SSM prefix.

        Give the prefix, or a stage name of cdk.json (its `ssm.prefix`, read in the stage's `region` when it has
        one: where the post-deploy step wrote). `session` is a boto3 Session (default: a new one, which honours
        AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL).
        """
        if (prefix is None) == (stage is None):
            raise EventsConfigError("ssm", "give exactly one of prefix or stage")
        region = None
        if stage is not None:
            stage_config = load_stage(stage, Path(project_root))
            prefix, region = stage_config.ssm.prefix, stage_config.region
        assert prefix is not None
        if session is None:
            import boto3  # noqa: PLC0415 - only SSM users need boto3

            # boto3 reads AWS_DEFAULT_REGION but not AWS_REGION; the AWS CLI and SDKs read both.
            session = boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
        config_name, key_name = ssm_name(prefix, SsmParam.CONFIG), ssm_name(prefix, SsmParam.API_KEY)
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            ssm = session.client("ssm", region_name=region or session.region_name)
            response = ssm.get_parameters(Names=[config_name, key_name], WithDecryption=True)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "Error")
            raise EventsConfigError(config_name, f"cannot read from SSM ({code}); check the credentials and "
                                    "that this role may ssm:GetParameters on both names (and kms:Decrypt when "
                                    "ssm.kmsKeyId is a customer managed key)") from None  # fmt: skip
        except BotoCoreError as err:
            raise EventsConfigError(config_name, f"cannot reach SSM ({err})") from None
        values = {p["Name"]: p["Value"] for p in response.get("Parameters", [])}
        if config_name not in values:
            raise EventsConfigError(config_name, "not found in SSM; deploy the stage and run the post-deploy step "
                                    "(python -m eventapi.deploy)")  # fmt: skip
        try:
            raw = json.loads(values[config_name])
        except ValueError as err:
            raise EventsConfigError(config_name, f"not valid JSON ({err})") from None
        return cls.from_json(raw, api_key=values.get(key_name), source=config_name)


def realtime_endpoint_for(http_endpoint: str) -> str:
    """The realtime endpoint that goes with an HTTP endpoint (the AWS host naming, else the same host)."""
    parts = urlsplit(http_endpoint)
    host = parts.netloc.replace(".appsync-api.", ".appsync-realtime-api.", 1)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", host, REALTIME_PATH, "", ""))


def parse_env_file(text: str, *, source: str = "env file") -> dict[str, str]:
    """`KEY=value` lines (optional `export `, `#` comments, shell quoting)."""
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.removeprefix("export ").partition("=")
        if not sep or not key.strip().isidentifier():
            raise EventsConfigError(f"{source}:{number}", "expected KEY=value")
        try:
            words = shlex.split(value, comments=True)
        except ValueError as err:
            raise EventsConfigError(f"{source}:{number}", f"bad quoting ({err})") from None
        env[key.strip()] = " ".join(words)
    return env


# --- helpers ---------------------------------------------------------------------------------------------------


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
        raise EventsConfigError(where, f"{url!r} is not a {' or '.join(s + '://' for s in schemes)} URL")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(raw: Any, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        raise EventsConfigError(where, f"{raw!r} is not an ISO 8601 time like 2027-01-01T00:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise EventsConfigError(where, f"expected an object, got {type(raw).__name__}")
    return raw


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise EventsConfigError(where, f"expected a list, got {type(raw).__name__}")
    return raw


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise EventsConfigError(f"{where}.{key}", "missing or not a string")
    return value


def _opt_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EventsConfigError(f"{where}.{key}", "not a string")
    return value


def _modes(raw: Any, where: str) -> tuple[AuthMode, ...]:
    names = [m.value for m in AuthMode]
    items = _list(raw, where)
    for item in items:
        if item not in names:
            raise EventsConfigError(where, f"{item!r} is not an auth mode; expected one of {', '.join(names)}")
    return tuple(AuthMode(item) for item in items)
