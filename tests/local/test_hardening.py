"""Attacks and faults against the local Event API: secrets in logs, slow subscribers, bad JSON, slowloris."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import socket
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from eventapi.local import LocalApiSpec, cli_up
from eventapi.local.issuer import LocalIssuer
from eventapi.local.server import LocalServer
from eventapi.protocol import encode_auth_subprotocol, parse_publish_channel

from .conftest import API_KEY, HOST, connect, http_publish, make_settings

AUTH = {"host": HOST, "x-api-key": API_KEY}
HEADER = encode_auth_subprotocol(AUTH)


class Collect(logging.Handler):
    """Every record of every logger, formatted as a log file would hold it (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    """A handler on the root logger at DEBUG: what `serve -v` would write."""
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


async def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes to the server and return the first chunk it answers (b"" if it closes first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            return await reader.read(65536)
    finally:
        writer.close()


def upgrade(protocols: str | None = None, *, extra: str = "", path: str = "/event/realtime") -> bytes:
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    if protocols is not None:
        head += f"Sec-WebSocket-Protocol: {protocols}\r\n"
    return (head + extra + "\r\n").encode()


def deep_header(depth: int) -> str:
    payload = '{"x-api-key":"' + API_KEY + '","a":' + "[" * depth + "]" * depth + "}"
    return "header-" + base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


async def test_no_handshake_failure_logs_the_key(server: LocalServer, all_logs: Collect) -> None:
    """Under every handshake failure we can make, no log record (message or traceback) holds the key or auth."""
    port = server.ports.http_port
    assert port is not None
    padded = encode_auth_subprotocol({**AUTH, "pad": "x" * 9000})
    attempts = [
        upgrade(f"graphql-ws, {HEADER}"),  # a graphql-ws client: our subprotocol is not offered
        upgrade(HEADER),  # the auth subprotocol alone
        upgrade(f"aws-appsync-event-ws, {padded}"),  # a header line over 8,190 bytes
        upgrade(f"{padded}, aws-appsync-event-ws"),
        upgrade("aws-appsync-event-ws", extra=f"x-api-key: {API_KEY}{'x' * 9000}\r\n"),  # the key, then too long
        upgrade("aws-appsync-event-ws", extra=f"x-api-key: {API_KEY}\x01\r\n"),  # a forbidden character
        upgrade(f"aws-appsync-event-ws, {deep_header(2000)}"),  # nested deeper than Python parses
        upgrade(f"aws-appsync-event-ws, {HEADER}!!!"),  # not base64
        upgrade(f"aws-appsync-event-ws, {encode_auth_subprotocol({**AUTH, 'x-api-key': API_KEY + 'z'})}"),
        upgrade("aws-appsync-event-ws", extra=f"x-api-key: {API_KEY}\r\n", path="/nope"),
        f"GET /event/realtime?key={API_KEY} HTTP/1.1\r\nHost: {HOST}\r\nx-api-key: {API_KEY}\r\n\r\n".encode(),
        f"GET /event/realtime {API_KEY} HTTP/9.9\r\n\r\n".encode(),  # a malformed request line
        f"{API_KEY} / HTTP/1.1\r\n\r\n".encode(),  # a bad method
        f"GET /{'x' * 9000}{API_KEY} HTTP/1.1\r\n\r\n".encode(),  # a request line over 8,190 bytes
        f"POST /event HTTP/1.1\r\nx-api-key: {API_KEY}\r\nContent-Length: x\r\n\r\n".encode(),
    ]
    for data in attempts:
        await raw_request(port, data)
    await asyncio.sleep(0.2)
    text = "\n".join(all_logs.lines)
    assert text, "the server logged nothing: the test proves nothing"
    b64 = HEADER.removeprefix("header-")
    for secret in (API_KEY, API_KEY[4:], b64, b64[:40], padded.removeprefix("header-")[:40]):
        assert secret not in text
    assert "Traceback" not in text
    assert "header-<redacted>" in text  # the graphql-ws warning is still there, masked
    assert "LineTooLong (answered 400; request refused)" in text


LEAVING = {
    "upgrade": upgrade(f"aws-appsync-event-ws, {HEADER}"),
    "publish": f'POST /event HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 500\r\n\r\n{{"channel":'.encode(),
}


@pytest.mark.parametrize("request_bytes", LEAVING.values(), ids=LEAVING.keys())
async def test_a_client_leaving_mid_request_is_no_error(
    server: LocalServer, all_logs: Collect, request_bytes: bytes
) -> None:
    """Clients that reset the socket mid-request (during the upgrade, or before a publish body is complete: a killed
    client, a probe, its own timeout) cost no traceback and no ERROR line, and the server keeps serving."""
    port = server.ports.http_port
    assert port is not None
    for _ in range(30):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST at once
        sock.sendall(request_bytes)
        sock.close()
    await asyncio.sleep(0.5)
    assert "the client left before the answer" in "\n".join(all_logs.lines), "no client left mid-request"
    assert [line for line in all_logs.lines if "Traceback" in line or line.startswith("ERROR")] == []
    async with aiohttp.ClientSession() as session:
        client = await connect(session, server)  # acknowledged: still serving
        await client.ws.close()


async def test_oversized_subprotocol_is_one_info_line(server: LocalServer, all_logs: Collect) -> None:
    """A request aiohttp cannot parse is logged as one INFO line naming the error, not a traceback."""
    port = server.ports.http_port
    assert port is not None
    answer = await raw_request(port, upgrade(encode_auth_subprotocol({**AUTH, "pad": "x" * 9000})))
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    await asyncio.sleep(0.1)
    server_lines = [line for line in all_logs.lines if " aiohttp.server " in line]
    assert server_lines == [
        "INFO aiohttp.server Error handling request from 127.0.0.1: LineTooLong (answered 400; request refused)"
    ]


async def test_slow_subscriber_memory_is_bounded(spec: LocalApiSpec, state_dir: Path) -> None:
    """A socket that never reads, with 200 subscriptions, under 5 x 200 KB publishes: its queue never passes the
    byte cap, it is closed with 1013, and the server's traced memory stays bounded."""
    cap = 4 * 1024 * 1024
    async with (
        LocalServer(spec, make_settings(state_dir, max_queued_bytes=cap)) as srv,
        aiohttp.ClientSession() as session,
    ):
        slow = await connect(session, srv)
        for n in range(200):
            assert (await slow.subscribe(f"s{n}", "/default/big"))["type"] == "subscribe_success"
        # From here on the slow socket is never read: aiohttp stops reading it once its buffer is full.
        conn = next(c for c in srv.broker.connections if "s0" in c.subs)
        events = [json.dumps({"n": i, "pad": "x" * 200_000}) for i in range(5)]
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            peak_queue = 0
            for _ in range(10):
                status, _body = await http_publish(session, srv, "/default/big", events)
                assert status == 200
                peak_queue = max(peak_queue, conn.queued_bytes)
                await asyncio.sleep(0.01)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert conn.closed
        assert peak_queue <= cap
        # Without sharing, one publish alone would queue 200 x 5 copies of 200 KB (200 MB).
        assert peak - base < 3 * cap
        msg = await slow.ws.receive(timeout=5)
        while msg.type is aiohttp.WSMsgType.TEXT:
            msg = await slow.ws.receive(timeout=5)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1013)


async def test_one_event_is_one_string_across_subscriptions(
    server: LocalServer, session: aiohttp.ClientSession
) -> None:
    """Fan-out queues one shared tail per event for a connection, whatever its number of matching subscriptions."""
    ws = await connect(session, server)
    for n in range(3):
        await ws.subscribe(f"s{n}", "/default/shared")
    conn = next(c for c in server.broker.connections if "s0" in c.subs)
    # fan_out is synchronous: right after it, before the writer runs, the queue shows what it made.
    server.broker.fan_out(parse_publish_channel("/default/shared"), ['{"a":1}', "2"])
    (tail1, prefixes1, size1), (tail2, prefixes2, _) = list(conn.queue)[-2:]
    assert (tail1, tail2) == ('"{\\"a\\":1}"}', '"2"}')
    assert prefixes1 is prefixes2
    assert prefixes1 == tuple(f'{{"type":"data","id":"s{n}","event":' for n in range(3))
    assert size1 == len(tail1) + sum(map(len, prefixes1))
    frames = [await ws.recv() for _ in range(6)]
    assert frames[:3] == [{"type": "data", "id": f"s{n}", "event": '{"a":1}'} for n in range(3)]


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        ('{"type":["subscribe"]}', "UnsupportedOperation"),
        ('{"type":{"a":1}}', "UnsupportedOperation"),
        ('{"type":"subscribe","id":["x"]}', "InvalidInputError"),
        ("[" * 100_000 + "]" * 100_000, "InvalidInputError"),
        ('{"type":"publish","id":"p","channel":"/default/a","events":["' + "[" * 100_000 + '"]}', "InvalidInputError"),
        ('{"type":"connection_init","x":NaN}', "InvalidInputError"),
    ],
)
async def test_malformed_frames_get_an_error_frame(
    server: LocalServer, session: aiohttp.ClientSession, all_logs: Collect, frame: str, reply: str
) -> None:
    """Wrong types and deep or non-standard JSON in a frame get an error frame; the socket stays open, no traceback."""
    ws = await connect(session, server)
    await ws.send(frame)
    answer = await ws.recv()
    assert answer["errors"][0]["errorType"] == reply
    assert (await ws.subscribe("ok", "/default/ok"))["type"] == "subscribe_success"
    assert "Traceback" not in "\n".join(all_logs.lines)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("NaN", "events[0] is not valid JSON (NaN is not standard JSON)"),
        ('{"a": Infinity}', "events[0] is not valid JSON (Infinity is not standard JSON)"),
        ("-Infinity", "events[0] is not valid JSON (-Infinity is not standard JSON)"),
        ("[" * 100_000 + "]" * 100_000, "events[0] is not valid JSON (JSON nested too deeply)"),
    ],
)
async def test_non_standard_event_json_is_refused(
    server: LocalServer, session: aiohttp.ClientSession, event: str, message: str
) -> None:
    """NaN, Infinity and too-deep events are refused whole, over HTTP (400) and the socket (publish_error)."""
    subscriber = await connect(session, server)
    await subscriber.subscribe("s", "/comments/x/*")
    status, body = await http_publish(session, server, "/comments/x/y", [event])
    assert (status, body) == (400, {"errors": [{"errorType": "BadRequestException", "message": message}]})
    ws = await connect(session, server)
    await ws.publish("p", "/comments/x/y", [event])
    assert await ws.recv() == {
        "type": "publish_error",
        "id": "p",
        "errors": [{"errorType": "InvalidInputError", "message": message}],
    }
    await subscriber.nothing()


