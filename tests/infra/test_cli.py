"""The CDK CLI path a user takes: `npx cdk synth` on cdk.json, and the summary `make synth` prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eventapi.exits import ExitCode
from eventapi.infra.summary import main as summary_main
from eventapi.infra.summary import summarize

from .conftest import TODAY

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]


def test_summary_of_synthesized_app(shipped_out: Path) -> None:
    """The summary names each stack, its modes per operation, namespaces and the key expiry."""
    lines = summarize(shipped_out)
    assert lines[:2] == [
        "Social-ci: GitHub Actions OIDC roles for example-org/eventapi to deploy eventapi stages, managed by eventapi",
        "  IAM roles      : DevDeployRoleArn, ProdDeployRoleArn, DiffRoleArn",
    ]
    lines = lines[lines.index("Social-dev: Event API 'social-dev'") :]
    assert lines[:8] == [
        "Social-dev: Event API 'social-dev'",
        "  auth providers : API_KEY, AWS_IAM",
        "  connect        : API_KEY, AWS_IAM",
        "  publish        : API_KEY, AWS_IAM  (default)",
        "  subscribe      : API_KEY, AWS_IAM  (default)",
        "  logging        : ERROR, kept 14 days",
        "  namespace /default      publish: default; subscribe: default",
        "  API key        : expires 2027-10-01 00:00 UTC (value never in the template; see docs/deploy.md)",
    ]
    assert "  namespace /comments     publish: default; subscribe: default  handler: yes" in lines
    assert "  Cognito        : new user pool + web app client" in lines


def test_summary_without_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a cdk.out the summary says what to run, exit 14 (`FILE`)."""
    assert summary_main([str(tmp_path)]) == ExitCode.FILE == 14
    assert capsys.readouterr().err == f"error: no synthesized app in {tmp_path}; run `make synth` first\n"


@pytest.mark.slow
def test_npx_cdk_synth(tmp_path: Path, shipped: dict[str, Any]) -> None:
    """`npx cdk synth` with the pinned CLI synthesizes every stack offline, quietly, and matches the in-process synth."""
    assert shutil.which("npx"), "npx missing: install Node 20+ and npm"
    assert (ROOT / "node_modules" / ".bin" / "cdk").exists(), "run `make install` (the pinned aws-cdk CLI)"
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "--output",
            str(outdir),
            "--context",
            f"eventapi:today={TODAY}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "!!" not in result.stderr  # no Node end-of-life banner
    assert sorted(shipped) == ["Social-ci", "Social-dev", "Social-prod"]
    for stack, template in shipped.items():
        assert json.loads((outdir / f"{stack}.template.json").read_text()) == template


def test_summary_unexpected_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cloud assembly the summary cannot make sense of: one line naming the error, exit 1, no traceback."""
    (tmp_path / "manifest.json").write_text('{"artifacts": {"S": {"type": "aws:cloudformation:stack"}}}')
    assert summary_main([str(tmp_path)]) == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "error: summary: unexpected KeyError: 'properties'\n")
