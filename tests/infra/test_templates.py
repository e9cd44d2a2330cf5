"""Template assertions for every config feature, on the shipped stages and on an every-feature stage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aws_cdk.cx_api as cxapi
import pytest

from app import TODAY_KEY, build_app
from eventapi.config import api_key_expiry
from eventapi.outputs import Output

from .conftest import CLI_CONTEXT, only, resources, shipped_context, synth

pytestmark = pytest.mark.clock


def modes(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["AuthType"] for entry in entries]


def test_shipped_stacks(shipped: dict[str, Any]) -> None:
    """cdk.json's stages synthesize to one stack each, named <App>-<stage>, plus the `ci` section's <App>-ci."""
    assert sorted(shipped) == ["Social-ci", "Social-dev", "Social-prod"]


def test_dev_is_the_seed_setup(shipped: dict[str, Any]) -> None:
    """dev: API key + IAM on every operation, one `default` namespace, ERROR logs kept 14 days."""
    dev = shipped["Social-dev"]
    api = only(dev, "AWS::AppSync::Api")
    assert api["Name"] == "social-dev"
    config = api["EventConfig"]
    assert modes(config["AuthProviders"]) == ["API_KEY", "AWS_IAM"]
    for key in ("ConnectionAuthModes", "DefaultPublishAuthModes", "DefaultSubscribeAuthModes"):
        assert modes(config[key]) == ["API_KEY", "AWS_IAM"]
    assert [ns["Properties"]["Name"] for ns in resources(dev, "AWS::AppSync::ChannelNamespace").values()] == ["default"]
    assert config["LogConfig"]["LogLevel"] == "ERROR"
    assert only(dev, "AWS::Logs::LogGroup")["RetentionInDays"] == 14


def test_prod_auth(shipped: dict[str, Any]) -> None:
    """prod: Cognito (or IAM) publishes, API key or Cognito subscribes, a new secure user pool, 90-day logs."""
    prod = shipped["Social-prod"]
    config = only(prod, "AWS::AppSync::Api")["EventConfig"]
    assert modes(config["DefaultPublishAuthModes"]) == ["AMAZON_COGNITO_USER_POOLS", "AWS_IAM"]
    assert modes(config["DefaultSubscribeAuthModes"]) == ["API_KEY", "AMAZON_COGNITO_USER_POOLS"]
    cognito = next(p for p in config["AuthProviders"] if p["AuthType"] == "AMAZON_COGNITO_USER_POOLS")
    pool_id = next(iter(resources(prod, "AWS::Cognito::UserPool")))
    assert cognito["CognitoConfig"] == {"AwsRegion": "eu-west-1", "UserPoolId": {"Ref": pool_id}}
    assert {g["Properties"]["RetentionInDays"] for g in resources(prod, "AWS::Logs::LogGroup").values()} == {90}


def test_user_pool_secure_defaults(shipped: dict[str, Any]) -> None:
    """The new user pool: admin-created users, MFA required, strong passwords, threat protection, retained."""
    prod = shipped["Social-prod"]
    (pool,) = resources(prod, "AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert props["MfaConfiguration"] == "ON"
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert props["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert props["DeletionProtection"] == "ACTIVE"
    assert pool["DeletionPolicy"] == "Retain"
    client = only(prod, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert "AllowedOAuthFlows" not in client


def test_api_key_expiry_is_deterministic(shipped: dict[str, Any], full: dict[str, Any]) -> None:
    """The key expires on the scheme's date for the injected day, never AppSync's 7-day default."""
    for stack in (shipped["Social-dev"], shipped["Social-prod"]):
        key = only(stack, "AWS::AppSync::ApiKey")
        assert key["Expires"] == int(datetime(2027, 10, 1, tzinfo=UTC).timestamp())
    key = only(full, "AWS::AppSync::ApiKey")
    assert key == {
        "ApiId": key["ApiId"],
        "Description": "Key for the full test stage [generation 1]",
        "Expires": int(datetime(2026, 12, 17, tzinfo=UTC).timestamp()),
    }


def one_stage(valid_days: int, today: str) -> dict[str, Any]:
    stage = {"region": "eu-west-1", "auth": {"providers": {"apiKey": {"validDays": valid_days}}}}
    return {"eventapi": {"app": "social", "stages": {"dev": stage}}, TODAY_KEY: today, **CLI_CONTEXT}


@pytest.mark.parametrize("today", ["2019-03-31", "2039-12-31"])
def test_synth_at_a_date_far_from_the_real_one(today: str, tmp_path: Path) -> None:
    """A pinned day years from the real date synthesizes: no part of synth (Python or jsii's Node) reads the clock."""
    template = synth(one_stage(365, today), tmp_path)["Social-dev"]

    expected = api_key_expiry(365, date.fromisoformat(today))
    assert only(template, "AWS::AppSync::ApiKey")["Expires"] == int(expected.timestamp())


def stack_warnings(valid_days: int, outdir: Path) -> list[str]:
    assembly = build_app(one_stage(valid_days, "2026-11-15"), outdir=str(outdir)).synth()
    messages = assembly.get_stack_artifact("Social-dev").messages
    return [str(m.entry.data) for m in messages if m.level == cxapi.SynthesisMessageLevel.WARNING]


def test_short_key_warns_how_long_the_assembly_stays_deployable(tmp_path: Path) -> None:
    """validDays 3: synth warns that the assembly is deployable for 2 days; 8 days (7 deployable) is quiet."""
    assert stack_warnings(3, tmp_path / "short") == [
        "auth.providers.apiKey.validDays 3: this assembly stays deployable for 2 day(s) after synth (AppSync "
        "refuses a key with a day or less left); deploy it within that or synthesize again [ack: "
        "eventapi:shortKeyWindow]"
    ]
    assert stack_warnings(8, tmp_path / "week") == []


def test_key_value_never_leaves_the_template(shipped: dict[str, Any], full: dict[str, Any]) -> None:
    """No output or resource property reads the API key's value (GetAtt ApiKey.ApiKey)."""
    for template in (*shipped.values(), full):
        keys = set(resources(template, "AWS::AppSync::ApiKey"))
        text = json.dumps(template)
        for key in keys:
            assert f'["{key}", "ApiKey"]' not in text
            assert f'"{key}.ApiKey"' not in text
        assert "da2-" not in text


def test_outputs_have_stable_ids(shipped: dict[str, Any], full: dict[str, Any]) -> None:
    """Outputs use the logical ids in eventapi.outputs, endpoints built from the API's DNS names."""
    dev = shipped["Social-dev"]["Outputs"]
    (api_id,) = resources(shipped["Social-dev"], "AWS::AppSync::Api")
    assert set(dev) == {o.value for o in Output} - {
        Output.USER_POOL_ID,
        Output.USER_POOL_CLIENT_ID,
        Output.DOMAIN_TARGET,
    }
    assert dev[Output.HTTP_ENDPOINT]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [api_id, "Dns.Http"]}, "/event"]]
    }
    assert dev[Output.REALTIME_ENDPOINT]["Value"] == {
        "Fn::Join": ["", ["wss://", {"Fn::GetAtt": [api_id, "Dns.Realtime"]}, "/event/realtime"]]
    }
    assert dev[Output.HTTP_HOST]["Value"] == {"Fn::GetAtt": [api_id, "Dns.Http"]}
    assert dev[Output.REALTIME_HOST]["Value"] == {"Fn::GetAtt": [api_id, "Dns.Realtime"]}
    assert dev[Output.API_ID]["Value"] == {"Fn::GetAtt": [api_id, "ApiId"]}
    assert dev[Output.API_ARN]["Value"] == {"Fn::GetAtt": [api_id, "ApiArn"]}
    assert dev[Output.REGION]["Value"] == "eu-west-1"
    prod = shipped["Social-prod"]["Outputs"]
    assert {Output.USER_POOL_ID, Output.USER_POOL_CLIENT_ID, Output.PUBLISHER_ROLE_ARN} <= set(prod)
    assert Output.SUBSCRIBER_ROLE_ARN not in prod  # prod subscribers use API key or Cognito, not IAM
    assert Output.USER_POOL_CLIENT_ID not in full["Outputs"]  # an imported pool's clients live elsewhere


