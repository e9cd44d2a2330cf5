"""The production settings field by field: a new pool's hosted UI, alarm notifications, a custom domain, WAF IP
lists; what each value becomes, each limit at and one past it, and the exact message for each bad value."""

from __future__ import annotations

from typing import Any

import pytest

from eventapi.config import ConfigError, HostedUi, parse_config
from tests.unit.test_config import ROOT

POOL = "eventapi.stages.dev.auth.providers.cognito"
PROD = "eventapi.stages.prod"
URLS = "a list of {}-100 https:// URLs (http://localhost allowed)"


def pool_stage(**hosted_ui: Any) -> Any:
    cognito = {"newUserPool": True, "hostedUi": hosted_ui}
    return parse_config({"app": "social", "stages": {"dev": {"auth": {"providers": {"cognito": cognito}}}}}, ROOT)


def prod(**settings: Any) -> Any:
    stage = {"region": "eu-west-1", "namespaces": {"default": {}}, **settings}
    return parse_config({"app": "social", "stages": {"prod": stage}}, ROOT).stage("prod")


def error(make: Any, **settings: Any) -> str:
    with pytest.raises(ConfigError) as info:
        make(**settings)
    return str(info.value)


# --- hosted UI ---------------------------------------------------------------------------------------------------


def test_hosted_ui_is_read_whole() -> None:
    """The domain prefix, callback URLs and logout URLs reach the pool settings as given; logout URLs are optional."""
    pool = (
        pool_stage(
            domainPrefix="social", callbackUrls=["https://app.example/cb"], logoutUrls=["http://localhost:3000/bye"]
        )
        .stages[0]
        .auth.cognito.pool
    )
    assert pool.hosted_ui == HostedUi("social", ("https://app.example/cb",), ("http://localhost:3000/bye",))
    bare = pool_stage(domainPrefix="social", callbackUrls=["https://app.example/cb"]).stages[0].auth.cognito.pool
    assert bare.hosted_ui == HostedUi("social", ("https://app.example/cb",), ())
    assert pool_stage(domainPrefix="social", callbackUrls=["https://a/"], logoutUrls=[]).stages[0].auth.cognito.pool


@pytest.mark.parametrize("count", [1, 100])
def test_one_to_a_hundred_callback_urls(count: int) -> None:
    """1 to 100 callback URLs, both ends included."""
    urls = [f"https://app.example/{n}" for n in range(count)]
    hosted = pool_stage(domainPrefix="social", callbackUrls=urls).stages[0].auth.cognito.pool.hosted_ui
    assert hosted.callback_urls == tuple(urls)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"callbackUrls": ["https://a/"]},
            f"{POOL}.hostedUi.domainPrefix: missing; the hosted UI needs domainPrefix and callbackUrls",
        ),
        (
            {"domainPrefix": "social", "callbackUrls": []},
            f"{POOL}.hostedUi.callbackUrls: [] is not allowed; expected " + URLS.format(1),
        ),
        (
            {"domainPrefix": "social", "callbackUrls": "https://a/"},
            f"{POOL}.hostedUi.callbackUrls: 'https://a/' is not allowed; expected " + URLS.format(1),
        ),
        (
            {"domainPrefix": "social", "callbackUrls": [f"https://a/{n}" for n in range(101)]},
            f'{POOL}.hostedUi.callbackUrls: ["https://a/0", "https://a/1", "https://a/2", "https://a/... is not '
            "allowed; expected " + URLS.format(1),
        ),
        (
            {"domainPrefix": "social", "callbackUrls": ["https://a/"], "logoutUrls": ["ftp://a/"]},
            f'{POOL}.hostedUi.logoutUrls: ["ftp://a/"] is not allowed; expected ' + URLS.format(0),
        ),
    ],
)
def test_bad_hosted_ui(settings: dict[str, Any], message: str) -> None:
    assert error(pool_stage, **settings) == message


# --- monitoring --------------------------------------------------------------------------------------------------


