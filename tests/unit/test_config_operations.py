"""Config for running a stage in production: autoRenew, a new user pool's choices, retained logs, prod marking."""

from __future__ import annotations

from typing import Any

import pytest

from eventapi.config import (
    AutoRenewConfig,
    ConfigError,
    FeaturePlan,
    Mfa,
    is_production,
    parse_config,
    renewal_context,
)
from tests.unit.test_config import ROOT, error_of

KEY = "eventapi.stages.dev.auth.providers.apiKey"
POOL = "eventapi.stages.dev.auth.providers.cognito"
REASON = "comment authors sign themselves up"


def with_api_key(**settings: Any) -> dict[str, Any]:
    return {"app": "social", "stages": {"dev": {"auth": {"providers": {"apiKey": settings}}}}}


def with_pool(**settings: Any) -> dict[str, Any]:
    return {"app": "social", "stages": {"dev": {"auth": {"providers": {"cognito": {"newUserPool": True, **settings}}}}}}


def test_auto_renew_forms() -> None:
    """autoRenew is off unless given; true (or an object without an hour) means 03:00 UTC; an object sets the hour,
    from 0 to 23."""
    assert parse_config(with_api_key(), ROOT).stages[0].auth.api_key.auto_renew is None  # type: ignore[union-attr]
    assert parse_config(with_api_key(autoRenew=True), ROOT).stages[0].auth.api_key.auto_renew == AutoRenewConfig(3)  # type: ignore[union-attr]
    for given, hour in (({"hourUtc": 22}, 22), ({"hourUtc": 0}, 0), ({}, 3)):
        renew = parse_config(with_api_key(autoRenew=given), ROOT).stages[0].auth.api_key.auto_renew  # type: ignore[union-attr]
        assert renew == AutoRenewConfig(hour)


BAD: list[tuple[dict[str, Any], str]] = [
    (
        with_api_key(autoRenew="daily"),
        f"{KEY}.autoRenew: 'daily' is not allowed; expected true, false or {{\"hourUtc\": 3}}",
    ),
    (
        with_api_key(autoRenew={"hourUtc": 24}),
        f"{KEY}.autoRenew.hourUtc: 24 is not allowed; expected an hour of the day (UTC) from 0 to 23",
    ),
    (
        with_api_key(autoRenew={"hour": 2}),
        f"{KEY}.autoRenew.hour: unknown setting (did you mean 'hourUtc'?); allowed here: hourUtc",
    ),
    (with_pool(mfa="sometimes"), f"{POOL}.mfa: 'sometimes' is not allowed; expected one of required, optional, off"),
    (
        with_pool(mfa="optional"),
        f"{POOL}.reasons.mfa: missing; mfa 'optional' relaxes cdk-nag AwsSolutions-COG2 "
        "(MFA required): say why in one line of 10-500 characters",
    ),
    (
        with_pool(featurePlan="essentials", reasons={"featurePlan": "cheap"}),
        f"{POOL}.reasons.featurePlan: 'cheap' is not allowed; expected one line of 10-500 characters",
    ),
    (
        with_pool(reasons={"mfa": REASON}),
        f"{POOL}.reasons.mfa: not needed: mfa keeps AwsSolutions-COG2 satisfied; remove it",
    ),
    (with_pool(featurePlan="lite"), f"{POOL}.featurePlan: 'lite' is not allowed; expected one of plus, essentials"),
    (
        with_pool(signInAliases=["phone"]),
        f'{POOL}.signInAliases: ["phone"] is not allowed; expected a non-empty list '
        "of distinct email, username, preferredUsername",
    ),
    (
        with_pool(signInAliases=["email", "preferredUsername"]),
        f"{POOL}.signInAliases: preferredUsername needs username in the list too",
    ),
    (
        with_pool(hostedUi={"domainPrefix": "social"}),
        f"{POOL}.hostedUi.callbackUrls: missing; the hosted UI needs domainPrefix and callbackUrls",
    ),
    (
        with_pool(hostedUi={"domainPrefix": "my-cognito", "callbackUrls": ["https://a.example/"]}),
        f"{POOL}.hostedUi.domainPrefix: 'my-cognito' is not allowed; expected 1-63 lowercase letters, digits and '-', "
        "without aws/amazon/cognito",
    ),
    (
        with_pool(hostedUi={"domainPrefix": "social", "callbackUrls": ["http://app.example/"]}),
        f'{POOL}.hostedUi.callbackUrls: ["http://app.example/"] is not allowed; expected a list of 1-100 https:// '
        "URLs (http://localhost allowed)",
    ),
    (
        {
            "app": "social",
            "stages": {
                "dev": {"auth": {"providers": {"cognito": {"userPoolId": "eu-west-1_AbCdEf123", "selfSignUp": True}}}}
            },
        },
        f"{POOL}.selfSignUp: applies only to a pool made by this stack (newUserPool: true)",
    ),
    (
        {"app": "social", "stages": {"dev": {"logging": {"retain": "yes"}}}},
        "eventapi.stages.dev.logging.retain: 'yes' is not allowed; expected true or false",
    ),
]