def _policy_statements(template: dict[str, Any], role_output: Output) -> list[dict[str, Any]]:
    role = template["Outputs"][role_output]["Value"]["Fn::GetAtt"][0]
    (policy,) = [
        p["Properties"]
        for p in resources(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def _arn_tail(resource: Any) -> str:
    parts = resource["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<id>" for p in parts).split(":apis/")[1]


def test_iam_roles_least_privilege(full: dict[str, Any]) -> None:
    """publisher: connect + publish where AWS_IAM may publish; subscriber: connect + subscribe likewise; no wildcards."""
    publisher = _policy_statements(full, Output.PUBLISHER_ROLE_ARN)
    assert [(s["Action"], _arn_tail(s["Resource"])) for s in publisher] == [
        ("appsync:EventConnect", "<id>"),
        ("appsync:EventPublish", "<id>/channelNamespace/default"),
        ("appsync:EventPublish", "<id>/channelNamespace/telemetry"),
        ("appsync:EventPublish", "<id>/channelNamespace/users"),
    ]
    subscriber = _policy_statements(full, Output.SUBSCRIBER_ROLE_ARN)
    assert [(s["Action"], _arn_tail(s["Resource"])) for s in subscriber] == [
        ("appsync:EventConnect", "<id>"),
        ("appsync:EventSubscribe", "<id>/channelNamespace/telemetry"),
    ]
    roles = {
        r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
        for r in resources(full, "AWS::IAM::Role").values()
        if "AWS" in r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    }
    assert roles == {"arn:aws:iam::123456789012:role/backend", "arn:aws:iam::123456789012:role/analytics"}


def test_every_auth_provider(full: dict[str, Any]) -> None:
    """Imported Cognito pool (own region, client regex), OIDC with TTLs in ms, Lambda authorizer with cache TTL."""
    config = only(full, "AWS::AppSync::Api")["EventConfig"]
    providers = {p["AuthType"]: p for p in config["AuthProviders"]}
    assert list(providers) == [
        "API_KEY",
        "AWS_IAM",
        "AMAZON_COGNITO_USER_POOLS",
        "OPENID_CONNECT",
        "AWS_LAMBDA",
    ]
    assert providers["AMAZON_COGNITO_USER_POOLS"]["CognitoConfig"] == {
        "AppIdClientRegex": "^web-.*$",
        "AwsRegion": "eu-west-1",
        "UserPoolId": "eu-west-1_AbCdEf123",
    }
    assert providers["OPENID_CONNECT"]["OpenIDConnectConfig"] == {
        "AuthTTL": 3_600_000,
        "ClientId": "web",
        "IatTTL": 7_200_000,
        "Issuer": "https://issuer.example.com",
    }
    assert providers["AWS_LAMBDA"]["LambdaAuthorizerConfig"] == {
        "AuthorizerResultTtlInSeconds": 60,
        "AuthorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:authorizer",
        "IdentityValidationExpression": "^Bearer .+$",
    }
    assert modes(config["DefaultPublishAuthModes"]) == ["AWS_IAM", "AWS_LAMBDA"]
    assert modes(config["DefaultSubscribeAuthModes"]) == ["API_KEY", "OPENID_CONNECT"]
    assert not resources(full, "AWS::Cognito::UserPool")
    (api_id,) = resources(full, "AWS::AppSync::Api")
    assert only(full, "AWS::Lambda::Permission") == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:authorizer",
        "Principal": "appsync.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": [api_id, "ApiArn"]},
    }


