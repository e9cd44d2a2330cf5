"""`python -m eventapi.client`: publish/subscribe output, one-line errors with distinct exit codes, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from eventapi.client.__main__ import main
from eventapi.exits import ExitCode
from tests.client.conftest import fast_client, interruptible
from tests.client.fake_server import FakeEventApi

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, fake: FakeEventApi, api_key: str = "da2-test") -> str:
    file = tmp_path / "events.json"
    file.write_text(json.dumps(fake.config(api_key=api_key).to_json(include_api_key=True)))
    return str(file)


async def run_main(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_cli_publish(fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """publish prints the result as one JSON line and exits 0; the key is never printed."""
    code = await run_main("publish", "/default/x", '{"a":1}', "2", "--config-file", write_config(tmp_path, fake))
    out, err = capsys.readouterr()
    assert code == 0
    assert [s["index"] for s in json.loads(out)["successful"]] == [0, 1]
    assert json.loads(out)["failed"] == []
    assert err == ""
    assert fake.http_requests[0][1] == '{"channel":"/default/x","events":["{\\"a\\":1}","2"]}'
    assert "da2-test" not in out + err


async def test_cli_subscribe_count(fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """subscribe prints each event's raw JSON on its own line and stops after --count events."""
    config = write_config(tmp_path, fake)
    task = asyncio.create_task(run_main("subscribe", "/default/*", "--count", "2", "--config-file", config))
    async with asyncio.timeout(5):
        await fake.subscribed.wait()
    async with fast_client(fake.config()) as client:
        await client.publish("/default/a", {"n": 1}, {"n": 2})
    assert await asyncio.wait_for(task, 5) == 0
    out, err = capsys.readouterr()
    assert out == '{"n":1}\n{"n":2}\n'
    assert err == "subscribed to /default/*\n"


@pytest.mark.parametrize(
    "case",
    [
        (["publish", "/default/x", "1"], 2, "error: give exactly one of --stage, --prefix or --config-file"),
        (["publish", "/default/x", "{no", "--config-file", "CONFIG"], 2, "error: event '{no' is not valid JSON"),
        (
            ["publish", "/default/*", "1", "--config-file", "CONFIG"],
            2,
            "error: invalid channel '/default/*': '*' is not allowed in a publish channel",
        ),
        (
            ["publish", "/default/x", "1", "--config-file", "MISSING"],
            3,
            "error: MISSING: cannot read (No such file or directory)",
        ),
        (
            ["publish", "/default/x", "1", "--config-file", "BADKEY"],
            ExitCode.UNAUTHORIZED,
            "error: unauthorized: UnauthorizedException: You are not authorized to make this call.",
        ),
        (
            ["subscribe", "/default/x", "--config-file", "BADKEY"],
            ExitCode.UNAUTHORIZED,
            "error: unauthorized: UnauthorizedException: You are not authorized to make this call.",
        ),
        (
            ["publish", "/default/x", '"0123456789abcdef"', "--config-file", "CONFIG"],
            ExitCode.FAILED_EVENTS,
            "error: 1 of 1 events failed",
        ),
        (
            ["publish", "/default/x", "1", "--auth", "cognito", "--config-file", "CONFIG"],
            3,
            "error: --auth cognito needs the token in $EVENTAPI_AUTH_TOKEN",
        ),
    ],
)
async def test_cli_errors(
    fake: FakeEventApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[list[str], int, str],
) -> None:
    """Each failure kind prints one line on stderr and exits with its own code; no key, no traceback."""
    argv, code, message = case
    monkeypatch.delenv("EVENTAPI_AUTH_TOKEN", raising=False)
    fake.max_event_bytes = 10
    paths = {"CONFIG": write_config(tmp_path, fake), "MISSING": str(tmp_path / "missing.json")}
    (tmp_path / "bad").mkdir()
    paths["BADKEY"] = write_config(tmp_path / "bad", fake, api_key="da2-wrong")
    argv = [paths.get(a, a) for a in argv]
    assert await run_main(*argv) == code
    out, err = capsys.readouterr()
    assert err.splitlines()[-1] == message.replace("MISSING", paths["MISSING"])
    assert "Traceback" not in err
    assert "da2-" not in out + err


async def test_cli_connection_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening on the endpoint: exit 18 (`CONNECTION`) with a one-line connection error."""
    file = tmp_path / "events.env"
    file.write_text("EVENTAPI_HTTP_ENDPOINT=http://127.0.0.1:9/event\nEVENTAPI_REGION=eu-west-1\nEVENTAPI_API_KEY=k\n")
    assert await run_main("publish", "/default/x", "1", "--config-file", str(file)) == ExitCode.CONNECTION
    err = capsys.readouterr().err
    assert err.startswith("error: connection: POST http://127.0.0.1:9/event failed: Cannot connect to host")
    assert len(err.splitlines()) == 1


async def test_cli_ctrl_c_exits_cleanly(fake: FakeEventApi, tmp_path: Path) -> None:
    """SIGINT during subscribe exits 130 with no traceback and no warnings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventapi.client",
        "subscribe",
        "/default/*",
        "--config-file",
        write_config(tmp_path, fake),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        preexec_fn=interruptible,
    )
    assert proc.stderr is not None
    try:
        first = await asyncio.wait_for(proc.stderr.readline(), 10)
        assert first == b"subscribed to /default/*\n"
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:  # never leave the CLI running after a failed step
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130
    assert (out, err) == (b"", b"")


def test_cli_unexpected_error_is_one_line_without_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception the CLI does not expect: one line naming the command and the error, the key masked, exit 1."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    async def broken(args: object) -> int:
        raise LookupError(f"x-api-key: {key}\n  and a second line")

    monkeypatch.setattr("eventapi.client.__main__.run", broken)
    assert main(["publish", "/default/x", "1", "--config-file", str(tmp_path / "events.json")]) == ExitCode.UNEXPECTED
    out, err = capsys.readouterr()
    assert (out, err) == ("", "error: publish: unexpected LookupError: x-api-key: da2-<redacted> and a second line\n")
