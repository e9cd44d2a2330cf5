"""The stage config model: defaults, derived names, the API key expiry scheme, and every bad-config message."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import (
    API_KEY_MAX_DAYS,
    API_KEY_MIN_DAYS,
    DEPLOY_MARGIN,
    MAX_HANDLER_CHARS,
    ConfigError,
    api_key_deployable_days,
    api_key_expiry,
    load_config,
    parse_config,
)
from eventapi.contract import SsmParam, ssm_name
from eventapi.protocol.modes import AuthMode

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]["eventapi"]


def minimal(**stage: Any) -> dict[str, Any]:
    return {"app": "social", "stages": {"dev": stage or {"namespaces": {"default": {}}}}}


def error_of(context: Any, root: Path = ROOT) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(context, root)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_shipped_stages_parse() -> None:
    """cdk.json ships dev (API key + IAM, default namespace) and prod (Cognito publish, key or Cognito subscribe)."""
    config = load_config(ROOT)
    dev, prod = config.stage("dev"), config.stage("prod")
    assert (dev.stack_name, dev.api_name, dev.ssm.prefix) == (
        "Social-dev",
        "social-dev",
        "/social/dev/events",
    )
    assert dev.auth.provider_modes == (AuthMode.API_KEY, AuthMode.AWS_IAM)
    assert [ns.name for ns in dev.namespaces] == ["default"]
    assert AuthMode.AMAZON_COGNITO_USER_POOLS in prod.auth.publish and AuthMode.API_KEY not in prod.auth.publish
    assert prod.auth.subscribe == (AuthMode.API_KEY, AuthMode.AMAZON_COGNITO_USER_POOLS)
    assert (prod.logging.level, prod.logging.retention_days) == ("ERROR", 90)


def test_defaults() -> None:
    """A stage with only namespaces gets an API key provider, all modes from it, ERROR logs kept 30 days."""
    stage = parse_config(minimal(), ROOT).stage("dev")
    assert stage.auth.connect == stage.auth.publish == stage.auth.subscribe == (AuthMode.API_KEY,)
    assert stage.auth.api_key is not None and stage.auth.api_key.valid_days == 365
    assert (stage.logging.level, stage.logging.retention_days) == ("ERROR", 30)
    assert (stage.ssm.prefix, stage.ssm.kms_key_id) == ("/social/dev/events", "alias/aws/ssm")
    assert (stage.account, stage.region) == (None, None)


def test_namespace_modes_fall_back_to_api_defaults() -> None:
    """A namespace without its own modes uses the API's default publish/subscribe modes."""
    stage = parse_config(
        minimal(
            auth={"providers": {"apiKey": {}, "iam": {}}, "publish": ["AWS_IAM"]},
            namespaces={"default": {}, "chat": {"subscribe": ["AWS_IAM"]}},
        ),
        ROOT,
    ).stage("dev")
    default, chat = stage.namespaces
    assert stage.namespace_modes(default) == ((AuthMode.AWS_IAM,), (AuthMode.API_KEY, AuthMode.AWS_IAM))
    assert stage.namespace_modes(chat) == ((AuthMode.AWS_IAM,), (AuthMode.AWS_IAM,))


def test_ssm_names() -> None:
    """Parameter names are `<prefix>/<name>`, whatever the prefix's trailing slash."""
    assert ssm_name("/social/dev/events", SsmParam.API_KEY) == "/social/dev/events/api-key"
    assert ssm_name("/x/", SsmParam.CONFIG) == "/x/config"


