"""Faults and misuse of the post-deploy step: special export paths, git, an interrupted rotation, bad input."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from botocore.exceptions import EndpointConnectionError

from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import DeployError, ExitCode, publish, rotate_key
from eventapi.deploy.__main__ import main
from eventapi.deploy.keys import ceil_hour
from tests.deploy.conftest import NOW, Deployed, ssm_values

pytestmark = pytest.mark.clock
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/social/dev/events"
KEY = ssm_name(PREFIX, SsmParam.API_KEY)


@pytest.fixture
def published(session: Any, deployed: Deployed) -> Deployed:
    publish(session, deployed.stage)
    return deployed


def export_cli(project: Path, *args: str) -> int:
    return main(["export", "--stage", "dev", "--project-root", str(project), *args])


def test_export_to_stdout(
    session: Any,
    published: Deployed,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`-o -` writes the file to stdout and nothing else, warns on stderr, and creates no file named '-'."""
    monkeypatch.chdir(project)
    assert export_cli(project, "--format", "env", "-o", "-") == 0
    out, err = capsys.readouterr()
    assert f"EVENTAPI_API_KEY={published.key}\n" in out
    assert out.startswith("EVENTAPI_")
    assert (
        err == "WARNING: the output holds the API key in clear text; keep it out of version control and out of logs\n"
    )
    assert not (project / "-").exists()


@pytest.mark.parametrize("kind", ["symlink", "symlink-out", "fifo", "dir", "proc-fd"])
def test_export_refuses_special_files(
    published: Deployed, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A symlink (inside or out of the folder), a FIFO, a folder or /proc/self/fd/1 is refused (exit 14), untouched."""
    target = project / "target.txt"
    target.write_text("keep me")
    path = project / "out.json"
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "symlink-out":
        path.symlink_to(tmp_path / "elsewhere.json")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    else:
        path = Path("/proc/self/fd/1")
    assert export_cli(project, "-o", str(path)) == ExitCode.FILE
    err = capsys.readouterr().err
    assert err.startswith(f"error: refusing to write {path}: it is ")
    assert err.endswith("; give a new path or a regular file (-o - writes to stdout)\n")
    assert target.read_text() == "keep me"
    assert not (tmp_path / "elsewhere.json").exists()
    if kind.startswith("symlink"):
        assert path.is_symlink()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_export_warns_inside_a_git_work_tree(
    session: Any, published: Deployed, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a git work tree, export warns when git would track the file, and not once .gitignore covers it."""
    git(project, "init", "-q")
    assert export_cli(project, "-o", str(project / "web.json")) == 0
    err = capsys.readouterr().err
    assert f"WARNING: {project / 'web.json'} is inside a git work tree and not ignored: add it to .gitignore" in err
    (project / ".gitignore").write_text("web.json\n")
    assert export_cli(project, "-o", str(project / "web.json")) == 0
    assert "git work tree" not in capsys.readouterr().err


def test_export_default_names_are_ignored_by_this_repository() -> None:
    """The three files `export` writes by default, from the repository root, are in .gitignore."""
    names = ["eventapi-config.json", "eventapi.env", "amplify_outputs.json"]
    result = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.split() == names


def test_interrupted_rotation_cuts_the_old_key_on_rerun(
    session: Any, published: Deployed, clock: time_machine.Coordinates
) -> None:
    """A rotation that died at the UpdateApiKey shortening the old key completes it on rerun; a third run refuses."""
    now = NOW
    api = session.client("appsync")

    def crash(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://appsync.eu-west-1.amazonaws.com")

    session.events.register("before-call.appsync.UpdateApiKey", crash)
    with pytest.raises(DeployError) as err:
        rotate_key(session, published.stage, grace_hours=48, now=now)
    assert err.value.code == ExitCode.AWS
    session.events.unregister("before-call.appsync.UpdateApiKey", crash)
    new = ssm_values(session, PREFIX)[KEY][1]
    assert new != published.key  # steps 1-3 happened

    clock.move_to(now + timedelta(minutes=5))
    report = rotate_key(session, published.stage, grace_hours=48, now=now + timedelta(minutes=5))

    cut = ceil_hour(now + timedelta(hours=48))
    keys = {k["id"]: k["expires"] for k in api.list_api_keys(apiId=published.api_id)["apiKeys"]}
    assert keys[published.key] == int(cut.timestamp())
    assert report.notes[0] == f"resuming the rotation started {now:%Y-%m-%dT%H:%M:%SZ}: the old key was not cut yet"
    assert ssm_values(session, PREFIX)[KEY][1] == new
    clock.move_to(now + timedelta(minutes=10))
    with pytest.raises(DeployError) as again:
        rotate_key(session, published.stage, now=now + timedelta(minutes=10))
    assert again.value.code == ExitCode.ROTATION
    assert again.value.message.startswith("a key rotation is already under way")


def test_policy_account_must_be_12_digits(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`policy --account 123` is a config error (exit 3) naming the option and what is allowed."""
    assert main(["policy", "--stage", "dev", "--project-root", str(project), "--account", "123"]) == ExitCode.CONFIG
    assert capsys.readouterr().err == "error: --account: '123' is not allowed; expected a 12-digit AWS account id\n"


def test_outputs_file_with_a_non_object_stack_entry(
    session: Any, deployed: Deployed, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`{"Social-dev": []}` says the entry is not an object of outputs, not that the stack is missing."""
    outputs = project / "outputs.json"
    outputs.write_text(json.dumps({"Social-dev": []}))
    code = main(["publish", "--stage", "dev", "--project-root", str(project), "--outputs-file", str(outputs)])
    assert code == ExitCode.FILE
    assert capsys.readouterr().err == (
        f"error: outputs file {outputs}: Social-dev is not an object of output name -> value; write it with "
        "cdk deploy --outputs-file\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "cdk.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("", "cdk.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("[]", "cdk.json: expected a JSON object, got []"),
        ("{}", 'eventapi: missing from cdk.json "context"; add {"app": "...", "stages": {...}}'),
        ('{"context": []}', "cdk.json: context: expected an object, got []"),
        ('{"context": {"eventapi": []}}', "eventapi: expected an object, got []"),
    ],
)
def test_broken_cdk_json_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    """`deploy show` with a cdk.json that is not JSON, empty, a list or shaped wrong: one line, exit 3."""
    (tmp_path / "cdk.json").write_text(text)
    assert main(["show", "--stage", "dev", "--project-root", str(tmp_path)]) == ExitCode.CONFIG
    assert capsys.readouterr().err == f"error: {message}\n"