def test_namespaces_override_modes_and_carry_handlers(full: dict[str, Any]) -> None:
    """Per-namespace modes override the defaults only where given; handler code is inlined, bundled, from handlers/."""
    by_name = {
        ns["Properties"]["Name"]: ns["Properties"] for ns in resources(full, "AWS::AppSync::ChannelNamespace").values()
    }
    assert list(by_name) == ["default", "comments", "telemetry", "users"]
    assert "PublishAuthModes" not in by_name["default"] and "SubscribeAuthModes" not in by_name["default"]
    assert modes(by_name["comments"]["PublishAuthModes"]) == ["AMAZON_COGNITO_USER_POOLS"]
    assert "SubscribeAuthModes" not in by_name["comments"]
    assert modes(by_name["telemetry"]["SubscribeAuthModes"]) == ["AWS_IAM"]
    # The code is the file as esbuild bundles it at synth (eventapi.handler_checks), @aws-appsync/* left external.
    code = by_name["comments"]["CodeHandlers"]
    assert code.startswith("// handlers/comments.js\n") and 'from "@aws-appsync/utils/dynamodb"' in code


def test_logging_explicit_group_no_custom_resource(full: dict[str, Any]) -> None:
    """Logs go to an explicit /aws/appsync/apis/<id> group with retention; no LogRetention Lambda anywhere."""
    config = only(full, "AWS::AppSync::Api")["EventConfig"]
    (api_id,) = resources(full, "AWS::AppSync::Api")
    (role_id,) = [name for name in resources(full, "AWS::IAM::Role") if name.startswith("EventApiLogRole")]
    assert config["LogConfig"] == {
        "CloudWatchLogsRoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "LogLevel": "ALL",
    }
    (group,) = [
        g["Properties"] for g in resources(full, "AWS::Logs::LogGroup").values() if "LogGroupName" in g["Properties"]
    ]
    assert group["RetentionInDays"] == 7
    assert group["LogGroupName"] == {"Fn::Join": ["", ["/aws/appsync/apis/", {"Fn::GetAtt": [api_id, "ApiId"]}]]}
    assert not resources(full, "Custom::LogRetention")
    # The functions are the app's own (functions/users) and the key renewer, each with its own group.
    sources = [
        f["Metadata"].get("eventapi:source", "key renewer") for f in resources(full, "AWS::Lambda::Function").values()
    ]
    assert sorted(sources) == ["functions/users", "key renewer"]


