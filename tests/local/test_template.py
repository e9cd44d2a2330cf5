"""LocalApiSpec.from_template on the synthesized stage templates and on broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventapi.local import LocalApiSpec, TemplateError
from eventapi.local.template_sources import not_emulated
from eventapi.protocol.modes import AuthMode

ROOT = Path(__file__).resolve().parents[2]
FULL = ROOT / "tests" / "infra" / "snapshots" / "Social-full.template.json"
pytestmark = pytest.mark.clock  # the `up` refusal test starts a LocalDeployment
KEY, IAM, COG, OIDC, LAM = (
    AuthMode.API_KEY,
    AuthMode.AWS_IAM,
    AuthMode.AMAZON_COGNITO_USER_POOLS,
    AuthMode.OPENID_CONNECT,
    AuthMode.AWS_LAMBDA,
)


def test_full_snapshot_every_provider() -> None:
    """The full snapshot yields every provider with its config and per-namespace effective modes."""
    spec = LocalApiSpec.from_file(FULL)
    assert spec.name == "social-full"
    assert spec.providers.modes == (KEY, IAM, COG, OIDC, LAM)
    assert spec.providers.cognito.user_pool_id == "eu-west-1_AbCdEf123"
    assert spec.providers.cognito.app_id_client_regex == "^web-.*$"
    assert (spec.providers.oidc.issuer, spec.providers.oidc.client_id, spec.providers.oidc.auth_ttl_ms) == (
        "https://issuer.example.com",
        "web",
        3600000,
    )
    assert spec.providers.lambda_.identity_validation_expression == "^Bearer .+$"
    assert spec.connection_modes == (KEY, IAM, COG, OIDC, LAM)
    comments = spec.namespace("comments")
    assert (comments.publish_modes, comments.subscribe_modes, comments.has_handler) == ((COG,), (KEY, OIDC), True)
    telemetry = spec.namespace("telemetry")
    assert (telemetry.publish_modes, telemetry.subscribe_modes, telemetry.has_handler) == ((IAM, LAM), (IAM,), True)
    assert spec.namespace("default").has_handler is False
    assert spec.namespace("nope") is None


def test_full_snapshot_data_sources() -> None:
    """Data sources come with what they point at: the app's function (source dir, timeout, memory), a made table's
    keys; an existing function or table keeps its literal ARN or name and is marked not emulated."""
    sources = LocalApiSpec.from_file(FULL).data_sources
    users = sources["users"].function
    assert users is not None
    assert (users.source, users.handler, users.timeout_seconds, users.memory_mb) == (
        "functions/users",
        "handler.handler",
        3,
        512,
    )
    table = sources["comments"].table
    assert table is not None and table.table_name == "social-full-comments"
    assert [k["AttributeName"] for k in table.key_schema] == ["channel", "id"]
    assert sources["audit"].function_arn == "arn:aws:lambda:us-east-1:123456789012:function:audit"
    assert [name for name, s in sources.items() if s.emulated] == ["comments", "users"]
    assert spec_side_refusal() == (
        "namespace 'telemetry' onPublish uses data source 'audit', an existing Lambda function "
        "(arn:aws:lambda:us-east-1:123456789012:function:audit), which the local Event API does not emulate (it runs "
        "Lambda functions of this app and DynamoDB tables the stack makes); deploy to AWS to use it"
    )


def spec_side_refusal() -> str | None:
    spec = LocalApiSpec.from_file(FULL)
    return not_emulated({ns.name: ns.handler_configs for ns in spec.namespaces}, spec.data_sources)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_synthesized_stage_templates(stage: str) -> None:
    """The shipped stages' synthesized templates (the committed snapshots) parse, the pool id left to settings."""
    path = ROOT / "tests" / "infra" / "snapshots" / f"Social-{stage}.template.json"
    spec = LocalApiSpec.from_file(path)
    assert spec.name == f"social-{stage}" and spec.namespace("default") is not None
    if spec.providers.cognito is not None:
        assert spec.providers.cognito.user_pool_id is None and spec.providers.cognito.user_pool_logical_id


