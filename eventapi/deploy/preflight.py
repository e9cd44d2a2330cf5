"""`python -m eventapi.deploy preflight --stage dev --for deploy`: can `cdk deploy|diff|destroy` work from here?

Run by `make deploy|diff|destroy` before synth, so a machine without AWS credentials learns in one line, in under
a second, what is missing, instead of after a synth from CDK's "Unable to resolve AWS account to use":

1. credentials: resolved by botocore's chain without calling AWS (the `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
   variables, then the profile's keys, SSO, `credential_process` or role, then container/instance roles). None:
   exit 4 with what was looked for, the account and region the stage targets, and that `make local` needs none
   of this. Nothing is sent to AWS in that case.
2. the account: STS `GetCallerIdentity`; a stage that names another account in `cdk.json` is refused (exit 4).
3. the bootstrap: CloudFormation `DescribeStacks` of `CDKToolkit` in the stage's region; missing: exit 15 with the
   exact `npx cdk bootstrap aws://<account>/<region>` command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eventapi.config import StageConfig
from eventapi.deploy.aws import Aws
from eventapi.deploy.errors import DeployError
from eventapi.exits import ExitCode

TOOLKIT_STACK: Final = "CDKToolkit"  # the CDK CLI's default --toolkit-stack-name
LOCAL_HINT: Final = "`make local` and `make demo` need no AWS account or credentials"
TARGETS: Final = ("deploy", "diff", "destroy")


@dataclass(frozen=True)
class Ready:
    """What the check found: the identity, where the stage goes, and the bootstrap stack's status."""

    stage: str
    account: str
    region: str
    arn: str
    source: str  # botocore's name for where the credentials came from, e.g. env, sso, shared-credentials-file
    toolkit_status: str

    def to_json(self, target: str) -> dict[str, str]:
        return {
            "target": target,
            "account": self.account,
            "region": self.region,
            "arn": self.arn,
            "credentials": self.source,
            "toolkitStack": self.toolkit_status,
            "summary": self.line(target),
        }

    def line(self, target: str) -> str:
        return (
            f"preflight {target} {self.stage}: credentials ({self.source}) for {self.arn}; account {self.account}, "
            f"region {self.region}; {TOOLKIT_STACK} {self.toolkit_status}"
        )


def _tilde(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if path == home or path.startswith(home + os.sep) else path


def credential_files(botocore_session: Any) -> tuple[str, str]:
    """The shared credentials and config files botocore reads (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)."""
    credentials, config = (
        _tilde(os.path.expanduser(botocore_session.get_config_variable(name)))
        for name in ("credentials_file", "config_file")
    )
    return credentials, config


def looked_for(botocore_session: Any) -> str:
    """Where botocore's credential chain looked, in its order, as one phrase."""
    profile = botocore_session.get_config_variable("profile")
    named = f"profile {profile!r} (AWS_PROFILE)" if profile else "profile 'default' (AWS_PROFILE unset)"
    files = " and ".join(credential_files(botocore_session))
    metadata = os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
    roles = "container/instance roles" + (" (instance metadata off: AWS_EC2_METADATA_DISABLED)" if metadata else "")
    return (
        f"env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, {named} in {files} "
        f"(keys, SSO, credential_process, role), {roles}"
    )


def targets(stage: StageConfig, region: str | None) -> str:
    """Where the stage deploys: `cdk.json`'s account and region, or where CDK takes them from."""
    where = f"region {region}" if region else "no region (set the stage's region in cdk.json, or AWS_REGION)"
    if stage.account:
        return f"stage {stage.name} targets account {stage.account}, {where}"
    return f"stage {stage.name} targets {where} in the credentials' account (cdk.json sets no account)"


def check(
    stage: StageConfig, *, target: str = "deploy", profile: str | None = None, region: str | None = None
) -> Ready:
    """Resolve credentials (no AWS call), then the account and the bootstrap stack; raise `DeployError` otherwise."""
    import boto3  # noqa: PLC0415 - `policy` and `--help` need no AWS SDK
    import botocore.session  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ProfileNotFound  # noqa: PLC0415

    what = f"cannot {target} stage {stage.name}"
    core = botocore.session.get_session()
    if profile:
        core.set_config_variable("profile", profile)
    try:
        credentials = core.get_credentials()
        default_region = core.get_config_variable("region")
    except ProfileNotFound as err:
        raise DeployError(
            ExitCode.UNAUTHORIZED,
            f"{what}: AWS profile {err.kwargs.get('profile')!r} is in neither {' nor '.join(credential_files(core))}; "
            f"check AWS_PROFILE / --profile; {targets(stage, stage.region)}; {LOCAL_HINT}",
        ) from None
    except BotoCoreError as err:  # a broken profile (e.g. an SSO or role setting that cannot work)
        raise DeployError(
            ExitCode.UNAUTHORIZED, f"{what}: AWS credentials could not be resolved ({err}); {LOCAL_HINT}"
        ) from None
    # The stage's region is where its stack goes (CDK's env); only an env-agnostic stage takes the session's.
    stage_region = stage.region or region or os.environ.get("AWS_REGION") or default_region
    if credentials is None:
        raise DeployError(
            ExitCode.UNAUTHORIZED,
            f"{what}: no AWS credentials (looked for: {looked_for(core)}); {targets(stage, stage_region)}; "
            f"sign in (e.g. `aws sso login --profile <name>` and AWS_PROFILE=<name>) and run again; {LOCAL_HINT}",
        )
    if not stage_region:
        raise DeployError(ExitCode.CONFIG, f"{what}: no AWS region; {targets(stage, None)}")
    aws = Aws(boto3.Session(botocore_session=core), region=stage_region)
    identity = aws.call("sts", "GetCallerIdentity", "the credentials")
    account = str(identity["Account"])
    if stage.account and stage.account != account:
        raise DeployError(
            ExitCode.UNAUTHORIZED,
            f"{what}: the credentials ({credentials.method}: {identity['Arn']}) are for account {account}, but "
            f"{targets(stage, stage_region)}; use credentials for {stage.account}",
        )
    try:
        stacks = aws.call("cloudformation", "DescribeStacks", TOOLKIT_STACK, StackName=TOOLKIT_STACK)["Stacks"]
    except DeployError as err:
        if getattr(err, "aws_code", None) != "ValidationError":  # "Stack with id CDKToolkit does not exist"
            raise
        stacks = []
    if not stacks or stacks[0]["StackStatus"] in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE"):
        raise DeployError(
            ExitCode.NOT_BOOTSTRAPPED,
            f"{what}: account {account}, region {stage_region} is not bootstrapped for the CDK (no {TOOLKIT_STACK} "
            f"stack); run once: npx cdk bootstrap aws://{account}/{stage_region}",
        )
    return Ready(stage.name, account, stage_region, str(identity["Arn"]), credentials.method, stacks[0]["StackStatus"])
