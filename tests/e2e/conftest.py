"""End-to-end fixtures: a synthesized dev template, the environment of a machine without AWS credentials, a
running `python -m eventapi.local up` (subprocess, free ports, `--ready-file`) and Node with aws-amplify."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import load_stage
from eventapi.local.aws_env import offline_env as offline_aws_env
from eventapi.local.synth import synth_env

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
STAGE = "dev"
ARTICLE_ID = "0192ec6b-b12f-708f-8ea9-b1d48c993be2"  # the seed post's placeholder article id
UP_START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def offline_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh clone on a laptop: no AWS_* variables (no credentials, no profile)."""
    settings = {
        "EVENTAPI_LOCAL_STATE_DIR": str(state_dir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "PYTHONUNBUFFERED": "1",
    }
    return offline_aws_env(os.environ, **{**settings, **extra})


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local state dir (TLS CA, issuer key) for the whole e2e session."""
    return tmp_path_factory.mktemp("eventapi-local-state")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every stage synthesized once (python app.py into a private cdk.out), shared by the `up` processes."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=synth_env(None, ROOT, outdir),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {stage: outdir / f"{load_stage(stage, ROOT).stack_name}.template.json" for stage in ("dev", "prod")}


@pytest.fixture(scope="session")
def dev_template(templates: dict[str, Path]) -> Path:
    """The dev stage's synthesized template."""
    return templates["dev"]


@dataclass
class UpProcess:
    """A running `python -m eventapi.local up` and what its ready file says."""

    proc: subprocess.Popen[str]
    ready: dict[str, Any]
    stdout_path: Path
    stderr_path: Path

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STOP_TIMEOUT)

    def output(self) -> tuple[str, str]:
        return self.stdout_path.read_text(), self.stderr_path.read_text()


def start_up(
    template: Path, state_dir: Path, workdir: Path, *extra: str, stage: str = STAGE, command: str = "up"
) -> UpProcess:
    """Start `up` (or `web`) on free ports and wait for its ready file (fail with its stderr if it exits first)."""
    ready_file = workdir / "ready.json"
    stdout_path, stderr_path = workdir / "up.stdout", workdir / "up.stderr"
    argv = [sys.executable, "-m", "eventapi.local", command, "--stage", stage, "--template", str(template)]
    argv += ["--port", "0", "--tls-port", "0", "--moto-port", "0", "--ready-file", str(ready_file), *extra]
    with stdout_path.open("w") as out, stderr_path.open("w") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=offline_env(state_dir), stdout=out, stderr=err, text=True)
    deadline = time.monotonic() + UP_START_TIMEOUT
    while not ready_file.is_file():
        if proc.poll() is not None:
            pytest.fail(f"`up` exited with {proc.returncode} before it was ready: {stderr_path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"`up` not ready within {UP_START_TIMEOUT:g} s: {stderr_path.read_text()[-2000:]}")
        time.sleep(0.1)
    return UpProcess(proc, json.loads(ready_file.read_text()), stdout_path, stderr_path)


@pytest.fixture(scope="session")
def local_up(dev_template: Path, state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """A local deploy of the dev stage shared by the Node tests; stopped with SIGTERM at the end."""
    up = start_up(dev_template, state_dir, tmp_path_factory.mktemp("up-shared"))
    try:
        yield up
    finally:
        up.stop()


def ssm_client(ready: dict[str, Any]) -> Any:
    """An SSM client configured as a client app on this machine would be: AWS_ENDPOINT_URL + the printed env."""
    import boto3

    env = ready["clientEnv"]
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    return session.client("ssm", endpoint_url=env["AWS_ENDPOINT_URL"])


def read_api_key(ready: dict[str, Any]) -> str:
    """The API key, decrypted from its SSM SecureString (as a client app reads it)."""
    value: str = ssm_client(ready).get_parameter(Name=ready["apiKeyParameter"], WithDecryption=True)["Parameter"][
        "Value"
    ]
    return value


def node_command(script: str) -> list[str]:
    """`node --experimental-websocket tests/e2e/node/<script>`; fails (never skips) when Node or npm deps are missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; install Node 20+ (make test needs it)")
    if not (ROOT / "node_modules" / "aws-amplify" / "package.json").is_file():
        pytest.fail("node_modules/aws-amplify is missing; run `make install` (npm ci) first")
    return [node, "--experimental-websocket", "--no-warnings", str(NODE_DIR / script)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every e2e test starts servers or Node: mark them `slow` (`-m "not slow"` skips them)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.slow)
