"""The config field by field where the other config tests stop: the app name, a stage's own settings, each auth
provider's settings, what a new pool's choices, the ci section's own account, region and qualifier become, where a
handler file may live, and the exact message for each bad value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import ConfigError, parse_config
from eventapi.protocol.modes import AuthMode
from tests.unit.test_config import ROOT

POOL = "eventapi.stages.dev.auth.providers.cognito"


def parsed(context: dict[str, Any], root: Path = ROOT) -> Any:
    return parse_config(context, root)


def error_of(context: dict[str, Any], root: Path = ROOT) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(context, root)
    return info.value


def dev(**stage: Any) -> dict[str, Any]:
    return {"app": "social", "stages": {"dev": stage}}


def with_pool(**settings: Any) -> dict[str, Any]:
    return dev(auth={"providers": {"cognito": {"newUserPool": True, **settings}}})


# --- errors ------------------------------------------------------------------------------------------------------


def test_config_error_names_the_field_and_the_problem() -> None:
    """A ConfigError carries the field path and the problem apart, for tools that show them separately."""
    err = error_of(dev(logging={"level": "LOUD"}))
    assert (err.path, err.problem) == (
        "eventapi.stages.dev.logging.level",
        "'LOUD' is not allowed; expected one of NONE, ERROR, INFO, DEBUG, ALL",
    )


@pytest.mark.parametrize(("length", "shown"), [(58, "'" + "x" * 58 + "'"), (59, "'" + "x" * 56 + "...")])
def test_a_bad_value_is_quoted_up_to_sixty_characters(length: int, shown: str) -> None:
    """A bad value is quoted whole up to 60 characters; a longer one is cut to 57 and '...'."""
    assert error_of(dev(logging={"level": "x" * length})).problem == (
        f"{shown} is not allowed; expected one of NONE, ERROR, INFO, DEBUG, ALL"
    )


def test_a_stage_without_namespaces_gets_default() -> None:
    """A stage that names no namespace has the one namespace `default`."""
    assert [ns.name for ns in parsed(dev(region="eu-west-1")).stage("dev").namespaces] == ["default"]


# --- a new user pool ---------------------------------------------------------------------------------------------


def test_pool_choices_are_read() -> None:
    """selfSignUp and the sign-in aliases reach the pool settings; preferredUsername comes with username."""
    pool = parsed(with_pool(selfSignUp=True, signInAliases=["username", "preferredUsername"]))
    settings = pool.stage("dev").auth.cognito.pool
    assert (settings.self_sign_up, settings.sign_in_aliases) == (True, ("username", "preferredUsername"))
    assert parsed(with_pool()).stage("dev").auth.cognito.pool.self_sign_up is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mfa": 5}, f"{POOL}.mfa: 5 is not allowed; expected one of required, optional, off"),
        ({"featurePlan": True}, f"{POOL}.featurePlan: true is not allowed; expected one of plus, essentials"),
        (
            {"signInAliases": "email"},
            f"{POOL}.signInAliases: 'email' is not allowed; expected a non-empty list of "
            "email, username, preferredUsername",
        ),
        ({"selfSignUp": "yes"}, f"{POOL}.selfSignUp: 'yes' is not allowed; expected true or false"),
    ],
)
def test_bad_pool_choice(settings: dict[str, Any], message: str) -> None:
    """Each bad pool choice of the wrong type fails with one line naming the field and what is allowed."""
    assert str(error_of(with_pool(**settings))) == message


# --- where a handler may live ------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "lib").mkdir()
    for name in ("handlers/chat.js", "handlers/chat.mjs", "lib/chat.js"):
        (tmp_path / name).write_text("export function onPublish(ctx) { return ctx.events; }")
    return tmp_path


def test_handler_may_be_an_es_module_file(project: Path) -> None:
    """A handler is a .js or .mjs file under handlers/."""
    ns = parsed(dev(namespaces={"chat": {"handler": "handlers/chat.mjs"}}), project).stage("dev").namespaces[0]
    assert ns.handler == "handlers/chat.mjs"


@pytest.mark.parametrize("handler", ["lib/chat.js", "handlers/../lib/chat.js", "handlers/../handlers/chat.js"])
def test_security_handler_files_stay_under_handlers(project: Path, handler: str) -> None:
    """Security check: a handler path outside handlers/, or climbing out of it with '..' (even back in), is
    refused before any file is read, so cdk.json cannot pull arbitrary project files into the template."""
    message = str(error_of(dev(namespaces={"chat": {"handler": handler}}), project))
    assert message == (
        f"eventapi.stages.dev.namespaces.chat.handler: {handler!r} is not allowed; expected a .js file under "
        "handlers/, e.g. 'handlers/comments.js'"
    )


# --- the ci section's own settings -------------------------------------------------------------------------------

STAGES = {"dev": {"region": "eu-west-1"}}
CI = {"github": {"owner": "example-org", "repository": "eventapi"}, "deploy": {"dev": {"environment": "dev"}}}


def ci_context(**ci: Any) -> dict[str, Any]:
    return {"app": "social", "stages": copy.deepcopy(STAGES), "ci": {**copy.deepcopy(CI), **ci}}


def test_ci_of_a_single_stage_app_reads_its_own_settings() -> None:
    """With one stage, the ci section's account, region and bootstrap qualifier are read as given."""
    ci = parsed(ci_context(account="123456789012", region="us-east-1", bootstrapQualifier="custom1")).ci
    assert (ci.app, ci.account, ci.region, ci.bootstrap_qualifier) == ("social", "123456789012", "us-east-1", "custom1")
    default = parsed(ci_context()).ci
    assert (default.account, default.region, default.bootstrap_qualifier) == (None, None, "hnb659fds")


