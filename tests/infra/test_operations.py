"""Template assertions for running a stage in production: the pinned API, retained logs, key renewal, Cognito."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eventapi.deploy.renewer import stage_from_environment
from eventapi.infra.event_api import EVENT_API_LOGICAL_ID

from .conftest import resources


def test_event_api_logical_id_is_pinned(shipped: dict[str, Any], full: dict[str, Any]) -> None:
    """Every stage's Event API has the pinned logical id: a construct rename never replaces the API."""
    stages = [t for t in (*shipped.values(), full) if resources(t, "AWS::AppSync::Api")]
    assert len(stages) == 3  # dev, prod, full (the CI stack has no API)
    for template in stages:
        assert list(resources(template, "AWS::AppSync::Api")) == [EVENT_API_LOGICAL_ID]


def test_production_logs_survive_the_stack(shipped: dict[str, Any], full: dict[str, Any]) -> None:
    """prod's log group is retained by default; dev's is deleted with the stack; `logging.retain` overrides."""

    def api_logs(template: dict[str, Any]) -> dict[str, Any]:
        (group,) = [r for n, r in resources(template, "AWS::Logs::LogGroup").items() if n.startswith("EventApiLogs")]
        return group

    prod, dev, full_logs = api_logs(shipped["Social-prod"]), api_logs(shipped["Social-dev"]), api_logs(full)
    assert (prod["DeletionPolicy"], prod["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert (dev["DeletionPolicy"], dev["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert full_logs["DeletionPolicy"] == "Retain"


def test_key_renewal_is_absent_unless_configured(shipped: dict[str, Any]) -> None:
    """Stages without apiKey.autoRenew have no function, schedule or alarm."""
    for template in shipped.values():
        assert not resources(template, "AWS::Scheduler::Schedule")
        assert not [name for name in template["Resources"] if name.startswith("KeyRenewal")]


def test_key_renewal_schedule_function_and_alarm(full: dict[str, Any]) -> None:
    """autoRenew: a daily schedule at the configured hour invokes the renewer, whose errors raise an alarm."""
    (name, function) = next((n, f) for n, f in resources(full, "AWS::Lambda::Function").items() if "KeyRenewal" in n)
    props = function["Properties"]
    assert (props["Handler"], props["Runtime"]) == ("eventapi.deploy.renewer.handler", "python3.14")
    stage = stage_from_environment(props["Environment"]["Variables"])
    assert (stage.name, stage.ssm.prefix, stage.auth.api_key.valid_days) == ("full", "/full/events", 30)  # type: ignore[union-attr]
    (schedule,) = resources(full, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [name, "Arn"]}
    (alarm,) = [a for n, a in resources(full, "AWS::CloudWatch::Alarm").items() if n.startswith("KeyRenewal")]
    assert {k: alarm["Properties"][k] for k in ("MetricName", "Namespace", "Period", "Threshold")} == {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Period": 86400,
        "Threshold": 1,
    }
    assert alarm["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]


def test_key_renewal_iam_is_held_to_the_stage(full: dict[str, Any]) -> None:
    """The renewer may list and update API keys, read its prefix, write only api-key-expires and config, and
    decrypt through SSM only for its parameters."""
    role = next(n for n, r in resources(full, "AWS::IAM::Role").items() if n.startswith("KeyRenewalRole"))
    (policy,) = [p for p in resources(full, "AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role}]]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    def arn(tail: str = "") -> dict[str, Any]:
        partition = {"Ref": "AWS::Partition"}
        return {"Fn::Join": ["", ["arn:", partition, f":ssm:us-east-1:123456789012:parameter/full/events{tail}"]]}

    assert [(s["Action"], s["Resource"]) for s in statements[:3]] == [
        (["appsync:ListApiKeys", "appsync:UpdateApiKey"], "*"),
        ("ssm:GetParametersByPath", arn()),
        (["ssm:PutParameter", "ssm:AddTagsToResource"], [arn("/api-key-expires"), arn("/config")]),
    ]
    kms = statements[3]
    assert (kms["Action"], kms["Condition"]["ForAnyValue:StringEquals"]) == (
        "kms:Decrypt",
        {"kms:ResourceAliases": "alias/events"},
    )


def test_renewer_bundle_runs_on_the_lambda_runtime_alone(full_out: Path, tmp_path: Path) -> None:
    """The bundled asset holds only package modules, and the handler imports with the standard library and boto3
    alone (aiohttp, aws_cdk, moto, cryptography blocked; no editable install on the path)."""
    (asset,) = [p for p in full_out.glob("asset.*") if (p / "eventapi/deploy/renewer.py").is_file()]
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*.py"))
    assert "eventapi/deploy/renewer.py" in files and "eventapi/client/__init__.py" not in files
    assert all(f.startswith("eventapi/") for f in files)
    site = next(p for p in sys.path if p.endswith("site-packages"))
    code = f"""
import sys
sys.path[:0] = [{str(asset)!r}]
sys.path.append({site!r})
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"aiohttp", "aws_cdk", "moto", "cryptography", "joserfc", "jsii", "constructs"}}:
            raise ImportError("not in the Lambda runtime: " + name)
sys.meta_path.insert(0, Block())
import eventapi.deploy.renewer as renewer
print(renewer.__file__, renewer.handler.__name__)
"""
    # No PYTHONPATH either: a checkout on it would shadow the asset's `eventapi` (a namespace package there).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{asset}/eventapi/deploy/renewer.py handler\n"


def test_new_pool_choices(open_pool: dict[str, Any]) -> None:
    """selfSignUp, mfa optional, Essentials, sign-in aliases and a hosted-UI client with its URLs."""
    (pool,) = resources(open_pool, "AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False}
    assert (props["MfaConfiguration"], props["UserPoolTier"]) == ("OPTIONAL", "ESSENTIALS")
    assert "UserPoolAddOns" not in props
    assert props["AliasAttributes"] == ["email", "preferred_username"]
    (domain,) = resources(open_pool, "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == "social-open-test"
    (client,) = resources(open_pool, "AWS::Cognito::UserPoolClient").values()
    c = client["Properties"]
    assert (c["AllowedOAuthFlows"], c["GenerateSecret"]) == (["code"], False)
    assert c["CallbackURLs"] == ["https://app.example.com/callback", "http://localhost:5173/"]
    assert c["LogoutURLs"] == ["https://app.example.com/"]
