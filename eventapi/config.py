"""The stage config model: parsed once from `cdk.json` context, validated, frozen.

Every bad value raises `ConfigError` with one line: the field path, the bad value, and what is allowed.
The stacks, the post-deploy step and the local Event API all read this model, so an SSM path, a stack name or a
namespace name is derived in exactly one place. Pure Python: no aws_cdk, no boto3, no network.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from eventapi.infra.rules import RULE_IDS
from eventapi.protocol.modes import AuthMode

if TYPE_CHECKING:
    from eventapi.config_handlers import DataSourceConfig, HandlerSide

CONTEXT_KEY = "eventapi"
HANDLER_DIR = "handlers"

# Limits from the AppSync Event API docs (reference §1, §7, §8, §9).
MAX_NAMESPACES = 50
MAX_HANDLER_CHARS = 32_768
DEFAULT_SSM_KMS_KEY = "alias/aws/ssm"  # the AWS managed key for SSM SecureStrings
API_KEY_MIN_DAYS = 1
API_KEY_MAX_DAYS = 365
LONG_KEY_DAYS = 62  # from here on, a key expires on the first of a month (api_key_expiry)
DEPLOY_MARGIN = timedelta(hours=1)  # between `cdk deploy` starting and CloudFormation creating the key
DEPLOYABLE_WARN_DAYS = 7  # synth warns when an assembly's key would expire for AppSync sooner than this
NAMESPACE_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")
API_NAME_RE = re.compile(r"^[A-Za-z0-9_\- ]{1,50}$")
APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
REGION_RE = re.compile(
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]$"
)
ACCOUNT_RE = re.compile(r"^\d{12}$")
STACK_KEY_RE = re.compile(r" \[generation \d+\]$")
USER_POOL_ID_RE = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)_[A-Za-z0-9]{1,55}$")
LAMBDA_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"
)
PRINCIPAL_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")
SSM_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.-]+){1,14}$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+@-]{1,128}$")
LOG_LEVELS = ("NONE", "ERROR", "INFO", "DEBUG", "ALL")
# CloudWatch Logs retention values (days) that CloudFormation accepts.
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ConfigError(ValueError):
    """A bad stage config value; `str(err)` is one line: `<field path>: <problem>`."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


# cdk.json provider key -> the auth mode it enables.
PROVIDER_MODES: dict[str, AuthMode] = {
    "apiKey": AuthMode.API_KEY,
    "iam": AuthMode.AWS_IAM,
    "cognito": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "oidc": AuthMode.OPENID_CONNECT,
    "lambda": AuthMode.AWS_LAMBDA,
}


# --- production operations: the key renewer, a new user pool's choices, production stages ---------------------

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


