"""WebSocket conformance: handshake, connection_init/ack/ka, subscribe/unsubscribe/publish and their errors."""

from __future__ import annotations

import json

import aiohttp
import pytest

from eventapi.local import LocalApiSpec
from eventapi.local.server import LocalServer
from eventapi.protocol import encode_auth_subprotocol

from .conftest import API_KEY, HOST, connect, key_auth, make_settings, strip_ids

UNAUTHORIZED = {
    "errorType": "UnauthorizedException",
    "errorCode": 401,
    "message": "You are not authorized to make this call.",
}


async def test_handshake_answers_event_ws_subprotocol(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """The server answers `aws-appsync-event-ws` when the auth object is in a header- subprotocol."""
    ws = await connect(session, server)
    assert ws.ws.protocol == "aws-appsync-event-ws"
    await ws.close()


async def test_auth_as_upgrade_headers(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """Native clients send the auth as upgrade headers with only the event-ws subprotocol."""
    ws = await connect(session, server, headers_mode=True)
    assert ws.ws.protocol == "aws-appsync-event-ws"
    assert await ws.subscribe("s1", "/default/x") == {"type": "subscribe_success", "id": "s1"}
    await ws.close()


async def test_header_keys_case_insensitive(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """Auth keys are case-insensitive and unknown keys are ignored."""
    proto = encode_auth_subprotocol({"X-Api-Key": API_KEY, "HOST": HOST, "x-amz-user-agent": "test"})
    ws = await session.ws_connect(server.ports.ws_url, protocols=["aws-appsync-event-ws", proto])
    await ws.send_str('{"type":"connection_init"}')
    assert json.loads((await ws.receive(timeout=3)).data) == {"type": "connection_ack", "connectionTimeoutMs": 300000}
    await ws.close()


async def test_bad_key_gets_connection_error(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A connection with an unknown key receives connection_error UnauthorizedException, then is closed."""
    ws = await connect(session, server, key_auth("da2-" + "z" * 26), init=False)
    assert await ws.recv() == {"type": "connection_error", "errors": [UNAUTHORIZED]}
    msg = await ws.ws.receive(timeout=3)
    assert msg.type is aiohttp.WSMsgType.CLOSE


async def test_no_credentials_gets_connection_error(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A connection without any auth is refused the same way."""
    ws = await session.ws_connect(server.ports.ws_url, protocols=["aws-appsync-event-ws"])
    assert json.loads((await ws.receive(timeout=3)).data) == {"type": "connection_error", "errors": [UNAUTHORIZED]}
    await ws.close()


async def test_connection_init_optional(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A client may subscribe and publish right after open, without connection_init."""
    ws = await connect(session, server, init=False)
    assert await ws.subscribe("s1", "/default/a") == {"type": "subscribe_success", "id": "s1"}
    await ws.publish("p1", "/default/a", ['{"n":1}'])
    frames = [await ws.recv(), await ws.recv()]
    assert {"type": "data", "id": "s1", "event": '{"n":1}'} in frames
    await ws.close()


async def test_keepalive_on_interval(spec: LocalApiSpec, state_dir, session: aiohttp.ClientSession) -> None:
    """`ka` follows connection_ack and then arrives every keepalive interval."""
    async with LocalServer(spec, make_settings(state_dir, keepalive_seconds=0.2)) as srv:
        ws = await connect(session, srv)
        assert await ws.recv(skip_ka=False) == {"type": "ka"}
        assert await ws.recv(timeout=1, skip_ka=False) == {"type": "ka"}
        assert await ws.recv(timeout=1, skip_ka=False) == {"type": "ka"}
        await ws.close()


async def test_connection_timeout_configurable(spec: LocalApiSpec, state_dir, session) -> None:
    """connectionTimeoutMs in connection_ack comes from the settings."""
    async with LocalServer(spec, make_settings(state_dir, connection_timeout_ms=1234)) as srv:
        ws = await connect(session, srv, init=False)
        await ws.send({"type": "connection_init"})
        assert await ws.recv() == {"type": "connection_ack", "connectionTimeoutMs": 1234}
        await ws.close()


async def test_publish_fans_out_one_frame_per_event(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A batch of 5 events reaches a subscriber as 5 `data` frames, each one JSON string, in order."""
    sub = await connect(session, server)
    pub = await connect(session, server)
    assert await sub.subscribe("s1", "/default/room") == {"type": "subscribe_success", "id": "s1"}
    events = [json.dumps({"n": i}) for i in range(5)]
    await pub.publish("p1", "/default/room", events)
    result = await pub.recv()
    assert strip_ids(result) == {
        "type": "publish_success",
        "id": "p1",
        "successful": [{"identifier": "<uuid>", "index": i} for i in range(5)],
        "failed": [],
    }
    for i in range(5):
        assert await sub.recv() == {"type": "data", "id": "s1", "event": json.dumps({"n": i})}
    await sub.nothing()
    await sub.close()
    await pub.close()


async def test_own_publishes_received(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """A client subscribed to a channel receives its own publishes (no echo suppression)."""
    ws = await connect(session, server)
    await ws.subscribe("s1", "/default/echo")
    await ws.publish("p1", "/default/echo", ['"hello"'])
    frames = sorted([await ws.recv(), await ws.recv()], key=lambda f: f["type"])
    assert frames[0] == {"type": "data", "id": "s1", "event": '"hello"'}
    assert frames[1]["type"] == "publish_success"
    await ws.close()


@pytest.mark.parametrize(
    ("pattern", "channel", "delivered"),
    [
        ("/default/*", "/default/a", True),
        ("/default/*", "/default/a/b/c/d", True),
        ("/default/a/*", "/default/a/b", True),
        ("/default/a/*", "/default/a", False),
        ("/default/a/*", "/default/b/a", False),
        ("/default/a", "/default/a", True),
        ("/default/a", "/default/a/b", False),
        ("default/a/", "/default/a", True),
        ("/default/A", "/default/a", False),
    ],
)
async def test_wildcard_matching(server: LocalServer, session, pattern: str, channel: str, delivered: bool) -> None:
    """`*` as the last segment matches one or more further levels, never the parent itself; paths are case-sensitive."""
    sub = await connect(session, server)
    assert await sub.subscribe("s", pattern) == {"type": "subscribe_success", "id": "s"}
    await sub.publish("p", channel, ["1"])
    frames = [await sub.recv()]
    if delivered:
        frames.append(await sub.recv())
        assert {"type": "data", "id": "s", "event": "1"} in frames
    else:
        await sub.nothing(0.2)
        assert frames[0]["type"] == "publish_success"
    await sub.close()


async def test_several_subscriptions_same_channel(server: LocalServer, session) -> None:
    """Two subscriptions on one connection to matching patterns each get their own data frame."""
    ws = await connect(session, server)
    await ws.subscribe("a", "/default/x/y")
    await ws.subscribe("b", "/default/x/y")
    await ws.subscribe("c", "/default/*")
    other = await connect(session, server)
    await other.publish("p", "/default/x/y", ["7"])
    got = sorted([(await ws.recv())["id"] for _ in range(3)])
    assert got == ["a", "b", "c"]
    await ws.nothing()
    await ws.close()
    await other.close()


async def test_unsubscribe_stops_delivery(server: LocalServer, session) -> None:
    """After unsubscribe_success no more data frames arrive for that id."""
    ws = await connect(session, server)
    await ws.subscribe("s1", "/default/u")
    await ws.send({"type": "unsubscribe", "id": "s1"})
    assert await ws.recv() == {"type": "unsubscribe_success", "id": "s1"}
    other = await connect(session, server)
    await other.publish("p", "/default/u", ["1"])
    await other.recv()
    await ws.nothing()
    assert server.health()["subscriptions"] == 0
    await ws.close()
    await other.close()


async def test_unsubscribe_unknown_id(server: LocalServer, session) -> None:
    """Unsubscribing an unknown id answers unsubscribe_error UnknownOperationError."""
    ws = await connect(session, server)
    await ws.send({"type": "unsubscribe", "id": "nope"})
    assert await ws.recv() == {
        "type": "unsubscribe_error",
        "id": "nope",
        "errors": [{"errorType": "UnknownOperationError", "message": "Unknown operation id nope"}],
    }
    await ws.close()


async def test_duplicate_subscription_id(server: LocalServer, session) -> None:
    """A second subscribe with an id in use is refused; the first subscription keeps working."""
    ws = await connect(session, server)
    await ws.subscribe("dup", "/default/a")
    assert await ws.subscribe("dup", "/default/b") == {
        "type": "subscribe_error",
        "id": "dup",
        "errors": [{"errorType": "InvalidInputError", "message": "subscription id 'dup' is already in use"}],
    }
    await ws.close()


async def test_subscription_limit(server: LocalServer, session) -> None:
    """200 subscriptions per connection succeed; the 201st fails with MaxSubscriptionsReachedError."""
    ws = await connect(session, server)
    for i in range(200):
        await ws.send(
            {"type": "subscribe", "id": f"s{i}", "channel": "/default/many", "authorization": {"x-api-key": API_KEY}}
        )
    for i in range(200):
        assert await ws.recv() == {"type": "subscribe_success", "id": f"s{i}"}
    assert await ws.subscribe("s200", "/default/many") == {
        "type": "subscribe_error",
        "id": "s200",
        "errors": [
            {"errorType": "MaxSubscriptionsReachedError", "message": "at most 200 subscriptions per connection"}
        ],
    }
    await ws.close()


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 129, "semi;colon"])
async def test_bad_subscribe_id(server: LocalServer, session, bad_id: str) -> None:
    """Ids must match ^[a-zA-Z0-9-_+]{1,128}$."""
    ws = await connect(session, server)
    await ws.send({"type": "subscribe", "id": bad_id, "channel": "/default/a", "authorization": {"x-api-key": API_KEY}})
    assert await ws.recv() == {
        "type": "subscribe_error",
        "id": bad_id,
        "errors": [
            {
                "errorType": "InvalidInputError",
                "message": f"id {bad_id!r} must match [a-zA-Z0-9\\-_+]{{1,128}}"
                if len(bad_id) <= 57
                else f"id {repr(bad_id)[:57]}... must match [a-zA-Z0-9\\-_+]{{1,128}}",
            }
        ],
    }
    await ws.close()


async def test_missing_id(server: LocalServer, session) -> None:
    """A subscribe without an id answers a generic `error` frame."""
    ws = await connect(session, server)
    await ws.send({"type": "subscribe", "channel": "/default/a"})
    assert await ws.recv() == {
        "type": "error",
        "errors": [{"errorType": "InvalidInputError", "message": "id null must match [a-zA-Z0-9\\-_+]{1,128}"}],
    }
    await ws.close()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("/default/*/x", "invalid channel '/default/*/x': '*' is only allowed as the last segment"),
        ("/a/b/c/d/e/f", "invalid channel '/a/b/c/d/e/f': 6 segments; at most 5 are allowed"),
        (
            "/default/-x",
            "invalid channel '/default/-x': segment '-x' may only hold letters, digits and '-', "
            "and may not start or end with '-'",
        ),
    ],
)
async def test_bad_subscribe_channel(server: LocalServer, session, channel: str, message: str) -> None:
    """Malformed subscribe channels answer subscribe_error InvalidInputError naming the rule."""
    ws = await connect(session, server)
    await ws.send({"type": "subscribe", "id": "s", "channel": channel, "authorization": {"x-api-key": API_KEY}})
    assert await ws.recv() == {
        "type": "subscribe_error",
        "id": "s",
        "errors": [{"errorType": "InvalidInputError", "message": message}],
    }
    await ws.close()


async def test_publish_to_wildcard_rejected(server: LocalServer, session) -> None:
    """Publishing to a path with `*` is rejected."""
    ws = await connect(session, server)
    await ws.publish("p", "/default/*", ["1"])
    assert await ws.recv() == {
        "type": "publish_error",
        "id": "p",
        "errors": [
            {
                "errorType": "InvalidInputError",
                "message": "invalid channel '/default/*': '*' is not allowed in a publish channel",
            }
        ],
    }
    await ws.close()


async def test_unknown_namespace(server: LocalServer, session) -> None:
    """Subscribe or publish to a namespace that does not exist: UnauthorizedException without a message."""
    ws = await connect(session, server)
    assert await ws.subscribe("s", "/nowhere/a") == {
        "type": "subscribe_error",
        "id": "s",
        "errors": [{"errorType": "UnauthorizedException"}],
    }
    await ws.publish("p", "/nowhere/a", ["1"])
    assert await ws.recv() == {"type": "publish_error", "id": "p", "errors": [{"errorType": "UnauthorizedException"}]}
    await ws.close()


async def test_six_events_ws(server: LocalServer, session) -> None:
    """A WebSocket publish of 6 events: publish_error InvalidInputError "input exceeded 5 event limit"."""
    ws = await connect(session, server)
    await ws.publish("p", "/default/a", ["1"] * 6)
    assert await ws.recv() == {
        "type": "publish_error",
        "id": "p",
        "errors": [{"errorType": "InvalidInputError", "message": "input exceeded 5 event limit"}],
    }
    await ws.close()


async def test_oversize_event_is_failed_entry(server: LocalServer, session) -> None:
    """An event over 240 KB is a failed[] entry of an otherwise successful publish, and is not delivered."""
    ws = await connect(session, server)
    await ws.subscribe("s", "/default/big")
    big = json.dumps("x" * (240 * 1024))
    await ws.publish("p", "/default/big", ['"small"', big])
    frames = [await ws.recv(), await ws.recv()]
    result = next(f for f in frames if f["type"] == "publish_success")
    assert strip_ids(result) == {
        "type": "publish_success",
        "id": "p",
        "successful": [{"identifier": "<uuid>", "index": 0}],
        "failed": [
            {
                "identifier": "<uuid>",
                "index": 1,
                "code": "EventTooLargeException",
                "message": "Transformed event is larger than 240KB",
            }
        ],
    }
    assert {"type": "data", "id": "s", "event": '"small"'} in frames
    await ws.nothing()
    await ws.close()


async def test_event_of_exactly_240kb_accepted(server: LocalServer, session) -> None:
    """An event of exactly 240 KB (245,760 bytes) is accepted."""
    ws = await connect(session, server)
    event = json.dumps("y" * (240 * 1024 - 2))
    assert len(event.encode()) == 240 * 1024
    await ws.publish("p", "/default/edge", [event])
    result = await ws.recv()
    assert result["failed"] == [] and len(result["successful"]) == 1
    await ws.close()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "events must be a non-empty list of JSON strings, got []"),
        ([1], "events[0] must be a JSON-encoded string, got 1"),
        (["{not json"], "events[0] is not valid JSON"),
    ],
)
async def test_bad_events(server: LocalServer, session, events, message: str) -> None:
    """Events must be a non-empty list of strings holding JSON."""
    ws = await connect(session, server)
    await ws.send(
        {
            "type": "publish",
            "id": "p",
            "channel": "/default/a",
            "events": events,
            "authorization": {"x-api-key": API_KEY},
        }
    )
    assert await ws.recv() == {
        "type": "publish_error",
        "id": "p",
        "errors": [{"errorType": "InvalidInputError", "message": message}],
    }
    await ws.close()


