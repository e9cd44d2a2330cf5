"""The production parts of a stage's config (monitoring, domain, waf, rules): defaults, and every bad-value message."""

from __future__ import annotations

from typing import Any

import pytest

from eventapi.config import (
    RULE_IDS,
    AlarmThresholds,
    DomainConfig,
    MonitoringConfig,
    RulesConfig,
    WafConfig,
    load_config,
    parse_config,
)
from tests.unit.test_config import ROOT, _with, error_of

PROD = "eventapi.stages.prod"


def stage(**settings: Any) -> dict[str, Any]:
    """A one-stage context in eu-west-1 with `settings` added."""
    return {"app": "social", "stages": {"prod": {"region": "eu-west-1", "namespaces": {"default": {}}, **settings}}}


def parsed(**settings: Any) -> Any:
    return parse_config(stage(**settings), ROOT).stage("prod")


def test_absent_unless_configured() -> None:
    """A stage that names none of the parts gets none of them (and no acknowledgement)."""
    dev = load_config(ROOT).stage("dev")
    bare = parsed()
    assert (bare.monitoring, bare.domain, bare.waf, bare.rules) == (None, None, None, RulesConfig())
    assert (dev.monitoring, dev.domain, dev.waf) == (None, None, None)


def test_shipped_prod_shows_monitoring_waf_and_the_rule_pack() -> None:
    """cdk.json's prod stage has alarms mailing ops, a web ACL made by the stack, and one acknowledged rule."""
    prod = load_config(ROOT).stage("prod")
    assert prod.monitoring == MonitoringConfig(emails=("ops@example.com",))
    assert prod.waf == WafConfig(rate_limit=2000)
    assert [rule for rule, _ in prod.rules.acknowledge] == ["EventApi-NS2"]


def test_monitoring_defaults_and_overrides() -> None:
    """Thresholds default to sensible counts; each can be changed, turned off (false) or made an anomaly band."""
    assert parsed(monitoring={}).monitoring == MonitoringConfig()
    assert AlarmThresholds() == AlarmThresholds(1, 100, 1, 100, 1)
    monitoring = parsed(
        monitoring={
            "notify": {"topicArn": "arn:aws:sns:eu-west-1:123456789012:ops"},
            "alarms": {"serverErrors": 3, "clientErrors": "anomaly", "delayedMessages": False},
            "periodMinutes": 15,
            "dashboard": False,
        }
    ).monitoring
    assert monitoring == MonitoringConfig(
        alarms=AlarmThresholds(server_errors=3, client_errors="anomaly", delayed_messages=None),
        topic_arn="arn:aws:sns:eu-west-1:123456789012:ops",
        period_minutes=15,
        dashboard=False,
    )
    assert monitoring.notifies


def test_domain_endpoints() -> None:
    """A custom domain's endpoints: one name for HTTP and WebSocket."""
    domain = parsed(domain={"name": "events.example.com", "hostedZone": "Z0123456789ABCDEFGHIJ"}).domain
    assert domain == DomainConfig("events.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ")
    assert (domain.http_endpoint, domain.realtime_endpoint) == (
        "https://events.example.com/event",
        "wss://events.example.com/event/realtime",
    )


def test_waf_lists_are_normalised() -> None:
    """IP lists accept addresses and CIDRs of both families and keep them in network form."""
    waf = parsed(waf={"allowIps": ["198.51.100.7", "2001:db8::/32"], "denyIps": ["203.0.113.0/24"]}).waf
    assert waf == WafConfig(allow_ips=("198.51.100.7/32", "2001:db8::/32"), deny_ips=("203.0.113.0/24",))


CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shared/0a1b2c3d"
BAD = [
    (
        stage(monitoring={"notify": {"emails": ["ops@example.com"], "topicArn": "arn:aws:sns:eu-west-1:1:x"}}),
        f"{PROD}.monitoring.notify: give either emails (a topic made by the stack) or topicArn (an existing topic)",
    ),
    (
        stage(monitoring={"notify": {"emails": ["ops"]}}),
        f"{PROD}.monitoring.notify.emails[0]: 'ops' is not an email address",
    ),
    (
        stage(monitoring={"alarms": {"serverErrors": 0}}),
        f"{PROD}.monitoring.alarms.serverErrors: 0 is not allowed; expected a whole number of events per period "
        "from 1, or false to turn the alarm off",
    ),
    (
        stage(monitoring={"alarms": {"droppedMessages": "anomaly"}}),
        f"{PROD}.monitoring.alarms.droppedMessages: 'anomaly' is not allowed; expected a whole number of events per "
        "period from 1, or false to turn the alarm off",
    ),
    (
        stage(monitoring={"alarms": {"serverError": 1}}),
        f"{PROD}.monitoring.alarms.serverError: unknown setting (did you mean 'serverErrors'?); allowed here: "
        "serverErrors, clientErrors, droppedMessages, delayedMessages, handlerFailures",
    ),
    (
        stage(domain={"name": "events.example.com", "certificateArn": CERT}),
        f"{PROD}.domain.certificateArn: the certificate is in eu-west-1; AppSync takes only an ACM certificate in "
        "us-east-1 (deploy would fail with 'Certificate must be in us-east-1'): use one from us-east-1, or give "
        "hostedZone and leave certificateArn out to have one made there",
    ),
    (
        stage(domain={"name": "events.example.com", "hostedZone": "example.com"}),
        f"{PROD}.domain.hostedZone: 'example.com' is not a hosted zone id like 'Z0123456789ABCDEFGHIJ'; synth never "
        "calls AWS, so give the zone's id: aws route53 list-hosted-zones-by-name --dns-name example.com --max-items 1",
    ),
    (
        stage(domain={"name": "events.example.com"}),
        f"{PROD}.domain: give certificateArn (an existing us-east-1 certificate), hostedZone (to have one made and "
        "DNS-validated there), or both",
    ),
    (
        stage(domain={"name": "Events.Example.com", "hostedZone": "Z0123"}),
        f"{PROD}.domain.name: 'Events.Example.com' is not allowed; expected a lowercase domain name like "
        "'events.example.com'",
    ),
    (
        {"app": "social", "stages": {"prod": {"domain": {"name": "e.example.com", "hostedZone": "Z0123"}}}},
        f"{PROD}.domain.hostedZone: making the certificate in us-east-1 needs the stage's region (cross-region "
        "reference): set region, or give certificateArn",
    ),
    (
        stage(waf={"webAclArn": ACL.replace("eu-west-1", "us-east-2")}),
        f"{PROD}.waf.webAclArn: the web ACL is in us-east-2; it must be in the stage's region eu-west-1",
    ),
    (
        stage(waf={"webAclArn": ACL.replace("regional", "global")}),
        f"{PROD}.waf.webAclArn: a CloudFront (global) web ACL cannot protect an Event API; give a regional one",
    ),
    (
        stage(waf={"webAclArn": ACL, "rateLimit": 100}),
        f"{PROD}.waf.rateLimit: applies to a web ACL the stack makes; with webAclArn, set it in that web ACL",
    ),
    (
        stage(waf={"rateLimit": 5}),
        f"{PROD}.waf.rateLimit: 5 is not allowed; expected requests per IP in 5 minutes, from 10 to 2000000000",
    ),
    (
        stage(waf={"denyIps": ["10.0.0.1/8"]}),
        f"{PROD}.waf.denyIps[0]: '10.0.0.1/8' is not an IP address or CIDR block (10.0.0.1/8 has host bits set)",
    ),
    (
        stage(waf={"allowIps": ["203.0.113.0/24"], "denyIps": ["203.0.113.0/24"]}),
        f"{PROD}.waf.denyIps: 203.0.113.0/24 is also in allowIps; list it in one of them",
    ),
    (
        stage(rules={"acknowledge": {"EventApi-NS3": "because we said so"}}),
        f"{PROD}.rules.acknowledge.EventApi-NS3: not a rule of the Event API rule pack (did you mean 'EventApi-NS2'?); "
        f"its rules: {', '.join(RULE_IDS)}",
    ),
    (
        stage(rules={"acknowledge": {"EventApi-NS1": "ok"}}),
        f"{PROD}.rules.acknowledge.EventApi-NS1: 'ok' is not allowed; expected one line of at least 10 characters "
        "saying why the finding is accepted",
    ),
    (
        _with("stages.prod.monitor", {}),
        f"{PROD}.monitor: unknown setting (did you mean 'monitoring'?); allowed here: account, region, auth, "
        "namespaces, logging, ssm, tags, dataSources, monitoring, domain, waf, rules",
    ),
]


@pytest.mark.parametrize(("context", "message"), BAD, ids=[m.split(":")[0].removeprefix(PROD) for _, m in BAD])
def test_bad_production_config(context: Any, message: str) -> None:
    """Each bad value fails with one line naming the field, the value and what is allowed."""
    assert error_of(context) == message
