"""GitHub Actions identities for one AWS account: the OIDC provider, a deploy role per stage, a diff role.

Every role trusts GitHub's OIDC tokens for exactly one `sub` (one repository and one GitHub environment or
branch, or the repository's pull requests) and the `sts.amazonaws.com` audience: never a wildcard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from eventapi.config import GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST

# The CDK CLI deploys a synthesized assembly through these bootstrap roles (`cdk bootstrap`'s names); a diff
# reads the deployed template through the read-only lookup role.
DEPLOY_BOOTSTRAP_ROLES = ("deploy-role", "file-publishing-role")
DIFF_BOOTSTRAP_ROLES = ("lookup-role",)


def bootstrap_role_arn(qualifier: str, role: str, account: str, region: str) -> str:
    """ARN of a CDK bootstrap role, e.g. `arn:aws:iam::1234:role/cdk-hnb659fds-deploy-role-1234-eu-west-1`."""
    return f"arn:{Aws.PARTITION}:iam::{account}:role/cdk-{qualifier}-{role}-{account}-{region}"


def github_trust(subject: str) -> dict[str, Any]:
    """The trust conditions for GitHub's token: our audience and exactly one `sub` (StringEquals, no wildcard)."""
    return {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": subject,
        }
    }


@dataclass(frozen=True)
class DeployRoleSpec:
    """One stage's deploy role: who may assume it, where it deploys, and the policies it carries."""

    key: str  # construct id part, e.g. "Dev"
    role_name: str
    description: str
    subject: str
    account: str
    region: str
    policies: Mapping[str, Mapping[str, Any]]  # policy name -> IAM policy document (JSON)


class GitHubCi(Construct):
    """Attributes: `provider_arn`, `deploy_roles` (key -> role), `policies` (construct id -> the role's inline
    policy made from a spec's document), `diff_role` (or None)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        provider_arn: str | None,
        qualifier: str,
        deploy_roles: Sequence[DeployRoleSpec],
        diff_subject: str | None,
        diff_role_name: str | None,
    ) -> None:
        super().__init__(scope, id_)
        if provider_arn is None:
            # The native AWS::IAM::OIDCProvider (no custom resource); IAM fetches GitHub's certificate itself.
            provider: iam.IOidcProvider = iam.OidcProviderNative(
                self, "Provider", url=f"https://{GITHUB_OIDC_HOST}", client_ids=[GITHUB_OIDC_AUDIENCE]
            )
        else:
            provider = iam.OidcProviderNative.from_oidc_provider_arn(self, "Provider", provider_arn)
        self.provider_arn = provider.oidc_provider_arn

        self.deploy_roles: dict[str, iam.Role] = {}
        self.policies: dict[str, iam.Policy] = {}
        for spec in deploy_roles:
            self.deploy_roles[spec.key] = self._deploy_role(spec, qualifier)

        self.diff_role: iam.Role | None = None
        if diff_subject is not None and diff_role_name is not None:
            self.diff_role = self._diff_role(diff_subject, diff_role_name, qualifier, deploy_roles)

    def _deploy_role(self, spec: DeployRoleSpec, qualifier: str) -> iam.Role:
        """One stage's deploy role: it may assume the CDK bootstrap roles and carries the spec's policies."""
        role = self._role(
            f"Deploy{spec.key}",
            spec.role_name,
            spec.subject,
            spec.description,
        )
        role.attach_inline_policy(
            iam.Policy(
                self,
                f"Deploy{spec.key}Bootstrap",
                statements=[
                    iam.PolicyStatement(
                        sid="AssumeCdkBootstrapRoles",
                        actions=["sts:AssumeRole"],
                        resources=[
                            bootstrap_role_arn(qualifier, name, spec.account, spec.region)
                            for name in DEPLOY_BOOTSTRAP_ROLES
                        ],
                    )
                ],
            )
        )
        for name, document in spec.policies.items():
            policy = iam.Policy(self, f"Deploy{spec.key}{name}", document=iam.PolicyDocument.from_json(dict(document)))
            role.attach_inline_policy(policy)
            self.policies[policy.node.id] = policy
        return role

    def _diff_role(
        self, subject: str, role_name: str, qualifier: str, deploy_roles: Sequence[DeployRoleSpec]
    ) -> iam.Role:
        """The pull requests' role: it may assume the lookup role of every account and region a stage deploys to."""
        role = self._role("Diff", role_name, subject, "GitHub Actions runs a read-only cdk diff for pull requests")
        targets = sorted({(spec.account, spec.region) for spec in deploy_roles})
        role.attach_inline_policy(
            iam.Policy(
                self,
                "DiffLookup",
                statements=[
                    iam.PolicyStatement(
                        sid="AssumeCdkLookupRoles",
                        actions=["sts:AssumeRole"],
                        resources=[
                            bootstrap_role_arn(qualifier, name, account, region)
                            for account, region in targets
                            for name in DIFF_BOOTSTRAP_ROLES
                        ],
                    )
                ],
            )
        )
        return role

    def _role(self, id_: str, name: str, subject: str, description: str) -> iam.Role:
        return iam.Role(
            self,
            id_,
            role_name=name,
            description=description,
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(self.provider_arn, github_trust(subject)),
        )