def test_no_api_is_a_clear_error() -> None:
    """A template without AWS::AppSync::Api says so."""
    with pytest.raises(TemplateError, match=r"no AWS::AppSync::Api resource"):
        LocalApiSpec.from_template({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}})
    with pytest.raises(TemplateError, match="has no Resources"):
        LocalApiSpec.from_template({})


def test_mode_without_provider_is_an_error() -> None:
    """A namespace mode that has no provider is reported with the resource and property."""
    template = json.loads(FULL.read_text())
    template["Resources"]["EventApiC062CAD3"]["Properties"]["EventConfig"]["AuthProviders"] = [{"AuthType": "API_KEY"}]
    with pytest.raises(TemplateError, match=r"ConnectionAuthModes: AWS_IAM has no auth provider"):
        LocalApiSpec.from_template(template)


def test_missing_file(tmp_path) -> None:
    """A missing template file tells the user to synthesize."""
    with pytest.raises(TemplateError, match="run `npx cdk synth` first"):
        LocalApiSpec.from_file(tmp_path / "nope.json")


def test_unset_modes_default_to_connection_then_providers() -> None:
    """Without explicit modes, connect allows every provider and namespaces inherit the connection modes."""
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::AppSync::Api",
                "Properties": {
                    "Name": "bare",
                    "EventConfig": {
                        "AuthProviders": [{"AuthType": "API_KEY"}, {"AuthType": "AWS_IAM"}],
                        "ConnectionAuthModes": [{"AuthType": "API_KEY"}],
                    },
                },
            },
            "Ns": {
                "Type": "AWS::AppSync::ChannelNamespace",
                "Properties": {"ApiId": {"Fn::GetAtt": ["Api", "ApiId"]}, "Name": "default"},
            },
        }
    }
    spec = LocalApiSpec.from_template(template)
    assert spec.connection_modes == (KEY,)
    assert (spec.namespace("default").publish_modes, spec.namespace("default").subscribe_modes) == ((KEY,), (KEY,))


async def test_up_refuses_a_namespace_on_a_data_source_it_cannot_run(tmp_path: Path) -> None:
    """`up` stops before starting anything, with one line naming the namespace side and the data source."""
    from eventapi.exits import ExitCode
    from eventapi.local.local_deploy import DeployOptions, LocalDeployError, LocalDeployment

    template = json.loads(FULL.read_text())
    for res in template["Resources"].values():
        if res["Type"] == "AWS::AppSync::ChannelNamespace" and res["Properties"]["Name"] == "comments":
            res["Properties"]["HandlerConfigs"] = {
                "OnPublish": {"Behavior": "CODE", "Integration": {"DataSourceName": "hook"}}
            }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    deployment = LocalDeployment(DeployOptions(stage="dev", project_root=ROOT, template=path, state_dir=tmp_path))
    with pytest.raises(LocalDeployError) as info:
        await deployment.start()
    await deployment.stop()
    assert (info.value.code, str(info.value)) == (
        ExitCode.CONFIG,
        "namespace 'comments' onPublish uses data source 'hook', HTTP, which the local Event API does not emulate "
        "(it runs Lambda functions of this app and DynamoDB tables the stack makes); deploy to AWS to use it",
    )


def test_functions_not_runnable_here_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """Without a function's source or staged asset, its direct-Lambda sides are left out with a warning (never a crash)."""
    from eventapi.local.integrations import build_handlers
    from eventapi.local.settings import LocalSettings

    handlers = build_handlers(LocalApiSpec.from_file(FULL), LocalSettings(project_root=None))
    assert handlers is not None and {"users", "telemetry"}.isdisjoint(handlers.namespaces)
    assert "namespace 'users' onSubscribe: function 'users' is not runnable here" in caplog.text
    assert "namespace 'telemetry' onPublish: function 'audit' is not runnable here" in caplog.text
