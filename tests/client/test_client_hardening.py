"""Hostile or broken servers: redirects, off-shape answers, unreadable frames, ack-then-drop, long error texts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from aiohttp import web

from eventapi.client import Backoff, EventsConfig, Gap, UnexpectedResponseError
from eventapi.client.errors import EventsConfigError
from eventapi.exits import ExitCode
from eventapi.protocol import EventError
from tests.client.conftest import fast_client, interruptible
from tests.client.fake_server import FakeEventApi
from tests.client.test_client_cli import ROOT, run_main, write_config
from tests.client.test_client_subscribe import next_event


@dataclass
class Redirector:
    """An endpoint at `url` answering with the redirect statuses it is told (then 307), to the fake Event API (or,
    with `to_fake` False, with no Location header)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    to_fake: bool = True


@pytest.fixture
async def redirector(fake: FakeEventApi) -> AsyncIterator[Redirector]:
    """A `Redirector` for every publish and socket upgrade."""
    redirect = Redirector()

    async def handler(request: web.Request) -> web.Response:
        status = redirect.statuses.pop(0) if redirect.statuses else 307
        location = {"Location": f"http://{fake.host}{request.path}"} if redirect.to_fake else {}
        return web.Response(status=status, headers=location)

    app = web.Application()
    app.router.add_post("/event", handler)
    app.router.add_get("/event/realtime", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    redirect.url = f"http://127.0.0.1:{runner.addresses[0][1]}/event"
    yield redirect
    await runner.cleanup()


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308, 399])
async def test_publish_never_follows_a_redirect(fake: FakeEventApi, redirector: Redirector, status: int) -> None:
    """A redirect answer (any 3xx) is an UnexpectedResponseError; the key and the body never reach the redirect
    target."""
    url = redirector.url
    redirector.statuses.append(status)
    async with fast_client(replace(fake.config(), http_endpoint=url)) as client:
        with pytest.raises(UnexpectedResponseError) as err:
            await client.publish("/default/x", {"a": 1})
    assert fake.http_requests == []
    assert err.value.status == status
    assert str(err.value) == (
        f"UnexpectedResponse: POST {url} answered HTTP {status}, a redirect to http://{fake.host}/event; redirects "
        "are not followed (they would carry the credentials): point the config at the Event API's own endpoints"
    )


async def test_redirect_without_a_location_is_refused(fake: FakeEventApi, redirector: Redirector) -> None:
    """A 3xx without a Location header is refused the same way, its target shown as '?'."""
    redirector.to_fake = False
    async with fast_client(replace(fake.config(), http_endpoint=redirector.url)) as client:
        with pytest.raises(UnexpectedResponseError) as err:
            await client.publish("/default/x", {"a": 1})
    assert str(err.value) == (
        f"UnexpectedResponse: POST {redirector.url} answered HTTP 307, a redirect to ?; redirects are not followed "
        "(they would carry the credentials): point the config at the Event API's own endpoints"
    )


async def test_socket_never_follows_a_redirect(fake: FakeEventApi, redirector: Redirector) -> None:
    """A redirected WebSocket upgrade is an UnexpectedResponseError; the auth subprotocol never reaches the target."""
    url = redirector.url
    async with fast_client(EventsConfig.create(url, "eu-west-1", http_host=fake.host, api_key="da2-test")) as client:
        with pytest.raises(UnexpectedResponseError) as err:
            await client.subscribe("/default/x")
    assert (fake.connections, fake.refused_connections) == (0, 0)
    assert str(err.value).startswith(
        f"UnexpectedResponse: GET {url.replace('http', 'ws')}/realtime answered HTTP 307, a redirect to "
        f"http://{fake.host}/event/realtime; redirects are not followed"
    )


