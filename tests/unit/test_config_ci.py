"""The `ci` section of cdk.json: the GitHub repository, who deploys which stage, the OIDC provider, the diff role."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"dev": {"region": "eu-west-1"}, "prod": {"region": "eu-west-1", "account": "123456789012"}}
CI = {"github": {"owner": "example-org", "repository": "eventapi"}, "deploy": {"dev": {"environment": "dev"}}}


def context(**ci: Any) -> dict[str, Any]:
    return {"app": "social", "stages": copy.deepcopy(STAGES), "ci": {**copy.deepcopy(CI), **ci}}


def test_shipped_ci_section() -> None:
    """cdk.json's ci: dev and prod deploy from GitHub environments of the same name, a diff role, a new provider."""
    ci = load_config(ROOT).ci
    assert ci is not None
    assert ci.stack_name == "Social-ci"
    assert [(d.stage.name, d.environment, d.branch) for d in ci.deploys] == [
        ("dev", "dev", None),
        ("prod", "prod", None),
    ]
    assert [ci.subject(d) for d in ci.deploys] == [
        "repo:example-org/eventapi:environment:dev",
        "repo:example-org/eventapi:environment:prod",
    ]
    assert ci.diff_role and ci.diff_subject == "repo:example-org/eventapi:pull_request"
    assert ci.oidc_provider_arn is None and ci.bootstrap_qualifier == "hnb659fds"


def test_branch_subject_and_imported_provider() -> None:
    """A stage deployed from a branch trusts exactly that ref; an existing provider is imported by its ARN."""
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ci = parse_config(context(deploy={"dev": {"branch": "main"}}, oidcProvider=arn), ROOT).ci
    assert ci is not None
    assert ci.subject(ci.deploys[0]) == "repo:example-org/eventapi:ref:refs/heads/main"
    assert ci.oidc_provider_arn == arn and ci.diff_role is False


def test_no_ci_section() -> None:
    """Without a ci section there is no CI stack to build."""
    assert parse_config({"app": "social", "stages": STAGES}, ROOT).ci is None


@pytest.mark.parametrize(
    ("ci", "message"),
    [
        ({"github": None}, "eventapi.ci.github: expected an object, got null"),
        (
            {"github": {"owner": "example-org"}},
            "eventapi.ci.github.repository: missing; the GitHub repository the workflows run in",
        ),
        (
            {"github": {"owner": "example-org", "repository": "*"}},
            "eventapi.ci.github.repository: '*' is not allowed; expected a GitHub repository name",
        ),
        (
            {"github": {"owner": "-x", "repository": "r"}},
            "eventapi.ci.github.owner: '-x' is not allowed; expected a GitHub user or organization name",
        ),
        ({"deploy": {}}, 'eventapi.ci.deploy: no stage to deploy; add one, e.g. {"dev": {"environment": "dev"}}'),
        (
            {"deploy": {"prd": {"environment": "prod"}}},
            "eventapi.ci.deploy.prd: unknown setting (did you mean 'prod'?); allowed here: dev, prod",
        ),
        (
            {"deploy": {"dev": {}}},
            "eventapi.ci.deploy.dev: set exactly one of environment (a GitHub environment, "
            "e.g. 'prod') or branch (e.g. 'main')",
        ),
        (
            {"deploy": {"dev": {"environment": "dev", "branch": "main"}}},
            "eventapi.ci.deploy.dev: set exactly one "
            "of environment (a GitHub environment, e.g. 'prod') or branch (e.g. 'main')",
        ),
        (
            {"deploy": {"dev": {"environment": "*"}}},
            "eventapi.ci.deploy.dev.environment: '*' is not allowed; "
            "expected a GitHub environment name (no ':' or wildcards)",
        ),
        (
            {"deploy": {"dev": {"environment": "a:b"}}},
            "eventapi.ci.deploy.dev.environment: 'a:b' is not allowed; "
            "expected a GitHub environment name (no ':' or wildcards)",
        ),
        (
            {"deploy": {"dev": {"branch": "release/*"}}},
            "eventapi.ci.deploy.dev.branch: 'release/*' is not "
            "allowed; expected a branch name like 'main' (no wildcards)",
        ),
        (
            {"oidcProvider": "arn:aws:iam::123456789012:oidc-provider/example.com"},
            "eventapi.ci.oidcProvider: "
            "'arn:aws:iam::123456789012:oidc-provider/example.com' is not allowed; expected 'create' or an ARN like "
            "'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com'",
        ),
        ({"diffRole": "yes"}, "eventapi.ci.diffRole: 'yes' is not allowed; expected true or false"),
        (
            {"bootstrapQualifier": "toolongqualifier"},
            "eventapi.ci.bootstrapQualifier: 'toolongqualifier' is not "
            "allowed; expected the qualifier given to `cdk bootstrap` (1-10 letters, digits, '_' or '-')",
        ),
        (
            {"diffrole": True},
            "eventapi.ci.diffrole: unknown setting (did you mean 'diffRole'?); allowed here: "
            "github, account, region, oidcProvider, deploy, diffRole, bootstrapQualifier",
        ),
    ],
)
def test_bad_ci_value(ci: dict[str, Any], message: str) -> None:
    """Each bad ci value fails with one line naming the field, the value and what is allowed."""
    with pytest.raises(ConfigError) as info:
        parse_config(context(**ci), ROOT)
    assert str(info.value) == message


def test_ci_stage_needs_a_region() -> None:
    """A stage deployed from CI without a region fails: its bootstrap roles are named after the region."""
    ctx = context()
    ctx["stages"]["dev"] = {"namespaces": {"default": {}}}
    with pytest.raises(ConfigError) as info:
        parse_config(ctx, ROOT)
    assert str(info.value) == (
        "eventapi.stages.dev.region: missing; a stage deployed from CI needs a region (its CDK bootstrap roles "
        "are named after it)"
    )


def test_stage_named_ci_clashes_with_the_ci_stack() -> None:
    """A stage called `ci` would be named like the CI stack: refused."""
    ctx = context()
    ctx["stages"]["ci"] = {"region": "eu-west-1"}
    with pytest.raises(ConfigError) as info:
        parse_config(ctx, ROOT)
    assert str(info.value) == "eventapi.stages.ci: a stage called 'ci' would share the CI stack's name; rename it"
