"""The `serve` and `token` subcommands: banner, generated key, graceful SIGTERM, minted tokens."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from eventapi.exits import ExitCode
from eventapi.local import cli_up
from eventapi.local.__main__ import main
from eventapi.local.issuer import LocalIssuer, token_rules
from eventapi.local.settings import LocalSettings
from eventapi.local.template import LocalApiSpec
from eventapi.protocol import subprotocols
from eventapi.protocol.modes import AuthMode

from .conftest import conformance_template


async def test_serve_banner_and_sigterm(tmp_path) -> None:
    """`serve` prints endpoints, where the made key is (never the key) and NODE_EXTRA_CA_CERTS; SIGTERM closes with 1001."""
    template = tmp_path / "t.json"
    template.write_text(json.dumps(conformance_template()))
    env = {**os.environ, "EVENTAPI_LOCAL_STATE_DIR": str(tmp_path / "state")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventapi.local",
        "serve",
        "--template",
        str(template),
        "--port",
        "0",
        "--tls-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        lines = []
        while not any("made for this run" in line for line in lines):
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 20)).decode())
        text = "".join(lines)
        assert "local Event API 'conformance' serving" in text
        assert f"NODE_EXTRA_CA_CERTS={tmp_path / 'state' / 'ca.pem'}" in text
        ws_url = re.search(r"ws +(ws://\S+)", text).group(1)
        key_file = tmp_path / "state" / "api-key"
        assert f"API key (made for this run) in {key_file}: export EVENTAPI_API_KEY=$(cat {key_file})" in text
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        key = key_file.read_text().strip()
        assert re.fullmatch(r"da2-[a-z0-9]{26}", key)
        assert "da2-" not in text
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(ws_url, protocols=subprotocols({"host": "localhost", "x-api-key": key}))
            await ws.send_str('{"type":"connection_init"}')
            assert json.loads((await ws.receive(timeout=5)).data)["type"] == "connection_ack"
            proc.send_signal(signal.SIGTERM)
            msg = await ws.receive(timeout=10)
            while msg.type is aiohttp.WSMsgType.TEXT:
                msg = await ws.receive(timeout=10)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:  # a failed assertion above must not leave the server running
            proc.kill()
            await proc.wait()
    stdout, stderr = (await proc.stdout.read()).decode(), (await proc.stderr.read()).decode()
    assert key not in stdout and key not in stderr


def test_serve_bad_template(tmp_path, capsys) -> None:
    """`serve` with a template without an Event API exits 3 (`CONFIG`) with one line saying so."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"Resources": {}}')
    assert main(["serve", "--template", str(bad)]) == ExitCode.CONFIG
    assert "no AWS::AppSync::Api resource" in capsys.readouterr().err


def test_token_command(tmp_path, capsys) -> None:
    """`token --user alice --groups admins` prints a Cognito ID token the server's rules accept."""
    template = tmp_path / "t.json"
    template.write_text(json.dumps(conformance_template()))
    state = tmp_path / "state"
    assert (
        main(
            [
                "token",
                "--user",
                "alice",
                "--groups",
                "admins,editors",
                "--template",
                str(template),
                "--state-dir",
                str(state),
            ]
        )
        == 0
    )
    tok = capsys.readouterr().out.strip()
    spec = LocalApiSpec.from_file(template)
    rules = token_rules(spec, LocalSettings(state_dir=state), AuthMode.AMAZON_COGNITO_USER_POOLS)
    claims = LocalIssuer.load_or_create(state).verify(tok, rules)
    assert (claims["cognito:username"], claims["cognito:groups"], claims["token_use"]) == (
        "alice",
        ["admins", "editors"],
        "id",
    )


def test_unexpected_error_is_one_line_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any `eventapi-local` command: an exception it does not expect is one line naming the command, exit 1."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    def broken(state_dir: Path) -> LocalIssuer:
        raise PermissionError(f"cannot write the issuer key for {key}\n  and a second line")

    monkeypatch.setattr(LocalIssuer, "load_or_create", broken)
    assert main(["token", "--user", "alice", "--state-dir", str(tmp_path)]) == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == (
        "",
        "eventapi-local token: unexpected PermissionError: cannot write the issuer key for da2-<redacted> and a "
        "second line\n",
    )


def test_up_unexpected_error_is_one_line_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`up` (and `web`, which runs through it): an exception it does not expect is one line, the key masked, exit 1."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    async def broken(*_: object, **__: object) -> int:
        raise RuntimeError(f"{key}\n  and a second line")

    monkeypatch.setattr(cli_up, "serve", broken)
    args = [str(a) for a in ("up", "--stage", "dev", "--project-root", tmp_path, "--port", 0, "--tls-port", -1)]
    assert main(args) == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "eventapi-local up: unexpected RuntimeError: da2-<redacted> and a second line\n")
