"""`python -m eventapi.client smoke` against the local dev and prod stages (`up`, configured from SSM), and the
exit code of each way a smoke test fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventapi.exits import ExitCode
from tests.e2e.conftest import ROOT, UpProcess, offline_env, read_api_key, ssm_client, start_up

pytestmark = pytest.mark.clock  # starts local stages (moto, TLS)
LINE = re.compile(r"^(ok|FAIL) +(.+?) +(\d+) ms(?:  (.*))?$")


@pytest.fixture(scope="module")
def prod_up(
    templates: dict[str, Path], state_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UpProcess]:
    """A local deploy of the prod stage for this module."""
    up = start_up(templates["prod"], state_dir, tmp_path_factory.mktemp("up-prod-smoke"), stage="prod")
    try:
        yield up
    finally:
        up.stop()


def smoke(state_dir: Path, ready: dict[str, Any] | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the smoke CLI as a user would after `make local` (the printed AWS_* exports), or with no AWS at all."""
    extra = {**(ready["clientEnv"] if ready else {}), **env}
    argv = [sys.executable, "-m", "eventapi.client", "smoke", *args]
    if ready:
        argv += ["--ca-file", ready["caCert"]]
    return subprocess.run(
        argv, cwd=ROOT, env=offline_env(state_dir, **extra), capture_output=True, text=True, timeout=90, check=False
    )


def checks(stdout: str) -> dict[str, tuple[bool, str]]:
    """The check lines: name -> (ok, detail); each line carries a latency."""
    found = {}
    for line in stdout.splitlines()[1:-1]:
        match = LINE.fullmatch(line)
        assert match, line
        found[re.sub(r"/smoke/[0-9a-f]{12}", "/smoke/<run>", match[2])] = (match[1] == "ok", match[4] or "")
    return found


def test_smoke_dev(local_up: UpProcess, state_dir: Path) -> None:
    """dev: API key and IAM each connect, subscribe, publish over HTTP and the socket, and both receive all four
    events; nothing is refused there, so a forged API key must be."""
    done = smoke(state_dir, local_up.ready, "--stage", "dev")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("smoke https://localhost:") and lines[0].endswith(" with API_KEY, AWS_IAM")
    assert lines[-1] == f"smoke ok ({len(lines) - 2} checks)"
    found = checks(done.stdout)
    expected = [
        "connect API_KEY",
        "connect AWS_IAM",
        "subscribe API_KEY /default/smoke/<run>/*",
        "subscribe AWS_IAM /default/smoke/<run>/*",
    ]
    for mode, slug in (("API_KEY", "api-key"), ("AWS_IAM", "iam")):
        for via in ("http", "ws"):
            expected.append(f"publish {mode} over {via} /default/smoke/<run>/{slug}-{via}")
            expected += [f"receive {receiver} <- {mode} over {via}" for receiver in ("API_KEY", "AWS_IAM")]
    expected.append("connect with a forged API key refused")
    assert list(found) == expected
    assert all(ok for ok, _ in found.values())
    assert found["connect with a forged API key refused"] == (True, "refused as configured")
    assert read_api_key(local_up.ready) not in done.stdout + done.stderr


def test_smoke_prod(prod_up: UpProcess, state_dir: Path) -> None:
    """prod: a Cognito user (token in $EVENTAPI_AUTH_TOKEN) does everything on /default; IAM publishes but its
    subscribe is refused; the API key subscribes and receives but its publishes are refused."""
    ready = prod_up.ready
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventapi.local",
            "token",
            "--user",
            "smoke",
            "--region",
            ready["region"],
            "--user-pool-id",
            ready["userPoolId"],
            "--client-id",
            ready["userPoolClientId"],
        ],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    done = smoke(state_dir, ready, "--stage", "prod", EVENTAPI_AUTH_TOKEN=token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].endswith(" with API_KEY, AMAZON_COGNITO_USER_POOLS, AWS_IAM")
    found = checks(done.stdout)
    refused = {name for name, (ok, detail) in found.items() if detail == "refused as configured"}
    assert refused == {
        "subscribe AWS_IAM /default refused",
        "publish API_KEY over http refused",
        "publish API_KEY over ws refused",
    }
    for publisher in ("AMAZON_COGNITO_USER_POOLS", "AWS_IAM"):
        for via in ("http", "ws"):
            for receiver in ("API_KEY", "AMAZON_COGNITO_USER_POOLS"):
                assert found[f"receive {receiver} <- {publisher} over {via}"] == (True, "")
    assert all(ok for ok, _ in found.values())
    assert token not in done.stdout + done.stderr


def test_accepted_where_refusal_expected_exits_9(local_up: UpProcess, state_dir: Path, tmp_path: Path) -> None:
    """A config saying the API key may not publish, while the stage accepts it: the security failure, exit 9."""
    config = json.loads(
        ssm_client(local_up.ready).get_parameter(Name=local_up.ready["configParameter"])["Parameter"]["Value"]
    )
    for ns in config["namespaces"]:
        ns["publish"] = ["AWS_IAM"]
    config["apiKey"] = read_api_key(local_up.ready)
    (tmp_path / "events.json").write_text(json.dumps(config))
    done = smoke(state_dir, local_up.ready, "--config-file", str(tmp_path / "events.json"))
    assert done.returncode == ExitCode.NOT_REFUSED, done.stdout + done.stderr
    assert checks(done.stdout)["publish API_KEY over http refused"] == (
        False,
        "ACCEPTED, but the stage should refuse it",
    )
    assert done.stderr.startswith("smoke failed: 2 check(s)")


def test_failed_check_exits_8(local_up: UpProcess, state_dir: Path, tmp_path: Path) -> None:
    """A wrong API key and no AWS credentials: connect fails, exit 8, the key never printed."""
    config = json.loads(
        ssm_client(local_up.ready).get_parameter(Name=local_up.ready["configParameter"])["Parameter"]["Value"]
    )
    config["apiKey"] = "da2-" + "x" * 26
    (tmp_path / "events.json").write_text(json.dumps(config))
    done = smoke(state_dir, None, "--config-file", str(tmp_path / "events.json"), "--ca-file", local_up.ready["caCert"])
    assert done.returncode == ExitCode.SMOKE_FAILED, done.stdout + done.stderr
    ok, detail = checks(done.stdout)["connect API_KEY"]
    assert not ok and detail.startswith("UnauthorizedError")
    assert "x" * 26 not in done.stdout + done.stderr


def test_no_credentials_exits_10(state_dir: Path, tmp_path: Path) -> None:
    """No API key, no AWS credentials, no token: nothing to test with, exit 10 and what to provide."""
    config = {
        "httpEndpoint": "https://example.invalid/event",
        "region": "eu-west-1",
        "authModes": {"connect": ["API_KEY"], "publish": ["API_KEY"], "subscribe": ["API_KEY"]},
    }
    (tmp_path / "events.json").write_text(json.dumps(config))
    done = smoke(state_dir, None, "--config-file", str(tmp_path / "events.json"))
    assert done.returncode == ExitCode.UNAUTHORIZED
    assert done.stdout == "smoke https://example.invalid/event with no credentials\n"
    assert done.stderr == (
        "no credentials for any mode; give the API key in SSM, AWS credentials or $EVENTAPI_AUTH_TOKEN (0 checks)\n"
    )
