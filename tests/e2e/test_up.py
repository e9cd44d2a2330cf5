"""`python -m eventapi.local up`: a local deploy whose SSM parameters a client app reads through moto."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from eventapi.client import EventsClient, EventsConfig
from eventapi.exits import ExitCode
from eventapi.local.local_deploy import DeployOptions, LocalDeployment
from tests.e2e.conftest import ARTICLE_ID, ROOT, STAGE, UpProcess, offline_env, read_api_key, start_up

pytestmark = pytest.mark.clock


async def test_up_serves_clients_configured_from_ssm_and_stops_on_sigterm(
    dev_template: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`up` writes the TLS endpoints and the key to SSM; a client configured from SSM publishes and receives; SIGTERM exits 0."""
    # Given a running local deploy
    up = start_up(dev_template, state_dir, tmp_path)
    key = ""
    try:
        ready = up.ready
        tls = ready["ports"]["tls"]
        # When a client app reads its config from SSM as in AWS (only AWS_ENDPOINT_URL and dummy credentials differ)
        for name, value in ready["clientEnv"].items():
            monkeypatch.setenv(name, value)
        config = await asyncio.to_thread(EventsConfig.from_ssm, stage=STAGE, project_root=ROOT)
        key = config.api_key or ""
        # Then SSM holds AWS-shaped TLS endpoints and an AppSync-shaped key
        assert config.http_endpoint == f"https://localhost:{tls}/event"
        assert config.realtime_endpoint == f"wss://localhost:{tls}/event/realtime"
        assert config.api_id == ready["apiId"]
        assert key.startswith("da2-") and len(key) == 30
        assert key == read_api_key(ready)
        # And the client subscribes, publishes over HTTP to a child channel and receives the event
        async with EventsClient(config, ca_file=ready["caCert"]) as client:
            sub = await client.subscribe(f"/default/comments/{ARTICLE_ID}/*")
            async with sub:
                result = await client.publish(f"/default/comments/{ARTICLE_ID}/new", {"msg": "hello from up"})
                event = await asyncio.wait_for(anext(sub), 10)
        assert result.ok
        assert event.data == {"msg": "hello from up"}
    finally:
        code = up.stop()
    out, err = up.output()
    assert code == 0, err
    assert out.splitlines()[-2:] == ["stopping: closing sockets, stopping the Event API and moto ...", "stopped"]
    assert not (tmp_path / "ready.json").exists()
    assert key not in out + err
    assert "da2-" not in out + err


def test_up_prints_endpoints_key_location_and_client_commands(local_up: UpProcess) -> None:
    """`up` prints the SSM endpoints, the key's parameter name (not its value), AWS_ENDPOINT_URL and NODE_EXTRA_CA_CERTS."""
    ready = local_up.ready
    out, _ = local_up.output()
    lines = out.splitlines()
    tls, moto = ready["ports"]["tls"], ready["awsEndpointUrl"]
    assert f"  http endpoint     https://localhost:{tls}/event   (in SSM: /social/dev/events/http-endpoint)" in lines
    assert (
        f"  realtime endpoint wss://localhost:{tls}/event/realtime   (in SSM: /social/dev/events/realtime-endpoint)"
    ) in lines
    assert "  API key           in SSM SecureString /social/dev/events/api-key (value not shown)" in lines
    assert f"  AWS_ENDPOINT_URL={moto}   (moto: AppSync control plane + SSM)" in lines
    assert f"  NODE_EXTRA_CA_CERTS={ready['caCert']}" in lines
    assert read_api_key(ready) not in out


def test_up_printed_client_commands_work_when_pasted(local_up: UpProcess, state_dir: Path) -> None:
    """The printed `export` line and `eventapi.client publish` command, pasted into a shell, publish an event."""
    out, _ = local_up.output()
    lines = [line.strip() for line in out.splitlines()]
    exports = [line for line in lines if line.startswith("export ")]
    publish = next(line for line in lines if " -m eventapi.client publish " in line)
    script = "\n".join([*exports, publish])
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert read_api_key(local_up.ready) not in done.stdout + done.stderr


def test_up_fails_with_one_line_and_exit_22_when_a_port_is_taken(state_dir: Path) -> None:
    """`up --moto-port <taken>` exits 22 (`PORT_IN_USE`) with one line naming the port and the option to change."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "eventapi.local", "up", "--stage", STAGE, "--moto-port", str(port)],
            cwd=ROOT,
            env=offline_env(state_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == ExitCode.PORT_IN_USE
    assert done.stderr == (
        f"eventapi-local up: the moto (local AWS) server's port {port} on 127.0.0.1 is already in use; stop what "
        f"holds it or pass --moto-port <free port> (--moto-port 0 picks a free one)\n"
    )
    assert done.stdout == ""


async def _publish_status(url: str, key: str) -> int:
    """HTTP status of one publish to a child channel with `key`."""
    body = {"channel": f"/default/comments/{ARTICLE_ID}/new", "events": ['{"msg":"rotation"}']}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers={"x-api-key": key}) as resp:
        return resp.status


async def _wait_for_status(url: str, key: str, status: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (got := await _publish_status(url, key)) != status and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return got


def _deploy(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "eventapi.deploy", *args, "--stage", STAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_up_follows_key_rotation_done_through_the_control_plane(
    dev_template: Path, state_dir: Path, tmp_path: Path
) -> None:
    """`eventapi.deploy rotate-key` against moto: the new key works within seconds; `--finish` retires the old one."""
    up = start_up(dev_template, state_dir, tmp_path)
    try:
        ready = up.ready
        url, env = ready["plainHttpEndpoint"], offline_env(state_dir, **ready["clientEnv"])
        old = read_api_key(ready)
        # When the key is rotated with the unchanged post-deploy tool (a new key in AppSync and SSM)
        _deploy(env, "rotate-key")
        new = read_api_key(ready)
        assert new != old and new.startswith("da2-")
        # Then the local Event API accepts the new key, and the old one during the grace period
        assert await _wait_for_status(url, new, 200) == 200
        assert await _publish_status(url, old) == 200
        # And once the rotation is finished (the old key deleted in AppSync), the old key is refused
        _deploy(env, "rotate-key", "--finish", "--force")
        assert await _wait_for_status(url, old, 401) == 401
        assert await _publish_status(url, new) == 200
    finally:
        code = up.stop()
    assert code == 0


def test_up_refuses_an_authorizer_it_cannot_import(state_dir: Path) -> None:
    """`up --lambda-authorizer` that does not import exits 2 with one line, before synth or moto start."""
    done = subprocess.run(
        [sys.executable, "-m", "eventapi.local", "up", "--stage", STAGE, "--lambda-authorizer", "nope.mod:fn"],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "eventapi-local up: lambda authorizer 'nope.mod:fn': cannot import (No module named 'nope')\n"


async def test_up_hands_the_lambda_authorizer_to_the_local_event_api(state_dir: Path, dev_template: Path) -> None:
    """The `--lambda-authorizer` of `up` reaches the local Event API's settings (its behaviour: tests/local)."""
    # A template synthesized today: a snapshot's key expiry is pinned to its synth day and ages out.
    options = DeployOptions(
        stage=STAGE,
        project_root=ROOT,
        template=dev_template,
        state_dir=state_dir,
        lambda_authorizer="tests.local.authorizers:allow_good",
    )
    async with LocalDeployment(options) as deployment:
        assert deployment.server is not None
        assert deployment.server.settings.lambda_authorizer == "tests.local.authorizers:allow_good"
