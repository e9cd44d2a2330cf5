"""The stage config model: frozen dataclasses, one per section of a stage in `cdk.json`.

The parsers (`eventapi.config.loading` and the section modules it calls) build these once and validate every
value; everything else (the stacks, the post-deploy step, the local Event API) reads them, so an SSM path, a stack
name or a namespace name is derived in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from eventapi.config.fields import ConfigError, did_you_mean
from eventapi.protocol.modes import AuthMode

if TYPE_CHECKING:
    from eventapi.config.ci import CiConfig
    from eventapi.config.data_sources import DataSourceConfig
    from eventapi.config.namespaces import HandlerSide

DEFAULT_SSM_KMS_KEY = "alias/aws/ssm"  # the AWS managed key for SSM SecureStrings
API_KEY_MIN_DAYS = 1
API_KEY_MAX_DAYS = 365
STACK_KEY_RE = re.compile(r" \[generation \d+\]$")

# --- production stages, the key renewer, a new user pool's choices ---------------------------------------------

PRODUCTION_NAME_RE = re.compile(r"^prod(uction)?(-[a-z0-9-]*)?$")
PRODUCTION_TAG_KEYS = ("env", "environment", "stage")
DEFAULT_RENEW_HOUR_UTC = 3


def is_production(stage: str, tags: Mapping[str, str]) -> bool:
    """A stage is marked prod by its name (`prod`, `production`, `prod-...`) or a tag `env`/`environment`/`stage`
    whose value is `prod` or `production` (any case). The one definition every production default reads."""
    tagged = any(k.lower() in PRODUCTION_TAG_KEYS and v.lower() in ("prod", "production") for k, v in tags.items())
    return tagged or bool(PRODUCTION_NAME_RE.fullmatch(stage))


@dataclass(frozen=True)
class AutoRenewConfig:
    """A daily schedule that keeps the published API key's expiry at the far end of the expiry scheme."""

    hour_utc: int = DEFAULT_RENEW_HOUR_UTC


