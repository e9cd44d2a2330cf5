"""Node clients against a local deploy: the official aws-amplify v6 Events API and the seed post's snippet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from eventapi.client import EventsConfig
from tests.e2e.conftest import ARTICLE_ID, ROOT, STAGE, UpProcess, node_command, offline_env, read_api_key

NODE_TIMEOUT = 40


def run_node(script: str, args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """Run a Node script; assert exit 0; return its JSON lines."""
    done = subprocess.run(
        [*node_command(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed: {done.stderr.strip()} (stdout: {done.stdout.strip()})"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("config_source", ["deploy-export", "legacy-configure"])
def test_amplify_events_client_over_tls(
    local_up: UpProcess, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_source: str
) -> None:
    """aws-amplify (Amplify.configure, events.connect, subscribe, events.post, channel.publish) works over wss with the local CA."""
    # Given the Amplify config built from SSM: the post-deploy step's `export --format amplify` (amplify_outputs.json,
    # `custom.events`), or the `API.Events` object of Amplify.configure() from the client's EventsConfig
    config_file = tmp_path / "amplify_outputs.json"
    if config_source == "deploy-export":
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "eventapi.deploy",
                "export",
                "--stage",
                STAGE,
                "--format",
                "amplify",
                "-o",
                str(config_file),
            ],
            cwd=ROOT,
            env=offline_env(state_dir, **local_up.ready["clientEnv"]),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(config_file.read_text())["custom"]["events"]["url"] == local_up.ready["httpEndpoint"]
    else:
        for name, value in local_up.ready["clientEnv"].items():
            monkeypatch.setenv(name, value)
        config = EventsConfig.from_ssm(stage=STAGE, project_root=ROOT)
        config_file.touch(mode=0o600)
        config_file.write_text(json.dumps(config.to_amplify_config()))
    # When Node runs the Amplify scenario, trusting the local CA through NODE_EXTRA_CA_CERTS
    env = offline_env(state_dir, NODE_EXTRA_CA_CERTS=local_up.ready["caCert"])
    steps = run_node("amplify_events.mjs", [str(config_file)], env)
    # Then both the HTTP post and the socket publish reach the wildcard subscription
    assert steps == [
        {"step": "subscribed", "channel": f"/default/comments/{ARTICLE_ID}/*"},
        {"step": "posted", "failed": []},
        {"step": "published"},
        {
            "step": "received",
            "events": [
                {"via": "http", "content": "posted with events.post"},
                {"via": "ws", "content": "published with channel.publish"},
            ],
        },
        {"step": "done"},
    ]


@pytest.mark.parametrize("transport", ["ws", "wss"])
def test_seed_post_snippet_with_a_child_channel_publish(local_up: UpProcess, state_dir: Path, transport: str) -> None:
    """The seed post's WebSocket + fetch snippet (header-subprotocol auth) receives a comment published to a child channel."""
    ready = local_up.ready
    if transport == "ws":
        realtime, http = ready["plainRealtimeEndpoint"], ready["plainHttpEndpoint"]
        extra = {}
    else:
        realtime, http = ready["realtimeEndpoint"], ready["httpEndpoint"]
        extra = {"NODE_EXTRA_CA_CERTS": ready["caCert"]}
    env = offline_env(
        state_dir,
        REALTIME_URL=realtime,
        HTTP_URL=http,
        HTTP_DOMAIN=urlsplit(http).netloc,
        API_KEY=read_api_key(ready),
        **extra,
    )
    steps = run_node("seed_snippet.mjs", [], env)
    assert steps == [
        {"step": "open", "protocol": "aws-appsync-event-ws"},
        {"frame": "connection_ack"},
        {"frame": "subscribe_success"},
        {"step": "fetch", "status": 200, "successful": 1, "failed": 0},
        {"frame": "data"},
        {"step": "received", "event": {"message": "How good are Websockets?!"}},
    ]


def test_node_tests_fail_clearly_without_node_modules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without node_modules/aws-amplify the Node tests fail with what to run, never skip."""
    from tests.e2e import conftest

    monkeypatch.setattr(conftest, "ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"node_modules/aws-amplify is missing; run `make install`"):
        conftest.node_command("amplify_events.mjs")
