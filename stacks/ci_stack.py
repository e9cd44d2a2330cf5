"""The `<App>-ci` stack: GitHub Actions identities to deploy the stages with, no long-lived keys.

Each deploy role may assume its stage's CDK bootstrap roles and carries exactly the post-deploy step's policy
(`eventapi.deploy.policy.deploy_policy`, the code behind `python -m eventapi.deploy policy`) plus what the smoke
test (`python -m eventapi.client smoke`) reads and does (`smoke_policy`, next to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Aws, CfnOutput, Environment, Stack, Tags, Validations
from constructs import Construct

from eventapi.config import CiConfig
from eventapi.deploy.policy import deploy_policy, smoke_policy
from eventapi.infra.github_ci import DeployRoleSpec, GitHubCi

OIDC_PROVIDER_OUTPUT = "GitHubOidcProviderArn"
DIFF_ROLE_OUTPUT = "DiffRoleArn"


def deploy_role_output(stage: str) -> str:
    """The output naming a stage's deploy role, e.g. `DevDeployRoleArn`."""
    return f"{_camel(stage)}DeployRoleArn"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


# Why each wildcard of a generated policy is there (cdk-nag's AwsSolutions-IAM5 flags every one).
WILDCARD_REASONS = (
    (":stack/", "a stack ARN ends in an id CloudFormation assigns when it creates the stack"),
    (":parameter/", "the post-deploy step writes every parameter under the stage's own SSM prefix, and only there"),
    (
        ":apis/",
        "the Event API id is assigned at deploy time, after this stack exists; the smoke test publishes "
        "only to its own <namespace>/smoke/<run> channels",
    ),
    ("*", "AppSync's API key actions support no resource-level permission (Service Authorization Reference)"),
)


def wildcard_acknowledgments(document: Mapping[str, Any]) -> list[Acknowledgment]:
    """One AwsSolutions-IAM5 acknowledgement per wildcard resource of `document`, with its reason."""
    acks = {}
    for statement in document["Statement"]:
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            if "*" not in resource:
                continue
            shown = resource.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>").replace(Aws.REGION, "<AWS::Region>")
            reason = next(why for marker, why in WILDCARD_REASONS if marker in resource)
            acks[shown] = Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{shown}]", reason=reason)
    return list(acks.values())


class CiStack(Stack):
    """Attributes: `ci` (the GitHubCi construct)."""

    def __init__(self, scope: Construct, *, config: CiConfig) -> None:
        env = Environment(account=config.account, region=config.region) if config.account or config.region else None
        super().__init__(
            scope,
            config.stack_name,
            env=env,
            description=f"GitHub Actions OIDC roles for {config.repo} to deploy eventapi stages, managed by eventapi",
        )
        specs = []
        for deploy in config.deploys:
            stage = deploy.stage
            account = stage.account or Aws.ACCOUNT_ID
            region = stage.region or Aws.REGION
            specs.append(
                DeployRoleSpec(
                    key=_camel(stage.name),
                    role_name=f"{config.app}-ci-deploy-{stage.name}",
                    description=f"GitHub Actions deploys stage {stage.name} from {config.subject(deploy)}",
                    subject=config.subject(deploy),
                    account=account,
                    region=region,
                    policies={
                        "PostDeploy": deploy_policy(stage, region=region, account=account),
                        "SmokeTest": smoke_policy(stage, region=region, account=account),
                    },
                )
            )
        self.ci = GitHubCi(
            self,
            "GitHub",
            provider_arn=config.oidc_provider_arn,
            qualifier=config.bootstrap_qualifier,
            deploy_roles=specs,
            diff_subject=config.diff_subject if config.diff_role else None,
            diff_role_name=f"{config.app}-ci-diff" if config.diff_role else None,
        )
        for spec in specs:
            for name, document in spec.policies.items():
                policy = self.ci.policies[f"Deploy{spec.key}{name}"]
                Validations.of(policy).acknowledge(*wildcard_acknowledgments(document))
        Tags.of(self).add("app", config.app)
        Tags.of(self).add("stage", "ci")

        self._output(OIDC_PROVIDER_OUTPUT, self.ci.provider_arn, "GitHub OIDC provider")
        for deploy in config.deploys:
            role = self.ci.deploy_roles[_camel(deploy.stage.name)]
            where = f"environment {deploy.environment}" if deploy.environment else f"branch {deploy.branch}"
            self._output(
                deploy_role_output(deploy.stage.name),
                role.role_arn,
                f"Deploy role of stage {deploy.stage.name} ({where}): the GitHub variable AWS_DEPLOY_ROLE_ARN",
            )
        if self.ci.diff_role is not None:
            self._output(DIFF_ROLE_OUTPUT, self.ci.diff_role.role_arn, "Diff role: the variable AWS_DIFF_ROLE_ARN")

    def _output(self, key: str, value: str, description: str) -> None:
        CfnOutput(self, key, value=value, description=description).override_logical_id(key)
