"""The <App>-ci stack: GitHub OIDC trust conditions, the roles' policies, and its cdk-nag acknowledgements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import ROOT
from eventapi.config import load_stage
from eventapi.deploy.policy import deploy_policy, smoke_policy
from eventapi.review.templates import render
from stacks.ci_stack import WILDCARD_REASONS

from .conftest import resources, shipped_context, synth, templates

pytestmark = pytest.mark.clock  # synthesizes
GITHUB = "token.actions.githubusercontent.com"
IMPORTED = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


@pytest.fixture(scope="session")
def ci(shipped: dict[str, Any]) -> dict[str, Any]:
    """The CI stack of cdk.json's `ci` section (from the session's shipped synth)."""
    return shipped["Social-ci"]


@pytest.fixture(scope="session")
def ci_variant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CI stack that imports the provider, deploys dev from a branch and has no diff role (one synth of dev)."""
    context = shipped_context()
    context["eventapi"]["ci"] = {
        "github": {"owner": "example-org", "repository": "eventapi"},
        "oidcProvider": IMPORTED,
        "deploy": {"dev": {"branch": "main"}},
        "bootstrapQualifier": "custom1",
    }
    del context["eventapi"]["stages"]["prod"]
    outdir = tmp_path_factory.mktemp("ci-variant")
    synth(context, outdir)
    return templates(outdir)["Social-ci"]


def role(template: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        r["Properties"] for r in resources(template, "AWS::IAM::Role").values() if r["Properties"]["RoleName"] == name
    ]
    return found


def policies_of(template: dict[str, Any], role_name: str) -> dict[str, dict[str, Any]]:
    """The inline policies attached to a role, by the construct name that ends their logical id."""
    role_id = next(
        k for k, r in resources(template, "AWS::IAM::Role").items() if r["Properties"]["RoleName"] == role_name
    )
    return {
        lid: r["Properties"]["PolicyDocument"]
        for lid, r in resources(template, "AWS::IAM::Policy").items()
        if r["Properties"]["Roles"] == [{"Ref": role_id}]
    }


def plain(value: Any) -> Any:
    """A policy document with intrinsics rendered (`${AWS::AccountId}`) and every Action/Resource a sorted list."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::Join", "Fn::GetAtt"):
        return render(value)
    if isinstance(value, dict):
        return {k: listed(plain(v)) if k in ("Action", "Resource") else plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def listed(value: str | list[str]) -> list[str]:
    return sorted([value] if isinstance(value, str) else value)


def as_lists(document: dict[str, Any]) -> dict[str, Any]:
    """A generated policy document with every Action/Resource a sorted list (as `plain` shows a template's)."""
    statements = [
        {k: listed(v) if k in ("Action", "Resource") else v for k, v in s.items()} for s in document["Statement"]
    ]
    return {**document, "Statement": statements}


def test_deploy_roles_trust_one_exact_subject(ci: dict[str, Any]) -> None:
    """Each stage's deploy role trusts only GitHub tokens for sts.amazonaws.com with its exact environment `sub`."""
    (provider_id,) = resources(ci, "AWS::IAM::OIDCProvider")
    for stage in ("dev", "prod"):
        trust = role(ci, f"social-ci-deploy-{stage}")["AssumeRolePolicyDocument"]
        assert trust["Statement"] == [
            {
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB}:aud": "sts.amazonaws.com",
                        f"{GITHUB}:sub": f"repo:example-org/eventapi:environment:{stage}",
                    }
                },
                "Effect": "Allow",
                "Principal": {"Federated": {"Ref": provider_id}},
            }
        ]


def test_no_wildcard_in_any_trust(ci: dict[str, Any], ci_variant: dict[str, Any]) -> None:
    """No trust policy uses StringLike or a '*' in a condition: a repository wildcard can never slip in."""
    for template in (ci, ci_variant):
        for props in (r["Properties"] for r in resources(template, "AWS::IAM::Role").values()):
            text = json.dumps(props["AssumeRolePolicyDocument"])
            assert "StringLike" not in text and "*" not in text


