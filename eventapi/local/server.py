"""The local Event API server: one aiohttp application serving `POST /event` and `/event/realtime`.

Shape (CONVENTIONS 9): a registry of connections (unregistered in `finally`), a reader loop and a writer task per
socket, a subscription index for fan-out, graceful shutdown, a health route.

Fan-out: subscriptions are indexed by their channel segments: exact patterns in one dict, wildcard patterns (by
their prefix, without `*`) in another. A publish to `/a/b/c` looks up at most 5 keys (`(a,b,c)` exact, `(a,)`,
`(a,b)` wildcard) instead of scanning subscriptions. Each event is JSON-encoded once into a frame tail, and that one
string is shared by every subscription it goes to: a connection queues `(tail, prefixes)`, where a subscription's
prefix is `{"type":"data","id":"<id>","event":`, and its writer joins `prefix + tail` only as it sends each frame.

Slow-subscriber policy: every connection has a bounded outgoing queue drained by its writer task, at most
`LocalSettings.max_queued_bytes` (16 MiB) and `max_queued_frames` (10,000). When a publish would push a queue past
either, the connection is dropped: its subscriptions are removed at once, the queue is discarded and the socket is
closed with code 1013 ("try again later"; the client reconnects and resubscribes). Other subscribers never wait for
a slow one, and memory per connection is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from eventapi.local.auth import (
    OPERATION_CONNECT,
    OPERATION_PUBLISH,
    OPERATION_SUBSCRIBE,
    Authenticator,
    AuthRequest,
    Denied,
    Identity,
)
from eventapi.local.handlers import HandlerError
from eventapi.local.integrations import LocalHandlers, build_handlers
from eventapi.local.issuer import LocalIssuer
from eventapi.local.log_guard import guard_aiohttp_logs
from eventapi.local.settings import ApiKeyStore, LocalSettings
from eventapi.local.template import LocalApiSpec, NamespaceSpec
from eventapi.local.tls import TlsFiles, ensure_tls
from eventapi.protocol import (
    EVENT_TOO_LARGE_MESSAGE,
    HTTP_PATH,
    MAX_EVENT_BYTES,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    REALTIME_PATH,
    SUBPROTOCOL,
    UNAUTHORIZED_MESSAGE,
    AuthFormatError,
    Channel,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    ErrorMessage,
    ErrorResponse,
    ErrorType,
    EventError,
    FailedEvent,
    KeepAlive,
    ProtocolViolation,
    Publish,
    PublishError,
    PublishResponse,
    PublishSuccess,
    Subscribe,
    SubscribeError,
    SubscribeSuccess,
    SuccessfulEvent,
    Unsubscribe,
    UnsubscribeError,
    UnsubscribeSuccess,
    Violation,
    auth_from_subprotocols,
    connect_body,
    encode,
    parse_client_message,
    parse_http_publish,
    parse_publish_channel,
    parse_subscribe_channel,
    subscribe_body,
)
from eventapi.protocol import publish_body as _publish_body
from eventapi.protocol.modes import AuthMode

log = logging.getLogger("eventapi.local")

KA_FRAME = encode(KeepAlive())
MAX_FRAME_BYTES = 2 * 1024 * 1024  # a 1.2 MB publish payload plus envelope fits
MAX_HTTP_BODY = 2 * 1024 * 1024
CLOSE_TOO_SLOW = 1013  # "try again later"
CLOSE_UNAUTHORIZED = 4401
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Max-Age": "600",
}
UNAUTHORIZED = EventError(ErrorType.UNAUTHORIZED_EXCEPTION, UNAUTHORIZED_MESSAGE, 401)
UNKNOWN_NAMESPACE = EventError(ErrorType.UNAUTHORIZED_EXCEPTION)
# Auth-object keys a native client sends as upgrade-request headers (reference §2).
_NOT_AUTH_HEADERS = frozenset(
    {
        "connection",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "cookie",
        "origin",
        "user-agent",
        "pragma",
        "cache-control",
        "accept-encoding",
        "accept-language",
    }
)

APP_KEY: web.AppKey[EventApiServer] = web.AppKey("eventapi_local", None)


class Subscription:
    """One subscription of one connection; `prefix` is the start of its `data` frames."""

    __slots__ = ("channel", "conn", "id", "prefix", "prefixes")

    def __init__(self, conn: Connection, sub_id: str, channel: Channel) -> None:
        self.conn = conn
        self.id = sub_id
        self.channel = channel
        self.prefix = '{"type":"data","id":' + json.dumps(sub_id) + ',"event":'
        self.prefixes = ((self.prefix,), len(self.prefix))  # what fan-out queues: the prefixes and their bytes


WHOLE_FRAME: tuple[str, ...] = ("",)  # the prefixes of a queued frame that is sent as it is


class Connection:
    """A WebSocket with its subscriptions, its connect auth, and a bounded outgoing queue with a writer task."""

    def __init__(
        self,
        server: EventApiServer,
        ws: web.WebSocketResponse,
        request: web.Request,
        auth: Mapping[str, str],
        identity: Identity,
    ) -> None:
        self.server = server
        self.ws = ws
        self.request = request
        self.auth = auth
        self.identity = identity
        self.subs: dict[str, Subscription] = {}
        # (tail, prefixes, size): one frame `prefix + tail` per prefix; `size` counts the shared tail once.
        self.queue: deque[tuple[str, tuple[str, ...], int]] = deque()
        self.queued_bytes = 0  # what the queue holds (frames are ASCII JSON: characters are bytes)
        self.queued_frames = 0
        self.max_bytes = server.settings.max_queued_bytes
        self.max_frames = server.settings.max_queued_frames
        self.wake = asyncio.Event()
        self.closed = False
        self.publish_times: deque[float] = deque()
        self.writer: asyncio.Task[None] | None = None

    def send(self, frame: str) -> None:
        """Queue one frame as it is."""
        self.enqueue(frame, WHOLE_FRAME, len(frame))

    def enqueue(self, tail: str, prefixes: tuple[str, ...], size: int) -> None:
        """Queue `prefix + tail` for each prefix (`size`: the tail once plus every prefix); drop the connection when
        its queue would overflow (the slow-subscriber policy)."""
        if self.closed:
            return
        queued, frames = self.queued_bytes + size, self.queued_frames + len(prefixes)
        if queued > self.max_bytes or frames > self.max_frames:
            self.drop(CLOSE_TOO_SLOW, "subscriber too slow: outgoing queue full")
            return
        self.queue.append((tail, prefixes, size))
        self.queued_bytes, self.queued_frames = queued, frames
        self.wake.set()

    async def write_loop(self) -> None:
        queue, ws, wake = self.queue, self.ws, self.wake
        try:
            while not self.closed:
                while queue:
                    tail, prefixes, size = queue.popleft()
                    self.queued_bytes -= size
                    self.queued_frames -= len(prefixes)
                    for prefix in prefixes:
                        await ws.send_str(prefix + tail)
                wake.clear()
                if not queue:
                    await wake.wait()
        except (ConnectionError, RuntimeError):
            self.drop(WSCloseCode.GOING_AWAY, "send failed")

    def drop(self, code: int, reason: str) -> None:
        """Unregister all subscriptions now and close the socket in the background."""
        if self.closed:
            return
        self.closed = True
        log.info("closing connection (%d): %s", code, reason)
        self.server.remove_connection_subs(self)
        self.queue.clear()
        self.queued_bytes = self.queued_frames = 0
        self.wake.set()
        self.server.spawn(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120]), 2)
        except (TimeoutError, ConnectionError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()


@dataclass(frozen=True)
class BoundPorts:
    """Where the server listens; a None port means that transport is off."""

    host: str
    http_port: int | None
    tls_port: int | None

    def _url(self, scheme: str, port: int | None, path: str) -> str | None:
        if port is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{port}{path}"

    @property
    def http_url(self) -> str | None:
        return self._url("http", self.http_port, HTTP_PATH)

    @property
    def ws_url(self) -> str | None:
        return self._url("ws", self.http_port, REALTIME_PATH)

    @property
    def https_url(self) -> str | None:
        """`https://localhost:<port>/event` (the TLS certificate names localhost, 127.0.0.1 and ::1)."""
        return None if self.tls_port is None else f"https://localhost:{self.tls_port}{HTTP_PATH}"

    @property
    def wss_url(self) -> str | None:
        return None if self.tls_port is None else f"wss://localhost:{self.tls_port}{REALTIME_PATH}"


class PublishRejected(Exception):
    """A publish refused as a whole: HTTP status and the error to answer with."""

    def __init__(self, status: int, error: EventError) -> None:
        self.status = status
        self.error = error
        super().__init__(str(error))


class EventApiServer:
    """The state and the logic of one local Event API (used by `create_app` and `LocalServer`)."""

    def __init__(
        self,
        spec: LocalApiSpec,
        settings: LocalSettings,
        *,
        keys: ApiKeyStore | None = None,
        issuer: LocalIssuer | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.keys = keys if keys is not None else ApiKeyStore(settings.api_keys)
        self.issuer = issuer if issuer is not None else LocalIssuer.load_or_create(settings.state_dir)
        self.auth = Authenticator(spec, settings, self.keys, self.issuer)
        self.namespaces: dict[str, NamespaceSpec] = {ns.name: ns for ns in spec.namespaces}
        # Code, code with a data source, direct Lambda: see eventapi/local/integrations.py.
        self.handlers: LocalHandlers | None = build_handlers(spec, settings)
        for ns in spec.namespaces:
            if ns.has_handler and (self.handlers is None or ns.name not in self.handlers.namespaces):
                log.warning("namespace %r: handler not emulated (events are forwarded unchanged)", ns.name)
        self.connections: set[Connection] = set()
        self.exact: dict[tuple[str, ...], dict[Subscription, None]] = {}
        self.wild: dict[tuple[str, ...], dict[Subscription, None]] = {}
        self.subscription_count = 0
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.shutting_down = False
        self.started = time.monotonic()  # uptime must not jump with the wall clock
        self.deliveries = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ka_task: asyncio.Task[None] | None = None

    # --- small helpers ---------------------------------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def health(self) -> dict[str, Any]:
        return {
            "status": "stopping" if self.shutting_down else "ok",
            "api": self.spec.name,
            "connections": len(self.connections),
            "subscriptions": self.subscription_count,
            "namespaces": sorted(self.namespaces),
            "deliveries": self.deliveries,
            "uptimeSeconds": round(time.monotonic() - self.started, 3),
        }

    def _begin(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def _end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()

    # --- subscription index ----------------------------------------------------------------------------------

    def add_sub(self, sub: Subscription) -> None:
        segments = sub.channel.segments
        index, key = (self.wild, segments[:-1]) if sub.channel.is_wildcard else (self.exact, segments)
        index.setdefault(key, {})[sub] = None
        sub.conn.subs[sub.id] = sub
        self.subscription_count += 1

    def remove_sub(self, sub: Subscription) -> None:
        segments = sub.channel.segments
        index, key = (self.wild, segments[:-1]) if sub.channel.is_wildcard else (self.exact, segments)
        bucket = index.get(key)
        if bucket is not None and bucket.pop(sub, 0) is None:
            self.subscription_count -= 1
            if not bucket:
                del index[key]
        sub.conn.subs.pop(sub.id, None)

    def remove_connection_subs(self, conn: Connection) -> None:
        for sub in list(conn.subs.values()):
            self.remove_sub(sub)

    def matching(self, channel: Channel) -> list[Subscription]:
        segments = channel.segments
        found: list[Subscription] = []
        bucket = self.exact.get(segments)
        if bucket:
            found.extend(bucket)
        wild = self.wild
        if wild:
            for depth in range(1, len(segments)):
                bucket = wild.get(segments[:depth])
                if bucket:
                    found.extend(bucket)
        return found

    def fan_out(self, channel: Channel, events: Sequence[str]) -> None:
        subs = self.matching(channel)
        if not subs:
            return
        groups: dict[Connection, tuple[tuple[str, ...], int]] = {}
        for sub in subs:
            group = groups.get(sub.conn)
            if group is None:
                groups[sub.conn] = sub.prefixes
            else:
                groups[sub.conn] = (group[0] + sub.prefixes[0], group[1] + sub.prefixes[1])
        targets = groups.items()
        for event in events:
            tail = json.dumps(event) + "}"  # one string per event, shared by every frame that carries it
            size = len(tail)
            for conn, (prefixes, prefix_bytes) in targets:
                conn.enqueue(tail, prefixes, size + prefix_bytes)
        self.deliveries += len(subs) * len(events)

    # --- the publish pipeline (HTTP and WebSocket) -----------------------------------------------------------

    def _ctx(
        self, ns: NamespaceSpec, channel: Channel, identity: Identity, headers: Mapping[str, str], operation: str
    ) -> dict[str, Any]:
        return {
            "identity": dict(identity.info) if identity.info is not None else None,
            "request": {"headers": _handler_headers(headers), "domainName": headers.get("host", "localhost")},
            "info": {
                "channel": {"path": channel.path, "segments": list(channel.segments)},
                "channelNamespace": {"name": ns.name},
                "operation": operation,
            },
            "stash": {},
        }

    async def publish(
        self,
        ns: NamespaceSpec,
        channel: Channel,
        events: tuple[str, ...],
        identity: Identity,
        headers: Mapping[str, str],
    ) -> tuple[tuple[SuccessfulEvent, ...], tuple[FailedEvent, ...]]:
        """Run the handler, check sizes, fan out; returns (successful, failed) or raises `PublishRejected`."""
        ids = [str(uuid.uuid4()) for _ in events]
        out: list[tuple[int, str]] = list(enumerate(events))
        failed: list[FailedEvent] = []
        if self.handlers is not None and ns.name in self.handlers.namespaces:
            out, failed = await self._on_publish(ns, channel, events, ids, identity=identity, headers=headers)
        broadcast: list[str] = []
        failed_index = {f.index for f in failed}
        for index, event in out:
            if len(event) * 4 > MAX_EVENT_BYTES and len(event.encode("utf-8")) > MAX_EVENT_BYTES:
                failed.append(
                    FailedEvent(ids[index], index, ErrorType.EVENT_TOO_LARGE_EXCEPTION, EVENT_TOO_LARGE_MESSAGE)
                )
                failed_index.add(index)
            else:
                broadcast.append(event)
        if broadcast:
            self.fan_out(channel, broadcast)
        successful = tuple(SuccessfulEvent(ids[i], i) for i in range(len(events)) if i not in failed_index)
        return successful, tuple(sorted(failed, key=lambda f: f.index))

    async def _on_publish(
        self,
        ns: NamespaceSpec,
        channel: Channel,
        events: tuple[str, ...],
        ids: list[str],
        *,
        identity: Identity,
        headers: Mapping[str, str],
    ) -> tuple[list[tuple[int, str]], list[FailedEvent]]:
        assert self.handlers is not None
        ctx = self._ctx(ns, channel, identity, headers, "PUBLISH")
        ctx["events"] = [{"id": ids[i], "payload": json.loads(e)} for i, e in enumerate(events)]
        try:
            result = await self.handlers.call(ns.name, "onPublish", ctx)
        except HandlerError as err:
            raise _handler_rejection(err, ErrorType.MESSAGE_PROCESSING_ERROR) from None
        if result.missing:
            return list(enumerate(events)), []
        value = result.value
        if value is None:
            return [], []
        if not isinstance(value, list):
            raise PublishRejected(
                500, EventError(ErrorType.MESSAGE_PROCESSING_ERROR, "onPublish must return a list of events")
            )
        position = {event_id: i for i, event_id in enumerate(ids)}
        out: list[tuple[int, str]] = []
        failed: list[FailedEvent] = []
        for item in value:
            if not isinstance(item, dict):
                continue
            item_id = item.get("id")
            index = position.get(item_id, -1) if isinstance(item_id, str) else -1
            if "error" in item and item["error"] is not None:
                if index >= 0:
                    failed.append(
                        FailedEvent(ids[index], index, ErrorType.MESSAGE_PROCESSING_ERROR, str(item["error"]))
                    )
                continue
            if index < 0:
                log.warning("namespace %r: onPublish returned an event with an unknown id; dropped", ns.name)
                continue
            out.append((index, json.dumps(item.get("payload"), separators=(",", ":"), ensure_ascii=False)))
        return out, failed

    async def on_subscribe(
        self, ns: NamespaceSpec, channel: Channel, identity: Identity, headers: Mapping[str, str]
    ) -> EventError | None:
        """None when the subscription may proceed, else the error of the `subscribe_error`."""
        if self.handlers is None or ns.name not in self.handlers.namespaces:
            return None
        try:
            await self.handlers.call(ns.name, "onSubscribe", self._ctx(ns, channel, identity, headers, "SUBSCRIBE"))
        except HandlerError as err:
            if err.kind == "unauthorized":
                return EventError(ErrorType.UNAUTHORIZED, err.message or None)
            return EventError(err.error_type or ErrorType.SUBSCRIPTION_PROCESSING_ERROR, err.message or None)
        return None

    # --- HTTP ------------------------------------------------------------------------------------------------

    async def http_publish(self, request: web.Request) -> web.Response:
        if self.shutting_down:
            return _json_response(503, ErrorResponse((EventError("ServiceUnavailable", "shutting down"),)).to_json())
        self._begin()
        try:
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                error = EventError(ErrorType.BAD_REQUEST_EXCEPTION, "the body is not UTF-8 JSON")
                return _json_response(400, ErrorResponse((error,)).to_json())
            try:
                publish = parse_http_publish(body)
            except ProtocolViolation as err:
                return _json_response(err.http_status, err.http_reply().to_json())
            channel = parse_publish_channel(publish.channel)
            ns = self.namespaces.get(channel.namespace)
            if ns is None:
                return _json_response(401, ErrorResponse((UNKNOWN_NAMESPACE,)).to_json())
            headers = request.headers
            auth_request = AuthRequest(
                OPERATION_PUBLISH, _auth_headers(headers), body, ns.name, channel.path, dict(headers)
            )
            try:
                identity = await self.auth.authorize(ns.publish_modes, auth_request)
            except Denied as denied:
                log.debug("HTTP publish refused: %s", denied.reason)
                return _json_response(401, ErrorResponse((UNAUTHORIZED,)).to_json())
            try:
                successful, failed = await self.publish(ns, channel, publish.events, identity, headers)
            except PublishRejected as err:
                return _json_response(err.status, ErrorResponse((err.error,)).to_json())
            return _json_response(200, PublishResponse(successful, failed).to_json())
        finally:
            self._end()

    # --- WebSocket -------------------------------------------------------------------------------------------

    async def realtime(self, request: web.Request) -> web.StreamResponse:
        offered = [
            p.strip()
            for value in request.headers.getall("Sec-WebSocket-Protocol", [])
            for p in value.split(",")
            if p.strip()
        ]
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), max_msg_size=MAX_FRAME_BYTES, autoping=True)
        if not ws.can_prepare(request).ok:
            return _json_response(
                400,
                ErrorResponse((EventError(ErrorType.BAD_REQUEST_EXCEPTION, "expected a WebSocket upgrade"),)).to_json(),
            )
        await ws.prepare(request)
        if self.shutting_down:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutting down")
            return ws
        try:
            auth = auth_from_subprotocols(offered)
        except AuthFormatError:
            auth = {}
        if auth is None:
            auth = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_AUTH_HEADERS}
        try:
            identity = await self.auth.authorize(
                self.spec.connection_modes,
                AuthRequest(OPERATION_CONNECT, auth, connect_body(), request_headers=dict(request.headers)),
            )
        except Denied as denied:
            log.info("connection refused: %s", denied.reason)
            await ws.send_str(encode(ConnectionErrorMessage((UNAUTHORIZED,))))
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"Unauthorized")
            return ws
        conn = Connection(self, ws, request, auth, identity)
        self.connections.add(conn)
        conn.writer = asyncio.create_task(conn.write_loop())
        lifetime = asyncio.get_running_loop().call_later(
            self.settings.max_connection_seconds, conn.drop, WSCloseCode.GOING_AWAY, "connection lifetime reached"
        )
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    try:
                        await self.handle_frame(conn, msg.data)
                    except Exception:  # a bug must cost one answer, not the connection
                        log.exception("handling a frame failed")
                        conn.send(encode(ErrorMessage((EventError(ErrorType.MESSAGE_PROCESSING_ERROR),))))
                elif msg.type is WSMsgType.ERROR:
                    break
                if conn.closed:
                    break
        finally:
            lifetime.cancel()
            self.connections.discard(conn)
            if not conn.closed:
                conn.closed = True
                self.remove_connection_subs(conn)
            conn.wake.set()
            if conn.writer is not None:
                conn.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn.writer
        return ws

    async def handle_frame(self, conn: Connection, data: str | bytes) -> None:
        try:
            message = parse_client_message(data)
        except ProtocolViolation as err:
            conn.send(encode(err.reply()))
            return
        if isinstance(message, ConnectionInit):
            conn.send(encode(ConnectionAck(self.settings.connection_timeout_ms)))
            conn.send(KA_FRAME)
        elif isinstance(message, Subscribe):
            conn.send(encode(await self.subscribe(conn, message)))
        elif isinstance(message, Unsubscribe):
            sub = conn.subs.get(message.id)
            if sub is None:
                error = EventError(ErrorType.UNKNOWN_OPERATION_ERROR, f"Unknown operation id {message.id}")
                conn.send(encode(UnsubscribeError(message.id, (error,))))
            else:
                self.remove_sub(sub)
                conn.send(encode(UnsubscribeSuccess(message.id)))
        elif isinstance(message, Publish):
            if self.shutting_down:
                error = EventError("ServiceUnavailable", "shutting down")
                conn.send(encode(PublishError(message.id, (error,))))
                return
            self._begin()
            try:
                conn.send(encode(await self.ws_publish(conn, message)))
            finally:
                self._end()

    def _operation_auth(self, conn: Connection, authorization: Mapping[str, str] | None) -> Mapping[str, str]:
        # A frame without `authorization` falls back to the connection's auth object (not for IAM, whose
        # signature covers the connect body only).
        return authorization if authorization is not None else conn.auth

    async def subscribe(self, conn: Connection, message: Subscribe) -> SubscribeSuccess | SubscribeError:
        if message.id in conn.subs:
            violation = ProtocolViolation(
                Violation.DUPLICATE_ID,
                f"subscription id {message.id!r} is already in use",
                op=Subscribe.type,
                id=message.id,
            )
            return SubscribeError(message.id, (violation.error(),))
        if len(conn.subs) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            violation = ProtocolViolation(
                Violation.TOO_MANY_SUBSCRIPTIONS,
                f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection",
                op=Subscribe.type,
                id=message.id,
            )
            return SubscribeError(message.id, (violation.error(),))
        channel = parse_subscribe_channel(message.channel)
        ns = self.namespaces.get(channel.namespace)
        if ns is None:
            return SubscribeError(message.id, (UNKNOWN_NAMESPACE,))
        request = AuthRequest(
            OPERATION_SUBSCRIBE,
            self._operation_auth(conn, message.authorization),
            subscribe_body(message.channel),
            ns.name,
            channel.path,
            dict(conn.request.headers),
        )
        try:
            identity = await self.auth.authorize(ns.subscribe_modes, request)
        except Denied as denied:
            log.debug("subscribe refused: %s", denied.reason)
            return SubscribeError(message.id, (UNAUTHORIZED,))
        error = await self.on_subscribe(ns, channel, identity, conn.request.headers)
        if error is not None:
            return SubscribeError(message.id, (error,))
        if conn.closed or message.id in conn.subs:
            return SubscribeError(message.id, (EventError(ErrorType.SUBSCRIPTION_PROCESSING_ERROR, "closed"),))
        self.add_sub(Subscription(conn, message.id, channel))
        return SubscribeSuccess(message.id)

    async def ws_publish(self, conn: Connection, message: Publish) -> PublishSuccess | PublishError:
        limit = self.settings.publish_rate_limit
        if limit is not None:
            now = time.monotonic()
            times = conn.publish_times
            while times and now - times[0] >= 1.0:
                times.popleft()
            if len(times) >= limit:
                error = EventError(ErrorType.LIMIT_EXCEEDED_ERROR, "Rate exceeded: too many publish requests")
                return PublishError(message.id, (error,))
            times.append(now)
        channel = parse_publish_channel(message.channel)
        ns = self.namespaces.get(channel.namespace)
        if ns is None:
            return PublishError(message.id, (UNKNOWN_NAMESPACE,))
        request = AuthRequest(
            OPERATION_PUBLISH,
            self._operation_auth(conn, message.authorization),
            _publish_body(message.channel, message.events),
            ns.name,
            channel.path,
            dict(conn.request.headers),
        )
        try:
            identity = await self.auth.authorize(ns.publish_modes, request)
        except Denied as denied:
            log.debug("publish refused: %s", denied.reason)
            return PublishError(message.id, (UNAUTHORIZED,))
        try:
            successful, failed = await self.publish(ns, channel, message.events, identity, conn.request.headers)
        except PublishRejected as err:
            return PublishError(message.id, (err.error,))
        return PublishSuccess(message.id, successful, failed)

    # --- keep-alive and shutdown -----------------------------------------------------------------------------

    async def keepalive_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.keepalive_seconds)
            for conn in list(self.connections):
                conn.send(KA_FRAME)

    async def on_startup(self, app: web.Application) -> None:
        self._ka_task = asyncio.create_task(self.keepalive_loop())

    async def on_shutdown(self, app: web.Application) -> None:
        """Refuse new work, let in-flight publishes finish (bounded), then close every socket with 1001."""
        self.shutting_down = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), self.settings.shutdown_timeout_seconds)
        # Let writers flush what the last publishes queued.
        deadline = time.monotonic() + self.settings.shutdown_timeout_seconds
        while any(c.queue for c in self.connections if not c.closed) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            if not conn.closed:
                conn.closed = True
                self.remove_connection_subs(conn)
                self.spawn(conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down"))
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)

    async def on_cleanup(self, app: web.Application) -> None:
        if self._ka_task is not None:
            self._ka_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ka_task
        if self.handlers is not None:
            await self.handlers.close()


def _json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json")


def _auth_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _NOT_AUTH_HEADERS}


def _handler_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in headers.items():
        name = key.lower()
        if name == "cookie" or name.startswith("sec-websocket"):
            continue
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def _handler_rejection(err: HandlerError, default: ErrorType) -> PublishRejected:
    if err.kind == "unauthorized":
        return PublishRejected(401, UNAUTHORIZED)
    if err.kind == "error":
        return PublishRejected(403, EventError(err.error_type or default, err.message or None))
    return PublishRejected(500, EventError(default, err.message[:500] or None))


@web.middleware
async def _cors(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    if request.method == "OPTIONS" and request.path == HTTP_PATH:
        headers = dict(CORS_HEADERS)
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            # The Fetch standard's `*` does not cover Authorization, so a browser publishing with a Cognito/OIDC
            # token needs the requested names echoed back.
            headers["Access-Control-Allow-Headers"] = requested
            headers["Vary"] = "Access-Control-Request-Headers"
        return web.Response(status=204, headers=headers)
    response: web.StreamResponse = await handler(request)
    if not response.prepared:
        response.headers.update(CORS_HEADERS)
    return response


def create_app(
    spec: LocalApiSpec,
    settings: LocalSettings | None = None,
    *,
    keys: ApiKeyStore | None = None,
    issuer: LocalIssuer | None = None,
) -> web.Application:
    """The aiohttp application of one local Event API (no sockets bound; `app[APP_KEY]` is the state)."""
    guard_aiohttp_logs()
    server = EventApiServer(spec, settings or LocalSettings(), keys=keys, issuer=issuer)
    app = web.Application(client_max_size=MAX_HTTP_BODY, middlewares=[_cors])
    app[APP_KEY] = server

    async def publish(request: web.Request) -> web.StreamResponse:
        return await server.http_publish(request)

    async def realtime(request: web.Request) -> web.StreamResponse:
        return await server.realtime(request)

    async def health(request: web.Request) -> web.StreamResponse:
        return _json_response(200, server.health())

    async def jwks(request: web.Request) -> web.StreamResponse:
        return _json_response(200, server.issuer.jwks())

    app.router.add_post(HTTP_PATH, publish)
    app.router.add_route("OPTIONS", HTTP_PATH, publish)
    app.router.add_get(REALTIME_PATH, realtime)
    app.router.add_get("/health", health)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.on_startup.append(server.on_startup)
    app.on_shutdown.append(server.on_shutdown)
    app.on_cleanup.append(server.on_cleanup)
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class LocalServer:
    """Serve one local Event API: `ports = await server.start()` ... `await server.stop()` (or `async with`)."""

    def __init__(self, spec: LocalApiSpec, settings: LocalSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or LocalSettings()
        self.keys = ApiKeyStore(self.settings.api_keys)
        self.issuer = LocalIssuer.load_or_create(self.settings.state_dir)
        self.tls: TlsFiles | None = None
        self.app = create_app(spec, self.settings, keys=self.keys, issuer=self.issuer)
        self.state: EventApiServer = self.app[APP_KEY]
        self._runner: web.AppRunner | None = None
        self._ports: BoundPorts | None = None

    @property
    def ports(self) -> BoundPorts:
        if self._ports is None:
            raise RuntimeError("the server is not started; call `await server.start()` first")
        return self._ports

    def health(self) -> dict[str, Any]:
        return self.state.health()

    async def start(self) -> BoundPorts:
        """Bind the plain and TLS ports (0 = ephemeral), start serving, return the bound ports."""
        settings = self.settings
        if settings.port is None and settings.tls_port is None:
            raise ValueError("both port and tls_port are None; nothing to serve")
        self._runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=settings.shutdown_timeout_seconds,
            # aiohttp's keep-alive timer runs from the moment a connection opens: it also bounds how long a
            # request head may take to arrive (slowloris) and how long an idle connection stays open.
            keepalive_timeout=settings.http_idle_timeout_seconds,
        )
        await self._runner.setup()
        http_port = tls_port = None
        if settings.port is not None:
            sock = _bind(settings.host, settings.port)
            http_port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock).start()
        if settings.tls_port is not None:
            self.tls = ensure_tls(settings.state_dir)
            if self.tls.note:
                log.warning("%s", self.tls.note)
            sock = _bind(settings.host, settings.tls_port)
            tls_port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock, ssl_context=self.tls.server_context()).start()
        self._ports = BoundPorts(settings.host, http_port, tls_port)
        return self._ports

    async def stop(self) -> None:
        """Graceful stop: finish in-flight publishes, close sockets with 1001, release the ports."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> LocalServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def banner(server: LocalServer) -> list[str]:
    """The lines `serve` prints: endpoints, auth hints, the NODE_EXTRA_CA_CERTS line (no secrets)."""
    ports = server.ports
    lines = [f"local Event API {server.spec.name!r} serving"]
    for label, url in (
        ("http", ports.http_url),
        ("ws", ports.ws_url),
        ("https", ports.https_url),
        ("wss", ports.wss_url),
    ):
        if url:
            lines.append(f"  {label:5} {url}")
    lines.append(f"  namespaces: {', '.join(sorted(server.state.namespaces))}")
    lines.append(f"  connect modes: {', '.join(m.value for m in server.spec.connection_modes)}")
    lines.append(f"  API keys: {len(server.keys)} valid")
    if server.tls is not None:
        lines.append(f"  {server.tls.node_extra_ca_certs}")
        if server.tls.note:
            lines.append(f"  note: {server.tls.note}")
    return lines


async def run(
    spec: LocalApiSpec,
    settings: LocalSettings | None = None,
    *,
    on_started: Callable[[LocalServer], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully."""
    server = LocalServer(spec, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        if on_started is not None:
            on_started(server)
        await stop.wait()
        log.info("stopping: finishing in-flight publishes and closing sockets")
    finally:
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


__all__ = ["APP_KEY", "AuthMode", "BoundPorts", "EventApiServer", "LocalServer", "banner", "create_app", "run"]
