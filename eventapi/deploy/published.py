"""What the post-deploy step publishes for a stage, built and read back: the parameters of the SSM layout
(`eventapi.contract`), the client config among them, and the rotation record `api-key-previous`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from eventapi.config import StageConfig
from eventapi.contract import AuthModes, CognitoInfo, EventsConfig, NamespaceInfo, SsmParam, iso, ssm_name
from eventapi.deploy.aws import Aws
from eventapi.deploy.context import Context
from eventapi.deploy.errors import DeployError
from eventapi.deploy.keys import AppSyncKey, ceil_hour, list_keys
from eventapi.deploy.params import SECURE, STRING, Param, read_params
from eventapi.deploy.stack import StackOutputs
from eventapi.exits import ExitCode

RETIRE_MIN: Final = timedelta(hours=25)  # a retired key's shortest life: AppSync's 1-day minimum, plus an hour


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# --- writing ---------------------------------------------------------------------------------------------------


def client_config(stage: StageConfig, outputs: StackOutputs, key_expires: datetime | None) -> EventsConfig:
    """The config clients read, from the stage (auth modes, namespaces) and the stack outputs (endpoints)."""
    cognito = (
        CognitoInfo(outputs.user_pool_id, outputs.user_pool_client_id)
        if outputs.user_pool_id and outputs.user_pool_client_id
        else None
    )
    return EventsConfig(
        http_endpoint=outputs.http_endpoint,
        realtime_endpoint=outputs.realtime_endpoint,
        region=outputs.region,
        http_host=outputs.http_host,
        realtime_host=outputs.realtime_host,
        api_id=outputs.api_id,
        auth_modes=AuthModes(stage.auth.connect, stage.auth.publish, stage.auth.subscribe),
        namespaces=tuple(NamespaceInfo(ns.name, *stage.namespace_modes(ns)) for ns in stage.namespaces),
        cognito=cognito,
        api_key_expires=key_expires,
    )


def desired_params(prefix: str, cfg: EventsConfig, key: AppSyncKey | None) -> list[Param]:
    """Every parameter `publish` writes, in write order (`config` last)."""

    def p(name: SsmParam, value: str) -> Param:
        return Param(ssm_name(prefix, name), STRING, value)

    params = [
        p(SsmParam.HTTP_ENDPOINT, cfg.http_endpoint),
        p(SsmParam.REALTIME_ENDPOINT, cfg.realtime_endpoint),
        p(SsmParam.HTTP_HOST, cfg.http_host),
        p(SsmParam.REALTIME_HOST, cfg.realtime_host),
        p(SsmParam.API_ID, cfg.api_id or ""),
        p(SsmParam.REGION, cfg.region),
        p(SsmParam.AUTH_MODES, compact_json(cfg.auth_modes.to_json())),
        p(SsmParam.NAMESPACES, compact_json([ns.to_json() for ns in cfg.namespaces])),
    ]
    if cfg.cognito is not None:
        params += [
            p(SsmParam.USER_POOL_ID, cfg.cognito.user_pool_id),
            p(SsmParam.USER_POOL_CLIENT_ID, cfg.cognito.client_id),
        ]
    return params + key_and_config_params(prefix, cfg, key.id if key else None, key.expires if key else None)


def key_and_config_params(
    prefix: str, cfg: EventsConfig, key_value: str | None, expires: datetime | None
) -> list[Param]:
    """The key, its expiry and `config` (last: a client that sees the new config finds the new key written)."""
    params = []
    if key_value is not None:
        params.append(Param(ssm_name(prefix, SsmParam.API_KEY), SECURE, key_value))
    if expires is not None:
        params.append(Param(ssm_name(prefix, SsmParam.API_KEY_EXPIRES), STRING, iso(expires)))
    params.append(Param(ssm_name(prefix, SsmParam.CONFIG), STRING, compact_json(cfg.to_json())))
    return params


@dataclass(frozen=True)
class Rotation:
    """The `api-key-previous` record of a rotation under way (its `key_id` is a key value: kept out of repr)."""

    key_id: str = field(repr=False)
    rotated_at: datetime
    finish_after: datetime

    def to_value(self) -> str:
        return compact_json(
            {"keyId": self.key_id, "rotatedAt": iso(self.rotated_at), "finishAfter": iso(self.finish_after)}
        )

    @property
    def retire_at(self) -> datetime:
        """When the retired key is to expire: the end of the grace period, at least 25 h after the rotation
        (AppSync's minimum validity is one day), on the hour."""
        return ceil_hour(max(self.finish_after, self.rotated_at + RETIRE_MIN))

    def cut(self, now: datetime) -> datetime:
        """The retired key's expiry as of `now`: `retire_at`, or later when that is too soon for AppSync."""
        return max(self.retire_at, ceil_hour(now + RETIRE_MIN))

    @classmethod
    def parse(cls, param: Param | None) -> Rotation | None:
        if param is None:
            return None
        try:
            raw = json.loads(param.value)
            return cls(
                raw["keyId"],
                datetime.fromisoformat(raw["rotatedAt"]).astimezone(UTC),
                datetime.fromisoformat(raw["finishAfter"]).astimezone(UTC),
            )
        except (ValueError, KeyError, TypeError):
            raise DeployError(
                ExitCode.ROTATION,
                f"{param.name} is not a rotation record this tool wrote; delete it (aws ssm delete-parameter "
                f"--name {param.name}) and run again",
            ) from None


# --- reading back ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    prefix: str
    params: dict[str, Param]
    config: EventsConfig
    api_key: str | None = field(repr=False)
    rotation: Rotation | None

    @property
    def api_id(self) -> str:
        return self.config.api_id or ""

    def with_key(self, key_value: str | None, expires: datetime) -> list[Param]:
        """The parameters that publish a key (`None`: the same key) expiring at `expires`, and `config`."""
        cfg = replace(self.config, api_key_expires=expires)
        return key_and_config_params(self.prefix, cfg, key_value, expires)


def read_published(aws: Aws, stage: StageConfig) -> Published:
    """What `publish` wrote for the stage (decrypted); fails if nothing was published."""
    prefix = stage.ssm.prefix
    params = read_params(aws, prefix)
    name = ssm_name(prefix, SsmParam.CONFIG)
    if name not in params:
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"nothing published for stage {stage.name}: {name} does not exist in {aws.region}; run "
            f"python -m eventapi.deploy publish --stage {stage.name} first",
        )
    try:
        config = EventsConfig.from_json(json.loads(params[name].value), source=name)
    except ValueError as err:  # not JSON, or not the contract's schema (ContractError)
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"{name} is not a config this tool wrote ({err}); run python -m eventapi.deploy publish --stage "
            f"{stage.name} to rewrite it",
        ) from None
    key = params.get(ssm_name(prefix, SsmParam.API_KEY))
    rotation = Rotation.parse(params.get(ssm_name(prefix, SsmParam.API_KEY_PREVIOUS)))
    return Published(prefix, params, config, key.value if key else None, rotation)


def require_api_key(stage: StageConfig) -> int:
    """The stage's key validity in days; fails when the stage has no API key to renew or rotate."""
    if stage.auth.api_key is None:
        raise DeployError(
            ExitCode.CONFIG,
            f"stage {stage.name} has no API key provider (auth.providers.apiKey in cdk.json); "
            "nothing to renew or rotate",
        )
    return stage.auth.api_key.valid_days


def published_key(ctx: Context, pub: Published) -> tuple[list[AppSyncKey], AppSyncKey]:
    """The API's keys, and the one published; fails when none is published or it no longer exists."""
    stage = ctx.stage.name
    if pub.api_key is None:
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"no API key published under {pub.prefix}; run python -m eventapi.deploy publish --stage {stage}",
        )
    keys = list_keys(ctx.aws, pub.api_id)
    key = next((k for k in keys if k.id == pub.api_key), None)
    if key is None:
        raise DeployError(
            ExitCode.NO_API_KEY,
            f"the API key published under {pub.prefix} no longer exists on API {pub.api_id}; run "
            f"python -m eventapi.deploy publish --stage {stage} to publish the current key",
        )
    return keys, key
