"""`python -m eventapi.deploy preflight` (run by make deploy/diff/destroy before synth): one line, a distinct code."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eventapi.deploy.__main__ import main
from eventapi.exits import ExitCode
from tests.deploy.conftest import REGION, STAGES, write_project

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.clock  # moto stands in for STS and CloudFormation
MOTO_ACCOUNT = "123456789012"  # moto's default account
LOCAL_HINT = "`make local` and `make demo` need no AWS account or credentials"


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh laptop: no AWS_* variables, no ~/.aws files (they point into tmp_path), instance metadata off."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path / "aws"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any HTTP request botocore would send; the list records attempts."""
    attempts: list[str] = []

    def refuse(self: Any, request: Any) -> Any:
        attempts.append(request.url)
        raise AssertionError(f"preflight sent a request without credentials: {request.url}")

    monkeypatch.setattr("botocore.endpoint.Endpoint._send", refuse)
    return attempts


def run_preflight(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str, str]:
    code = main(["preflight", "--project-root", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("target", ["deploy", "diff", "destroy"])
def test_no_credentials_fail_in_one_line_without_calling_aws(
    target: str, project: Path, no_credentials: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without credentials: exit 4, one line naming what was looked for, the stage's target and `make local`."""
    code, out, err = run_preflight(capsys, project, "--stage", "dev", "--for", target)
    assert (code, out, no_network) == (ExitCode.UNAUTHORIZED, "", [])
    assert err == (
        f"error: cannot {target} stage dev: no AWS credentials (looked for: env AWS_ACCESS_KEY_ID/"
        f"AWS_SECRET_ACCESS_KEY, profile 'default' (AWS_PROFILE unset) in {no_credentials}/credentials and "
        f"{no_credentials}/config (keys, SSO, credential_process, role), container/instance roles (instance "
        f"metadata off: AWS_EC2_METADATA_DISABLED)); stage dev targets region {REGION} in the credentials' account "
        "(cdk.json sets no account); sign in (e.g. `aws sso login --profile <name>` and AWS_PROFILE=<name>) and run "
        f"again; {LOCAL_HINT}\n"
    )


def test_no_credentials_names_the_profile_and_the_stage_account(
    project: Path,
    no_credentials: Path,
    no_network: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile without credentials (only a region): exit 4, naming AWS_PROFILE and the account cdk.json sets."""
    no_credentials.mkdir()
    (no_credentials / "config").write_text("[profile team]\nregion = us-east-2\n")
    monkeypatch.setenv("AWS_PROFILE", "team")
    code, _, err = run_preflight(capsys, project, "--stage", "prod")
    assert code == ExitCode.UNAUTHORIZED
    assert "profile 'team' (AWS_PROFILE) in " in err
    assert f"stage prod targets account 123456789012, region {REGION};" in err
    assert no_network == []


def test_unknown_profile_is_one_line(
    project: Path,
    no_credentials: Path,
    no_network: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_PROFILE naming a profile that is in no file: exit 4, naming the profile and both files."""
    monkeypatch.setenv("AWS_PROFILE", "nope")
    code, _, err = run_preflight(capsys, project, "--stage", "dev")
    assert code == ExitCode.UNAUTHORIZED
    assert err == (
        f"error: cannot deploy stage dev: AWS profile 'nope' is in neither {no_credentials}/credentials nor "
        f"{no_credentials}/config; check AWS_PROFILE / --profile; stage dev targets region {REGION} in the "
        f"credentials' account (cdk.json sets no account); {LOCAL_HINT}\n"
    )


@pytest.fixture
def moto_credentials(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Credentials that resolve (env), against moto in-process."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_credentials_but_not_bootstrapped_prints_the_bootstrap_command(
    project: Path, moto_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials resolve but no CDKToolkit stack: exit 15 with the exact `cdk bootstrap aws://ACCOUNT/REGION`."""
    code, out, err = run_preflight(capsys, project, "--stage", "dev", "--for", "diff")
    assert (code, out) == (ExitCode.NOT_BOOTSTRAPPED, "")
    assert err == (
        f"error: cannot diff stage dev: account {MOTO_ACCOUNT}, region {REGION} is not bootstrapped for the CDK "
        f"(no CDKToolkit stack); run once: npx cdk bootstrap aws://{MOTO_ACCOUNT}/{REGION}\n"
    )


def test_bootstrapped_account_passes(project: Path, moto_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    """With a CDKToolkit stack in the stage's region: exit 0 and one line saying who deploys where."""
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="CDKToolkit", TemplateBody=json.dumps(template)
    )
    code, out, err = run_preflight(capsys, project, "--stage", "dev")
    assert (code, err) == (ExitCode.OK, "")
    assert out == (
        f"preflight deploy dev: credentials (env) for arn:aws:sts::{MOTO_ACCOUNT}:user/moto; account "
        f"{MOTO_ACCOUNT}, region {REGION}; CDKToolkit CREATE_COMPLETE\n"
    )


def test_credentials_for_another_account_are_refused(
    tmp_path: Path, moto_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stage whose cdk.json names another account: exit 4, naming both accounts."""
    project = write_project(tmp_path / "other", {"prod": {**STAGES["prod"], "account": "210987654321"}})
    code, _, err = run_preflight(capsys, project, "--stage", "prod", "--for", "destroy")
    assert code == ExitCode.UNAUTHORIZED
    assert err == (
        f"error: cannot destroy stage prod: the credentials (env: arn:aws:sts::{MOTO_ACCOUNT}:user/moto) are for "
        f"account {MOTO_ACCOUNT}, but stage prod targets account 210987654321, region {REGION}; use credentials "
        "for 210987654321\n"
    )


def test_make_deploy_without_credentials_stops_before_synth(no_credentials: Path) -> None:
    """`make deploy STAGE=dev` on a machine without credentials: the preflight line, no synth, no CDK output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("MAKE")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(no_credentials / "credentials"), AWS_CONFIG_FILE=str(no_credentials / "config")
    )
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "deploy", "STAGE=dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr  # make's code for a failed recipe; the preflight's own is 4
    assert lines[0].startswith("error: cannot deploy stage dev: no AWS credentials (looked for: ")
    assert lines[1:] == [f"make: *** [Makefile:{makefile_line('deploy')}: deploy] Error 4"]
    assert done.stdout == ""  # make echoes the cdk command before running it: it never got there
    print(f"make deploy without credentials: {elapsed:.1f} s")  # a figure for the record, not asserted


def makefile_line(target: str) -> int:
    """The line of the preflight recipe of `target` in the Makefile (make names it when the recipe fails)."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    return next(i for i in range(start, len(lines)) if "eventapi.deploy preflight" in lines[i]) + 1