@pytest.mark.parametrize(("context", "message"), BAD, ids=[m.split(":")[0] + "|" + m[-20:] for _, m in BAD])
def test_bad_operations_config(context: dict[str, Any], message: str) -> None:
    """Each bad value fails with one line naming the field, the value and what is allowed."""
    assert error_of(context) == message


def test_relaxed_pool_carries_its_reasons() -> None:
    """Each relaxing choice yields (the cdk-nag rule, the reason from config); defaults yield none."""
    reasons = {"mfa": REASON, "featurePlan": "Essentials is enough for a comments app"}
    stage = parse_config(with_pool(mfa="off", featurePlan="essentials", reasons=reasons), ROOT).stages[0]
    pool = stage.auth.cognito.pool  # type: ignore[union-attr]
    assert (pool.mfa, pool.feature_plan) == (Mfa.OFF, FeaturePlan.ESSENTIALS)
    assert pool.acknowledgements == (("AwsSolutions-COG2", REASON), ("AwsSolutions-COG8", reasons["featurePlan"]))
    assert parse_config(with_pool(), ROOT).stages[0].auth.cognito.pool.acknowledgements == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "tags", "production"),
    [
        ("prod", {}, True),
        ("production", {}, True),
        ("prod-eu", {}, True),
        ("producer", {}, False),
        ("dev", {"Environment": "Production"}, True),
        ("dev", {"env": "prod"}, True),
        ("dev", {"stage": "PROD"}, True),
        ("dev", {"team": "prod"}, False),
    ],
)
def test_production_marking(name: str, tags: dict[str, str], production: bool) -> None:
    """A stage is production by its name or an env/environment/stage tag; retain defaults to that."""
    assert is_production(name, tags) is production
    stage = parse_config({"app": "social", "stages": {name: {"tags": tags}}}, ROOT).stages[0]
    assert (stage.production, stage.logging.retain) == (production, production)


def test_renewal_context_parses_back() -> None:
    """renewal_context is a stage cdk.json could hold; parsed back it has the same key, SSM and tag settings."""
    context = {
        "app": "social",
        "stages": {
            "prod": {
                "region": "eu-west-1",
                "account": "123456789012",
                "auth": {"providers": {"apiKey": {"validDays": 90, "generation": 3, "autoRenew": True}, "iam": {}}},
                "ssm": {"prefix": "/x/y", "kmsKeyId": "alias/k"},
                "tags": {"team": "rt"},
            }
        },
    }
    stage = parse_config(context, ROOT).stages[0]
    back = parse_config(renewal_context(stage), ROOT).stages[0]
    assert (back.stack_name, back.account, back.region, back.ssm, back.tags) == (
        stage.stack_name,
        stage.account,
        stage.region,
        stage.ssm,
        stage.tags,
    )
    assert (back.auth.api_key.valid_days, back.auth.api_key.generation) == (90, 3)  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"auth\.providers\.apiKey: missing; nothing to renew$"):
        renewal_context(parse_config(with_pool(), ROOT).stages[0])
