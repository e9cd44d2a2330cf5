"""The Event API rule pack's rules: what each one checks, on a synthesized CloudFormation template.

cdk-nag's AwsSolutions pack has no AppSync Events rules; these fill that gap. Each rule has an id
(`EventApi-<suffix>`), a one-line explanation, and a check that reads one resource of a template and returns why it
fails (or None). The checks read templates, not this project's config, so the pack (`eventapi.infra.nag`) works in
any CDK app, and they see what CloudFormation will get, raw overrides included.

Pure Python (no aws_cdk). The pack's name and its rules' ids are the config's (`eventapi.config.RuleId`): the
config validates `rules.acknowledge` against them without importing this room.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from eventapi.config import RULE_PACK, RuleId

PACK_NAME = RULE_PACK  # the name cdk-nag reports the pack under
API_TYPE = "AWS::AppSync::Api"
NAMESPACE_TYPE = "AWS::AppSync::ChannelNamespace"
API_KEY_TYPE = "AWS::AppSync::ApiKey"
WAF_ASSOCIATION_TYPE = "AWS::WAFv2::WebACLAssociation"
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")

# CloudFormation Metadata a key renewer puts on the AWS::AppSync::ApiKey it keeps extending:
# {"everyDays": <how often it renews>}. Without it, a key is renewed by deploys only.
RENEWAL_METADATA = "eventapi:renewal"
# How long a renewed key must outlive one missed renewal: time for the renewer's failure alarm to be seen and fixed.
RENEWAL_GRACE_DAYS = 30

# Auth modes that carry a user identity: data published with them is meant for someone, not for everyone.
_IDENTITY_MODES = ("AMAZON_COGNITO_USER_POOLS", "OPENID_CONNECT")
_PROD_WORDS = ("prod", "production", "prd")
_PROD_TAG_KEYS = ("stage", "env", "environment")


@dataclass(frozen=True)
class StackView:
    """One synthesized stack as the rules see it: its template, name and stack-level tags, and the day of synth."""

    template: Mapping[str, Any]
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    @property
    def resources(self) -> Mapping[str, Any]:
        resources = self.template.get("Resources")
        return resources if isinstance(resources, dict) else {}

    def of_type(self, *types: str) -> dict[str, Mapping[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if isinstance(r, dict) and r.get("Type") in types}

    def props(self, logical_id: str) -> Mapping[str, Any]:
        return _dict(_dict(self.resources.get(logical_id)).get("Properties"))


# A check returns the finding (why this resource fails, one line) or None when it complies.
Check = Callable[[StackView, str], "str | None"]


@dataclass(frozen=True)
class Rule:
    id: str  # a RuleId
    resource_type: str
    explanation: str  # one line: why the rule exists and what to do
    check: Check

    @property
    def suffix(self) -> str:
        """The id without the pack's name (cdk-nag puts the two together)."""
        return self.id.removeprefix(f"{PACK_NAME}-")


# --- helpers over templates -------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _modes(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list):
        return ()
    return tuple(str(e["AuthType"]) for e in entries if isinstance(e, dict) and isinstance(e.get("AuthType"), str))


