"""publish: stack outputs + the current API key -> SSM, idempotent, tagged, with a plan for --dry-run."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from eventapi.client.config import EventsConfig
from eventapi.config import load_stage
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import DeployError, ExitCode, publish
from eventapi.outputs import Output
from tests.deploy.conftest import (
    NOW,
    REGION,
    CallLog,
    Deployed,
    create_api,
    create_key,
    create_stack,
    deploy,
    outputs_for,
    ssm_values,
    tags_of,
    write_project,
)

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"


def name(param: SsmParam, prefix: str = PREFIX) -> str:
    return ssm_name(prefix, param)


def test_first_publish_writes_every_parameter(session: Any, deployed: Deployed) -> None:
    """The first run creates each parameter of the layout with its type and value; the key is a SecureString."""
    report = publish(session, deployed.stage)

    out = deployed.outputs
    values = ssm_values(session, PREFIX)
    expires = deployed.key_expires.isoformat().replace("+00:00", "Z")
    assert values == {
        name(SsmParam.HTTP_ENDPOINT): ("String", out[Output.HTTP_ENDPOINT]),
        name(SsmParam.REALTIME_ENDPOINT): ("String", out[Output.REALTIME_ENDPOINT]),
        name(SsmParam.HTTP_HOST): ("String", out[Output.HTTP_HOST]),
        name(SsmParam.REALTIME_HOST): ("String", out[Output.REALTIME_HOST]),
        name(SsmParam.API_ID): ("String", deployed.api_id),
        name(SsmParam.REGION): ("String", REGION),
        name(SsmParam.AUTH_MODES): (
            "String",
            '{"connect":["API_KEY","AWS_IAM"],"publish":["API_KEY","AWS_IAM"],"subscribe":["API_KEY"]}',
        ),
        name(SsmParam.NAMESPACES): (
            "String",
            '[{"name":"default","publish":["API_KEY","AWS_IAM"],"subscribe":["API_KEY"]},'
            '{"name":"chat","publish":["AWS_IAM"],"subscribe":["API_KEY"]}]',
        ),
        name(SsmParam.API_KEY): ("SecureString", deployed.key),
        name(SsmParam.API_KEY_EXPIRES): ("String", expires),
        name(SsmParam.CONFIG): ("String", values[name(SsmParam.CONFIG)][1]),
    }
    assert [(c.name, c.action) for c in report.changes] == [(n, "created") for n in values]
    assert report.warnings == []


def test_config_parameter_has_the_client_schema(session: Any, deployed: Deployed) -> None:
    """The `config` JSON holds everything but the key, with exactly the keys the client reads."""
    publish(session, deployed.stage)

    raw = json.loads(ssm_values(session, PREFIX)[name(SsmParam.CONFIG)][1])
    out = deployed.outputs
    assert raw == {
        "apiId": deployed.api_id,
        "region": REGION,
        "httpEndpoint": out[Output.HTTP_ENDPOINT],
        "realtimeEndpoint": out[Output.REALTIME_ENDPOINT],
        "httpHost": out[Output.HTTP_HOST],
        "realtimeHost": out[Output.REALTIME_HOST],
        "authModes": {"connect": ["API_KEY", "AWS_IAM"], "publish": ["API_KEY", "AWS_IAM"], "subscribe": ["API_KEY"]},
        "namespaces": [
            {"name": "default", "publish": ["API_KEY", "AWS_IAM"], "subscribe": ["API_KEY"]},
            {"name": "chat", "publish": ["AWS_IAM"], "subscribe": ["API_KEY"]},
        ],
        "cognito": None,
        "apiKeyExpires": deployed.key_expires.isoformat().replace("+00:00", "Z"),
    }
    assert EventsConfig.from_ssm(PREFIX, session=session).api_key == deployed.key


def test_every_parameter_is_tagged(session: Any, deployed: Deployed) -> None:
    """Each parameter carries the owner and stage tags."""
    publish(session, deployed.stage)

    for param in ssm_values(session, PREFIX):
        assert tags_of(session, param) == {"eventapi:managed-by": "eventapi-deploy", "eventapi:stage": "dev"}


def test_rerun_with_nothing_changed_makes_no_write_call(session: Any, deployed: Deployed) -> None:
    """A second run reads, finds everything unchanged, and writes nothing."""
    publish(session, deployed.stage)
    log = CallLog(session)

    report = publish(session, deployed.stage)

    assert log.writes == []
    assert log.calls == ["DescribeStacks", "GetParametersByPath", "GetParametersByPath", "ListApiKeys"]
    assert {c.action for c in report.changes} == {"unchanged"}


def test_changed_stage_updates_only_what_changed(session: Any, project: Path, deployed: Deployed) -> None:
    """A new namespace rewrites `namespaces` and `config` (overwrite, then tags) and nothing else."""
    publish(session, deployed.stage)
    stages = json.loads((project / "cdk.json").read_text())["context"]["eventapi"]["stages"]
    stages["dev"]["namespaces"]["alerts"] = {}
    stage = load_stage("dev", write_project(project, stages))
    log = CallLog(session)

    report = publish(session, stage)

    updated = [c.name for c in report.changes if c.action == "updated"]
    assert updated == [name(SsmParam.NAMESPACES), name(SsmParam.CONFIG)]
    assert log.writes == ["PutParameter", "AddTagsToResource", "PutParameter", "AddTagsToResource"]
    assert tags_of(session, name(SsmParam.CONFIG))["eventapi:managed-by"] == "eventapi-deploy"


def test_dry_run_plans_and_writes_nothing(session: Any, deployed: Deployed) -> None:
    """--dry-run reports the plan and leaves SSM untouched."""
    log = CallLog(session)

    report = publish(session, deployed.stage, dry_run=True)

    assert log.writes == []
    assert ssm_values(session, PREFIX) == {}
    assert report.dry_run is True
    assert len(report.changes) == 11
    assert {c.action for c in report.changes} == {"created"}


def test_outputs_file_replaces_describe_stacks(session: Any, project: Path, tmp_path: Path) -> None:
    """With --outputs-file, the outputs come from cdk's file and CloudFormation is not called."""
    stage = load_stage("dev", project)
    api = create_api(session, "social-dev")
    key = create_key(session, api["apiId"], NOW + timedelta(days=100))
    file = tmp_path / "outputs-dev.json"
    file.write_text(json.dumps({"Social-dev": outputs_for(api)}))
    log = CallLog(session)

    publish(session, stage, outputs_file=file)

    assert "DescribeStacks" not in log.calls
    assert ssm_values(session, PREFIX)[name(SsmParam.API_KEY)] == ("SecureString", key)