async def test_unknown_type(server: LocalServer, session) -> None:
    """An unknown message type answers an `error` frame UnsupportedOperation; the socket stays usable."""
    ws = await connect(session, server)
    await ws.send({"type": "frobnicate"})
    assert await ws.recv() == {
        "type": "error",
        "errors": [{"errorType": "UnsupportedOperation", "message": "'frobnicate' is not a supported operation type"}],
    }
    assert await ws.subscribe("s", "/default/a") == {"type": "subscribe_success", "id": "s"}
    await ws.close()


async def test_invalid_json(server: LocalServer, session) -> None:
    """A frame that is not JSON answers an `error` frame InvalidInputError."""
    ws = await connect(session, server)
    await ws.send("{nope")
    assert await ws.recv() == {
        "type": "error",
        "errors": [{"errorType": "InvalidInputError", "message": "not valid JSON"}],
    }
    await ws.close()


async def test_publish_rate_not_enforced_by_default(server: LocalServer, session) -> None:
    """50 publishes in a burst all succeed (the 25/s quota is not enforced unless configured)."""
    ws = await connect(session, server)
    for i in range(50):
        await ws.publish(f"p{i}", "/default/burst", ["1"])
    results = [await ws.recv() for _ in range(50)]
    assert all(r["type"] == "publish_success" for r in results)
    await ws.close()


