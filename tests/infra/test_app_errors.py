"""`python app.py` (what `cdk synth` runs) on a broken cdk.json, context or stage: one line on stderr, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app
from eventapi.config import ConfigError
from eventapi.exits import ExitCode

from .conftest import shipped_context

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "cdk.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("", "cdk.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("[]", "cdk.json: expected a JSON object, got []"),
        ('{"app": "python3 app.py"}', 'eventapi: missing from cdk.json "context"; add {"app": "...", "stages": {...}}'),
        ('{"context": []}', "cdk.json: context: expected an object, got []"),
        ('{"context": {"eventapi": []}}', "eventapi: expected an object, got []"),
    ],
)
def test_broken_cdk_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """Run without the CDK CLI, app.py reads cdk.json: whatever is wrong with it is one line and exit 3 (`CONFIG`)."""
    (tmp_path / "cdk.json").write_text(text)
    monkeypatch.setattr(app, "ROOT", tmp_path)
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    assert app.main() == ExitCode.CONFIG
    assert capsys.readouterr().err == f"error: {message}\n"


def test_cdk_context_json_not_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`CDK_CONTEXT_JSON='{nope'` is one line naming the variable, not a jsii traceback."""
    monkeypatch.setenv("CDK_CONTEXT_JSON", "{nope")
    assert app.main() == ExitCode.CONFIG
    assert capsys.readouterr().err == (
        "error: CDK_CONTEXT_JSON: is not valid JSON (Expecting property name enclosed in double quotes: line 1 "
        "column 2 (char 1))\n"
    )


def test_stage_given_twice() -> None:
    """`--context stage=dev --context stage=prod` (the CLI passes a list) names the option and asks for one."""
    with pytest.raises(ConfigError) as err:
        app.build_app({**shipped_context(), "stage": ["dev", "prod"]})
    assert str(err.value) == '--context stage: ["dev", "prod"] is not one stage name; give it once'


def test_stage_given_twice_through_the_cli_path(tmp_path: Path) -> None:
    """As `cdk synth` runs it (context in CDK_CONTEXT_JSON): exit 3, one line, no traceback, nothing written."""
    context = {**shipped_context(), "stage": ["dev", "prod"]}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (ExitCode.CONFIG, "")
    assert (
        result.stderr.splitlines()[-1] == 'error: --context stage: ["dev", "prod"] is not one stage name; give it once'
    )
    assert "Traceback" not in result.stderr


def test_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anything but a config error (a rule pack's finding, a bug) is one line naming it, exit 1, no key, no trace."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    def broken() -> None:
        raise RuntimeError(f"boom with {key}\n  and a second line")

    monkeypatch.setattr(app, "build_app", broken)
    assert app.main() == ExitCode.UNEXPECTED == 1
    assert (
        capsys.readouterr().err == "error: synth: unexpected RuntimeError: boom with da2-<redacted> and a second line\n"
    )