def test_stored_key_is_kept_while_it_exists(session: Any, deployed: Deployed) -> None:
    """The key already in SSM stays the current key even when a later-expiring key appears."""
    publish(session, deployed.stage)
    create_key(session, deployed.api_id, NOW + timedelta(days=300), "another")

    publish(session, deployed.stage)

    assert ssm_values(session, PREFIX)[name(SsmParam.API_KEY)][1] == deployed.key


def test_newest_expiring_key_wins_when_the_stored_one_is_gone(session: Any, deployed: Deployed) -> None:
    """If the key in SSM was deleted, publish picks the valid key that expires last."""
    publish(session, deployed.stage)
    appsync = session.client("appsync")
    later = create_key(session, deployed.api_id, NOW + timedelta(days=300), "later")
    create_key(session, deployed.api_id, NOW + timedelta(days=250), "sooner")
    appsync.delete_api_key(apiId=deployed.api_id, id=deployed.key)

    report = publish(session, deployed.stage)

    assert ssm_values(session, PREFIX)[name(SsmParam.API_KEY)][1] == later
    assert [c.name for c in report.changes if c.action == "updated"] == [
        name(SsmParam.API_KEY),
        name(SsmParam.API_KEY_EXPIRES),
        name(SsmParam.CONFIG),
    ]


