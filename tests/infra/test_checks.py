"""Deployability and security evidence without an account: cfn-lint, cdk-nag, snapshots, reproducible synth."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_iam as iam
from cfnlint.api import ManualArgs, lint

from app import build_app
from eventapi.config import load_config
from eventapi.exits import ExitCode
from eventapi.infra.key_renewal import APPSYNC_KEYS_REASON as KEYS_REASON
from eventapi.infra.key_renewal import INVOKE_REASON, KMS_ALIAS_REASON
from eventapi.infra.nag import EventApiChecks

from .conftest import FULL_STAGE, OPEN_STAGE, shipped_context, synth

ASSET_HASH_RE = re.compile(r'"(asset\.)?[0-9a-f]{64}(\.zip)?"')  # an S3 key or an asset path: a content hash
OPEN_REASONS = OPEN_STAGE["auth"]["providers"]["cognito"]["reasons"]

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"


# CDK's own cross-region reference provider declares a DependsOn its GetAtt already implies: not ours to change.
CDK_PROVIDER_CHECKS = {"Social-edge": ["W3005"], "Social-edge-certificate": ["W3005"]}


def test_cfn_lint_clean(shipped: dict[str, Any], full_all: dict[str, Any]) -> None:
    """cfn-lint reports no error and no warning on any synthesized template (the certificate stack in us-east-1)."""
    for name, template in {**shipped, **full_all}.items():
        region = "us-east-1" if name in ("Social-full", "Social-edge-certificate") else "eu-west-1"
        config = ManualArgs(regions=[region], ignore_checks=CDK_PROVIDER_CHECKS.get(name, []))
        matches = lint(json.dumps(template), config=config)
        assert [str(m) for m in matches] == [], name


def test_cdk_nag_runs_and_fails_synth(tmp_path: Path) -> None:
    """The AwsSolutions pack is wired in: an unacknowledged finding fails synth and is named in the report."""
    app = build_app(shipped_context(), outdir=str(tmp_path))
    stack = next(c for c in app.node.children if isinstance(c, cdk.Stack))
    iam.Role(
        stack,
        "Careless",
        assumed_by=iam.AccountRootPrincipal(),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")],
    )
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-IAM4"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions" and plugin["conclusion"] == "failure"
    rules = {v["ruleName"] for v in plugin["violations"]}
    assert rules == {"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess]"}
    paths = {c["constructPath"] for v in plugin["violations"] for c in v["violatingConstructs"]}
    assert paths == {f"{stack.node.id}/Careless/Resource"}


def acknowledged(outdir: Path) -> dict[str, dict[str, str]]:
    """Stack -> {acknowledged rule: reason}, as the cloud assembly records them."""
    found: dict[str, dict[str, str]] = {}
    for path in outdir.glob("*.metadata.json"):
        for entries in json.loads(path.read_text()).values():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    rules = {re.sub(r"^\w+::", "", rule): reason for rule, reason in entry["data"].items()}
                    found.setdefault(path.name.removesuffix(".metadata.json"), {}).update(rules)
    return found


def test_cdk_nag_clean_on_every_stack(shipped_out: Path, full_out: Path) -> None:
    """Every stack passes AwsSolutions and the Event API pack; the stage stacks' only acknowledgements are cdk.json's,
    with reasons (the CI stack's, each with its reason, are pinned in test_ci_stack.py)."""
    report = json.loads((shipped_out / "validation-report.json").read_text())
    assert report["pluginReports"] == [], report
    full_reports = json.loads((full_out / "validation-report.json").read_text())["pluginReports"]
    assert [(r["conclusion"], r["violations"]) for r in full_reports] == [("success", [])] * len(full_reports)
    config = load_config(ROOT)
    stage_stacks = {name: rules for name, rules in acknowledged(shipped_out).items() if name != "Social-ci"}
    assert stage_stacks == {
        stage.stack_name: dict(stage.rules.acknowledge) for stage in config.stages if stage.rules.acknowledge
    }
    assert acknowledged(full_out) == {
        "Social-full": {
            "EventApi-NS2": FULL_STAGE["rules"]["acknowledge"]["EventApi-NS2"],
            "AwsSolutions-IAM5[Resource::*]": KEYS_REASON + "; " + KMS_ALIAS_REASON,
            "AwsSolutions-IAM5[Resource::<KeyRenewalFunction1327F971.Arn>:*]": INVOKE_REASON,
        },
        "Social-open": {
            "AwsSolutions-COG2": OPEN_REASONS["mfa"],
            "AwsSolutions-COG8": OPEN_REASONS["featurePlan"],
        },
    }


def test_event_api_rule_pack_runs_and_fails_synth(tmp_path: Path) -> None:
    """The Event API pack runs next to AwsSolutions: without prod's acknowledgement, its public-read finding fails
    synth and names both namespaces."""
    context = shipped_context()
    del context["eventapi"]["stages"]["prod"]["rules"]
    app = build_app(context, outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*EventApi-NS2"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert (plugin["pluginName"], plugin["conclusion"]) == ("EventApi", "failure")
    (violation,) = plugin["violations"]
    assert violation["ruleName"] == "EventApi-NS2"
    assert violation["description"].startswith("anyone with the API key may subscribe to the whole namespace")
    assert [c["constructPath"] for c in violation["violatingConstructs"]] == [
        "Social-prod/EventApi/Nsdefault/Resource",
        "Social-prod/EventApi/Nscomments/Resource",
    ]


@pytest.mark.parametrize(
    "stack",
    ["Social-ci", "Social-dev", "Social-prod", "Social-full", "Social-edge", "Social-edge-certificate", "Social-open"],
)
def test_snapshot(stack: str, shipped: dict[str, Any], full_all: dict[str, Any]) -> None:
    """The template equals its committed snapshot (refresh: UPDATE_SNAPSHOTS=1 make test, then review the diff).

    A code asset's S3 key and asset path carry the hash of its content (the renewer's modules): the snapshot names
    it `<asset>`, so
    editing eventapi/deploy does not churn it; test_renewer_bundle_runs_on_the_lambda_runtime_alone checks the
    asset itself."""
    template = {**shipped, **full_all}[stack]
    path = SNAPSHOTS / f"{stack}.template.json"
    text = ASSET_HASH_RE.sub(r'"\1<asset>\2"', json.dumps(template, indent=1, sort_keys=True) + "\n")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.read_text() == text, f"{stack} changed: run UPDATE_SNAPSHOTS=1 make test and review git diff"


def test_two_synths_byte_identical(shipped_out: Path, tmp_path: Path) -> None:
    """Two synths of the same commit on the same day write byte-identical templates."""
    synth(shipped_context(), tmp_path)
    first = sorted(shipped_out.glob("*.template.json"))
    assert [t.name for t in first] == [f"Social-{s}.template.json" for s in ("ci", "dev", "prod")]
    for template in first:
        assert template.read_bytes() == (tmp_path / template.name).read_bytes(), template.name


def test_bad_config_fails_synth_with_one_line(tmp_path: Path) -> None:
    """`python app.py` with a bad value exits 3 (`CONFIG`) with one line on stderr, no traceback, nothing synthesized."""
    context = shipped_context()
    context["eventapi"]["stages"]["dev"]["logging"]["retentionDays"] = 15
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == ExitCode.CONFIG
    assert result.stderr == (
        "error: eventapi.stages.dev.logging.retentionDays: 15 is not allowed; expected one of 1, 3, 5, 7, 14, 30, 60, "
        "90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653\n"
    )
    assert result.stdout == ""
    assert not list((tmp_path / "out").glob("*.template.json"))


def test_unknown_stage_selected_fails_synth(tmp_path: Path) -> None:
    """`--context stage=prd` exits 3 naming the known stages and how to pass one."""
    context = {**shipped_context(), "stage": "prd"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (ExitCode.CONFIG, "")
    assert result.stderr == (
        "error: --context stage: 'prd' is not a stage in cdk.json (did you mean 'prod'?); choose one of dev, prod\n"
    )


def test_stage_selection(tmp_path: Path) -> None:
    """`--context stage=dev` synthesizes only that stage's stack."""
    assert list(synth({**shipped_context(), "stage": "dev"}, tmp_path)) == ["Social-dev"]


def test_event_api_rule_pack_in_another_cdk_app(tmp_path: Path) -> None:
    """EventApiChecks works in any CDK app: a bare EventApi L2 with no logging fails synth with EventApi-LOG1."""
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    stack = cdk.Stack(app, "Other")
    api = appsync.EventApi(stack, "Api", api_name="other")
    api.add_channel_namespace("default")
    cdk.Validations.of(app).add_plugins(EventApiChecks(app))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*EventApi-LOG1"):
        app.synth()
    (plugin,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert {v["ruleName"] for v in plugin["violations"]} == {"EventApi-LOG1"}
