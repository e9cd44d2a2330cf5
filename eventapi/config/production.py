"""A stage's production settings: `monitoring` (alarms, where they notify, a dashboard), `domain` (a custom
domain), `waf` (a web ACL) and `rules` (acknowledged findings of the Event API rule pack).

See the README (Operating in production) and docs/operations.md.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Literal

from eventapi.config.fields import ConfigError, Obj, did_you_mean, show
from eventapi.config.model import AlarmThresholds, DomainConfig, MonitoringConfig, RulesConfig, WafConfig

PRODUCTION_SETTINGS = ("monitoring", "domain", "waf", "rules")
MONITORING_SETTINGS = ("notify", "alarms", "periodMinutes", "dashboard")
ALARM_SETTINGS = ("serverErrors", "clientErrors", "droppedMessages", "delayedMessages", "handlerFailures")
WAF_SETTINGS = ("webAclArn", "rateLimit", "allowIps", "denyIps")
DOMAIN_SETTINGS = ("name", "certificateArn", "hostedZone")
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

# The Event API rule pack's name and its rules' ids, the ones `rules.acknowledge` may name. They are defined here
# and the checks (eventapi/infra/rules.py) take their ids from here, so the config validates an acknowledgement
# without importing the infra room (which loads the CDK).
RULE_PACK = "EventApi"


class RuleId(StrEnum):
    NS1 = f"{RULE_PACK}-NS1"
    NS2 = f"{RULE_PACK}-NS2"
    LOG1 = f"{RULE_PACK}-LOG1"
    LOG2 = f"{RULE_PACK}-LOG2"
    PROD1 = f"{RULE_PACK}-PROD1"
    PROD2 = f"{RULE_PACK}-PROD2"
    AUTH1 = f"{RULE_PACK}-AUTH1"
    AUTH2 = f"{RULE_PACK}-AUTH2"
    KEY1 = f"{RULE_PACK}-KEY1"


RULE_IDS: tuple[str, ...] = tuple(rule.value for rule in RuleId)


def _count(node: Obj, key: str, default: int | None, what: str = _COUNT_WHAT) -> int | None:
    """An alarm threshold: a count of at least 1, or false (None: the alarm is off)."""
    raw = node.value.get(key, default)
    if raw is False or raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(node.at(key), f"{show(raw)} is not allowed; expected {what}")
    return raw


def _count_or_anomaly(node: Obj, key: str, default: int | None) -> int | Literal["anomaly"] | None:
    if node.value.get(key) == ANOMALY:
        return ANOMALY
    return _count(node, key, default, f'{_COUNT_WHAT}, or "{ANOMALY}" for an anomaly-detection band')


def parse_monitoring(node: Obj) -> MonitoringConfig:
    notify = node.obj("notify", ("emails", "topicArn"))
    if notify.has("emails") == notify.has("topicArn") and notify.value:
        raise ConfigError(notify.path, "give either emails (a topic made by the stack) or topicArn (an existing topic)")
    emails = notify.get("emails", list, [], "a list of email addresses")
    for index, email in enumerate(emails):
        if not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
            raise ConfigError(f"{notify.at('emails')}[{index}]", f"{show(email)} is not an email address")
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


def parse_domain(node: Obj) -> DomainConfig:
    name = node.required(
        "name",
        DOMAIN_NAME_RE,
        "a lowercase domain name like 'events.example.com'",
        "give the custom domain name, e.g. 'events.example.com'",
    )
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
            node.at("hostedZone"), f"{show(zone)} is not a hosted zone id like 'Z0123456789ABCDEFGHIJ'{hint}"
        )
    if arn is None and zone is None:
        raise ConfigError(
            node.path,
            f"give certificateArn (an existing {CERTIFICATE_REGION} certificate), hostedZone (to have one made and "
            "DNS-validated there), or both",
        )
    return DomainConfig(name=name, certificate_arn=arn, hosted_zone_id=zone)


def _ip_list(node: Obj, key: str) -> tuple[str, ...]:
    raw = node.get(key, list, [], "a list of IP addresses or CIDR blocks like '203.0.113.0/24'")
    if len(raw) > MAX_IPS:
        raise ConfigError(node.at(key), f"{len(raw)} entries; a WAF IP set holds at most {MAX_IPS}")
    cidrs = []
    for index, item in enumerate(raw):
        try:
            cidrs.append(str(ipaddress.ip_network(item, strict=True)) if isinstance(item, str) else None)
        except ValueError as err:
            raise ConfigError(
                f"{node.at(key)}[{index}]", f"{show(item)} is not an IP address or CIDR block ({err})"
            ) from None
        if cidrs[-1] is None:
            raise ConfigError(f"{node.at(key)}[{index}]", f"{show(item)} is not an IP address or CIDR block")
    return tuple(c for c in cidrs if c is not None)


def parse_waf(node: Obj, region: str | None) -> WafConfig:
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


def parse_rules(node: Obj) -> RulesConfig:
    raw = node.get("acknowledge", dict, {}, "an object of rule id -> the reason the finding is accepted")
    acknowledged = []
    for rule_id, reason in raw.items():
        path = f"{node.at('acknowledge')}.{rule_id}"
        if rule_id not in RULE_IDS:
            raise ConfigError(
                path,
                f"not a rule of the Event API rule pack{did_you_mean(rule_id, RULE_IDS)}; "
                f"its rules: {', '.join(RULE_IDS)}",
            )
        if not isinstance(reason, str) or len(reason.strip()) < 10 or "\n" in reason:
            raise ConfigError(
                path,
                f"{show(reason)} is not allowed; expected one line of at least 10 characters saying why "
                "the finding is accepted",
            )
        acknowledged.append((rule_id, reason.strip()))
    return RulesConfig(acknowledge=tuple(acknowledged))