def _target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` names."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    getatt = value.get("Fn::GetAtt")
    if isinstance(getatt, list) and getatt and isinstance(getatt[0], str):
        return getatt[0]
    if isinstance(getatt, str):
        return getatt.split(".", 1)[0]
    return None


def _api_defaults(view: StackView, api_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An API's default (publish, subscribe) modes, defaulted the way AppSync does."""
    config = _dict(view.props(api_id).get("EventConfig"))
    providers = _modes(config.get("AuthProviders"))
    connect = _modes(config.get("ConnectionAuthModes")) or providers
    publish = _modes(config.get("DefaultPublishAuthModes")) or connect
    return publish, _modes(config.get("DefaultSubscribeAuthModes")) or connect


def _namespace_modes(view: StackView, ns_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A namespace's effective (publish, subscribe) modes: its own, else its API's defaults."""
    props = view.props(ns_id)
    api_id = _target(props.get("ApiId"))
    publish, subscribe = _api_defaults(view, api_id) if api_id else ((), ())
    return (_modes(props.get("PublishAuthModes")) or publish, _modes(props.get("SubscribeAuthModes")) or subscribe)


def _has_handler(props: Mapping[str, Any], operation: str) -> bool:
    """Whether a namespace runs code on `operation` ("onPublish"/"onSubscribe"): inline code defining it, code in S3
    (unreadable here, so assumed), or a direct data-source integration for it."""
    configs = _dict(props.get("HandlerConfigs"))
    if configs.get("OnPublish" if operation == "onPublish" else "OnSubscribe"):
        return True
    if props.get("CodeS3Location"):
        return True
    code = props.get("CodeHandlers")
    return isinstance(code, str) and re.search(rf"\b{operation}\b", code) is not None


def _tags(props: Mapping[str, Any]) -> dict[str, str]:
    tags = props.get("Tags")
    if isinstance(tags, dict):  # AWS::AppSync::Api would take a list; accept a map too
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list):
        return {str(t["Key"]): str(t["Value"]) for t in tags if isinstance(t, dict) and "Key" in t and "Value" in t}
    return {}


def is_prod(view: StackView, resource_id: str | None = None) -> bool:
    """A stack named or tagged as production: a `prod`/`production` word in its name, or a stage/env tag saying so."""
    words = re.split(r"[^a-z0-9]+", view.name.lower())
    if any(word in _PROD_WORDS for word in words):
        return True
    tags = {**view.tags, **(_tags(view.props(resource_id)) if resource_id else {})}
    return any(tags.get(key, tags.get(key.capitalize(), "")).lower() in _PROD_WORDS for key in _PROD_TAG_KEYS)


def _log_level(view: StackView, api_id: str) -> str:
    log = _dict(_dict(view.props(api_id).get("EventConfig")).get("LogConfig"))
    level = log.get("LogLevel")
    return level if isinstance(level, str) else "NONE"


# --- the checks -------------------------------------------------------------------------------------------------


def _api_key_publish_without_handler(view: StackView, ns_id: str) -> str | None:
    props = view.props(ns_id)
    publish, _ = _namespace_modes(view, ns_id)
    if "API_KEY" in publish and not _has_handler(props, "onPublish") and is_prod(view, ns_id):
        return "API_KEY may publish to the namespace and no onPublish handler checks the events"
    return None


def _public_read_of_identity_writes(view: StackView, ns_id: str) -> str | None:
    props = view.props(ns_id)
    publish, subscribe = _namespace_modes(view, ns_id)
    writers = [mode for mode in publish if mode in _IDENTITY_MODES]
    if "API_KEY" in subscribe and writers and not _has_handler(props, "onSubscribe"):
        return f"anyone with the API key may subscribe to the whole namespace and read what {writers[0]} users publish"
    return None


def _logging_off(view: StackView, api_id: str) -> str | None:
    if _log_level(view, api_id) == "NONE":
        return "the Event API writes no logs (no LogConfig, or LogLevel NONE)"
    return None


def _verbose_logs_in_prod(view: StackView, api_id: str) -> str | None:
    level = _log_level(view, api_id)
    if level in ("DEBUG", "ALL") and is_prod(view, api_id):
        return f"a production Event API logs at {level}: event payloads land in CloudWatch Logs, billed per GB"
    return None


def _prod_api_key_without_waf(view: StackView, api_id: str) -> str | None:
    config = _dict(view.props(api_id).get("EventConfig"))
    if "API_KEY" not in _modes(config.get("AuthProviders")) or not is_prod(view, api_id):
        return None
    associations = view.of_type(WAF_ASSOCIATION_TYPE).values()
    if any(_target(_dict(a.get("Properties")).get("ResourceArn")) == api_id for a in associations):
        return None
    return "a production Event API accepts a public API key and no WAF web ACL is associated with it"


def _prod_without_alarm_actions(view: StackView, api_id: str) -> str | None:
    if not is_prod(view, api_id):
        return None
    for alarm in view.of_type(*ALARM_TYPES).values():
        if _dict(alarm.get("Properties")).get("AlarmActions"):
            return None
    return "a production Event API whose stack has no alarm that notifies anyone (no AlarmActions)"


def _lambda_authorizer_uncached(view: StackView, api_id: str) -> str | None:
    config = _dict(view.props(api_id).get("EventConfig"))
    for provider in config.get("AuthProviders") or []:
        lam = _dict(_dict(provider).get("LambdaAuthorizerConfig"))
        if _dict(provider).get("AuthType") == "AWS_LAMBDA" and lam.get("AuthorizerResultTtlInSeconds", 0) == 0:
            return "the Lambda authorizer's results are not cached (TTL 0): every request invokes it"
    return None


def _oidc_without_client_id(view: StackView, api_id: str) -> str | None:
    config = _dict(view.props(api_id).get("EventConfig"))
    for provider in config.get("AuthProviders") or []:
        oidc = _dict(_dict(provider).get("OpenIDConnectConfig"))
        if _dict(provider).get("AuthType") == "OPENID_CONNECT" and not oidc.get("ClientId"):
            return f"the OIDC provider accepts tokens the issuer {oidc.get('Issuer')!r} made for any of its clients"
    return None


def _key_outlives_renewal(view: StackView, key_id: str) -> str | None:
    resource = _dict(view.resources.get(key_id))
    renewal = _dict(_dict(resource.get("Metadata")).get(RENEWAL_METADATA))
    every = renewal.get("everyDays")
    expires = _dict(resource.get("Properties")).get("Expires")
    if not isinstance(every, int) or not isinstance(expires, int):
        return None  # renewed by deploys only, or an expiry resolved at deploy time
    start = datetime(view.today.year, view.today.month, view.today.day, tzinfo=UTC)
    lifetime = (datetime.fromtimestamp(expires, UTC) - start).days
    safe = every + RENEWAL_GRACE_DAYS
    if lifetime > safe:
        return (
            f"the key is valid {lifetime} days but is renewed every {every} day(s): a leaked key stays valid "
            f"{lifetime} days; {safe} days (renewal + {RENEWAL_GRACE_DAYS} days to fix a failed one) are enough"
        )
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        RuleId.NS1,
        NAMESPACE_TYPE,
        "In production, anyone holding the (public) API key may publish to this namespace, and no onPublish "
        "handler validates events: add a handler or remove API_KEY from its publish modes.",
        _api_key_publish_without_handler,
    ),
    Rule(
        RuleId.NS2,
        NAMESPACE_TYPE,
        "Signed-in users publish to this namespace while the public API key may subscribe to all of its channels "
        "(/ns/*): private data is readable with a public key; add an onSubscribe handler or drop API_KEY.",
        _public_read_of_identity_writes,
    ),
    Rule(
        RuleId.LOG1,
        API_TYPE,
        "Without Event API logs, failed auth, handler errors and throttling leave no trace: set a log level "
        "(ERROR at least).",
        _logging_off,
    ),
    Rule(
        RuleId.LOG2,
        API_TYPE,
        "DEBUG/ALL logs copy event payloads (possibly personal data) into CloudWatch Logs at a cost per GB: use "
        "ERROR or INFO in production.",
        _verbose_logs_in_prod,
    ),
    Rule(
        RuleId.PROD1,
        API_TYPE,
        "A production API that accepts an API key (which ships inside clients) has no WAF in front of it: "
        "associate a web ACL with rate limiting.",
        _prod_api_key_without_waf,
    ),
    Rule(
        RuleId.PROD2,
        API_TYPE,
        "Nobody hears about a failing production Event API: add alarms with an SNS topic as their action.",
        _prod_without_alarm_actions,
    ),
    Rule(
        RuleId.AUTH1,
        API_TYPE,
        "A Lambda authorizer with a result TTL of 0 runs on every connect, publish and subscribe: under load it "
        "throttles and adds latency; cache results (AuthorizerResultTtlInSeconds > 0).",
        _lambda_authorizer_uncached,
    ),
    Rule(
        RuleId.AUTH2,
        API_TYPE,
        "An OIDC provider without a client id accepts tokens the issuer made for any application: set ClientId.",
        _oidc_without_client_id,
    ),
    Rule(
        RuleId.KEY1,
        API_KEY_TYPE,
        "A key that a scheduled renewer keeps extending needs a lifetime of one renewal plus time to fix a failed "
        "one; more only keeps a leaked key valid longer: lower apiKey.validDays.",
        _key_outlives_renewal,
    ),
)


def rules_for(resource_type: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.resource_type == resource_type)


def findings(view: StackView) -> list[tuple[str, str, str]]:
    """Every (rule id, logical id, finding) in a template: the pack's verdict without the CDK (for tests and tools)."""
    result = []
    for rule in RULES:
        for logical_id in view.of_type(rule.resource_type):
            finding = rule.check(view, logical_id)
            if finding is not None:
                result.append((rule.id, logical_id, finding))
    return result