SIGN_IN_ALIASES = ("email", "username", "preferredUsername")
# A choice that relaxes a cdk-nag AwsSolutions rule -> (the rule, what it checks); its reason comes from config.
RELAXED_RULES: dict[str, tuple[str, str]] = {
    "mfa": ("AwsSolutions-COG2", "MFA required"),
    "featurePlan": ("AwsSolutions-COG8", "the Plus feature plan, with threat protection"),
}
USER_POOL_SETTINGS = ("selfSignUp", "mfa", "featurePlan", "signInAliases", "hostedUi", "reasons")
COGNITO_DOMAIN_RE = re.compile(r"^(?!.*(aws|amazon|cognito))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
OAUTH_URL_RE = re.compile(r"^(https://[^\s#]+|http://localhost(:\d+)?(/[^\s#]*)?)$")
REASON_RE = re.compile(r"^[^\n]{10,500}$")


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
    # Production operations (see the section below _parse_stage); None/empty when the stage leaves them out.
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
    ci: CiConfig | None = None  # the `ci` section (see "CI/CD" below); None when cdk.json has none

    def stage(self, name: str, *, field: str = "stage") -> StageConfig:
        """The stage called `name`; `field` names where the name came from (e.g. `--context stage`)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = [s.name for s in self.stages]
        raise ConfigError(
            field, f"{name!r} is not a stage in cdk.json{_did_you_mean(name, known)}; choose one of {', '.join(known)}"
        )


# --- API key expiry: deterministic, renewed by every deploy ----------------------------------------------------


def api_key_expiry(valid_days: int, today: date) -> datetime:
    """When the stage's API key expires, as a function of the calendar date only.

    Keys valid 62 days or more expire at 00:00 UTC on the first day of the month `valid_days // 31` months
    ahead (at most 11): every synth within one calendar month gives the same template, and a deploy in a later
    month moves the expiry forward. Shorter keys expire at 00:00 UTC `valid_days + 2` days after today: the same
    all day, and more than `valid_days + 1` days after any instant of today, so even a one-day key synthesized a
    minute before midnight keeps AppSync's one-day minimum when CloudFormation creates it.
    """
    if valid_days >= LONG_KEY_DAYS:
        months = min(valid_days // 31, 11)
        year, month = divmod(today.month - 1 + months, 12)
        return datetime(today.year + year, month + 1, 1, tzinfo=UTC)
    start = datetime(today.year, today.month, today.day, tzinfo=UTC)
    return start + timedelta(days=valid_days + 2)


def api_key_deployable_days(valid_days: int) -> int:
    """Whole days after synth during which an assembly's key expiry is still accepted, whatever the synth instant.

    AppSync refuses a key with a day or less left; `DEPLOY_MARGIN` more covers the time CloudFormation takes to
    reach the key. The worst synth instant is the last moment of a day (short keys) or of a month (long keys).
    """
    if valid_days < LONG_KEY_DAYS:
        closest = timedelta(days=valid_days + 1)
    else:
        # From the last moment of a month, the expiry is `months - 1` whole months away: the shortest such run
        # over a leap-year cycle (2000 is a leap year).
        months = min(valid_days // 31, 11)
        firsts = [date(2000 + m // 12, m % 12 + 1, 1) for m in range(48 + months)]
        closest = timedelta(days=min((firsts[m + months - 1] - firsts[m]).days for m in range(1, 49)))
    return (closest - timedelta(days=1) - DEPLOY_MARGIN).days


# --- production operations: parsing the key renewer and a new user pool's choices -------------------------


def renewal_context(stage: StageConfig) -> dict[str, Any]:
    """The stage reduced to what key renewal reads, spelled as cdk.json spells it: the scheduled renewer gets this
    (no cdk.json, no handlers in a Lambda) and reads it back with `parse_config`, the one parser."""
    key = stage.auth.api_key
    if key is None:
        raise ConfigError(f"{CONTEXT_KEY}.stages.{stage.name}.auth.providers.apiKey", "missing; nothing to renew")
    raw: dict[str, Any] = {
        "auth": {
            "providers": {
                "apiKey": {"validDays": key.valid_days, "description": key.description, "generation": key.generation}
            }
        },
        "namespaces": {"default": {}},
        "ssm": {"prefix": stage.ssm.prefix, "kmsKeyId": stage.ssm.kms_key_id},
        "tags": dict(stage.tags),
    }
    raw.update({k: v for k, v in (("account", stage.account), ("region", stage.region)) if v})
    return {"app": stage.app, "stages": {stage.name: raw}}


def _parse_auto_renew(node: _Obj) -> AutoRenewConfig | None:
    raw = node.value.get("autoRenew", False)
    if raw is False:
        return None
    if raw is True:
        return AutoRenewConfig()
    if not isinstance(raw, dict):
        raise ConfigError(
            node.at("autoRenew"), f'{_show(raw)} is not allowed; expected true, false or {{"hourUtc": 3}}'
        )
    p = _Obj(node.at("autoRenew"), raw, ("hourUtc",))
    return AutoRenewConfig(p.integer("hourUtc", DEFAULT_RENEW_HOUR_UTC, 0, 23, "an hour of the day (UTC) from 0 to 23"))


def _parse_user_pool(node: _Obj, new_pool: bool) -> UserPoolSettings:
    given = [key for key in USER_POOL_SETTINGS if node.has(key)]
    if given and not new_pool:
        raise ConfigError(node.at(given[0]), "applies only to a pool made by this stack (newUserPool: true)")
    mfa = node.get("mfa", str, Mfa.REQUIRED.value, "one of required, optional, off")
    if mfa not in tuple(Mfa):
        raise ConfigError(node.at("mfa"), f"{_show(mfa)} is not allowed; expected one of required, optional, off")
    plan = node.get("featurePlan", str, FeaturePlan.PLUS.value, "one of plus, essentials")
    if plan not in tuple(FeaturePlan):
        raise ConfigError(node.at("featurePlan"), f"{_show(plan)} is not allowed; expected one of plus, essentials")
    aliases = node.get("signInAliases", list, ["email"], f"a non-empty list of {', '.join(SIGN_IN_ALIASES)}")
    if not aliases or any(a not in SIGN_IN_ALIASES for a in aliases) or len(set(aliases)) != len(aliases):
        raise ConfigError(
            node.at("signInAliases"),
            f"{_show(aliases)} is not allowed; expected a non-empty list of distinct {', '.join(SIGN_IN_ALIASES)}",
        )
    if "preferredUsername" in aliases and "username" not in aliases:
        raise ConfigError(node.at("signInAliases"), "preferredUsername needs username in the list too")
    relaxed = {"mfa": mfa != Mfa.REQUIRED, "featurePlan": plan != FeaturePlan.PLUS}
    reasons = node.obj("reasons", tuple(RELAXED_RULES))
    acknowledgements = []
    for setting, (rule, checks) in RELAXED_RULES.items():
        if relaxed[setting] and not reasons.has(setting):
            raise ConfigError(
                reasons.at(setting),
                f"missing; {setting} {_show(node.value[setting])} relaxes cdk-nag {rule} ({checks}): "
                "say why in one line of 10-500 characters",
            )
        if reasons.has(setting) and not relaxed[setting]:
            raise ConfigError(reasons.at(setting), f"not needed: {setting} keeps {rule} satisfied; remove it")
        if relaxed[setting]:
            acknowledgements.append((rule, reasons.string(setting, None, REASON_RE, "one line of 10-500 characters")))
    return UserPoolSettings(
        self_sign_up=node.get("selfSignUp", bool, False, "true or false"),
        mfa=Mfa(mfa),
        feature_plan=FeaturePlan(plan),
        sign_in_aliases=tuple(aliases),
        hosted_ui=_parse_hosted_ui(node.obj("hostedUi", ("domainPrefix", "callbackUrls", "logoutUrls")))
        if node.has("hostedUi")
        else None,
        acknowledgements=tuple((rule, reason or "") for rule, reason in acknowledgements),
    )


def _parse_hosted_ui(node: _Obj) -> HostedUi:
    if not node.has("domainPrefix") or not node.has("callbackUrls"):
        missing = "domainPrefix" if not node.has("domainPrefix") else "callbackUrls"
        raise ConfigError(node.at(missing), "missing; the hosted UI needs domainPrefix and callbackUrls")
    prefix = node.string(
        "domainPrefix", None, COGNITO_DOMAIN_RE, "1-63 lowercase letters, digits and '-', without aws/amazon/cognito"
    )

    def urls(key: str, least: int) -> tuple[str, ...]:
        what = f"a list of {least}-100 https:// URLs (http://localhost allowed)"
        raw = node.get(key, list, [], what)
        if not least <= len(raw) <= 100 or not all(isinstance(u, str) and OAUTH_URL_RE.fullmatch(u) for u in raw):
            raise ConfigError(node.at(key), f"{_show(raw)} is not allowed; expected {what}")
        return tuple(raw)

    return HostedUi(prefix or "", urls("callbackUrls", 1), urls("logoutUrls", 0))


# --- parsing ---------------------------------------------------------------------------------------------------

T = TypeVar("T")


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Obj:
    """A JSON object at a field path: typed getters that fail with the path, and an unknown-key check."""

    def __init__(self, path: str, value: Any, allowed: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected an object, got {_show(value)}")
        for key in value:
            if key not in allowed:
                raise ConfigError(
                    f"{path}.{key}", f"unknown setting{_did_you_mean(key, allowed)}; allowed here: {', '.join(allowed)}"
                )
        self.path = path
        self.value: dict[str, Any] = value

    def has(self, key: str) -> bool:
        return key in self.value

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, kind: type[T], default: T, what: str) -> T:
        if key not in self.value:
            return default
        raw = self.value[key]
        # bool is an int in Python; a count given as true is still wrong.
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            raise ConfigError(self.at(key), f"{_show(raw)} is not allowed; expected {what}")
        return raw

    def string(self, key: str, default: str | None, pattern: re.Pattern[str], what: str) -> str | None:
        raw = self.get(key, str, default, what)
        if key in self.value and raw is not None and not pattern.fullmatch(raw):
            raise ConfigError(self.at(key), f"{_show(raw)} is not allowed; expected {what}")
        return raw

    def integer(self, key: str, default: int, low: int, high: int, what: str) -> int:
        raw = self.get(key, int, default, what)
        if not low <= raw <= high:
            raise ConfigError(self.at(key), f"{_show(raw)} is not allowed; expected {what}")
        return raw

    def obj(self, key: str, allowed: tuple[str, ...]) -> _Obj:
        return _Obj(self.at(key), self.value.get(key, {}), allowed)


def _modes(
    path: str, raw: Any, configured: tuple[AuthMode, ...], default: tuple[AuthMode, ...]
) -> tuple[AuthMode, ...]:
    if raw is None:
        return default
    names = [m.value for m in AuthMode]
    if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
        raise ConfigError(path, f"{_show(raw)} is not allowed; expected a non-empty list of {', '.join(names)}")
    modes: list[AuthMode] = []
    for item in raw:
        if item not in names:
            raise ConfigError(
                path,
                f"{_show(item)} is not an auth mode{_did_you_mean(item, names)}; expected one of {', '.join(names)}",
            )
        mode = AuthMode(item)
        if mode not in configured:
            key = next(k for k, v in PROVIDER_MODES.items() if v is mode)
            raise ConfigError(
                path,
                f"{item} has no provider; add auth.providers.{key} or remove {item} "
                f"(configured: {', '.join(configured) or 'none'})",
            )
        if mode in modes:
            raise ConfigError(path, f"{item} is listed twice")
        modes.append(mode)
    return tuple(modes)


def _parse_auth(node: _Obj, region: str | None) -> AuthConfig:
    from eventapi.config_handlers import regex  # noqa: PLC0415 - config_handlers imports this module

    providers = node.obj("providers", tuple(PROVIDER_MODES))
    if not node.has("providers"):
        providers = _Obj(providers.path, {"apiKey": {}}, tuple(PROVIDER_MODES))
    if not providers.value:
        raise ConfigError(providers.path, f"no provider configured; add at least one of {', '.join(PROVIDER_MODES)}")

    api_key = cognito = iam = oidc = lam = None
    if providers.has("apiKey"):
        p = providers.obj("apiKey", ("validDays", "description", "generation", "autoRenew"))
        api_key = ApiKeyProvider(
            valid_days=p.integer(
                "validDays",
                API_KEY_MAX_DAYS,
                API_KEY_MIN_DAYS,
                API_KEY_MAX_DAYS,
                f"a whole number of days from {API_KEY_MIN_DAYS} to {API_KEY_MAX_DAYS}",
            ),
            description=p.string(
                "description", ApiKeyProvider.description, re.compile(r"^[^\n]{1,200}$"), "one line of 1-200 characters"
            )
            or ApiKeyProvider.description,
            generation=p.integer("generation", 1, 1, 9999, "a whole number from 1 to 9999"),
            auto_renew=_parse_auto_renew(p),
        )
    if providers.has("cognito"):
        p = providers.obj("cognito", ("newUserPool", "userPoolId", "appIdClientRegex", *USER_POOL_SETTINGS))
        new_pool = p.get("newUserPool", bool, False, "true or false")
        pool_id = p.string("userPoolId", None, USER_POOL_ID_RE, "a user pool id like 'eu-west-1_AbCdEf123'")
        if new_pool == (pool_id is not None):
            raise ConfigError(
                p.path,
                "set exactly one of newUserPool: true (a pool made by this stack) or userPoolId (an existing pool)",
            )
        pool_region = USER_POOL_ID_RE.fullmatch(pool_id).group("region") if pool_id else None  # type: ignore[union-attr]
        cognito = CognitoProvider(
            new_user_pool=new_pool,
            user_pool_id=pool_id,
            user_pool_region=pool_region if pool_region != region else None,
            app_id_client_regex=regex(p, "appIdClientRegex"),
            pool=_parse_user_pool(p, new_pool),
        )
    if providers.has("iam"):
        p = providers.obj("iam", ("publisherPrincipal", "subscriberPrincipal"))
        what = "an IAM ARN like 'arn:aws:iam::123456789012:role/backend' (or ...:root)"
        iam = IamProvider(
            publisher_principal=p.string("publisherPrincipal", None, PRINCIPAL_ARN_RE, what),
            subscriber_principal=p.string("subscriberPrincipal", None, PRINCIPAL_ARN_RE, what),
        )
    if providers.has("oidc"):
        p = providers.obj("oidc", ("issuer", "clientId", "authTtlSeconds", "iatTtlSeconds"))
        if not p.has("issuer"):
            raise ConfigError(p.at("issuer"), "missing; give the OIDC issuer URL, e.g. 'https://issuer.example.com'")
        day = 86_400
        oidc = OidcProvider(
            issuer=p.string("issuer", None, re.compile(r"^https://[^\s/]+(/\S*)?$"), "an https:// issuer URL") or "",
            client_id=p.get("clientId", str, None, "a client id string"),
            auth_ttl_seconds=p.integer("authTtlSeconds", 0, 0, day, f"seconds from 0 (no limit) to {day}"),
            iat_ttl_seconds=p.integer("iatTtlSeconds", 0, 0, day, f"seconds from 0 (no limit) to {day}"),
        )
    if providers.has("lambda"):
        p = providers.obj("lambda", ("functionArn", "resultTtlSeconds", "identityValidationRegex"))
        if not p.has("functionArn"):
            raise ConfigError(p.at("functionArn"), "missing; give the authorizer's Lambda function ARN")
        lam = LambdaProvider(
            function_arn=p.string(
                "functionArn",
                None,
                LAMBDA_ARN_RE,
                "a Lambda function ARN like 'arn:aws:lambda:eu-west-1:123456789012:function:auth'",
            )
            or "",
            result_ttl_seconds=p.integer("resultTtlSeconds", 300, 0, 3600, "seconds from 0 to 3600"),
            identity_validation_regex=regex(p, "identityValidationRegex"),
        )

    configured = AuthConfig(api_key, cognito, iam, oidc, lam, (), (), ()).provider_modes
    connect = _modes(node.at("connect"), node.value.get("connect"), configured, configured)
    return AuthConfig(
        api_key,
        cognito,
        iam,
        oidc,
        lam,
        connect,
        publish=_modes(node.at("publish"), node.value.get("publish"), configured, connect),
        subscribe=_modes(node.at("subscribe"), node.value.get("subscribe"), configured, connect),
    )


def _parse_namespaces(
    node: _Obj, auth: AuthConfig, root: Path, sources: tuple[DataSourceConfig, ...] = ()
) -> tuple[NamespaceConfig, ...]:
    from eventapi.config_handlers import parse_handler_sides  # noqa: PLC0415 - it imports this module

    raw = node.value.get("namespaces", {"default": {}})
    path = node.at("namespaces")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            path,
            f'{_show(raw)} is not allowed; expected an object of namespace name -> settings, e.g. {{"default": {{}}}}',
        )
    if len(raw) > MAX_NAMESPACES:
        raise ConfigError(path, f"{len(raw)} namespaces; an Event API holds at most {MAX_NAMESPACES}")
    seen: dict[str, str] = {}
    result = []
    configured = auth.provider_modes
    for name, settings in raw.items():
        ns_path = f"{path}.{name}"
        if not NAMESPACE_NAME_RE.fullmatch(name):
            raise ConfigError(
                ns_path,
                f"{name!r} is not a valid namespace name; expected 1-50 letters, digits "
                "and '-', starting and ending with a letter or digit",
            )
        # Channel paths are case-sensitive, but AppSync rejects two namespaces differing only by case.
        if name.lower() in seen:
            raise ConfigError(ns_path, f"duplicate namespace: {name!r} clashes with {seen[name.lower()]!r}")
        seen[name.lower()] = name
        ns = _Obj(ns_path, settings, ("publish", "subscribe", "handler", "onPublish", "onSubscribe"))
        on_publish, on_subscribe, code_at = parse_handler_sides(ns, sources)
        handler = code_at[1] if code_at else None
        code = _read_handler(code_at[0], code_at[1], root) if code_at else None
        result.append(
            NamespaceConfig(
                name=name,
                publish=_modes(ns.at("publish"), ns.value.get("publish"), configured, ()) or None,
                subscribe=_modes(ns.at("subscribe"), ns.value.get("subscribe"), configured, ()) or None,
                handler=handler,
                handler_code=code,
                handler_field=code_at[0] if code_at else None,
                on_publish=on_publish,
                on_subscribe=on_subscribe,
            )
        )
    return tuple(result)


def _read_handler(path: str, handler: str, root: Path) -> str:
    rel = Path(handler)
    if rel.is_absolute() or rel.parts[:1] != (HANDLER_DIR,) or ".." in rel.parts or rel.suffix not in (".js", ".mjs"):
        raise ConfigError(
            path,
            f"{handler!r} is not allowed; expected a .js file under {HANDLER_DIR}/, e.g. '{HANDLER_DIR}/comments.js'",
        )
    file = root / rel
    if not file.is_file():
        raise ConfigError(path, f"{handler!r} does not exist (looked in {root}); create it or fix the path")
    code = file.read_text(encoding="utf-8")
    if len(code) > MAX_HANDLER_CHARS:
        raise ConfigError(path, f"{handler!r} has {len(code)} characters; AppSync allows at most {MAX_HANDLER_CHARS}")
    return code


def _parse_stage(app: str, name: str, raw: Any, root: Path) -> StageConfig:
    path = f"{CONTEXT_KEY}.stages.{name}"
    if not STAGE_NAME_RE.fullmatch(name):
        raise ConfigError(
            path,
            f"{name!r} is not a valid stage name; expected 1-20 lowercase letters, digits and "
            "'-', starting with a letter",
        )
    allowed = ("account", "region", "auth", "namespaces", "logging", "ssm", "tags", "dataSources", *PRODUCTION_SETTINGS)
    node = _Obj(path, raw, allowed)
    if not node.value:
        raise ConfigError(
            path, 'the stage is empty; give at least its namespaces, e.g. {"namespaces": {"default": {}}}'
        )
    account = node.string("account", None, ACCOUNT_RE, "a 12-digit AWS account id")
    region = node.string("region", None, REGION_RE, "an AWS region name like 'eu-west-1'")
    auth = _parse_auth(node.obj("auth", ("providers", "connect", "publish", "subscribe")), region)

    log = node.obj("logging", ("level", "retentionDays", "retain"))
    level = log.get("level", str, "ERROR", f"one of {', '.join(LOG_LEVELS)}")
    if level not in LOG_LEVELS:
        raise ConfigError(
            log.at("level"),
            f"{_show(level)} is not allowed; expected one of {', '.join(LOG_LEVELS)}{_did_you_mean(level, LOG_LEVELS)}",
        )
    retention = log.get("retentionDays", int, 30, "a number of days")
    if retention not in RETENTION_DAYS:
        raise ConfigError(
            log.at("retentionDays"),
            f"{_show(retention)} is not allowed; expected one of {', '.join(map(str, RETENTION_DAYS))}",
        )
    tags_raw = _parse_tags(path, node.get("tags", dict, {}, "an object of tag name -> string value"))
    retain = log.get("retain", bool, is_production(name, tags_raw), "true or false")
    logging = LoggingConfig(level, retention, retain)

    ssm = node.obj("ssm", ("prefix", "kmsKeyId"))
    prefix = (
        ssm.string(
            "prefix",
            f"/{app}/{name}/events",
            SSM_PREFIX_RE,
            "an SSM path like '/social/prod/events': '/'-separated segments of letters, digits, '_', "
            "'.', '-', at most 14 levels, no trailing '/'",
        )
        or ""
    )
    if prefix.lower().split("/")[1].startswith(("aws", "ssm")):
        raise ConfigError(
            ssm.at("prefix"), f"{prefix!r} is not allowed; names starting with 'aws' or 'ssm' are reserved by AWS"
        )
    kms = (
        ssm.string(
            "kmsKeyId",
            DEFAULT_SSM_KMS_KEY,
            re.compile(r"^(alias/[\w/.-]+|[0-9a-f-]{36}|arn:aws[a-z-]*:kms:\S+)$"),
            "a KMS key id, key ARN or alias like 'alias/aws/ssm'",
        )
        or DEFAULT_SSM_KMS_KEY
    )

    from eventapi.config_handlers import parse_data_sources  # noqa: PLC0415 - it imports this module

    sources = parse_data_sources(node, app, name, root)
    domain = _parse_domain(node.obj("domain", ("name", "certificateArn", "hostedZone"))) if node.has("domain") else None
    if domain is not None and domain.certificate_arn is None and region is None:
        raise ConfigError(
            f"{path}.domain.hostedZone",
            f"making the certificate in {CERTIFICATE_REGION} needs the stage's region (cross-region reference): "
            "set region, or give certificateArn",
        )
    return StageConfig(
        app=app,
        name=name,
        account=account,
        region=region,
        auth=auth,
        namespaces=_parse_namespaces(node, auth, root, sources),
        logging=logging,
        ssm=SsmConfig(prefix=prefix, kms_key_id=kms),
        tags=tuple(sorted(tags_raw.items())),
        data_sources=sources,
        monitoring=_parse_monitoring(node.obj("monitoring", MONITORING_SETTINGS)) if node.has("monitoring") else None,
        domain=domain,
        waf=_parse_waf(node.obj("waf", WAF_SETTINGS), region) if node.has("waf") else None,
        rules=_parse_rules(node.obj("rules", ("acknowledge",))),
    )


# --- production operations: monitoring, custom domain, WAF, rule-pack acknowledgements -------------------------

PRODUCTION_SETTINGS = ("monitoring", "domain", "waf", "rules")
MONITORING_SETTINGS = ("notify", "alarms", "periodMinutes", "dashboard")
ALARM_SETTINGS = ("serverErrors", "clientErrors", "droppedMessages", "delayedMessages", "handlerFailures")
WAF_SETTINGS = ("webAclArn", "rateLimit", "allowIps", "denyIps")
# AppSync serves a custom domain only with an ACM certificate in this region, whatever the API's region.
CERTIFICATE_REGION = "us-east-1"
WAF_RATE_LIMIT_MIN = 10  # AWS WAF's bounds for a rate-based rule's limit (requests per IP per window)
WAF_RATE_LIMIT_MAX = 2_000_000_000
SNS_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_NAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CERTIFICATE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9A-Za-z_/-]+$")
HOSTED_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
WEB_ACL_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:wafv2:(?P<region>[a-z0-9-]+):\d{12}:(?P<scope>regional|global)/webacl/[\w-]{1,128}/[\w-]{1,128}$"
)
MAX_IPS = 10_000  # addresses in one WAF IP set


ANOMALY: Literal["anomaly"] = "anomaly"
_COUNT_WHAT = "a whole number of events per period from 1, or false to turn the alarm off"


def _count(node: _Obj, key: str, default: int | None, what: str = _COUNT_WHAT) -> int | None:
    """An alarm threshold: a count of at least 1, or false (None: the alarm is off)."""
    raw = node.value.get(key, default)
    if raw is False or raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(node.at(key), f"{_show(raw)} is not allowed; expected {what}")
    return raw


def _count_or_anomaly(node: _Obj, key: str, default: int | None) -> int | Literal["anomaly"] | None:
    if node.value.get(key) == ANOMALY:
        return ANOMALY
    return _count(node, key, default, f'{_COUNT_WHAT}, or "{ANOMALY}" for an anomaly-detection band')


def _parse_monitoring(node: _Obj) -> MonitoringConfig:
    notify = node.obj("notify", ("emails", "topicArn"))
    if notify.has("emails") == notify.has("topicArn") and notify.value:
        raise ConfigError(notify.path, "give either emails (a topic made by the stack) or topicArn (an existing topic)")
    emails = notify.get("emails", list, [], "a list of email addresses")
    for index, email in enumerate(emails):
        if not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
            raise ConfigError(f"{notify.at('emails')}[{index}]", f"{_show(email)} is not an email address")
    if notify.has("emails") and not emails:
        raise ConfigError(notify.at("emails"), "empty; list at least one address, or leave notify out")
    alarms = node.obj("alarms", ALARM_SETTINGS)
    defaults = AlarmThresholds()
    return MonitoringConfig(
        alarms=AlarmThresholds(
            server_errors=_count(alarms, "serverErrors", defaults.server_errors),
            client_errors=_count_or_anomaly(alarms, "clientErrors", 100),
            dropped_messages=_count(alarms, "droppedMessages", defaults.dropped_messages),
            delayed_messages=_count(alarms, "delayedMessages", defaults.delayed_messages),
            handler_failures=_count(alarms, "handlerFailures", defaults.handler_failures),
        ),
        emails=tuple(emails),
        topic_arn=notify.string(
            "topicArn", None, SNS_TOPIC_ARN_RE, "an SNS topic ARN like 'arn:aws:sns:eu-west-1:123456789012:ops'"
        ),
        period_minutes=node.integer("periodMinutes", 5, 1, 60, "minutes from 1 to 60"),
        dashboard=node.get("dashboard", bool, True, "true or false"),
    )


def _parse_domain(node: _Obj) -> DomainConfig:
    if not node.has("name"):
        raise ConfigError(node.at("name"), "missing; give the custom domain name, e.g. 'events.example.com'")
    name = node.string("name", None, DOMAIN_NAME_RE, "a lowercase domain name like 'events.example.com'") or ""
    arn = node.string(
        "certificateArn",
        None,
        CERTIFICATE_ARN_RE,
        "an ACM certificate ARN like 'arn:aws:acm:us-east-1:123456789012:certificate/...'",
    )
    if arn is not None:
        region = CERTIFICATE_ARN_RE.fullmatch(arn).group("region")  # type: ignore[union-attr]
        if region != CERTIFICATE_REGION:
            raise ConfigError(
                node.at("certificateArn"),
                f"the certificate is in {region}; AppSync takes only an ACM certificate in {CERTIFICATE_REGION} "
                f"(deploy would fail with 'Certificate must be in {CERTIFICATE_REGION}'): use one from "
                f"{CERTIFICATE_REGION}, or give hostedZone and leave certificateArn out to have one made there",
            )
    zone = node.get("hostedZone", str, None, "a Route 53 hosted zone id like 'Z0123456789ABCDEFGHIJ'")
    if zone is not None and not HOSTED_ZONE_ID_RE.fullmatch(zone):
        hint = (
            "; synth never calls AWS, so give the zone's id: "
            f"aws route53 list-hosted-zones-by-name --dns-name {zone} --max-items 1"
            if DOMAIN_NAME_RE.fullmatch(zone.rstrip(".").lower())
            else ""
        )
        raise ConfigError(
            node.at("hostedZone"), f"{_show(zone)} is not a hosted zone id like 'Z0123456789ABCDEFGHIJ'{hint}"
        )
    if arn is None and zone is None:
        raise ConfigError(
            node.path,
            f"give certificateArn (an existing {CERTIFICATE_REGION} certificate), hostedZone (to have one made and "
            "DNS-validated there), or both",
        )
    return DomainConfig(name=name, certificate_arn=arn, hosted_zone_id=zone)


def _ip_list(node: _Obj, key: str) -> tuple[str, ...]:
    raw = node.get(key, list, [], "a list of IP addresses or CIDR blocks like '203.0.113.0/24'")
    if len(raw) > MAX_IPS:
        raise ConfigError(node.at(key), f"{len(raw)} entries; a WAF IP set holds at most {MAX_IPS}")
    cidrs = []
    for index, item in enumerate(raw):
        try:
            cidrs.append(str(ipaddress.ip_network(item, strict=True)) if isinstance(item, str) else None)
        except ValueError as err:
            raise ConfigError(
                f"{node.at(key)}[{index}]", f"{_show(item)} is not an IP address or CIDR block ({err})"
            ) from None
        if cidrs[-1] is None:
            raise ConfigError(f"{node.at(key)}[{index}]", f"{_show(item)} is not an IP address or CIDR block")
    return tuple(c for c in cidrs if c is not None)


def _parse_waf(node: _Obj, region: str | None) -> WafConfig:
    arn = node.string(
        "webAclArn",
        None,
        WEB_ACL_ARN_RE,
        "a WAFv2 web ACL ARN like 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/name/id'",
    )
    if arn is not None:
        match = WEB_ACL_ARN_RE.fullmatch(arn)
        assert match is not None
        if match.group("scope") != "regional":
            raise ConfigError(
                node.at("webAclArn"), "a CloudFront (global) web ACL cannot protect an Event API; give a regional one"
            )
        if region is not None and match.group("region") != region:
            raise ConfigError(
                node.at("webAclArn"),
                f"the web ACL is in {match.group('region')}; it must be in the stage's region {region}",
            )
        extra = [key for key in ("rateLimit", "allowIps", "denyIps") if node.has(key)]
        if extra:
            raise ConfigError(
                node.at(extra[0]), "applies to a web ACL the stack makes; with webAclArn, set it in that web ACL"
            )
    allow, deny = _ip_list(node, "allowIps"), _ip_list(node, "denyIps")
    both = sorted(set(allow) & set(deny))
    if both:
        raise ConfigError(node.at("denyIps"), f"{both[0]} is also in allowIps; list it in one of them")
    return WafConfig(
        web_acl_arn=arn,
        rate_limit=node.integer(
            "rateLimit",
            1000,
            WAF_RATE_LIMIT_MIN,
            WAF_RATE_LIMIT_MAX,
            f"requests per IP in 5 minutes, from {WAF_RATE_LIMIT_MIN} to {WAF_RATE_LIMIT_MAX}",
        ),
        allow_ips=allow,
        deny_ips=deny,
    )


def _parse_rules(node: _Obj) -> RulesConfig:
    raw = node.get("acknowledge", dict, {}, "an object of rule id -> the reason the finding is accepted")
    acknowledged = []
    for rule_id, reason in raw.items():
        path = f"{node.at('acknowledge')}.{rule_id}"
        if rule_id not in RULE_IDS:
            raise ConfigError(
                path,
                f"not a rule of the Event API rule pack{_did_you_mean(rule_id, RULE_IDS)}; "
                f"its rules: {', '.join(RULE_IDS)}",
            )
        if not isinstance(reason, str) or len(reason.strip()) < 10 or "\n" in reason:
            raise ConfigError(
                path,
                f"{_show(reason)} is not allowed; expected one line of at least 10 characters saying why "
                "the finding is accepted",
            )
        acknowledged.append((rule_id, reason.strip()))
    return RulesConfig(acknowledge=tuple(acknowledged))


def _parse_tags(path: str, tags: dict[str, Any]) -> dict[str, str]:
    for key, value in tags.items():
        if not TAG_KEY_RE.fullmatch(key) or key.lower().startswith("aws:"):
            raise ConfigError(f"{path}.tags.{key}", "is not a valid tag name; 1-128 characters, not starting 'aws:'")
        if not isinstance(value, str) or len(value) > 256:
            raise ConfigError(
                f"{path}.tags.{key}", f"{_show(value)} is not allowed; expected a string of at most 256 characters"
            )
    return tags


def parse_config(context: Mapping[str, Any] | None, root: Path) -> AppConfig:
    """Parse and validate the `eventapi` context value; `root` is where `handlers/` lives."""
    if context is None:
        raise ConfigError(CONTEXT_KEY, 'missing from cdk.json "context"; add {"app": "...", "stages": {...}}')
    node = _Obj(CONTEXT_KEY, context, ("app", "stages", "ci"))
    if not node.has("app"):
        raise ConfigError(node.at("app"), "missing; give the application name, e.g. 'social'")
    app = node.string("app", None, APP_NAME_RE, "1-30 lowercase letters, digits and '-', starting with a letter") or ""
    stages = node.get("stages", dict, {}, "an object of stage name -> settings")
    if not stages:
        raise ConfigError(node.at("stages"), 'no stage defined; add one, e.g. {"dev": {"namespaces": {"default": {}}}}')
    parsed = tuple(_parse_stage(app, name, raw, root) for name, raw in stages.items())
    ci = _parse_ci(node.obj("ci", CI_KEYS), parsed) if node.has("ci") else None
    return AppConfig(app=app, stages=parsed, ci=ci)


def parse_context_json(text: str, source: str) -> dict[str, Any]:
    """A JSON object of CDK context (a cdk.json, or `CDK_CONTEXT_JSON`); anything else is a one-line ConfigError."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ConfigError(source, f"is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise ConfigError(source, f"expected a JSON object, got {_show(raw)}")
    return raw


def read_cdk_context(project_root: Path = Path()) -> dict[str, Any]:
    """The `context` object of `cdk.json` in `project_root` (empty when it has none)."""
    cdk_json = project_root / "cdk.json"
    try:
        text = cdk_json.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("cdk.json", f"not found in {project_root.resolve()}; run from the project root") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError("cdk.json", f"cannot be read ({getattr(err, 'strerror', None) or err})") from None
    context = parse_context_json(text, "cdk.json").get("context", {})
    if not isinstance(context, dict):
        raise ConfigError("cdk.json: context", f"expected an object, got {_show(context)}")
    return context


def load_config(project_root: Path = Path()) -> AppConfig:
    """Read `cdk.json` in `project_root` and parse its `eventapi` context (for tools outside the CDK app)."""
    return parse_config(read_cdk_context(project_root).get(CONTEXT_KEY), project_root)


def load_stage(stage: str, project_root: Path = Path()) -> StageConfig:
    """One validated stage from `cdk.json`."""
    return load_config(project_root).stage(stage)


# --- CI/CD: the `ci` section (GitHub Actions with OIDC; the `<App>-ci` stack) ---------------------------------

CI_KEYS = ("github", "account", "region", "oidcProvider", "deploy", "diffRole", "bootstrapQualifier")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds"  # `cdk bootstrap`'s default qualifier
GITHUB_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
GITHUB_REPO_RE = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
# No ':' (it separates the parts of the token's `sub`) and no IAM wildcard characters.
GITHUB_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9_.-][A-Za-z0-9 _.-]{0,254}$")
GITHUB_BRANCH_RE = re.compile(r"^(?!.*\.\.)(?!/)(?!.*/$)[A-Za-z0-9._/-]{1,255}$")
OIDC_PROVIDER_ARN_RE = re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$")
BOOTSTRAP_QUALIFIER_RE = re.compile(r"^[A-Za-z0-9_-]{1,10}$")