def test_tags_on_every_taggable_resource(full: dict[str, Any]) -> None:
    """Stage tags and app/stage tags land on every resource that takes Tags."""
    expected = [
        {"Key": "app", "Value": "social"},
        {"Key": "cost-center", "Value": "42"},
        {"Key": "stage", "Value": "full"},
        {"Key": "team", "Value": "realtime"},
    ]
    tagged = [r for r in full["Resources"].values() if "Tags" in r.get("Properties", {})]
    assert len(tagged) >= 5
    for resource in tagged:
        tags = [t for t in resource["Properties"]["Tags"] if t["Key"] != "Name"]  # the ACM L2 adds a Name tag
        assert sorted(tags, key=lambda t: t["Key"]) == expected


def test_no_cdk_metadata(shipped: dict[str, Any]) -> None:
    """No CDKMetadata resource: templates are the same on every machine and CDK version report is off."""
    for template in shipped.values():
        assert not resources(template, "AWS::CDK::Metadata")


def test_key_generation_replaces_the_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Bumping apiKey.generation gives the key a new logical id (CloudFormation replaces it) and description."""
    context = shipped_context()
    context["eventapi"]["stages"]["dev"]["auth"]["providers"]["apiKey"]["generation"] = 2
    context["stage"] = "dev"
    dev = synth(context, tmp_path_factory.mktemp("gen2"))["Social-dev"]
    (key_id,) = resources(dev, "AWS::AppSync::ApiKey")
    assert key_id == "EventApiKeyGen2"
    assert dev["Resources"][key_id]["Properties"]["Description"] == (
        "Event API key (managed by eventapi; renewed on every deploy) [generation 2]"
    )
