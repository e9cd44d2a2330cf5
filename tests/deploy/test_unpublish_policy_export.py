"""unpublish, policy and export."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from eventapi.client.config import EventsConfig
from eventapi.config import load_stage
from eventapi.deploy import deploy_policy, export, publish, rotate_key, unpublish
from tests.deploy.conftest import CallLog, Deployed, ssm_values

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"


def test_unpublish_deletes_only_what_it_owns(session: Any, deployed: Deployed) -> None:
    """unpublish deletes its tagged parameters and keeps an untagged one of the same name and any other."""
    publish(session, deployed.stage)
    ssm = session.client("ssm")
    ssm.delete_parameter(Name=f"{PREFIX}/region")
    ssm.put_parameter(Name=f"{PREFIX}/region", Value="mine", Type="String")  # untagged: not ours any more
    ssm.put_parameter(Name=f"{PREFIX}/other", Value="x", Type="String")

    report = unpublish(session, deployed.stage)

    assert ssm_values(session, PREFIX) == {
        f"{PREFIX}/region": ("String", "mine"),
        f"{PREFIX}/other": ("String", "x"),
    }
    kept = [(c.name, c.action, c.note) for c in report.changes if c.action == "kept"]
    assert kept == [(f"{PREFIX}/region", "kept", "not tagged as managed by eventapi-deploy")]
    assert sum(1 for c in report.changes if c.action == "deleted") == 10


def test_unpublish_prune_removes_tagged_strays(session: Any, deployed: Deployed) -> None:
    """unpublish --prune also deletes tagged parameters outside the layout, at any depth under the prefix."""
    publish(session, deployed.stage)
    owner = [{"Key": "eventapi:managed-by", "Value": "eventapi-deploy"}]
    session.client("ssm").put_parameter(Name=f"{PREFIX}/v0/endpoint", Value="x", Type="String", Tags=owner)

    unpublish(session, deployed.stage, prune=True)

    assert ssm_values(session, PREFIX) == {}


def test_unpublish_during_rotation_notes_the_retired_key(session: Any, deployed: Deployed) -> None:
    """unpublish removes the rotation record too, and says the retired key lives until its expiry."""
    publish(session, deployed.stage)
    rotate_key(session, deployed.stage)

    report = unpublish(session, deployed.stage)

    assert ssm_values(session, PREFIX) == {}
    assert report.notes == ["a key rotation was under way: the retired AppSync key stays valid until its expiry"]


def test_unpublish_dry_run_and_rerun(session: Any, deployed: Deployed) -> None:
    """--dry-run deletes nothing; a rerun after unpublish has nothing to do."""
    publish(session, deployed.stage)
    log = CallLog(session)
    unpublish(session, deployed.stage, dry_run=True)
    assert "DeleteParameters" not in log.calls
    unpublish(session, deployed.stage)

    again = unpublish(session, deployed.stage)

    assert again.changes == []


def test_policy_for_the_default_kms_key(project: Path) -> None:
    """The dev policy: DescribeStacks on its stack, API key actions, SSM under its prefix, no KMS statement."""
    policy = deploy_policy(load_stage("dev", project), account="111122223333")

    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadStackOutputs",
                "Effect": "Allow",
                "Action": ["cloudformation:DescribeStacks"],
                "Resource": "arn:aws:cloudformation:eu-west-1:111122223333:stack/Social-dev/*",
            },
            {
                "Sid": "ManageApiKeys",
                "Effect": "Allow",
                "Action": [
                    "appsync:ListApiKeys",
                    "appsync:CreateApiKey",
                    "appsync:UpdateApiKey",
                    "appsync:DeleteApiKey",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadParameterPath",
                "Effect": "Allow",
                "Action": ["ssm:GetParametersByPath"],
                "Resource": [
                    "arn:aws:ssm:eu-west-1:111122223333:parameter/social/dev/events",
                    "arn:aws:ssm:eu-west-1:111122223333:parameter/social/dev/events/*",
                ],
            },
            {
                "Sid": "ManageParameters",
                "Effect": "Allow",
                "Action": [
                    "ssm:PutParameter",
                    "ssm:DeleteParameters",
                    "ssm:AddTagsToResource",
                    "ssm:ListTagsForResource",
                ],
                "Resource": "arn:aws:ssm:eu-west-1:111122223333:parameter/social/dev/events/*",
            },
        ],
    }


def test_policy_for_a_customer_managed_key(project: Path) -> None:
    """A stage with its own KMS key gets a KMS statement limited to SSM and its parameters."""
    policy = deploy_policy(load_stage("prod", project))

    assert policy["Statement"][-1] == {
        "Sid": "EncryptTheApiKey",
        "Effect": "Allow",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"},
            "StringLike": {
                "kms:EncryptionContext:PARAMETER_ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter/social/prod/events/*"
            },
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/social-prod"},
        },
    }


def test_export_json_env_and_amplify(session: Any, deployed: Deployed, tmp_path: Path) -> None:
    """export writes each format with mode 0600, warns that the file holds the key, and the client reads it back."""
    publish(session, deployed.stage)
    http = deployed.outputs["EventApiHttpEndpoint"]

    report = export(session, deployed.stage, "json", tmp_path / "c.json")
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["apiKey"] == deployed.key
    assert data["httpEndpoint"] == http
    assert report.warnings == [
        f"WARNING: {tmp_path / 'c.json'} holds the API key in clear text; keep it out of version control and out of logs"
    ]
    assert EventsConfig.from_file(tmp_path / "c.json").api_key == deployed.key

    export(session, deployed.stage, "env", tmp_path / "c.env")
    env = (tmp_path / "c.env").read_text()
    assert f"EVENTAPI_HTTP_ENDPOINT={http}\n" in env
    assert f"EVENTAPI_API_KEY={deployed.key}\n" in env
    assert "EVENTAPI_AUTH_MODE=API_KEY\n" in env
    assert f"EVENTAPI_API_ID={deployed.api_id}\n" in env
    assert EventsConfig.from_file(tmp_path / "c.env").api_key == deployed.key

    export(session, deployed.stage, "amplify", tmp_path / "amplify_outputs.json")
    assert json.loads((tmp_path / "amplify_outputs.json").read_text()) == {
        "version": "1.4",
        "custom": {
            "events": {
                "url": http,
                "aws_region": "eu-west-1",
                "default_authorization_type": "API_KEY",
                "api_key": deployed.key,
            }
        },
    }
    for name in ("c.json", "c.env", "amplify_outputs.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["amplify_outputs.json", "c.env", "c.json", "project"]


def test_export_tightens_an_existing_file(session: Any, deployed: Deployed, tmp_path: Path) -> None:
    """An existing world-readable file is replaced by one with mode 0600."""
    publish(session, deployed.stage)
    target = tmp_path / "eventapi.env"
    target.write_text("old")
    target.chmod(0o644)

    export(session, deployed.stage, "env", target)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