async def test_cli_redirect_exits_11(
    fake: FakeEventApi, redirector: Redirector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`publish` against a redirecting endpoint prints nothing on stdout and exits 11 with one line."""
    url = redirector.url
    file = tmp_path / "events.json"
    file.write_text(json.dumps(replace(fake.config(), http_endpoint=url).to_json(include_api_key=True)))
    assert await run_main("publish", "/default/x", "1", "--config-file", str(file)) == ExitCode.UNEXPECTED_ANSWER
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: unexpected answer: UnexpectedResponse: POST {url} answered HTTP 307")
    assert len(err.splitlines()) == 1
    assert fake.http_requests == []


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, "{}", 'expected {"successful": [...], "failed": [...]}'),
        (200, '{"successful": []}', 'expected {"successful": [...], "failed": [...]}'),
        (200, "[]", 'expected {"successful": [...], "failed": [...]}'),
        (200, "<html>ok</html>", "Expecting value"),
        (201, '{"successful": [], "failed": {}}', 'expected {"successful": [...], "failed": [...]}'),
        (200, '{"successful": [], "failed": [], "x": NaN}', "NaN is not standard JSON"),
    ],
)
async def test_2xx_without_the_publish_shape_is_an_error(
    fake: FakeEventApi, status: int, body: str, problem: str
) -> None:
    """A 2xx whose body is not {"successful": [...], "failed": [...]} raises UnexpectedResponseError, never 'ok'."""
    fake.canned_http.append((status, body))
    async with fast_client(fake.config()) as client:
        with pytest.raises(UnexpectedResponseError) as err:
            await client.publish("/default/x", 1)
    assert err.value.status == status
    assert problem in str(err.value)


async def test_cli_2xx_without_the_publish_shape_exits_11(
    fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI does not print `{"successful":[],"failed":[]}` for an empty 200: it exits 11."""
    fake.canned_http.append((200, "{}"))
    assert (
        await run_main("publish", "/default/x", "1", "--config-file", write_config(tmp_path, fake))
        == ExitCode.UNEXPECTED_ANSWER
    )
    assert capsys.readouterr().out == ""


async def test_unreadable_frame_reconnects_and_delivery_goes_on(fake: FakeEventApi) -> None:
    """A frame nested 100k deep is reported as a gap (a reconnect), and later events are still delivered."""
    gaps: list[Gap] = []
    async with fast_client(fake.config(), on_gap=gaps.append) as client:
        sub = await client.subscribe("/default/*")
        await fake.send_raw_to_all('{"type":"data","id":"x","event":' + "[" * 100_000 + "]" * 100_000 + "}")
        async with asyncio.timeout(2):
            while not gaps:
                await asyncio.sleep(0.01)
        await client.publish("/default/after", "after")
        event = await next_event(sub)
    assert (event.data, event.after_gap) == ("after", True)
    assert gaps[0].reason == "unreadable frame from the server (not valid JSON (JSON nested too deeply))"


@pytest.mark.parametrize("frame", ['{"type":"data","id":"x","event":NaN}', '{"type":["data"]}', "[]", "\x00"])
async def test_off_shape_frames_never_stop_the_reader(fake: FakeEventApi, frame: str) -> None:
    """Any unreadable frame costs a reconnect, never the reader: the next event still arrives."""
    gaps: list[Gap] = []
    async with fast_client(fake.config(), on_gap=gaps.append) as client:
        sub = await client.subscribe("/default/*")
        await fake.send_raw_to_all(frame)
        async with asyncio.timeout(2):
            while not gaps:
                await asyncio.sleep(0.01)
        await client.publish("/default/after", "after")
        assert (await next_event(sub)).data == "after"


@dataclass(frozen=True)
class RecordingBackoff(Backoff):
    """A backoff that records the attempt number of every delay it is asked for."""

    seen: list[int] = field(default_factory=list)

    def delay(self, attempt: int) -> float:
        self.seen.append(attempt)
        return 0.001


async def test_backoff_grows_when_the_server_acks_then_drops(fake: FakeEventApi) -> None:
    """A server that acks and then drops at once gets growing delays, not a reconnect loop at the first delay."""
    backoff = RecordingBackoff(maximum=30)
    async with fast_client(fake.config(), backoff=backoff) as client:
        await client.subscribe("/default/x")
        fake.drop_after_ack = True
        await fake.drop_all()
        async with asyncio.timeout(5):
            while len(backoff.seen) < 5:
                await asyncio.sleep(0.01)
    # 1, 2, 3, 4, 5 (a reconnect attempt that fails under load repeats a step); never back to 0 after an ack.
    assert backoff.seen[:5] == sorted(backoff.seen[:5])
    assert backoff.seen[4] >= 4


async def test_a_connection_that_stayed_up_resets_the_backoff(fake: FakeEventApi) -> None:
    """A drop after a connection that lived at least `maximum` seconds starts the backoff again from the start."""
    backoff = RecordingBackoff(maximum=0.0)
    async with fast_client(fake.config(), backoff=backoff) as client:
        await client.subscribe("/default/x")
        for _ in range(3):
            connections = fake.connections
            await fake.drop_all()
            async with asyncio.timeout(5):
                while fake.connections == connections or not fake.live_sockets:
                    await asyncio.sleep(0.01)
    # Each drop starts over at 0 (a reconnect attempt that fails under load may add a 1); never 1, 2, 3.
    assert len(backoff.seen) >= 3
    assert max(backoff.seen) <= 1


async def test_ca_file_that_does_not_exist_is_a_config_error(fake: FakeEventApi, tmp_path: Path) -> None:
    """`ca_file` that cannot be read raises EventsConfigError naming the file."""
    missing = tmp_path / "nope.pem"
    with pytest.raises(EventsConfigError) as err:
        fast_client(fake.config(), ca_file=missing)
    assert str(err.value) == (
        f"CA file {missing}: cannot load it as a PEM CA certificate (No such file or directory); pass a PEM CA "
        "certificate"
    )


async def test_cli_ca_file_errors_exit_3(
    fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--ca-file` missing or not PEM: exit 3 (config) naming the file, not 18 (connection)."""
    config = write_config(tmp_path, fake)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    for path in (tmp_path / "missing.pem", not_pem):
        assert await run_main("publish", "/default/x", "1", "--config-file", config, "--ca-file", str(path)) == 3
        err = capsys.readouterr().err
        assert err.startswith(f"error: CA file {path}: cannot load it as a PEM CA certificate (")
    assert fake.http_requests == []


async def test_cli_bad_ipv6_endpoint_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An httpEndpoint urllib cannot split (`http://[::1/event`) exits 3 with one line, no traceback."""
    file = tmp_path / "events.json"
    file.write_text(json.dumps({"httpEndpoint": "http://[::1/event", "region": "eu-west-1", "apiKey": "da2-x"}))
    assert await run_main("publish", "/default/x", "1", "--config-file", str(file)) == 3
    err = capsys.readouterr().err
    assert err == "error: httpEndpoint: 'http://[::1/event' is not a http:// or https:// URL\n"


async def test_cli_bounds_a_server_error_text(
    fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 5,000-character connection_error with control characters prints as one line of at most 500 + 'error: '."""
    fake.refusal = EventError("UnauthorizedException", "\x1b[31m" + "x" * 5000, 401)
    bad = tmp_path / "bad"
    bad.mkdir()
    assert await run_main("subscribe", "/default/x", "--config-file", write_config(bad, fake, api_key="da2-no")) == 4
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert len(err) <= len("error: ") + 500 + 1
    assert "\x1b" not in err
    assert err.rstrip("\n").endswith("x…")


async def test_cli_subscribe_prints_only_json(
    fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event that is not JSON is skipped with a warning on stderr; stdout holds one JSON text per line."""
    task = asyncio.create_task(
        run_main("subscribe", "/default/*", "--count", "2", "--config-file", write_config(tmp_path, fake))
    )
    async with asyncio.timeout(5):
        await fake.subscribed.wait()
    sub_id = next(iter(next(iter(fake._sockets.values()))))
    for event in ("not json", "NaN", '{\n"a": 1}', "2"):
        await fake.send_raw_to_all(json.dumps({"type": "data", "id": sub_id, "event": event}))
    assert await asyncio.wait_for(task, 5) == 0
    out, err = capsys.readouterr()
    assert out == '{"a": 1}\n2\n'
    assert err.splitlines()[1:] == [
        "warning: skipped an event that is not JSON (Expecting value: line 1 column 1 (char 0))",
        "warning: skipped an event that is not JSON (NaN is not standard JSON)",
    ]


@pytest.mark.parametrize("text", ["[" * 100_000, "NaN", '{"a": Infinity}'])
async def test_cli_refuses_non_standard_event_text(
    fake: FakeEventApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Deep or non-standard JSON given to `publish` is a usage error (exit 2), never a traceback."""
    assert await run_main("publish", "/default/x", text, "--config-file", write_config(tmp_path, fake)) == 2
    assert capsys.readouterr().err.startswith("error: event ")
    assert fake.http_requests == []


async def test_cli_ctrl_c_after_an_unreadable_frame(fake: FakeEventApi, tmp_path: Path) -> None:
    """After a frame nested 100k deep, `subscribe` still prints later events and Ctrl-C exits 130 with no output."""
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
    assert proc.stderr is not None and proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stderr.readline(), 10) == b"subscribed to /default/*\n"
        await fake.send_raw_to_all("[" * 100_000 + "]" * 100_000)
        async with fast_client(fake.config()) as client:
            async with asyncio.timeout(10):
                while fake.connections < 2 or not any(fake._sockets.values()):  # reconnected and resubscribed
                    await asyncio.sleep(0.05)
            await client.publish("/default/after", {"n": 1})
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b'{"n":1}\n'
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (proc.returncode, out, err) == (130, b"", b"")