@pytest.mark.parametrize(
    ("valid_days", "today", "expected"),
    [
        (365, date(2026, 11, 28), datetime(2027, 10, 1, tzinfo=UTC)),
        (365, date(2026, 11, 1), datetime(2027, 10, 1, tzinfo=UTC)),
        (365, date(2026, 12, 31), datetime(2027, 11, 1, tzinfo=UTC)),
        (90, date(2026, 1, 31), datetime(2026, 3, 1, tzinfo=UTC)),
        (365, date(2027, 1, 31), datetime(2027, 12, 1, tzinfo=UTC)),
        (365, date(2028, 2, 29), datetime(2029, 1, 1, tzinfo=UTC)),
        (62, date(2026, 12, 31), datetime(2027, 2, 1, tzinfo=UTC)),
        (61, date(2026, 12, 31), datetime(2027, 3, 4, tzinfo=UTC)),
        (30, date(2026, 11, 28), datetime(2026, 12, 30, tzinfo=UTC)),
        (30, date(2028, 2, 29), datetime(2028, 4, 1, tzinfo=UTC)),
        (1, date(2026, 11, 28), datetime(2026, 12, 1, tzinfo=UTC)),
        (1, date(2026, 12, 31), datetime(2027, 1, 3, tzinfo=UTC)),
        (1, date(2028, 2, 28), datetime(2028, 3, 2, tzinfo=UTC)),
    ],
)
def test_api_key_expiry_scheme(valid_days: int, today: date, expected: datetime) -> None:
    """Expiry is a function of the calendar date: first of a month ahead, or midnight valid_days + 2 days out."""
    assert api_key_expiry(valid_days, today) == expected


@pytest.mark.parametrize("valid_days", [1, 2, 30, 61, 62, 90, 200, 364, 365])
def test_api_key_expiry_within_aws_limits_all_year(valid_days: int) -> None:
    """On every day of a leap year, from any time of that day, the expiry is > 1 day and <= 365 days ahead."""
    day = date(2028, 1, 1)
    while day.year == 2028:
        expires = api_key_expiry(valid_days, day)
        latest_now = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        earliest_now = datetime(day.year, day.month, day.day, tzinfo=UTC)
        assert expires - latest_now > timedelta(days=1)
        assert expires - earliest_now <= timedelta(days=365)
        assert api_key_expiry(valid_days, day) == expires  # same input, same answer
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("valid_days", "days"),
    [(1, 0), (2, 1), (7, 6), (30, 29), (61, 60), (62, 26), (92, 26), (93, 57), (200, 148), (341, 301), (365, 301)],
)
def test_api_key_deployable_days(valid_days: int, days: int) -> None:
    """How long an assembly stays deployable: the worst synth instant is a day's or a month's last moment."""
    assert api_key_deployable_days(valid_days) == days


def test_assemblies_stay_deployable_for_every_valid_days() -> None:
    """For every validDays, synthesized at any instant of a leap-year cycle, a deploy up to the promised number of
    days later still leaves AppSync's day (plus the deploy margin), and no key is ever more than 365 days out."""
    day_ends = [
        datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=n, hours=23, minutes=59, seconds=59) for n in range(4 * 366)
    ]
    for valid_days in range(API_KEY_MIN_DAYS, API_KEY_MAX_DAYS + 1):
        promised = timedelta(days=api_key_deployable_days(valid_days))
        closest = min(api_key_expiry(valid_days, t.date()) - t for t in day_ends)
        assert closest - promised >= timedelta(days=1) + DEPLOY_MARGIN, valid_days
        assert closest - promised - timedelta(days=1) < timedelta(days=1) + DEPLOY_MARGIN, f"{valid_days}: not tight"
        farthest = max(api_key_expiry(valid_days, t.date()) - t.replace(hour=0, minute=0, second=0) for t in day_ends)
        assert farthest <= timedelta(days=API_KEY_MAX_DAYS), valid_days


def test_api_key_expiry_stable_within_month() -> None:
    """A year-long key has one expiry for every synth in a calendar month, and moves forward the next month."""
    november = {api_key_expiry(365, date(2026, 11, d)) for d in range(1, 31)}
    assert november == {datetime(2027, 10, 1, tzinfo=UTC)}
    assert api_key_expiry(365, date(2026, 12, 1)) == datetime(2027, 11, 1, tzinfo=UTC)


def _with(path: str, value: Any) -> dict[str, Any]:
    """The shipped config with one value set at a dotted path (keys only)."""
    context = copy.deepcopy(cdk_json_context())
    node = context
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return context