def test_diff_role_trusts_pull_requests(ci: dict[str, Any]) -> None:
    """The diff role trusts the repository's pull_request tokens and may only assume the stages' lookup roles."""
    trust = role(ci, "social-ci-diff")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
    assert trust == {f"{GITHUB}:aud": "sts.amazonaws.com", f"{GITHUB}:sub": "repo:example-org/eventapi:pull_request"}
    (document,) = policies_of(ci, "social-ci-diff").values()
    assert plain(document)["Statement"] == [
        {
            "Action": ["sts:AssumeRole"],
            "Effect": "Allow",
            "Resource": [
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-lookup-role-${AWS::AccountId}-eu-west-1"
            ],
            "Sid": "AssumeCdkLookupRoles",
        }
    ]


def test_deploy_role_policies_are_generated_by_the_deploy_code(ci: dict[str, Any]) -> None:
    """A deploy role assumes its stage's deploy and file-publishing bootstrap roles and carries exactly
    `deploy_policy` (what `eventapi.deploy policy` prints) and `smoke_policy` for its stage: the same code."""
    for name in ("dev", "prod"):
        stage = load_stage(name, ROOT)
        documents = {
            lid.split(name.capitalize(), 1)[1][:-8]: doc
            for lid, doc in policies_of(ci, f"social-ci-deploy-{name}").items()
        }
        assert sorted(documents) == ["Bootstrap", "PostDeploy", "SmokeTest"]
        account = "${AWS::AccountId}"
        assert plain(documents["PostDeploy"]) == as_lists(deploy_policy(stage, region="eu-west-1", account=account))
        assert plain(documents["SmokeTest"]) == as_lists(smoke_policy(stage, region="eu-west-1", account=account))
        assert plain(documents["Bootstrap"])["Statement"][0]["Resource"] == [
            f"arn:${{AWS::Partition}}:iam::{account}:role/cdk-hnb659fds-{kind}-{account}-eu-west-1"
            for kind in ("deploy-role", "file-publishing-role")
        ]


def test_imported_provider_branch_and_qualifier(ci_variant: dict[str, Any]) -> None:
    """An imported provider is referenced by ARN (none created); a branch deploy trusts exactly refs/heads/main;
    the bootstrap qualifier names the roles; no diff role unless asked for."""
    assert resources(ci_variant, "AWS::IAM::OIDCProvider") == {}
    trust = role(ci_variant, "social-ci-deploy-dev")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Federated": IMPORTED}
    assert trust["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:example-org/eventapi:ref:refs/heads/main"
    assert [r["Properties"]["RoleName"] for r in resources(ci_variant, "AWS::IAM::Role").values()] == [
        "social-ci-deploy-dev"
    ]
    bootstrap = next(d for lid, d in policies_of(ci_variant, "social-ci-deploy-dev").items() if "Bootstrap" in lid)
    assert all("cdk-custom1-" in r for r in plain(bootstrap)["Statement"][0]["Resource"])
    assert sorted(ci_variant["Outputs"]) == ["DevDeployRoleArn", "GitHubOidcProviderArn"]


def test_ci_stack_acknowledgements_are_the_generated_wildcards(shipped_out: Path) -> None:
    """cdk-nag passes the CI stack only through IAM5 acknowledgements, one per wildcard resource of the generated
    policies, each with its written reason."""
    metadata = json.loads((shipped_out / "Social-ci.metadata.json").read_text())
    acks = {
        rule.removeprefix("Annotation::"): reason
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    reasons = {why for _, why in WILDCARD_REASONS}
    assert acks and all(rule.startswith("AwsSolutions-IAM5[Resource::") for rule in acks)
    assert set(acks.values()) == reasons
    assert sorted(acks) == [
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:aws:appsync:eu-west-1:<AWS::AccountId>:apis/*/channelNamespace/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:appsync:eu-west-1:<AWS::AccountId>:apis/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:cloudformation:eu-west-1:<AWS::AccountId>:stack/Social-dev/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:cloudformation:eu-west-1:<AWS::AccountId>:stack/Social-prod/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:ssm:eu-west-1:<AWS::AccountId>:parameter/social/dev/events/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:ssm:eu-west-1:<AWS::AccountId>:parameter/social/prod/events/*]",
    ]