def test_expiring_key_warns(session: Any, project: Path) -> None:
    """A key expiring within 30 days gives a loud warning naming renew-key."""
    dep = deploy(session, project, key_days=10)

    report = publish(session, dep.stage)

    assert report.warnings == [
        "WARNING: the API key expires in 10 days (2026-12-08T12:00:00Z); clients using it will be refused then. "
        "Run: python -m eventapi.deploy renew-key --stage dev"
    ]


def test_no_api_key_is_an_error(session: Any, project: Path) -> None:
    """An API with no key at all (the stack's key deleted) stops publish with NO_API_KEY, says to bump the
    generation (a deploy cannot renew a deleted key), and writes nothing."""
    stage = load_stage("dev", project)
    api = create_api(session, "social-dev")
    create_stack(session, "Social-dev", outputs_for(api))

    with pytest.raises(DeployError) as err:
        publish(session, stage)

    assert err.value.code == ExitCode.NO_API_KEY
    assert err.value.message == (
        f"API {api['apiId']} has no valid API key and no key of generation 1 (AppSync deletes a key 60 days after "
        "it expires, and rotate-key --finish deletes a retired one), so a deploy cannot renew it: set "
        "auth.providers.apiKey.generation to 2 in cdk.json (stage dev) and deploy (make deploy STAGE=dev); "
        "CloudFormation then creates a new key"
    )
    assert ssm_values(session, PREFIX) == {}


def test_expired_stack_key_says_deploy_again(session: Any, project: Path) -> None:
    """When the stack's key of the current generation still exists but has expired, publish says to deploy again
    (CloudFormation can still renew it)."""
    stage = load_stage("dev", project)
    api = create_api(session, "social-dev")
    create_stack(session, "Social-dev", outputs_for(api))
    with time_machine.travel(NOW, tick=False):
        create_key(session, api["apiId"], NOW + timedelta(days=2))

    with time_machine.travel(NOW + timedelta(days=3), tick=False), pytest.raises(DeployError) as err:
        publish(session, stage)

    assert err.value.code == ExitCode.NO_API_KEY
    assert err.value.message == (
        f"API {api['apiId']} has no valid API key (1 listed, none unexpired); deploy the stack again "
        "(make deploy STAGE=dev) so it renews its key, then run publish again"
    )


def test_missing_stack_is_an_error(session: Any, project: Path) -> None:
    """A stage that was never deployed fails with STACK and says what to do."""
    with pytest.raises(DeployError) as err:
        publish(session, load_stage("dev", project))

    assert err.value.code == ExitCode.STACK
    assert err.value.message == (
        "stack Social-dev does not exist in eu-west-1; deploy it first (make deploy STAGE=<stage>), "
        "or pass --region or --outputs-file"
    )


def test_missing_output_is_an_error(session: Any, project: Path) -> None:
    """A stack without the realtime endpoint output fails with OUTPUT_MISSING naming it."""
    api = create_api(session, "social-dev")
    create_key(session, api["apiId"], NOW + timedelta(days=100))
    outputs = outputs_for(api)
    del outputs[Output.REALTIME_ENDPOINT]
    create_stack(session, "Social-dev", outputs)

    with pytest.raises(DeployError) as err:
        publish(session, load_stage("dev", project))

    assert err.value.code == ExitCode.OUTPUT_MISSING
    assert err.value.message == (
        "stack Social-dev has no output EventApiRealtimeEndpoint (DescribeStacks in eu-west-1); deploy the "
        "current version of the stack (make deploy STAGE=<stage>) and run again"
    )


def test_outputs_file_without_the_stack_is_an_error(session: Any, project: Path, tmp_path: Path) -> None:
    """An outputs file of another stack fails with OUTPUT_MISSING listing what it holds."""
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({"Other-stack": {}}))

    with pytest.raises(DeployError) as err:
        publish(session, load_stage("dev", project), outputs_file=file)

    assert err.value.code == ExitCode.OUTPUT_MISSING
    assert err.value.message == (
        f"outputs file {file} has no stack Social-dev (it has: Other-stack); deploy with cdk deploy Social-dev "
        f"--outputs-file {file}, or pass --stack"
    )