BAD_CONFIGS = [
    (
        _with("stages.dev.namespace", {}),
        "eventapi.stages.dev.namespace: unknown setting (did you mean 'namespaces'?); "
        "allowed here: account, region, auth, namespaces, logging, ssm, tags, dataSources, monitoring, domain, waf, rules",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.validDay", 30),
        "eventapi.stages.dev.auth.providers.apiKey.validDay: unknown "
        "setting (did you mean 'validDays'?); allowed here: validDays, description, generation, autoRenew",
    ),
    (
        _with("stages.dev.auth.providers.apikey", {}),
        "eventapi.stages.dev.auth.providers.apikey: unknown setting (did you "
        "mean 'apiKey'?); allowed here: apiKey, iam, cognito, oidc, lambda",
    ),
    (
        _with("stages.dev.auth.publish", ["AMAZON_COGNITO_USER_POOLS"]),
        "eventapi.stages.dev.auth.publish: "
        "AMAZON_COGNITO_USER_POOLS has no provider; add auth.providers.cognito or remove AMAZON_COGNITO_USER_POOLS "
        "(configured: API_KEY, AWS_IAM)",
    ),
    (
        _with("stages.dev.namespaces", {"default": {"subscribe": ["AWS_LAMBDA"]}}),
        "eventapi.stages.dev.namespaces.default"
        ".subscribe: AWS_LAMBDA has no provider; add auth.providers.lambda or remove AWS_LAMBDA (configured: API_KEY, AWS_IAM)",
    ),
    (
        _with("stages.dev.auth.connect", ["API-KEY"]),
        "eventapi.stages.dev.auth.connect: 'API-KEY' is not an auth mode "
        "(did you mean 'API_KEY'?); expected one of API_KEY, AWS_IAM, AMAZON_COGNITO_USER_POOLS, OPENID_CONNECT, AWS_LAMBDA",
    ),
    (
        _with("stages.dev.auth.connect", []),
        "eventapi.stages.dev.auth.connect: [] is not allowed; expected a non-empty "
        "list of API_KEY, AWS_IAM, AMAZON_COGNITO_USER_POOLS, OPENID_CONNECT, AWS_LAMBDA",
    ),
    (
        _with("stages.dev.auth.connect", ["API_KEY", "API_KEY"]),
        "eventapi.stages.dev.auth.connect: API_KEY is listed twice",
    ),
    (
        _with("stages.dev.auth.providers", {}),
        "eventapi.stages.dev.auth.providers: no provider configured; add at least "
        "one of apiKey, iam, cognito, oidc, lambda",
    ),
    (
        _with("stages.dev.namespaces", {"-bad": {}}),
        "eventapi.stages.dev.namespaces.-bad: '-bad' is not a valid namespace "
        "name; expected 1-50 letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        _with("stages.dev.namespaces", {"a" * 51: {}}),
        f"eventapi.stages.dev.namespaces.{'a' * 51}: '{'a' * 51}' is not a "
        "valid namespace name; expected 1-50 letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        _with("stages.dev.namespaces", {"chat_room": {}}),
        "eventapi.stages.dev.namespaces.chat_room: 'chat_room' is not a "
        "valid namespace name; expected 1-50 letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        _with("stages.dev.namespaces", {"Chat": {}, "chat": {}}),
        "eventapi.stages.dev.namespaces.chat: duplicate namespace: 'chat' clashes with 'Chat'",
    ),
    (
        _with("stages.dev.namespaces", {f"ns{i}": {} for i in range(51)}),
        "eventapi.stages.dev.namespaces: 51 namespaces; an Event API holds at most 50",
    ),
    (
        _with("stages.dev.namespaces", {}),
        "eventapi.stages.dev.namespaces: {} is not allowed; expected an object of "
        'namespace name -> settings, e.g. {"default": {}}',
    ),
    (
        _with("stages.dev.namespaces", {"default": {"handler": "handlers/missing.js"}}),
        "eventapi.stages.dev.namespaces."
        f"default.handler: 'handlers/missing.js' does not exist (looked in {ROOT}); create it or fix the path",
    ),
    (
        _with("stages.dev.namespaces", {"default": {"handler": "../etc/passwd.js"}}),
        "eventapi.stages.dev.namespaces.default."
        "handler: '../etc/passwd.js' is not allowed; expected a .js file under handlers/, e.g. 'handlers/comments.js'",
    ),
    (
        _with("stages.dev.region", "eu-west"),
        "eventapi.stages.dev.region: 'eu-west' is not allowed; expected an AWS region name like 'eu-west-1'",
    ),
    (
        _with("stages.dev.account", "12345"),
        "eventapi.stages.dev.account: '12345' is not allowed; expected a 12-digit AWS account id",
    ),
    (
        _with("stages.dev.logging.level", "WARN"),
        "eventapi.stages.dev.logging.level: 'WARN' is not allowed; expected one of NONE, ERROR, INFO, DEBUG, ALL",
    ),
    (
        _with("stages.dev.logging.level", "eror"),
        "eventapi.stages.dev.logging.level: 'eror' is not allowed; expected one "
        "of NONE, ERROR, INFO, DEBUG, ALL (did you mean 'ERROR'?)",
    ),
    (
        _with("stages.dev.logging.retentionDays", 10),
        "eventapi.stages.dev.logging.retentionDays: 10 is not allowed; "
        "expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, "
        "3653",
    ),
    (
        _with("stages.dev.ssm", {"prefix": "social/dev"}),
        "eventapi.stages.dev.ssm.prefix: 'social/dev' is not allowed; "
        "expected an SSM path like '/social/prod/events': '/'-separated segments of letters, digits, '_', '.', '-', at "
        "most 14 levels, no trailing '/'",
    ),
    (
        _with("stages.dev.ssm", {"prefix": "/aws/x"}),
        "eventapi.stages.dev.ssm.prefix: '/aws/x' is not allowed; names "
        "starting with 'aws' or 'ssm' are reserved by AWS",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.validDays", 400),
        "eventapi.stages.dev.auth.providers.apiKey.validDays: 400 "
        "is not allowed; expected a whole number of days from 1 to 365",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.validDays", 0),
        "eventapi.stages.dev.auth.providers.apiKey.validDays: 0 is "
        "not allowed; expected a whole number of days from 1 to 365",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.validDays", "365"),
        "eventapi.stages.dev.auth.providers.apiKey.validDays: "
        "'365' is not allowed; expected a whole number of days from 1 to 365",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.generation", 0),
        "eventapi.stages.dev.auth.providers.apiKey.generation: 0 "
        "is not allowed; expected a whole number from 1 to 9999",
    ),
    (
        _with("stages.dev.auth.providers.apiKey.validDays", True),
        "eventapi.stages.dev.auth.providers.apiKey.validDays: "
        "true is not allowed; expected a whole number of days from 1 to 365",
    ),
    (
        _with("stages.dev", {}),
        'eventapi.stages.dev: the stage is empty; give at least its namespaces, e.g. {"namespaces": {"default": {}}}',
    ),
    (_with("stages", {}), 'eventapi.stages: no stage defined; add one, e.g. {"dev": {"namespaces": {"default": {}}}}'),
    (
        _with("stages", {"Dev": {"namespaces": {"default": {}}}}),
        "eventapi.stages.Dev: 'Dev' is not a valid stage name; "
        "expected 1-20 lowercase letters, digits and '-', starting with a letter",
    ),
    (
        _with("stages.prod.auth.providers.cognito", {"userPoolId": "eu-west-1-abc"}),
        "eventapi.stages.prod.auth.providers."
        "cognito.userPoolId: 'eu-west-1-abc' is not allowed; expected a user pool id like 'eu-west-1_AbCdEf123'",
    ),
    (
        _with("stages.prod.auth.providers.cognito", {"newUserPool": True, "userPoolId": "eu-west-1_abc"}),
        "eventapi.stages."
        "prod.auth.providers.cognito: set exactly one of newUserPool: true (a pool made by this stack) or userPoolId (an "
        "existing pool)",
    ),
    (
        _with("stages.dev.auth.providers.oidc", {"clientId": "x"}),
        "eventapi.stages.dev.auth.providers.oidc.issuer: missing; "
        "give the OIDC issuer URL, e.g. 'https://issuer.example.com'",
    ),
    (
        _with("stages.dev.auth.providers.oidc", {"issuer": "http://insecure.example.com"}),
        "eventapi.stages.dev.auth."
        "providers.oidc.issuer: 'http://insecure.example.com' is not allowed; expected an https:// issuer URL",
    ),
    (
        _with("stages.dev.auth.providers.lambda", {"functionArn": "my-function"}),
        "eventapi.stages.dev.auth.providers.lambda"
        ".functionArn: 'my-function' is not allowed; expected a Lambda function ARN like "
        "'arn:aws:lambda:eu-west-1:123456789012:function:auth'",
    ),
    (
        _with("stages.dev.auth.providers.iam", {"publisherPrincipal": "backend"}),
        "eventapi.stages.dev.auth.providers.iam."
        "publisherPrincipal: 'backend' is not allowed; expected an IAM ARN like 'arn:aws:iam::123456789012:role/backend' "
        "(or ...:root)",
    ),
    (
        _with("stages.dev.tags", {"aws:team": "x"}),
        "eventapi.stages.dev.tags.aws:team: is not a valid tag name; 1-128 characters, not starting 'aws:'",
    ),
    (
        _with("stages.dev.tags", {"team": 1}),
        "eventapi.stages.dev.tags.team: 1 is not allowed; expected a string of at most 256 characters",
    ),
    (
        _with("app", "Social App"),
        "eventapi.app: 'Social App' is not allowed; expected 1-30 lowercase letters, digits and "
        "'-', starting with a letter",
    ),
    (_with("stage", "dev"), "eventapi.stage: unknown setting (did you mean 'stages'?); allowed here: app, stages, ci"),
    (None, 'eventapi: missing from cdk.json "context"; add {"app": "...", "stages": {...}}'),
    ([], "eventapi: expected an object, got []"),
]


