"""The GitHub Actions workflows: make targets exist, actions pinned, least permissions, stages agree with cdk.json,
and actionlint and zizmor report nothing. (The workflows cannot run here: no GitHub, no AWS.)"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import ROOT
from eventapi.config import load_config

WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return workflow


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_three_workflows() -> None:
    """Pull requests, deploys on main/dispatch, and the per-stage deploy they call."""
    assert sorted(all_workflows()) == ["deploy-stage.yml", "deploy.yml", "pull-request.yml"]
    triggers = {name: workflow[True] for name, workflow in all_workflows().items()}  # YAML 1.1 reads `on` as True
    assert triggers["pull-request.yml"] == {"pull_request": {"branches": ["main"]}}
    assert triggers["deploy.yml"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert list(triggers["deploy-stage.yml"]) == ["workflow_call"]


def test_every_make_target_a_workflow_calls_exists() -> None:
    """Each `make <target>` in a run: step is a target of the Makefile."""
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    called = set()
    for workflow in all_workflows().values():
        for step in steps(workflow):
            for line in step.get("run", "").splitlines():
                words = shlex.split(line.replace(";", " ; ").replace("}", " } "))
                called |= {words[i + 1] for i, word in enumerate(words[:-1]) if word == "make"}
    assert called == {"lint", "test", "synth", "review", "diff-assembly", "deploy-assembly", "smoke"}
    assert called <= targets, called - targets


def test_every_action_is_pinned_by_sha() -> None:
    """Every `uses:` is a full commit SHA with its version as a comment, or this repository's own workflow."""
    for name, text in ((p.name, p.read_text()) for p in WORKFLOWS.glob("*.yml")):
        for uses in re.findall(r"uses: (.+)$", text, re.MULTILINE):
            assert uses.startswith("$/") or PINNED.fullmatch(uses), f"{name}: {uses}"


def test_least_permissions() -> None:
    """No workflow grants anything at the top; only jobs that assume an AWS role get id-token: write, and only
    the diff job may write to pull requests; no checkout keeps the token."""
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {}, name
        for job_id, job in workflow["jobs"].items():
            permissions = job["permissions"]
            assert permissions.get("contents") == "read", (name, job_id)
            assumes_role = any("configure-aws-credentials" in s.get("uses", "") for s in job.get("steps", []))
            calls_deploy = job.get("uses", "").endswith("deploy-stage.yml")
            assert (permissions.get("id-token") == "write") == (assumes_role or calls_deploy), (name, job_id)
            assert set(permissions) <= {"contents", "id-token", "pull-requests"}
            assert ("pull-requests" in permissions) == (name == "pull-request.yml" and job_id == "diff")
        for step in steps(workflow):
            if "actions/checkout@" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False, name


def test_stages_deploy_in_order_behind_their_environments() -> None:
    """deploy.yml deploys cdk.json's ci stages in order, each after the one before, in the GitHub environment named
    like the stage (the one its deploy role trusts), one concurrency group per stage, never cancelled."""
    ci = load_config(ROOT).ci
    assert ci is not None
    stages = [d.stage.name for d in ci.deploys]
    assert [d.environment for d in ci.deploys] == stages
    jobs = load("deploy.yml")["jobs"]
    assert [job for job in jobs if job != "synth"] == stages
    previous = "synth"
    for stage in stages:
        assert jobs[stage]["needs"] == previous and jobs[stage]["with"] == {"stage": stage}
        previous = stage
    deploy = load("deploy-stage.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.stage }}"
    assert deploy["concurrency"] == {"group": "deploy-${{ inputs.stage }}", "cancel-in-progress": False}
    assert load("pull-request.yml")["jobs"]["diff"]["strategy"]["matrix"]["stage"] == stages


def test_deploy_uses_the_synthesized_assembly() -> None:
    """The stage deploy downloads the synth job's cdk.out and never synthesizes: deploy, publish, smoke."""
    runs = [s["run"] for s in steps(load("deploy-stage.yml")) if "run" in s]
    assert runs == ['make deploy-assembly STAGE="$STAGE"', 'make smoke STAGE="$STAGE"']
    uses = [s["uses"].split("@")[0] for s in steps(load("deploy-stage.yml")) if "uses" in s]
    assert "actions/download-artifact" in uses and "synth" not in " ".join(runs)


def test_pip_and_npm_caches_keyed_on_lock_files() -> None:
    """Every setup-python caches pip on requirements*.txt, every setup-node npm on package-lock.json."""
    for workflow in all_workflows().values():
        for step in steps(workflow):
            uses = step.get("uses", "")
            if "setup-python@" in uses:
                assert step["with"]["cache"] == "pip" and step["with"]["cache-dependency-path"] == "requirements*.txt"
            if "setup-node@" in uses:
                assert step["with"]["cache"] == "npm" and step["with"]["cache-dependency-path"] == "package-lock.json"


@pytest.mark.parametrize(
    "command",
    [[str(VENV_BIN / "actionlint")], [str(VENV_BIN / "zizmor"), "--offline", "--quiet", ".github/workflows"]],
    ids=["actionlint", "zizmor"],
)
def test_workflow_linters_report_nothing(command: list[str]) -> None:
    """actionlint and zizmor (offline audits) pass the workflows with no finding."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