def test_cognito_ids_are_published_and_removed(session: Any, project: Path) -> None:
    """Cognito outputs become parameters and the config's `cognito`; without them the parameters go away."""
    dep = deploy(
        session,
        project,
        "prod",
        **{Output.USER_POOL_ID.value: "eu-west-1_Pool123", Output.USER_POOL_CLIENT_ID.value: "client123"},
    )
    prefix = "/social/prod/events"
    publish(session, dep.stage)
    values = ssm_values(session, prefix)
    assert values[name(SsmParam.USER_POOL_ID, prefix)] == ("String", "eu-west-1_Pool123")
    assert values[name(SsmParam.USER_POOL_CLIENT_ID, prefix)] == ("String", "client123")
    assert json.loads(values[name(SsmParam.CONFIG, prefix)][1])["cognito"] == {
        "userPoolId": "eu-west-1_Pool123",
        "clientId": "client123",
    }
    assert tags_of(session, name(SsmParam.API_KEY, prefix)) == {
        "eventapi:managed-by": "eventapi-deploy",
        "eventapi:stage": "prod",
        "team": "realtime",
    }
    session.client("cloudformation").delete_stack(StackName="Social-prod")
    create_stack(session, "Social-prod", dep.outputs | {Output.USER_POOL_ID.value: ""})
    outputs = {k: v for k, v in dep.outputs.items() if not k.startswith("Cognito")}
    file = project / "outputs.json"
    file.write_text(json.dumps({"Social-prod": outputs}))

    report = publish(session, dep.stage, outputs_file=file)

    deleted = [c.name for c in report.changes if c.action == "deleted"]
    assert deleted == [name(SsmParam.USER_POOL_ID, prefix), name(SsmParam.USER_POOL_CLIENT_ID, prefix)]
    assert name(SsmParam.USER_POOL_ID, prefix) not in ssm_values(session, prefix)


def test_stage_without_api_key_publishes_no_key(session: Any, project: Path) -> None:
    """An IAM-only stage needs no key: publish writes no key parameters and lists no keys."""
    stage = load_stage("iam", project)
    api = create_api(session, "social-iam")
    create_stack(session, "Social-iam", outputs_for(api))
    log = CallLog(session)

    publish(session, stage)

    names = set(ssm_values(session, "/social/iam/events"))
    assert name(SsmParam.API_KEY, "/social/iam/events") not in names
    assert len(names) == 9
    assert "ListApiKeys" not in log.calls


def test_prune_deletes_tagged_strays_only(session: Any, deployed: Deployed) -> None:
    """--prune deletes parameters under the prefix that carry the owner tag but are not in the layout."""
    publish(session, deployed.stage)
    ssm = session.client("ssm")
    owner = [{"Key": "eventapi:managed-by", "Value": "eventapi-deploy"}]
    ssm.put_parameter(Name=f"{PREFIX}/old-name", Value="x", Type="String", Tags=owner)
    ssm.put_parameter(Name=f"{PREFIX}/someone-elses", Value="y", Type="String")

    report = publish(session, deployed.stage, prune=True)

    assert [(c.name, c.action, c.note) for c in report.changes if c.action == "deleted"] == [
        (f"{PREFIX}/old-name", "deleted", "stray")
    ]
    names = set(ssm_values(session, PREFIX))
    assert f"{PREFIX}/old-name" not in names
    assert f"{PREFIX}/someone-elses" in names


def test_aws_managed_key_is_not_named(session: Any, project: Path) -> None:
    """With the default AWS managed key the SecureString is written without KeyId (an alias given as KeyId must
    already exist, and SSM creates alias/aws/ssm only on first use); a customer managed key is named."""
    sent: list[dict[str, Any]] = []
    session.events.register("provide-client-params.ssm.PutParameter", lambda params, **_: sent.append(dict(params)))
    publish(session, deploy(session, project, "dev").stage, now=NOW)
    publish(session, deploy(session, project, "prod").stage, now=NOW)

    secure = [(p["Name"], p.get("KeyId")) for p in sent if p["Type"] == "SecureString"]
    assert secure == [(name(SsmParam.API_KEY), None), ("/social/prod/events/api-key", "alias/social-prod")]
