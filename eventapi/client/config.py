"""How a client finds an Event API: `EventsConfig`, the contract's config plus the ways to read one.

The schema (the SSM `config` JSON, `to_json()` / `from_json()`) and the formats the post-deploy step writes
(`to_env()`, `to_amplify_outputs()`) are `eventapi.contract`'s; this module reads them from where a client finds
them: the environment or a parsed env file (`from_env`), a file of any of the formats (`from_file`: a config JSON
with an optional `apiKey`, an env file, `amplify_outputs.json` or an `Amplify.configure()` object), a stack's
outputs (`from_outputs`), and SSM (`from_ssm`). Every failure is an `EventsConfigError`.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from eventapi import contract
from eventapi.client.errors import EventsConfigError
from eventapi.config import load_stage
from eventapi.contract import (
    AMPLIFY_AUTH_MODES,
    ENV_KEYS,
    AuthModes,
    CognitoInfo,
    ContractError,
    NamespaceInfo,
    SsmParam,
    expect_list,
    expect_object,
    optional_text,
    parse_time,
    required_text,
    ssm_name,
)
from eventapi.outputs import Output
from eventapi.protocol.modes import AuthMode


@contextmanager
def _as_config_error() -> Iterator[None]:
    """The contract's schema errors as the client's `EventsConfigError` (what callers of the client catch)."""
    try:
        yield
    except ContractError as err:
        raise EventsConfigError(err.where, err.problem) from None


class EventsConfig(contract.EventsConfig):
    """The contract's `EventsConfig` (endpoints, hosts, region, auth modes; `api_key` out of repr and to_json()),
    read from where a client finds it."""

    @classmethod
    @_as_config_error()
    def create(cls, http_endpoint: str, region: str, **kwargs: Any) -> Self:
        """Build a config from an HTTP endpoint, deriving what is missing (realtime endpoint, hosts)."""
        return super().create(http_endpoint, region, **kwargs)

    @classmethod
    @_as_config_error()
    def from_json(cls, raw: Any, *, api_key: str | None = None, source: str = "config") -> Self:
        """Parse the `config` JSON (an `apiKey` key inside wins over the `api_key` argument)."""
        return super().from_json(raw, api_key=api_key, source=source)

    @classmethod
    @_as_config_error()
    def from_env(cls, env: Mapping[str, str], *, source: str = "environment") -> Self:
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
            namespaces = tuple(
                NamespaceInfo.from_json(ns, f"{ENV_KEYS['namespaces']}[{i}]")
                for i, ns in enumerate(expect_list(json.loads(namespaces_raw or "[]"), ENV_KEYS["namespaces"]))
            )
        except ContractError:
            raise
        except ValueError as err:
            raise EventsConfigError(source, f"EVENTAPI_AUTH_MODES or EVENTAPI_NAMESPACES is not JSON ({err})") from None
        pool, client = get("user_pool_id"), get("user_pool_client_id")
        expires = get("api_key_expires")
        return cls.create(
            endpoint,
            region,
            realtime_endpoint=get("realtime_endpoint"),
            http_host=get("http_host"),
            realtime_host=get("realtime_host"),
            api_key=api_key,
            api_id=get("api_id"),
            auth_modes=modes or (AuthModes.only(AuthMode.API_KEY) if api_key else AuthModes()),
            namespaces=namespaces,
            cognito=CognitoInfo(pool, client) if pool and client else None,
            api_key_expires=parse_time(expires, ENV_KEYS["api_key_expires"]) if expires else None,
        )

    # --- Amplify ---

    @classmethod
    @_as_config_error()
    def from_amplify_config(cls, raw: Any, *, source: str = "Amplify config") -> Self:
        where = f"{source}.API.Events"
        api = expect_object(expect_object(raw, source).get("API"), f"{source}.API")
        events = expect_object(api.get("Events"), where)
        mode_name = events.get("defaultAuthMode", "apiKey")
        if mode_name not in AMPLIFY_AUTH_MODES:
            raise EventsConfigError(
                f"{where}.defaultAuthMode", f"{mode_name!r} is not one of {', '.join(AMPLIFY_AUTH_MODES)}"
            )
        return cls.create(
            required_text(events, "endpoint", where),
            required_text(events, "region", where),
            api_key=optional_text(events, "apiKey", where),
            auth_modes=AuthModes.only(AMPLIFY_AUTH_MODES[mode_name]),
        )

    @classmethod
    @_as_config_error()
    def from_amplify_outputs(cls, raw: Any, *, source: str = "amplify_outputs.json") -> Self:
        where = f"{source}.custom.events"
        custom = expect_object(expect_object(raw, source).get("custom"), f"{source}.custom")
        events = expect_object(custom.get("events"), where)
        mode_name = events.get("default_authorization_type", AuthMode.API_KEY.value)
        if mode_name not in {m.value for m in AuthMode}:
            raise EventsConfigError(
                f"{where}.default_authorization_type",
                f"{mode_name!r} is not one of {', '.join(m.value for m in AuthMode)}",
            )
        return cls.create(
            required_text(events, "url", where),
            required_text(events, "aws_region", where),
            api_key=optional_text(events, "api_key", where),
            auth_modes=AuthModes.only(AuthMode(mode_name)),
        )

    # --- CloudFormation outputs ---

    @classmethod
    def from_outputs(
        cls, outputs: Mapping[str, Any], *, api_key: str | None = None, auth_modes: AuthModes | None = None
    ) -> Self:
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
            endpoint,
            region,
            realtime_endpoint=get(Output.REALTIME_ENDPOINT),
            http_host=get(Output.HTTP_HOST),
            realtime_host=get(Output.REALTIME_HOST),
            api_id=get(Output.API_ID),
            api_key=api_key,
            auth_modes=auth_modes or (AuthModes.only(AuthMode.API_KEY) if api_key else AuthModes()),
            cognito=CognitoInfo(pool, client) if pool and client else None,
        )

    # --- files and SSM ---

    @classmethod
    def from_file(cls, path: str | Path) -> Self:
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
    def from_ssm(
        cls, prefix: str | None = None, *, stage: str | None = None, session: Any = None, project_root: str | Path = "."
    ) -> Self:
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
            raise EventsConfigError(
                config_name,
                f"cannot read from SSM ({code}); check the credentials and "
                "that this role may ssm:GetParameters on both names (and kms:Decrypt when "
                "ssm.kmsKeyId is a customer managed key)",
            ) from None
        except BotoCoreError as err:
            raise EventsConfigError(config_name, f"cannot reach SSM ({err})") from None
        values = {p["Name"]: p["Value"] for p in response.get("Parameters", [])}
        if config_name not in values:
            raise EventsConfigError(
                config_name,
                "not found in SSM; deploy the stage and run the post-deploy step (python -m eventapi.deploy)",
            )
        try:
            raw = json.loads(values[config_name])
        except ValueError as err:
            raise EventsConfigError(config_name, f"not valid JSON ({err})") from None
        return cls.from_json(raw, api_key=values.get(key_name), source=config_name)


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