async def test_publish_rate_limit_configurable(spec, state_dir, session) -> None:
    """With publish_rate_limit=3, the 4th publish within a second gets LimitExceededError."""
    async with LocalServer(spec, make_settings(state_dir, publish_rate_limit=3)) as srv:
        ws = await connect(session, srv)
        for i in range(4):
            await ws.publish(f"p{i}", "/default/r", ["1"])
        results = [await ws.recv() for _ in range(4)]
        assert [r["type"] for r in results] == ["publish_success"] * 3 + ["publish_error"]
        assert results[3]["errors"] == [
            {"errorType": "LimitExceededError", "message": "Rate exceeded: too many publish requests"}
        ]
        await ws.close()


async def test_health_counts(server: LocalServer, session) -> None:
    """GET /health reports the api name, connections and subscriptions."""
    ws = await connect(session, server)
    await ws.subscribe("a", "/default/h")
    await ws.subscribe("b", "/default/*")
    async with session.get(server.ports.http_url.replace("/event", "/health")) as resp:
        body = await resp.json()
    assert (body["api"], body["connections"], body["subscriptions"], body["status"]) == ("conformance", 1, 2, "ok")
    await ws.close()


async def test_graceful_shutdown_closes_with_1001(spec, state_dir, session) -> None:
    """Stopping the server closes open sockets with 1001 (going away)."""
    srv = LocalServer(spec, make_settings(state_dir))
    await srv.start()
    ws = await connect(session, srv)
    await srv.stop()
    msg = await ws.ws.receive(timeout=5)
    while msg.type is aiohttp.WSMsgType.TEXT:
        msg = await ws.ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == 1001


async def test_slow_subscriber_dropped(spec, state_dir, session) -> None:
    """A subscriber whose outgoing queue overflows is closed with 1013; others keep receiving."""
    async with LocalServer(spec, make_settings(state_dir, max_queued_frames=5)) as srv:
        fast = await connect(session, srv)
        await fast.subscribe("f", "/default/q")
        slow = await connect(session, srv)
        await slow.subscribe("s", "/default/q")
        # Given the slow connection's queue is full (frames queued but the writer cannot run yet) ...
        broker = srv.broker
        slow_conn = next(c for c in broker.connections if "s" in c.subs)
        for _ in range(6):
            slow_conn.send('{"type":"ka"}')
        # ... then it is dropped, and a publish still reaches the fast subscriber.
        assert slow_conn.closed and "s" not in slow_conn.subs
        status = await fast.publish("p", "/default/q", ["1"])
        frames = [await fast.recv(), await fast.recv()]
        assert {"type": "data", "id": "f", "event": "1"} in frames
        assert status is None
        msg = await slow.ws.receive(timeout=3)
        while msg.type is aiohttp.WSMsgType.TEXT:
            msg = await slow.ws.receive(timeout=3)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1013)
        await fast.close()
