"""The Event API rule pack, rule by rule: a template that breaks the rule is found, one that keeps it is not."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from eventapi.config import RULE_IDS
from eventapi.infra.rules import RENEWAL_METADATA, RULES, StackView, findings, is_prod

TODAY = date(2026, 11, 15)
API = "Api"


def provider(mode: str, **config: Any) -> dict[str, Any]:
    return {"AuthType": mode, **config}


def template(
    *,
    providers: list[dict[str, Any]] | None = None,
    publish: list[str] | None = None,
    subscribe: list[str] | None = None,
    log_level: str | None = "ERROR",
    namespaces: dict[str, dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A template with one Event API (defaults: API key + Cognito, Cognito publishes) and its namespaces."""
    event_config: dict[str, Any] = {
        "AuthProviders": providers or [provider("API_KEY"), provider("AMAZON_COGNITO_USER_POOLS")],
        "DefaultPublishAuthModes": [{"AuthType": m} for m in publish or ["AMAZON_COGNITO_USER_POOLS"]],
        "DefaultSubscribeAuthModes": [{"AuthType": m} for m in subscribe or ["AMAZON_COGNITO_USER_POOLS"]],
    }
    if log_level is not None:
        event_config["LogConfig"] = {"LogLevel": log_level, "CloudWatchLogsRoleArn": "arn"}
    resources: dict[str, Any] = {
        API: {"Type": "AWS::AppSync::Api", "Properties": {"Name": "a", "EventConfig": event_config}}
    }
    for name, props in (namespaces or {"default": {}}).items():
        resources[f"Ns{name}"] = {
            "Type": "AWS::AppSync::ChannelNamespace",
            "Properties": {"Name": name, "ApiId": {"Fn::GetAtt": [API, "ApiId"]}, **props},
        }
    resources.update(extra or {})
    return {"Resources": resources}


def found(tmpl: dict[str, Any], name: str = "Social-dev", tags: dict[str, str] | None = None) -> set[tuple[str, str]]:
    """(rule id, logical id) of every finding."""
    view = StackView(tmpl, name, tags or {}, TODAY)
    return {(rule, lid) for rule, lid, _ in findings(view)}


WAF = {"Acl": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {"ResourceArn": {"Fn::GetAtt": [API, "ApiArn"]}}}}
ALARM = {"Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": [{"Ref": "Topic"}]}}}
PROD_OK = {**WAF, **ALARM}


def test_rule_ids_are_unique_and_explained() -> None:
    """Every rule has its own EventApi-<suffix> id and a one-line explanation, and every id the config accepts in
    `rules.acknowledge` (eventapi.config owns them) has its rule."""
    assert len(set(RULE_IDS)) == len(RULES)
    assert tuple(rule.id for rule in RULES) == RULE_IDS
    for rule in RULES:
        assert rule.id.startswith("EventApi-") and "\n" not in rule.explanation and rule.explanation.endswith(".")


def test_compliant_template_has_no_finding() -> None:
    """A production API with WAF, alarm actions, logs and identity-only namespaces breaks no rule."""
    assert found(template(extra=PROD_OK), "Social-prod") == set()


def test_ns1_api_key_publish_without_handler() -> None:
    """NS1: in production, API_KEY may publish to a namespace with no onPublish handler; a handler, another mode
    or a non-production stack clears it."""
    bad = template(publish=["API_KEY"], extra=PROD_OK)
    assert found(bad, "Social-prod") == {("EventApi-NS1", "Nsdefault")}
    assert found(template(publish=["API_KEY"])) == set()
    with_handler = template(
        publish=["API_KEY"], namespaces={"default": {"CodeHandlers": "export function onPublish(ctx) {}"}}
    )
    direct = template(
        publish=["API_KEY"], namespaces={"default": {"HandlerConfigs": {"OnPublish": {"Behavior": "DIRECT"}}}}
    )
    own_modes = template(publish=["API_KEY"], namespaces={"default": {"PublishAuthModes": [{"AuthType": "AWS_IAM"}]}})
    for ok in (with_handler, direct, own_modes):
        assert ("EventApi-NS1", "Nsdefault") not in found(ok, "Social-prod")


def test_ns1_subscribe_handler_does_not_count() -> None:
    """NS1: code with only an onSubscribe handler does not check published events."""
    code = {"CodeHandlers": "export function onSubscribe(ctx) {}"}
    subscribe_only = template(publish=["API_KEY"], namespaces={"default": code})
    assert ("EventApi-NS1", "Nsdefault") in found(subscribe_only, "Social-prod")


def test_ns2_public_key_reads_what_users_write() -> None:
    """NS2: the API key subscribes where Cognito users publish; an onSubscribe handler or no key subscribe clears it."""
    bad = template(subscribe=["API_KEY", "AMAZON_COGNITO_USER_POOLS"])
    assert found(bad) == {("EventApi-NS2", "Nsdefault")}
    guarded = template(
        subscribe=["API_KEY"], namespaces={"default": {"CodeHandlers": "export function onSubscribe(ctx) {}"}}
    )
    iam_writers = template(
        publish=["AWS_IAM"], subscribe=["API_KEY"], providers=[provider("API_KEY"), provider("AWS_IAM")]
    )
    assert found(guarded) == set()
    assert found(iam_writers) == set()


def test_log1_logging_off() -> None:
    """LOG1: no LogConfig, or LogLevel NONE, is a finding; ERROR is not."""
    assert found(template(log_level=None)) == {("EventApi-LOG1", API)}
    assert found(template(log_level="NONE")) == {("EventApi-LOG1", API)}
    assert found(template(log_level="ERROR")) == set()