class Mfa(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    OFF = "off"


class FeaturePlan(StrEnum):
    PLUS = "plus"
    ESSENTIALS = "essentials"


@dataclass(frozen=True)
class HostedUi:
    """An OAuth (authorization code + PKCE) web client on the Cognito hosted UI at `<prefix>.auth.<region>...`."""

    domain_prefix: str
    callback_urls: tuple[str, ...]
    logout_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserPoolSettings:
    """A new user pool's choices; the defaults are the safe ones (admin-created users, MFA, Plus)."""

    self_sign_up: bool = False
    mfa: Mfa = Mfa.REQUIRED
    feature_plan: FeaturePlan = FeaturePlan.PLUS
    sign_in_aliases: tuple[str, ...] = ("email",)
    hosted_ui: HostedUi | None = None
    # (cdk-nag rule id, reason from config) for each choice that relaxes a rule.
    acknowledgements: tuple[tuple[str, str], ...] = ()


# --- auth providers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKeyProvider:
    valid_days: int = API_KEY_MAX_DAYS
    description: str = "Event API key (managed by eventapi; renewed on every deploy)"
    # Bumping the generation makes CloudFormation replace the stack's key (new logical id): how a key retired
    # by `rotate-key` leaves the stack for good.
    generation: int = 1
    auto_renew: AutoRenewConfig | None = None  # None: no scheduled renewer

    @property
    def stack_key_description(self) -> str:
        """The description of the key the stack owns; the post-deploy step tells stack keys apart by it."""
        return f"{self.description} [generation {self.generation}]"

    @staticmethod
    def is_stack_key(description: str) -> bool:
        """Whether a key (by its description) is one a stack made, of any generation."""
        return bool(STACK_KEY_RE.search(description))


@dataclass(frozen=True)
class CognitoProvider:
    new_user_pool: bool = False
    user_pool_id: str | None = None
    user_pool_region: str | None = None  # region of an imported pool; None = the stack's
    app_id_client_regex: str | None = None
    pool: UserPoolSettings = field(default_factory=UserPoolSettings)  # a new pool's choices


@dataclass(frozen=True)
class IamProvider:
    publisher_principal: str | None = None  # None = the deploying account's root (its admins decide)
    subscriber_principal: str | None = None


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str | None = None
    auth_ttl_seconds: int = 0  # 0 = no limit beyond the token's own expiry
    iat_ttl_seconds: int = 0


@dataclass(frozen=True)
class LambdaProvider:
    function_arn: str
    result_ttl_seconds: int = 300
    identity_validation_regex: str | None = None


@dataclass(frozen=True)
class AuthConfig:
    api_key: ApiKeyProvider | None
    cognito: CognitoProvider | None
    iam: IamProvider | None
    oidc: OidcProvider | None
    lambda_: LambdaProvider | None
    connect: tuple[AuthMode, ...]
    publish: tuple[AuthMode, ...]
    subscribe: tuple[AuthMode, ...]

    @property
    def provider_modes(self) -> tuple[AuthMode, ...]:
        """Configured providers, in a fixed order."""
        pairs = (
            (self.api_key, AuthMode.API_KEY),
            (self.iam, AuthMode.AWS_IAM),
            (self.cognito, AuthMode.AMAZON_COGNITO_USER_POOLS),
            (self.oidc, AuthMode.OPENID_CONNECT),
            (self.lambda_, AuthMode.AWS_LAMBDA),
        )
        return tuple(mode for provider, mode in pairs if provider is not None)


@dataclass(frozen=True)
class NamespaceConfig:
    name: str
    publish: tuple[AuthMode, ...] | None = None  # None = the API's default publish modes
    subscribe: tuple[AuthMode, ...] | None = None
    handler: str | None = None  # the namespace's one code file, relative to the project root, under handlers/
    handler_code: str | None = None  # the file's text, read and size-checked at parse time
    handler_field: str | None = None  # the config field that named the code file (for one-line errors)
    on_publish: HandlerSide | None = None  # None = no handler config for that side (code runs if it exports one)
    on_subscribe: HandlerSide | None = None


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "ERROR"
    retention_days: int = 30
    retain: bool = False  # keep the log group when the stack is deleted (default: on for production stages)


@dataclass(frozen=True)
class SsmConfig:
    prefix: str
    kms_key_id: str = DEFAULT_SSM_KMS_KEY


@dataclass(frozen=True)
class AlarmThresholds:
    """Alarm thresholds: a count per period that raises the alarm; None = that alarm is off."""

    server_errors: int | None = 1  # 5XX + Connect/Disconnect/Subscribe/Publish/Broadcast server errors
    client_errors: int | Literal["anomaly"] | None = 100  # 4XX + Connect/Subscribe/Publish client errors
    dropped_messages: int | None = 1  # InboundMessageDropped
    delayed_messages: int | None = 100  # InboundMessageDelayed
    handler_failures: int | None = 1  # FailedEvents, per namespace with a handler


@dataclass(frozen=True)
class MonitoringConfig:
    """Alarms, where they notify (a topic the stack makes for `emails`, or an existing `topic_arn`), a dashboard."""

    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    emails: tuple[str, ...] = ()
    topic_arn: str | None = None
    period_minutes: int = 5
    dashboard: bool = True

    @property
    def notifies(self) -> bool:
        return bool(self.emails) or self.topic_arn is not None


@dataclass(frozen=True)
class DomainConfig:
    """A custom domain: an existing us-east-1 certificate, and/or a hosted zone to validate one and hold the record."""

    name: str
    certificate_arn: str | None = None
    hosted_zone_id: str | None = None

    @property
    def http_endpoint(self) -> str:
        return f"https://{self.name}/event"

    @property
    def realtime_endpoint(self) -> str:
        return f"wss://{self.name}/event/realtime"


@dataclass(frozen=True)
class WafConfig:
    """An existing web ACL (`web_acl_arn`), or one the stack makes with these settings."""

    web_acl_arn: str | None = None
    rate_limit: int = 1000  # requests per IP in 5 minutes
    allow_ips: tuple[str, ...] = ()  # CIDRs that skip every other rule
    deny_ips: tuple[str, ...] = ()  # CIDRs always blocked


@dataclass(frozen=True)
class RulesConfig:
    """The Event API rule pack's acknowledged findings for this stage: (rule id, reason)."""

    acknowledge: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StageConfig:
    app: str
    name: str
    account: str | None
    region: str | None
    auth: AuthConfig
    namespaces: tuple[NamespaceConfig, ...]
    logging: LoggingConfig
    ssm: SsmConfig
    tags: tuple[tuple[str, str], ...] = field(default=())
    data_sources: tuple[DataSourceConfig, ...] = field(default=())
    # Production operations (eventapi.config.production); None/empty when the stage leaves them out.
    monitoring: MonitoringConfig | None = None
    domain: DomainConfig | None = None
    waf: WafConfig | None = None
    rules: RulesConfig = field(default_factory=RulesConfig)

    @property
    def production(self) -> bool:
        """Whether the stage is marked prod (its name or a tag): see `is_production`."""
        return is_production(self.name, dict(self.tags))

    @property
    def stack_name(self) -> str:
        """`<App>-<stage>`, e.g. `Social-dev`."""
        return f"{self.app[:1].upper()}{self.app[1:]}-{self.name}"

    @property
    def api_name(self) -> str:
        return f"{self.app}-{self.name}"

    def namespace_modes(self, ns: NamespaceConfig) -> tuple[tuple[AuthMode, ...], tuple[AuthMode, ...]]:
        """Effective (publish, subscribe) modes of a namespace: its own, or the API's defaults."""
        return (ns.publish or self.auth.publish, ns.subscribe or self.auth.subscribe)


@dataclass(frozen=True)
class AppConfig:
    app: str
    stages: tuple[StageConfig, ...]
    ci: CiConfig | None = None  # the `ci` section (eventapi.config.ci); None when cdk.json has none

    def stage(self, name: str, *, field: str = "stage") -> StageConfig:
        """The stage called `name`; `field` names where the name came from (e.g. `--context stage`)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = [s.name for s in self.stages]
        raise ConfigError(
            field, f"{name!r} is not a stage in cdk.json{did_you_mean(name, known)}; choose one of {', '.join(known)}"
        )