def test_every_alarm_threshold_is_read() -> None:
    """Each alarm's threshold reaches the config, the handler-failure alarm included."""
    alarms = {"serverErrors": 2, "clientErrors": 3, "droppedMessages": 4, "delayedMessages": 5, "handlerFailures": 6}
    thresholds = prod(monitoring={"alarms": alarms}).monitoring.alarms
    assert (
        thresholds.server_errors,
        thresholds.client_errors,
        thresholds.dropped_messages,
        thresholds.delayed_messages,
        thresholds.handler_failures,
    ) == (2, 3, 4, 5, 6)


ANOMALY_WHAT = (
    'a whole number of events per period from 1, or false to turn the alarm off, or "anomaly" for an '
    "anomaly-detection band"
)


@pytest.mark.parametrize(
    ("monitoring", "message"),
    [
        (
            {"alarms": {"clientErrors": 0}},
            f"{PROD}.monitoring.alarms.clientErrors: 0 is not allowed; expected " + ANOMALY_WHAT,
        ),
        (
            {"alarms": {"clientErrors": "band"}},
            f"{PROD}.monitoring.alarms.clientErrors: 'band' is not allowed; expected " + ANOMALY_WHAT,
        ),
        (
            {"notify": {"emails": "ops@example.com"}},
            f"{PROD}.monitoring.notify.emails: 'ops@example.com' is not allowed; expected a list of email addresses",
        ),
        (
            {"notify": {"emails": []}},
            f"{PROD}.monitoring.notify.emails: empty; list at least one address, or leave notify out",
        ),
        (
            {"notify": {"topicArn": "ops"}},
            f"{PROD}.monitoring.notify.topicArn: 'ops' is not allowed; expected an SNS "
            "topic ARN like 'arn:aws:sns:eu-west-1:123456789012:ops'",
        ),
        ({"periodMinutes": 0}, f"{PROD}.monitoring.periodMinutes: 0 is not allowed; expected minutes from 1 to 60"),
        ({"periodMinutes": 61}, f"{PROD}.monitoring.periodMinutes: 61 is not allowed; expected minutes from 1 to 60"),
        ({"dashboard": "yes"}, f"{PROD}.monitoring.dashboard: 'yes' is not allowed; expected true or false"),
    ],
)
def test_bad_monitoring(monitoring: dict[str, Any], message: str) -> None:
    assert error(prod, monitoring=monitoring) == message


@pytest.mark.parametrize("minutes", [1, 60])
def test_alarm_period_from_one_to_sixty_minutes(minutes: int) -> None:
    assert prod(monitoring={"periodMinutes": minutes}).monitoring.period_minutes == minutes


# --- custom domain -----------------------------------------------------------------------------------------------

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"


def test_domain_keeps_its_certificate_and_zone() -> None:
    """A custom domain's certificate ARN and hosted zone id are kept as given."""
    domain = prod(domain={"name": "events.example.com", "certificateArn": CERT, "hostedZone": "Z123"}).domain
    assert (domain.name, domain.certificate_arn, domain.hosted_zone_id) == ("events.example.com", CERT, "Z123")


ZONE_HINT = (
    "; synth never calls AWS, so give the zone's id: aws route53 list-hosted-zones-by-name --dns-name {} --max-items 1"
)


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (
            {"hostedZone": "Z123"},
            f"{PROD}.domain.name: missing; give the custom domain name, e.g. 'events.example.com'",
        ),
        (
            {"name": "events.example.com", "certificateArn": 5},
            f"{PROD}.domain.certificateArn: 5 is not allowed; "
            "expected an ACM certificate ARN like 'arn:aws:acm:us-east-1:123456789012:certificate/...'",
        ),
        (
            {"name": "events.example.com", "hostedZone": 5},
            f"{PROD}.domain.hostedZone: 5 is not allowed; expected a "
            "Route 53 hosted zone id like 'Z0123456789ABCDEFGHIJ'",
        ),
        (
            {"name": "events.example.com", "hostedZone": "zone-1"},
            f"{PROD}.domain.hostedZone: 'zone-1' is not a hosted zone id like 'Z0123456789ABCDEFGHIJ'",
        ),
        (
            {"name": "events.example.com", "hostedZone": "EXAMPLE.TX."},
            f"{PROD}.domain.hostedZone: 'EXAMPLE.TX.' is "
            "not a hosted zone id like 'Z0123456789ABCDEFGHIJ'" + ZONE_HINT.format("EXAMPLE.TX."),
        ),
    ],
)
def test_bad_domain(domain: dict[str, Any], message: str) -> None:
    """A zone given by its domain name (any case, a trailing dot) gets the command that finds its id."""
    assert error(prod, domain=domain) == message