async def test_deep_http_body_is_a_json_bad_request(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A body nested 100k deep answers 400 with the JSON error shape, not 500 text/plain."""
    body = "[" * 100_000 + "]" * 100_000
    async with session.post(server.ports.http_url, data=body, headers={"x-api-key": API_KEY}) as resp:
        assert (resp.status, resp.content_type) == (400, "application/json")
        assert await resp.json() == {
            "errors": [{"errorType": "BadRequestException", "message": "not valid JSON (JSON nested too deeply)"}]
        }


async def test_deep_auth_subprotocol_is_refused_not_crashed(
    server: LocalServer, session: aiohttp.ClientSession
) -> None:
    """A `header-` subprotocol nested 2,000 deep is an Unauthorized connection (4401), not a 1006 and a traceback."""
    ws = await session.ws_connect(server.ports.ws_url, protocols=["aws-appsync-event-ws", deep_header(2000)])
    first = await ws.receive(timeout=3)
    assert json.loads(first.data)["type"] == "connection_error"
    closing = await ws.receive(timeout=3)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4401)


@pytest.mark.parametrize("partial", [b"", b"GET /health HTTP/1.1\r\nHost: x\r\n", b"GET /heal"])
async def test_idle_and_slow_header_connections_are_closed(spec: LocalApiSpec, state_dir: Path, partial: bytes) -> None:
    """A connection that sends nothing, or a request head that never completes, is closed after the idle timeout."""
    async with LocalServer(spec, make_settings(state_dir, http_idle_timeout_seconds=0.3)) as srv:
        port = srv.ports.http_port
        assert port is not None
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(partial)
        sock.settimeout(10)
        try:
            assert await asyncio.to_thread(sock.recv, 1024) == b""  # closed by the server, nothing answered
        finally:
            sock.close()


async def test_websockets_outlive_the_http_idle_timeout(spec: LocalApiSpec, state_dir: Path) -> None:
    """The HTTP idle timeout never closes an open WebSocket."""
    async with (
        LocalServer(spec, make_settings(state_dir, http_idle_timeout_seconds=0.2)) as srv,
        aiohttp.ClientSession() as session,
    ):
        ws = await connect(session, srv)
        await asyncio.sleep(0.6)
        assert (await ws.subscribe("s", "/default/a"))["type"] == "subscribe_success"


@pytest.mark.parametrize(("path", "status"), [("/event", 204), ("/health", 405), ("/nope", 404), ("/event/x", 404)])
async def test_options_only_on_the_publish_path(
    server: LocalServer, session: aiohttp.ClientSession, path: str, status: int
) -> None:
    """CORS preflight answers 204 on /event only; elsewhere OPTIONS is what the route says (404 or 405)."""
    base = server.ports.http_url
    assert base is not None
    async with session.options(base.removesuffix("/event") + path) as resp:
        assert resp.status == status


def test_world_writable_state_dir_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A state dir every user can write (it holds the token issuer's key) is used with a warning."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="eventapi.local"):
        LocalIssuer.load_or_create(shared)
    assert f"the state dir {shared} is writable by every user" in caplog.text
    caplog.clear()
    shared.chmod(0o700)
    with caplog.at_level(logging.WARNING, logger="eventapi.local"):
        LocalIssuer.load_or_create(shared)
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "cdk.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("[]", "cdk.json: expected a JSON object, got []"),
        ('{"context": []}', "cdk.json: context: expected an object, got []"),
        ('{"context": {"eventapi": []}}', "cdk.json: eventapi: expected an object, got []"),
    ],
)
def test_up_with_a_broken_cdk_json_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """`up` on a broken cdk.json prints one line (cdk.json named once) and exits 3, before starting anything."""
    (tmp_path / "cdk.json").write_text(text)
    parser = argparse.ArgumentParser()
    cli_up.add_arguments(parser)
    args = parser.parse_args(["--stage", "dev", "--project-root", str(tmp_path), "--port", "0", "--tls-port", "-1"])
    assert cli_up.main(args) == 3
    assert capsys.readouterr().err == f"eventapi-local up: {message}\n"
