"""Namespace handlers (APPSYNC_JS) run by the Node helper: filter, transform, util.error/unauthorized, timeouts."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from eventapi.local.server import LocalServer

from .conftest import connect, http_publish, make_settings, strip_ids

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node is needed to run handlers")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_comments_handler_filters_and_stamps(server: LocalServer, session) -> None:
    """A plain onPublish function drops empty comments and adds receivedAt to the rest."""
    ws = await connect(session, server)
    await ws.subscribe("s", "/comments/article-1/*")
    status, body = await http_publish(
        session, server, "/comments/article-1/c", ['{"content":"hi"}', '{"content":"  "}', '{"other":1}']
    )
    assert status == 200 and len(body["successful"]) == 3 and body["failed"] == []
    frame = await ws.recv()
    event = json.loads(frame["event"])
    assert frame["id"] == "s" and event["content"] == "hi" and ISO.match(event["receivedAt"])
    await ws.nothing()
    await ws.close()


async def test_handler_sees_context(server: LocalServer, session) -> None:
    """onPublish gets ctx.events with ids and parsed payloads, ctx.identity and ctx.info.channel."""
    from .conftest import cognito

    ws = await connect(session, server)
    await ws.subscribe("s", "/guarded/*")
    status, _ = await http_publish(session, server, "/guarded/room", ['{"a":1}'], cognito(server))
    assert status == 200
    assert json.loads((await ws.recv())["event"]) == {"a": 1, "seenBy": "alice", "channel": "/guarded/room", "id": 36}
    await ws.close()


async def test_handler_event_error_is_failed_entry(server: LocalServer, session) -> None:
    """An event returned with `error` is not broadcast and comes back in failed[]."""
    ws = await connect(session, server)
    await ws.subscribe("s", "/guarded/e")
    status, body = await http_publish(session, server, "/guarded/e", ['{"reject":true}', '{"ok":1}'])
    assert (status, strip_ids(body)) == (
        200,
        {
            "successful": [{"identifier": "<uuid>", "index": 1}],
            "failed": [
                {"identifier": "<uuid>", "index": 0, "code": "MessageProcessingError", "message": "rejected by handler"}
            ],
        },
    )
    assert json.loads((await ws.recv())["event"])["ok"] == 1
    await ws.nothing()
    await ws.close()


async def test_handler_util_error(server: LocalServer, session) -> None:
    """util.error(msg, type) -> HTTP 403 / publish_error with that errorType and message."""
    assert await http_publish(session, server, "/guarded/x", ['{"fail":true}']) == (
        403,
        {"errors": [{"errorType": "CustomError", "message": "bad event"}]},
    )
    ws = await connect(session, server)
    await ws.publish("p", "/guarded/x", ['{"fail":true}'])
    assert await ws.recv() == {
        "type": "publish_error",
        "id": "p",
        "errors": [{"errorType": "CustomError", "message": "bad event"}],
    }
    await ws.close()


async def test_handler_util_unauthorized_publish(server: LocalServer, session) -> None:
    """util.unauthorized() in onPublish -> HTTP 401 UnauthorizedException."""
    status, body = await http_publish(session, server, "/guarded/x", ['{"deny":true}'])
    assert (status, body["errors"][0]["errorType"]) == (401, "UnauthorizedException")


async def test_handler_on_subscribe_unauthorized(server: LocalServer, session) -> None:
    """util.unauthorized() in onSubscribe -> subscribe_error Unauthorized; other channels still subscribe."""
    ws = await connect(session, server)
    assert await ws.subscribe("s", "/guarded/private") == {
        "type": "subscribe_error",
        "id": "s",
        "errors": [{"errorType": "Unauthorized", "message": "Unauthorized"}],
    }
    assert await ws.subscribe("e", "/guarded/broken") == {
        "type": "subscribe_error",
        "id": "e",
        "errors": [{"errorType": "SubscriptionProcessingError", "message": "subscriptions to broken are refused"}],
    }
    assert await ws.subscribe("t", "/guarded/public") == {"type": "subscribe_success", "id": "t"}
    await ws.close()


async def test_transformed_event_too_large(server: LocalServer, session) -> None:
    """A handler that grows an event past 240 KB yields a failed[] EventTooLargeException entry."""
    status, body = await http_publish(session, server, "/guarded/x", ['{"huge":true}'])
    assert (status, strip_ids(body)) == (
        200,
        {
            "successful": [],
            "failed": [
                {
                    "identifier": "<uuid>",
                    "index": 0,
                    "code": "EventTooLargeException",
                    "message": "Transformed event is larger than 240KB",
                }
            ],
        },
    )


async def test_handler_timeout_then_recovers(spec, state_dir, session) -> None:
    """An endless loop times out (processing error), the helper restarts, and the next publish works."""
    async with LocalServer(spec, make_settings(state_dir, handler_timeout_seconds=0.5)) as srv:
        status, body = await http_publish(session, srv, "/guarded/x", ['{"loop":true}'])
        assert (status, body) == (
            500,
            {"errors": [{"errorType": "MessageProcessingError", "message": "onPublish timed out after 0.5s"}]},
        )
        status, body = await http_publish(session, srv, "/comments/a", ['{"content":"back"}'])
        assert status == 200 and len(body["successful"]) == 1


async def test_handlers_not_emulated(spec, state_dir, session, caplog) -> None:
    """With emulation off, events are forwarded unchanged and "handler not emulated" is logged per namespace."""
    import logging

    caplog.set_level(logging.WARNING, logger="eventapi.local")
    async with LocalServer(spec, make_settings(state_dir, emulate_handlers=False)) as srv:
        ws = await connect(session, srv)
        await ws.subscribe("s", "/comments/a")
        await http_publish(session, srv, "/comments/a", ['{"content":""}'])
        assert await ws.recv() == {"type": "data", "id": "s", "event": '{"content":""}'}
        await ws.close()
    assert "namespace 'comments': handler not emulated" in caplog.text