@dataclass(frozen=True)
class CiDeploy:
    """Who may deploy one stage: workflow jobs of the repository in a GitHub environment, or on a branch."""

    stage: StageConfig
    environment: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class CiConfig:
    app: str
    owner: str
    repository: str
    account: str | None
    region: str | None
    oidc_provider_arn: str | None  # None: the CI stack creates the account's GitHub OIDC provider
    deploys: tuple[CiDeploy, ...]
    diff_role: bool
    bootstrap_qualifier: str = DEFAULT_BOOTSTRAP_QUALIFIER

    @property
    def stack_name(self) -> str:
        """`<App>-ci`, e.g. `Social-ci`."""
        return f"{self.app[:1].upper()}{self.app[1:]}-ci"

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.repository}"

    def subject(self, deploy: CiDeploy) -> str:
        """The exact `sub` claim of GitHub's token for a job allowed to deploy `deploy.stage`."""
        if deploy.environment is not None:
            return f"repo:{self.repo}:environment:{deploy.environment}"
        return f"repo:{self.repo}:ref:refs/heads/{deploy.branch}"

    @property
    def diff_subject(self) -> str:
        """The `sub` claim of a job run for a pull request (GitHub's form when the job names no environment)."""
        return f"repo:{self.repo}:pull_request"