@pytest.mark.parametrize(
    ("context", "message"), BAD_CONFIGS, ids=[m.split(":")[0] + "|" + m[-25:] for _, m in BAD_CONFIGS]
)
def test_bad_config_message(context: Any, message: str) -> None:
    """Each bad value fails with one line naming the field path, the value and what is allowed."""
    assert error_of(context) == message


def test_handler_over_limit(tmp_path: Path) -> None:
    """A handler file longer than AppSync's 32,768 characters is refused with its size."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "big.js").write_text("x" * (MAX_HANDLER_CHARS + 1))
    context = minimal(namespaces={"default": {"handler": "handlers/big.js"}})
    assert error_of(context, tmp_path) == (
        "eventapi.stages.dev.namespaces.default.handler: 'handlers/big.js' has 32769 characters; AppSync allows at most 32768"
    )


def test_unknown_stage_selected() -> None:
    """Selecting a stage that cdk.json lacks names the known ones and how to pass one."""
    with pytest.raises(ConfigError) as info:
        load_config(ROOT).stage("prd")
    assert str(info.value) == (
        "stage: 'prd' is not a stage in cdk.json (did you mean 'prod'?); choose one of dev, prod"
    )


def test_imported_pool_region_kept_when_foreign() -> None:
    """An imported pool in another region keeps its region; one in the stack's region needs none."""
    context = minimal(region="eu-west-1", auth={"providers": {"cognito": {"userPoolId": "us-east-1_Abc123"}}})
    cognito = parse_config(context, ROOT).stage("dev").auth.cognito
    assert cognito is not None and cognito.user_pool_region == "us-east-1"
    context = minimal(region="us-east-1", auth={"providers": {"cognito": {"userPoolId": "us-east-1_Abc123"}}})
    cognito = parse_config(context, ROOT).stage("dev").auth.cognito
    assert cognito is not None and cognito.user_pool_region is None
