"""Malformed frames (hypothesis): random JSON, wrong types, huge and binary frames never crash the server."""

from __future__ import annotations

import json

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapi.local.server import LocalServer

from .conftest import API_KEY, connect

KNOWN_TYPES = {
    "connection_ack",
    "ka",
    "error",
    "subscribe_success",
    "subscribe_error",
    "unsubscribe_success",
    "unsubscribe_error",
    "publish_success",
    "publish_error",
    "data",
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
frames = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["subscribe", "unsubscribe", "publish", "connection_init", "x"])},
        optional={
            "id": json_values | st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
            "channel": json_values | st.sampled_from(["/default/a", "/default/*", "/nope", "", "/"]),
            "events": json_values | st.lists(st.text(max_size=10), max_size=7),
            "authorization": json_values | st.just({"x-api-key": API_KEY}),
        },
    ).map(json.dumps),
    st.text(max_size=200),
)


async def _alive(server: LocalServer, session: aiohttp.ClientSession) -> None:
    ws = await connect(session, server)
    assert await ws.subscribe("alive", "/default/alive") == {"type": "subscribe_success", "id": "alive"}
    await ws.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=5))
async def test_random_frames_never_crash(server: LocalServer, session: aiohttp.ClientSession, batch: list[str]) -> None:
    """Every random frame gets a well-formed answer (or none) and the connection stays open."""
    ws = await connect(session, server)
    for frame in batch:
        await ws.send(frame)
    await ws.send({"type": "unsubscribe", "id": "sentinel-zz"})
    while True:
        reply = await ws.recv()
        assert reply["type"] in KNOWN_TYPES
        if reply == {
            "type": "unsubscribe_error",
            "id": "sentinel-zz",
            "errors": [{"errorType": "UnknownOperationError", "message": "Unknown operation id sentinel-zz"}],
        }:
            break
    await ws.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
async def test_binary_frames(server: LocalServer, session: aiohttp.ClientSession, data: bytes) -> None:
    """Binary frames are answered like text frames (usually an `error`), never a crash."""
    ws = await connect(session, server)
    await ws.ws.send_bytes(data)
    reply = await ws.recv()
    assert reply["type"] in KNOWN_TYPES
    await ws.close()


async def test_huge_frame_closes_only_that_socket(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A frame over the 2 MB frame limit closes that socket (1009); the server keeps serving others."""
    ws = await connect(session, server)
    await ws.ws.send_str("x" * (3 * 1024 * 1024))
    msg = await ws.ws.receive(timeout=5)
    while msg.type is aiohttp.WSMsgType.TEXT:
        msg = await ws.ws.receive(timeout=5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    await _alive(server, session)


async def test_garbage_http_bodies(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """Binary, huge and wrongly typed HTTP bodies answer 4xx, never 500."""
    for body in (b"\xff\xfe\x00", b"x" * (3 * 1024 * 1024), b'{"channel": 5, "events": {}}', b"null"):
        async with session.post(server.ports.http_url, data=body, headers={"x-api-key": API_KEY}) as resp:
            assert 400 <= resp.status < 500, (body[:20], resp.status)
    await _alive(server, session)