def test_log2_verbose_logs_in_prod_only() -> None:
    """LOG2: ALL/DEBUG logs in a production stack are a finding; in dev they are not."""
    assert found(template(log_level="ALL", extra=PROD_OK), "Social-prod") == {("EventApi-LOG2", API)}
    assert found(template(log_level="ALL")) == set()


def test_prod1_api_key_without_waf() -> None:
    """PROD1: a production API with an API key and no WAF association; WAF, no key, or not prod clears it."""
    assert found(template(extra=ALARM), "Social-prod") == {("EventApi-PROD1", API)}
    assert found(template(extra=PROD_OK), "Social-prod") == set()
    no_key = template(providers=[provider("AMAZON_COGNITO_USER_POOLS")], subscribe=["AMAZON_COGNITO_USER_POOLS"])
    assert found({"Resources": {**no_key["Resources"], **ALARM}}, "Social-prod") == set()
    assert found(template()) == set()


def test_prod2_no_alarm_that_notifies() -> None:
    """PROD2: a production stack whose alarms notify no one (or that has none); alarm actions clear it."""
    silent = {"Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Threshold": 1}}}
    assert found(template(extra={**WAF, **silent}), "Social-prod") == {("EventApi-PROD2", API)}
    assert found(template(extra=WAF), "Social-prod") == {("EventApi-PROD2", API)}
    composite = {"C": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {"AlarmActions": ["arn:topic"]}}}
    assert found(template(extra={**WAF, **composite}), "Social-prod") == set()


@pytest.mark.parametrize(
    ("name", "tags", "expected"),
    [
        ("Social-prod", {}, True),
        ("Orders-Production-eu", {}, True),
        ("Social-dev", {"stage": "prod"}, True),
        ("Social-dev", {"Environment": "production"}, True),
        ("Social-product", {}, False),
        ("Social-dev", {"team": "prod"}, False),
    ],
)
def test_what_counts_as_production(name: str, tags: dict[str, str], expected: bool) -> None:
    """A stack is production when a word of its name, or its stage/env/environment tag, says prod/production."""
    assert is_prod(StackView(template(), name, tags, TODAY)) is expected


def test_auth1_uncached_lambda_authorizer() -> None:
    """AUTH1: a Lambda authorizer with a result TTL of 0 (or none set); a positive TTL clears it."""

    def lam(ttl: int | None) -> dict[str, Any]:
        config = {"AuthorizerUri": "arn:aws:lambda:eu-west-1:1:function:a"}
        if ttl is not None:
            config["AuthorizerResultTtlInSeconds"] = ttl  # type: ignore[assignment]
        return template(
            providers=[provider("AWS_LAMBDA", LambdaAuthorizerConfig=config)],
            publish=["AWS_LAMBDA"],
            subscribe=["AWS_LAMBDA"],
        )

    assert found(lam(0)) == {("EventApi-AUTH1", API)}
    assert found(lam(None)) == {("EventApi-AUTH1", API)}
    assert found(lam(300)) == set()


def test_auth2_oidc_without_client_id() -> None:
    """AUTH2: an OIDC provider without ClientId; with one, no finding."""

    def oidc(**config: Any) -> dict[str, Any]:
        conf = {"Issuer": "https://issuer.example.com", **config}
        return template(
            providers=[provider("OPENID_CONNECT", OpenIDConnectConfig=conf)],
            publish=["OPENID_CONNECT"],
            subscribe=["OPENID_CONNECT"],
        )

    assert found(oidc()) == {("EventApi-AUTH2", API)}
    assert found(oidc(ClientId="web")) == set()


def key(expires: datetime, every_days: int | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::AppSync::ApiKey",
        "Properties": {"ApiId": {"Fn::GetAtt": [API, "ApiId"]}, "Expires": int(expires.timestamp())},
    }
    if every_days is not None:
        resource["Metadata"] = {RENEWAL_METADATA: {"everyDays": every_days}}
    return {"Key": resource}


def test_key1_key_outlives_its_renewal() -> None:
    """KEY1: a key renewed daily but valid ~11 months is a finding; 31 days is not; a deploy-renewed key never is."""
    far = datetime(2027, 10, 1, tzinfo=UTC)
    near = datetime(2026, 12, 16, tzinfo=UTC)
    assert found(template(extra=key(far, 1))) == {("EventApi-KEY1", "Key")}
    assert found(template(extra=key(near, 1))) == set()
    assert found(template(extra=key(far, None))) == set()


def test_findings_name_the_reason() -> None:
    """A finding carries a one-line reason (the KEY1 one with the numbers)."""
    view = StackView(template(extra=key(datetime(2027, 10, 1, tzinfo=UTC), 1)), "Social-dev", {}, TODAY)
    ((rule, _, reason),) = findings(view)
    assert rule == "EventApi-KEY1"
    assert reason == (
        "the key is valid 320 days but is renewed every 1 day(s): a leaked key stays valid 320 days; 31 days "
        "(renewal + 30 days to fix a failed one) are enough"
    )


def test_rules_ignore_unresolved_values() -> None:
    """Values CloudFormation resolves at deploy time (Fn::If, Ref) never crash a rule."""
    tmpl = template(publish=["API_KEY"])
    tmpl["Resources"]["Nsdefault"]["Properties"]["CodeHandlers"] = {"Fn::If": ["C", "a", "b"]}
    tmpl["Resources"][API]["Properties"]["EventConfig"]["LogConfig"] = {"Ref": "Level"}
    bad = copy.deepcopy(tmpl)
    assert {rule for rule, _ in found(bad, "Social-prod")} >= {"EventApi-NS1", "EventApi-LOG1"}