def _parse_ci(node: _Obj, stages: tuple[StageConfig, ...]) -> CiConfig:
    app = stages[0].app
    github = node.obj("github", ("owner", "repository"))
    if not node.has("github"):
        raise ConfigError(node.at("github"), 'missing; give {"owner": "<user or org>", "repository": "<name>"}')
    for key in ("owner", "repository"):
        if not github.has(key):
            raise ConfigError(github.at(key), "missing; the GitHub repository the workflows run in")
    owner = github.string("owner", None, GITHUB_OWNER_RE, "a GitHub user or organization name") or ""
    repository = github.string("repository", None, GITHUB_REPO_RE, "a GitHub repository name") or ""
    provider = node.get("oidcProvider", str, "create", "'create' or the ARN of the account's GitHub OIDC provider")
    if provider != "create" and not OIDC_PROVIDER_ARN_RE.fullmatch(provider):
        raise ConfigError(
            node.at("oidcProvider"),
            f"{_show(provider)} is not allowed; expected 'create' or an ARN like "
            f"'arn:aws:iam::123456789012:oidc-provider/{GITHUB_OIDC_HOST}'",
        )
    if any(stage.name == "ci" for stage in stages):
        raise ConfigError(f"{CONTEXT_KEY}.stages.ci", "a stage called 'ci' would share the CI stack's name; rename it")

    raw_deploy = node.get("deploy", dict, {}, "an object of stage name -> {environment} or {branch}")
    if not raw_deploy:
        raise ConfigError(node.at("deploy"), 'no stage to deploy; add one, e.g. {"dev": {"environment": "dev"}}')
    names = [stage.name for stage in stages]
    deploys = []
    deploy = node.obj("deploy", tuple(names))
    for name in raw_deploy:
        stage = next(s for s in stages if s.name == name)
        entry = deploy.obj(name, ("environment", "branch"))
        if entry.has("environment") == entry.has("branch"):
            raise ConfigError(
                entry.path, "set exactly one of environment (a GitHub environment, e.g. 'prod') or branch (e.g. 'main')"
            )
        if stage.region is None:
            raise ConfigError(
                f"{CONTEXT_KEY}.stages.{name}.region",
                "missing; a stage deployed from CI needs a region (its CDK bootstrap roles are named after it)",
            )
        deploys.append(
            CiDeploy(
                stage=stage,
                environment=entry.string(
                    "environment", None, GITHUB_ENVIRONMENT_RE, "a GitHub environment name (no ':' or wildcards)"
                ),
                branch=entry.string("branch", None, GITHUB_BRANCH_RE, "a branch name like 'main' (no wildcards)"),
            )
        )
    return CiConfig(
        app=app,
        owner=owner,
        repository=repository,
        account=node.string("account", None, ACCOUNT_RE, "a 12-digit AWS account id"),
        region=node.string("region", None, REGION_RE, "an AWS region name like 'eu-west-1'"),
        oidc_provider_arn=None if provider == "create" else provider,
        deploys=tuple(deploys),
        diff_role=node.get("diffRole", bool, False, "true or false"),
        bootstrap_qualifier=node.string(
            "bootstrapQualifier",
            DEFAULT_BOOTSTRAP_QUALIFIER,
            BOOTSTRAP_QUALIFIER_RE,
            "the qualifier given to `cdk bootstrap` (1-10 letters, digits, '_' or '-')",
        )
        or DEFAULT_BOOTSTRAP_QUALIFIER,
    )
