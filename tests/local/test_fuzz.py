"""Malformed frames (hypothesis): random JSON, wrong types, huge and binary frames never crash the server."""

from __future__ import annotations

import base64
import json
from typing import Any

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
# Texts past what JSON.parse reads or Python's parser can nest, in every position a client controls.
hostile_texts = st.one_of(
    st.integers(900, 20_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(900, 20_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(["NaN", "Infinity", "-Infinity", '{"a": NaN}', "[Infinity]", "1" * 5000]),
)
frames = st.one_of(
    json_values.map(json.dumps),
    hostile_texts,
    st.fixed_dictionaries(
        {"type": json_values},  # lists and objects as the type: unhashable
        optional={"id": st.just("t1"), "channel": st.just("/default/a"), "events": st.just(["1"])},
    ).map(json.dumps),
    st.builds(
        lambda event: json.dumps({"type": "publish", "id": "p1", "channel": "/default/a", "events": [event]}),
        hostile_texts,
    ),
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


def _error_shape(status: int, body: Any) -> None:
    """The documented answers of POST /event: 200 with the publish result, else 4xx with `errors`."""
    if status == 200:
        assert sorted(body) == ["failed", "successful"]
        return
    assert 400 <= status < 500
    assert [sorted(e) for e in body["errors"]] in (
        [["errorType", "message"]],
        [["errorType"]],
        [["errorCode", "errorType", "message"]],
    )


http_bodies = st.one_of(
    hostile_texts,
    json_values.map(json.dumps),
    st.fixed_dictionaries({"channel": json_values | st.just("/default/a"), "events": json_values}).map(json.dumps),
    st.builds(lambda event: json.dumps({"channel": "/default/a", "events": [event]}), hostile_texts | st.text()),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=http_bodies)
async def test_random_http_bodies_get_the_documented_shape(
    server: LocalServer, session: aiohttp.ClientSession, body: str
) -> None:
    """Any body of any type or depth answers JSON: 200 with the publish result or 4xx with `errors`, never 500."""
    data = body.encode("utf-8", "surrogatepass")
    async with session.post(server.ports.http_url, data=data, headers={"x-api-key": API_KEY}) as resp:
        assert resp.content_type == "application/json"
        _error_shape(resp.status, await resp.json())


def _subprotocol(text: str) -> str:
    return "header-" + base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


auth_subprotocols = st.one_of(
    hostile_texts.map(_subprotocol),
    json_values.map(lambda value: _subprotocol(json.dumps(value))),
    st.builds(lambda v: _subprotocol(json.dumps({"x-api-key": v, "host": "localhost"})), json_values | hostile_texts),
    st.text(alphabet="abcXYZ019-_=+/", max_size=40).map(lambda t: "header-" + t),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(protocol=auth_subprotocols)
async def test_random_auth_subprotocols_are_acked_or_refused(
    server: LocalServer, session: aiohttp.ClientSession, protocol: str
) -> None:
    """Any `header-` payload (any type, any depth, not base64) is acked or refused with 4401, never a 1006; a
    header line over aiohttp's 8,190 bytes is refused with HTTP 400 before the upgrade."""
    try:
        ws = await session.ws_connect(server.ports.ws_url, protocols=["aws-appsync-event-ws", protocol])
    except aiohttp.WSServerHandshakeError as err:
        assert (err.status, len(protocol) > 8190 - len("Sec-WebSocket-Protocol: aws-appsync-event-ws, ")) == (400, True)
        return
    await ws.send_str('{"type":"connection_init"}')
    first = json.loads((await ws.receive(timeout=5)).data)
    if first["type"] == "connection_error":
        closing = await ws.receive(timeout=5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4401)
    else:
        assert first["type"] == "connection_ack"
    await ws.close()
