"""`/event/realtime`: the WebSocket. The upgrade and connect authorization, the reader loop, and frame dispatch.

Per connection, a reader loop (here) dispatches each client frame and a writer task (`Connection`) sends what is
queued. The rules a frame must pass before the pipeline runs (a free subscription id, the subscription cap, the
publish rate) are the protocol's `Session`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from aiohttp import WSCloseCode, WSMsgType, web

from eventapi.local.broker import SHUTTING_DOWN, Broker
from eventapi.local.connection import KA_FRAME, Connection
from eventapi.local.http_publish import error_response
from eventapi.local.pipeline import UNAUTHORIZED, Rejected, auth_from_headers
from eventapi.local.subscriptions import Subscription
from eventapi.protocol import (
    SUBPROTOCOL,
    AuthFormatError,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    ErrorMessage,
    ErrorType,
    EventError,
    ProtocolViolation,
    Publish,
    PublishError,
    PublishSuccess,
    Subscribe,
    SubscribeError,
    SubscribeSuccess,
    Unsubscribe,
    UnsubscribeError,
    UnsubscribeSuccess,
    auth_from_subprotocols,
    encode,
    parse_client_message,
    publish_body,
)

log = logging.getLogger("eventapi.local")

MAX_FRAME_BYTES = 2 * 1024 * 1024  # a 1.2 MB publish payload plus envelope fits
CLOSE_UNAUTHORIZED = 4401


async def realtime(broker: Broker, request: web.Request) -> web.StreamResponse:
    """Upgrade, authorize the connection, then read frames until the socket closes or is dropped."""
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), max_msg_size=MAX_FRAME_BYTES, autoping=True)
    if not ws.can_prepare(request).ok:
        return error_response(400, EventError(ErrorType.BAD_REQUEST_EXCEPTION, "expected a WebSocket upgrade"))
    await ws.prepare(request)
    if broker.shutting_down:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutting down")
        return ws
    auth = _connect_auth(request)
    try:
        identity = await broker.pipeline.connect(auth, request.headers)
    except Rejected:
        await ws.send_str(encode(ConnectionErrorMessage((UNAUTHORIZED,))))
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"Unauthorized")
        return ws
    conn = Connection(broker, ws, request, auth, identity)
    broker.connections.add(conn)
    conn.start_writer()
    lifetime = asyncio.get_running_loop().call_later(
        broker.settings.max_connection_seconds, conn.drop, WSCloseCode.GOING_AWAY, "connection lifetime reached"
    )
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                try:
                    await handle_frame(broker, conn, msg.data)
                except Exception:  # a bug must cost one answer, not the connection
                    log.exception("handling a frame failed")
                    conn.send(encode(ErrorMessage((EventError(ErrorType.MESSAGE_PROCESSING_ERROR),))))
            elif msg.type is WSMsgType.ERROR:
                break
            if conn.closed:
                break
    finally:
        lifetime.cancel()
        broker.connections.discard(conn)
        conn.unregister()
        await conn.stop_writer()
    return ws


def _connect_auth(request: web.Request) -> Mapping[str, str]:
    """The connection's auth object: from the `header-` subprotocol, else from the upgrade request's headers."""
    offered = [
        p.strip()
        for value in request.headers.getall("Sec-WebSocket-Protocol", [])
        for p in value.split(",")
        if p.strip()
    ]
    try:
        auth = auth_from_subprotocols(offered)
    except AuthFormatError:
        auth = {}
    return auth_from_headers(request.headers) if auth is None else auth


async def handle_frame(broker: Broker, conn: Connection, data: str | bytes) -> None:
    try:
        message = parse_client_message(data)
    except ProtocolViolation as err:
        conn.send(encode(err.reply()))
        return
    if isinstance(message, ConnectionInit):
        conn.send(encode(ConnectionAck(broker.settings.connection_timeout_ms)))
        conn.send(KA_FRAME)
    elif isinstance(message, Subscribe):
        conn.send(encode(await _subscribe(broker, conn, message)))
    elif isinstance(message, Unsubscribe):
        sub = conn.subs.get(message.id)
        if sub is None:
            error = EventError(ErrorType.UNKNOWN_OPERATION_ERROR, f"Unknown operation id {message.id}")
            conn.send(encode(UnsubscribeError(message.id, (error,))))
        else:
            broker.subscriptions.remove(sub)
            conn.send(encode(UnsubscribeSuccess(message.id)))
    elif isinstance(message, Publish):
        if broker.shutting_down:
            conn.send(encode(PublishError(message.id, (SHUTTING_DOWN,))))
            return
        broker.begin()
        try:
            conn.send(encode(await _publish(broker, conn, message)))
        finally:
            broker.end()


def _operation_auth(conn: Connection, authorization: Mapping[str, str] | None) -> Mapping[str, str]:
    # A frame without `authorization` falls back to the connection's auth object (not for IAM, whose
    # signature covers the connect body only).
    return authorization if authorization is not None else conn.auth


async def _subscribe(broker: Broker, conn: Connection, message: Subscribe) -> SubscribeSuccess | SubscribeError:
    refused = conn.session.subscribe_error(message.id)
    if refused is not None:
        return SubscribeError(message.id, (refused,))
    auth = _operation_auth(conn, message.authorization)
    try:
        channel = await broker.pipeline.subscribe(message.channel, auth, conn.request.headers)
    except Rejected as err:
        return SubscribeError(message.id, (err.error,))
    if conn.closed or message.id in conn.subs:  # while authorizing, the socket closed or the id was taken
        return SubscribeError(message.id, (EventError(ErrorType.SUBSCRIPTION_PROCESSING_ERROR, "closed"),))
    broker.subscriptions.add(Subscription(conn, message.id, channel))
    return SubscribeSuccess(message.id)


async def _publish(broker: Broker, conn: Connection, message: Publish) -> PublishSuccess | PublishError:
    refused = conn.session.publish_error(time.monotonic())
    if refused is not None:
        return PublishError(message.id, (refused,))
    auth = _operation_auth(conn, message.authorization)
    body = publish_body(message.channel, message.events)
    try:
        successful, failed = await broker.pipeline.publish(
            message.channel, message.events, auth, body, conn.request.headers
        )
    except Rejected as err:
        return PublishError(message.id, (err.error,))
    return PublishSuccess(message.id, successful, failed)