@pytest.mark.parametrize(
    ("ci", "message"),
    [
        ({"github": {}}, "eventapi.ci.github.owner: missing; the GitHub repository the workflows run in"),
        ({"account": "12345"}, "eventapi.ci.account: '12345' is not allowed; expected a 12-digit AWS account id"),
        (
            {"region": "europe"},
            "eventapi.ci.region: 'europe' is not allowed; expected an AWS region name like 'eu-west-1'",
        ),
        (
            {"oidcProvider": 5},
            "eventapi.ci.oidcProvider: 5 is not allowed; expected 'create' or the ARN of the "
            "account's GitHub OIDC provider",
        ),
        (
            {"deploy": []},
            "eventapi.ci.deploy: [] is not allowed; expected an object of stage name -> {environment} or {branch}",
        ),
    ],
)
def test_bad_ci_setting(ci: dict[str, Any], message: str) -> None:
    assert str(error_of(ci_context(**ci))) == message


def test_ci_without_github() -> None:
    """The ci section needs the repository its workflows run in."""
    context = ci_context()
    del context["ci"]["github"]
    assert str(error_of(context)) == (
        'eventapi.ci.github: missing; give {"owner": "<user or org>", "repository": "<name>"}'
    )


# --- the app and its stages --------------------------------------------------------------------------------------


def test_app_name_is_read_and_required() -> None:
    """The application name reaches the config (stack names derive from it), and cdk.json must give it."""
    assert parsed(dev(namespaces={"default": {}})).app == "social"
    assert str(error_of({"stages": {"dev": {}}})) == "eventapi.app: missing; give the application name, e.g. 'social'"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"app": "social", "stages": []},
            "eventapi.stages: [] is not allowed; expected an object of stage name -> settings",
        ),
        (dev(tags=[]), "eventapi.stages.dev.tags: [] is not allowed; expected an object of tag name -> string value"),
        (
            dev(logging={"level": 5}),
            "eventapi.stages.dev.logging.level: 5 is not allowed; expected one of NONE, ERROR, INFO, DEBUG, ALL",
        ),
        (
            dev(logging={"retentionDays": "30"}),
            "eventapi.stages.dev.logging.retentionDays: '30' is not allowed; expected a number of days",
        ),
        (
            dev(ssm={"prefix": "/SSM-params/x"}),
            "eventapi.stages.dev.ssm.prefix: '/SSM-params/x' is not allowed; names starting with 'aws' or 'ssm' are "
            "reserved by AWS",
        ),
        (
            dev(ssm={"kmsKeyId": "my key"}),
            "eventapi.stages.dev.ssm.kmsKeyId: 'my key' is not allowed; expected a KMS key id, key ARN or alias like "
            "'alias/aws/ssm'",
        ),
    ],
)
def test_bad_stage_setting(context: dict[str, Any], message: str) -> None:
    """Each bad value of a stage's own settings fails with one line naming the field and what is allowed."""
    assert str(error_of(context)) == message


def test_account_and_kms_key_are_read() -> None:
    """The stage's account and the SSM parameters' KMS key reach the config as given."""
    stage = parsed(dev(account="123456789012", ssm={"kmsKeyId": "alias/events"})).stage("dev")
    assert (stage.account, stage.ssm.kms_key_id) == ("123456789012", "alias/events")


# --- auth providers ----------------------------------------------------------------------------------------------

KEY = "eventapi.stages.dev.auth.providers.apiKey"


def test_api_key_description_and_generation() -> None:
    """The key's description is read (the default names eventapi), and the stack key's description carries the
    generation, from 1 (the default) to 9999."""
    default = parsed(dev(auth={"providers": {"apiKey": {}}})).stage("dev").auth.api_key
    assert default.stack_key_description == (
        "Event API key (managed by eventapi; renewed on every deploy) [generation 1]"
    )
    key = parsed(dev(auth={"providers": {"apiKey": {"description": "chat key", "generation": 9999}}}))
    assert key.stage("dev").auth.api_key.stack_key_description == "chat key [generation 9999]"


