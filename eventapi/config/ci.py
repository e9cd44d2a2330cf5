"""The `ci` section: GitHub Actions deploying stages through OIDC, and the `<App>-ci` stack that trusts them.

See the README (CI/CD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eventapi.config.fields import CONTEXT_KEY, ConfigError, Obj, show
from eventapi.config.model import StageConfig
from eventapi.config.stage import ACCOUNT_RE, REGION_RE

CI_KEYS = ("github", "account", "region", "oidcProvider", "deploy", "diffRole", "bootstrapQualifier")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds"  # `cdk bootstrap`'s default qualifier
GITHUB_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
GITHUB_REPO_RE = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
# No ':' (it separates the parts of the token's `sub`) and no IAM wildcard characters.
GITHUB_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9_.-][A-Za-z0-9 _.-]{0,254}$")
GITHUB_BRANCH_RE = re.compile(r"^(?!.*\.\.)(?!/)(?!.*/$)[A-Za-z0-9._/-]{1,255}$")
OIDC_PROVIDER_ARN_RE = re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$")
BOOTSTRAP_QUALIFIER_RE = re.compile(r"^[A-Za-z0-9_-]{1,10}$")


@dataclass(frozen=True)
class CiDeploy:
    """Who may deploy one stage: workflow jobs of the repository in a GitHub environment, or on a branch."""

    stage: StageConfig
    environment: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class CiConfig:
    app: str
    owner: str
    repository: str
    account: str | None
    region: str | None
    oidc_provider_arn: str | None  # None: the CI stack creates the account's GitHub OIDC provider
    deploys: tuple[CiDeploy, ...]
    diff_role: bool
    bootstrap_qualifier: str = DEFAULT_BOOTSTRAP_QUALIFIER

    @property
    def stack_name(self) -> str:
        """`<App>-ci`, e.g. `Social-ci`."""
        return f"{self.app[:1].upper()}{self.app[1:]}-ci"

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.repository}"

    def subject(self, deploy: CiDeploy) -> str:
        """The exact `sub` claim of GitHub's token for a job allowed to deploy `deploy.stage`."""
        if deploy.environment is not None:
            return f"repo:{self.repo}:environment:{deploy.environment}"
        return f"repo:{self.repo}:ref:refs/heads/{deploy.branch}"

    @property
    def diff_subject(self) -> str:
        """The `sub` claim of a job run for a pull request (GitHub's form when the job names no environment)."""
        return f"repo:{self.repo}:pull_request"


def parse_ci(node: Obj, stages: tuple[StageConfig, ...]) -> CiConfig:
    """The `ci` section: the repository, the OIDC provider, and which stages deploy from which jobs."""
    owner, repository = _repository(node)
    provider = node.get("oidcProvider", str, "create", "'create' or the ARN of the account's GitHub OIDC provider")
    if provider != "create" and not OIDC_PROVIDER_ARN_RE.fullmatch(provider):
        raise ConfigError(
            node.at("oidcProvider"),
            f"{show(provider)} is not allowed; expected 'create' or an ARN like "
            f"'arn:aws:iam::123456789012:oidc-provider/{GITHUB_OIDC_HOST}'",
        )
    if any(stage.name == "ci" for stage in stages):
        raise ConfigError(f"{CONTEXT_KEY}.stages.ci", "a stage called 'ci' would share the CI stack's name; rename it")
    deploys = _deploys(node, stages)
    return CiConfig(
        app=stages[0].app,
        owner=owner,
        repository=repository,
        account=node.string("account", None, ACCOUNT_RE, "a 12-digit AWS account id"),
        region=node.string("region", None, REGION_RE, "an AWS region name like 'eu-west-1'"),
        oidc_provider_arn=None if provider == "create" else provider,
        deploys=deploys,
        diff_role=node.get("diffRole", bool, False, "true or false"),
        bootstrap_qualifier=node.string(
            "bootstrapQualifier",
            DEFAULT_BOOTSTRAP_QUALIFIER,
            BOOTSTRAP_QUALIFIER_RE,
            "the qualifier given to `cdk bootstrap` (1-10 letters, digits, '_' or '-')",
        ),
    )


def _repository(node: Obj) -> tuple[str, str]:
    """(owner, repository) of the GitHub repository the workflows run in."""
    github = node.obj("github", ("owner", "repository"))
    if not node.has("github"):
        raise ConfigError(node.at("github"), 'missing; give {"owner": "<user or org>", "repository": "<name>"}')
    missing = "the GitHub repository the workflows run in"
    owner = github.required("owner", GITHUB_OWNER_RE, "a GitHub user or organization name", missing)
    repository = github.required("repository", GITHUB_REPO_RE, "a GitHub repository name", missing)
    return owner, repository


def _deploys(node: Obj, stages: tuple[StageConfig, ...]) -> tuple[CiDeploy, ...]:
    """`deploy`: stage name -> the GitHub environment or the branch whose jobs may deploy it."""
    raw_deploy = node.get("deploy", dict, {}, "an object of stage name -> {environment} or {branch}")
    if not raw_deploy:
        raise ConfigError(node.at("deploy"), 'no stage to deploy; add one, e.g. {"dev": {"environment": "dev"}}')
    deploy = node.obj("deploy", tuple(stage.name for stage in stages))
    deploys = []
    for name in raw_deploy:
        stage = next(s for s in stages if s.name == name)
        entry = deploy.obj(name, ("environment", "branch"))
        if entry.has("environment") == entry.has("branch"):
            raise ConfigError(
                entry.path, "set exactly one of environment (a GitHub environment, e.g. 'prod') or branch (e.g. 'main')"
            )
        if stage.region is None:
            raise ConfigError(
                f"{CONTEXT_KEY}.stages.{name}.region",
                "missing; a stage deployed from CI needs a region (its CDK bootstrap roles are named after it)",
            )
        deploys.append(
            CiDeploy(
                stage=stage,
                environment=entry.string(
                    "environment", None, GITHUB_ENVIRONMENT_RE, "a GitHub environment name (no ':' or wildcards)"
                ),
                branch=entry.string("branch", None, GITHUB_BRANCH_RE, "a branch name like 'main' (no wildcards)"),
            )
        )
    return tuple(deploys)