# --- WAF IP lists ------------------------------------------------------------------------------------------------


def test_ten_thousand_addresses_fit_in_an_ip_set() -> None:
    """A WAF IP set holds 10,000 entries: 10,000 are read (normalised), 10,001 refused."""
    addresses = [f"10.{n // 256}.{n % 256}.1" for n in range(10_000)]
    waf = prod(waf={"allowIps": addresses}).waf
    assert (len(waf.allow_ips), waf.allow_ips[0]) == (10_000, "10.0.0.1/32")
    assert error(prod, waf={"allowIps": [*addresses, "10.99.0.1"]}) == (
        f"{PROD}.waf.allowIps: 10001 entries; a WAF IP set holds at most 10000"
    )


@pytest.mark.parametrize(
    ("waf", "message"),
    [
        (
            {"allowIps": "10.0.0.0/8"},
            f"{PROD}.waf.allowIps: '10.0.0.0/8' is not allowed; expected a list of IP "
            "addresses or CIDR blocks like '203.0.113.0/24'",
        ),
        ({"denyIps": ["10.0.0.0/8", 5]}, f"{PROD}.waf.denyIps[1]: 5 is not an IP address or CIDR block"),
    ],
)
def test_bad_ip_lists(waf: dict[str, Any], message: str) -> None:
    """An IP list must be a list of addresses or CIDR blocks without host bits (a number is not an address)."""
    assert error(prod, waf=waf) == message


ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shared/0a1b2c3d"


def test_an_existing_web_acl_is_kept() -> None:
    assert prod(waf={"webAclArn": ACL}).waf.web_acl_arn == ACL


@pytest.mark.parametrize(
    ("waf", "message"),
    [
        (
            {"webAclArn": "shared"},
            f"{PROD}.waf.webAclArn: 'shared' is not allowed; expected a WAFv2 web ACL ARN like "
            "'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/name/id'",
        ),
        (
            {"webAclArn": ACL, "allowIps": ["10.0.0.0/8"]},
            f"{PROD}.waf.allowIps: applies to a web ACL the stack makes; with webAclArn, set it in that web ACL",
        ),
        (
            {"webAclArn": ACL, "denyIps": ["10.0.0.0/8"]},
            f"{PROD}.waf.denyIps: applies to a web ACL the stack makes; with webAclArn, set it in that web ACL",
        ),
    ],
)
def test_bad_web_acl(waf: dict[str, Any], message: str) -> None:
    """With an existing web ACL, the settings of a web ACL the stack would make are refused, each by name."""
    assert error(prod, waf=waf) == message


# --- rule-pack acknowledgements ----------------------------------------------------------------------------------


def test_a_reason_of_ten_characters_is_enough() -> None:
    """An acknowledgement's reason is one line of at least 10 characters (9, or two lines, are refused)."""
    assert prod(rules={"acknowledge": {"EventApi-NS1": "0123456789"}}).rules.acknowledge == (
        ("EventApi-NS1", "0123456789"),
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"acknowledge": ["EventApi-NS1"]},
            f'{PROD}.rules.acknowledge: ["EventApi-NS1"] is not allowed; expected an '
            "object of rule id -> the reason the finding is accepted",
        ),
        (
            {"acknowledge": {"EventApi-NS1": "012345678"}},
            f"{PROD}.rules.acknowledge.EventApi-NS1: '012345678' is not "
            "allowed; expected one line of at least 10 characters saying why the finding is accepted",
        ),
        (
            {"acknowledge": {"EventApi-NS1": "first line\nsecond line"}},
            f"{PROD}.rules.acknowledge.EventApi-NS1: "
            "'first line\\nsecond line' is not allowed; expected one line of at least 10 characters saying why the "
            "finding is accepted",
        ),
    ],
)
def test_bad_acknowledgement(rules: dict[str, Any], message: str) -> None:
    assert error(prod, rules=rules) == message