@pytest.mark.parametrize(
    ("api_key", "message"),
    [
        ({"description": "two\nlines"}, "'two\\nlines' is not allowed; expected one line of 1-200 characters"),
        ({"generation": 10000}, "10000 is not allowed; expected a whole number from 1 to 9999"),
    ],
)
def test_bad_api_key_setting(api_key: dict[str, Any], message: str) -> None:
    """A multi-line description or a generation past 9999 is refused with the field and what is allowed."""
    key = next(iter(api_key))
    assert str(error_of(dev(auth={"providers": {"apiKey": api_key}}))) == f"{KEY}.{key}: {message}"


def test_cognito_pool_is_new_or_imported() -> None:
    """A Cognito provider makes a new pool or imports one by id; it must say which."""
    new = parsed(with_pool()).stage("dev").auth.cognito
    assert (new.new_user_pool, new.user_pool_id) == (True, None)
    imported = parsed(dev(auth={"providers": {"cognito": {"userPoolId": "eu-west-1_AbC123"}}})).stage("dev")
    assert (imported.auth.cognito.new_user_pool, imported.auth.cognito.user_pool_id) == (False, "eu-west-1_AbC123")
    assert str(error_of(dev(auth={"providers": {"cognito": {}}}))) == (
        f"{POOL}: set exactly one of newUserPool: true (a pool made by this stack) or userPoolId (an existing pool)"
    )


def test_iam_principals_are_read() -> None:
    """The IAM provider's publisher and subscriber principals reach the config as given."""
    roles = {
        "publisherPrincipal": "arn:aws:iam::123456789012:role/backend",
        "subscriberPrincipal": "arn:aws:iam::123456789012:role/reader",
    }
    iam = parsed(dev(auth={"providers": {"iam": roles}})).stage("dev").auth.iam
    assert (iam.publisher_principal, iam.subscriber_principal) == tuple(roles.values())


def test_every_provider_is_a_default_mode() -> None:
    """With every provider configured and no modes given, connect, publish and subscribe allow all five."""
    providers = {
        "apiKey": {},
        "iam": {},
        "cognito": {"newUserPool": True},
        "oidc": {"issuer": "https://issuer.example.com"},
        "lambda": {"functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:auth"},
    }
    auth = parsed(dev(auth={"providers": providers})).stage("dev").auth
    assert auth.connect == auth.publish == auth.subscribe == tuple(AuthMode)


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (
            {"providers": {"cognito": {"newUserPool": "yes"}}},
            f"{POOL}.newUserPool: 'yes' is not allowed; expected true or false",
        ),
        (
            {"providers": {"iam": {"subscriberPrincipal": "reader"}}},
            "eventapi.stages.dev.auth.providers.iam.subscriberPrincipal: 'reader' is not allowed; expected an IAM "
            "ARN like 'arn:aws:iam::123456789012:role/backend' (or ...:root)",
        ),
        (
            {"providers": {"oidc": {"issuer": "https://issuer.example.com", "clientId": 5}}},
            "eventapi.stages.dev.auth.providers.oidc.clientId: 5 is not allowed; expected a client id string",
        ),
        (
            {"providers": {"cognito": {"newUserPool": True, "appIdClientRegex": 5}}},
            f"{POOL}.appIdClientRegex: 5 is not allowed; expected a regular expression",
        ),
        (
            {"providers": {"apiKey": {}}, "subscribe": ["AWS_IAM"]},
            "eventapi.stages.dev.auth.subscribe: AWS_IAM has no provider; add auth.providers.iam or remove AWS_IAM "
            "(configured: API_KEY)",
        ),
    ],
)
def test_bad_auth_setting(auth: dict[str, Any], message: str) -> None:
    """Each bad provider setting or mode fails with one line naming the field and what is allowed."""
    assert str(error_of(dev(auth=auth))) == message


@pytest.mark.parametrize(
    ("hosted_ui", "message"),
    [
        ({}, "domainPrefix: missing; the hosted UI needs domainPrefix and callbackUrls"),
        (
            {"callbackUrls": ["https://a.example/"]},
            "domainPrefix: missing; the hosted UI needs domainPrefix and callbackUrls",
        ),
        ({"domainPrefix": "my-cognito"}, "callbackUrls: missing; the hosted UI needs domainPrefix and callbackUrls"),
    ],
)
def test_hosted_ui_needs_its_prefix_and_callbacks(hosted_ui: dict[str, Any], message: str) -> None:
    """A missing domainPrefix is reported first; a missing callbackUrls before a bad domainPrefix."""
    assert str(error_of(with_pool(hostedUi=hosted_ui))) == f"{POOL}.hostedUi.{message}"
