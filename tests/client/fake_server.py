"""A small in-test Event API (aiohttp, port 0) built on eventapi.protocol, with knobs to misbehave.

Not the local Event API: just enough of the protocol to test the client — auth by API key, token or SigV4,
wildcard fan-out, per-event size failures, keep-alives that can be silenced, sockets that can be dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

from eventapi.client import EventsConfig
from eventapi.protocol import (
    SUBPROTOCOL,
    UNAUTHORIZED_MESSAGE,
    AuthFormatError,
    AuthHeaders,
    AuthKind,
    Channel,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    Data,
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
    auth_from_subprotocols,
    classify_auth,
    connect_body,
    encode,
    parse_channel,
    parse_client_message,
    parse_http_publish,
    parse_iam_authorization,
    publish_body,
    subscribe_body,
    verify_iam_signature,
)

UNAUTHORIZED = EventError(ErrorType.UNAUTHORIZED_EXCEPTION, UNAUTHORIZED_MESSAGE, 401)


class FakeEventApi:
    def __init__(
        self,
        *,
        api_key: str = "da2-test",
        ka_interval: float = 0.02,
        connection_timeout_ms: int = 300_000,
        max_event_bytes: int = 240 * 1024,
        ssl_context: Any = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.api_key = api_key
        self.tokens: set[str] = set()
        self.iam_secrets: dict[str, str] = {}
        self.ka_interval = ka_interval
        self.send_ka = True
        self.drop_after_ack = False  # close every socket right after its connection_ack
        self.refusal = UNAUTHORIZED  # the error of a refused connection's connection_error
        self.connection_timeout_ms = connection_timeout_ms
        self.max_event_bytes = max_event_bytes
        self.canned_http: list[tuple[int, str]] = []  # answered before anything else, in order
        self.connections = 0
        self.refused_connections = 0
        self.http_peers: set[Any] = set()
        self.http_requests: list[tuple[dict[str, str], str]] = []  # (headers, body)
        self.frames: list[Any] = []  # parsed client frames, in order
        self.subscribed = asyncio.Event()
        self._sockets: dict[web.WebSocketResponse, dict[str, Channel]] = {}
        self._transports: dict[web.WebSocketResponse, Any] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ---

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/event", self._http_publish)
        app.router.add_get("/event/realtime", self._realtime)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._sockets):
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self, **overrides: Any) -> EventsConfig:
        kwargs: dict[str, Any] = {"api_key": self.api_key, **overrides}
        scheme = "https" if self.ssl_context else "http"
        return EventsConfig.create(f"{scheme}://{self.host}/event", "eu-west-1", **kwargs)

    # --- knobs ---

    async def drop_all(self) -> None:
        """Cut every socket's TCP connection without a close frame."""
        for ws, transport in list(self._transports.items()):
            self._sockets.pop(ws, None)
            transport.close()
        self._transports.clear()

    async def send_to_all(self, frame: Any) -> None:
        """Send a server frame to every open socket."""
        await self.send_raw_to_all(encode(frame))

    async def send_raw_to_all(self, text: str) -> None:
        """Send text as it is (a frame of any shape) to every open socket."""
        for ws in list(self._sockets):
            await ws.send_str(text)

    @property
    def live_sockets(self) -> int:
        return len(self._sockets)

    def authorize(self, auth: Mapping[str, Any], body: str) -> bool:
        headers = AuthHeaders(auth)
        kind = classify_auth(headers)
        if kind is AuthKind.API_KEY:
            return headers["x-api-key"] == self.api_key
        if kind is AuthKind.TOKEN:
            return headers["authorization"] in self.tokens
        if kind is AuthKind.IAM:
            try:
                signature = parse_iam_authorization(headers)
            except AuthFormatError:
                return False
            secret = self.iam_secrets.get(signature.access_key_id)
            return secret is not None and verify_iam_signature(headers, body, secret_key=secret)
        return False

    # --- HTTP ---

    async def _http_publish(self, request: web.Request) -> web.Response:
        self.http_peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        body = await request.text()
        self.http_requests.append((dict(request.headers), body))
        if self.canned_http:
            status, text = self.canned_http.pop(0)
            return web.Response(status=status, text=text, content_type="application/json")
        if not self.authorize(request.headers, body):
            return web.json_response(ErrorResponse((UNAUTHORIZED,)).to_json(), status=401)
        try:
            publish = parse_http_publish(body)
        except ProtocolViolation as violation:
            return web.json_response(violation.http_reply().to_json(), status=violation.http_status)
        successful, failed = await self._accept(publish.channel, publish.events)
        return web.json_response(PublishResponse(successful, failed).to_json())

    async def _accept(
        self, channel: str, events: tuple[str, ...]
    ) -> tuple[tuple[SuccessfulEvent, ...], tuple[FailedEvent, ...]]:
        target = parse_channel(channel, allow_wildcard=False)
        successful, failed = [], []
        for index, event in enumerate(events):
            identifier = str(uuid.uuid4())
            if len(event.encode()) > self.max_event_bytes:
                failed.append(
                    FailedEvent(identifier, index, "EventTooLargeException", "Transformed event is larger than 240KB")
                )
                continue
            successful.append(SuccessfulEvent(identifier, index))
            for ws, subs in list(self._sockets.items()):
                for sub_id, pattern in list(subs.items()):
                    if pattern.matches(target):
                        with contextlib.suppress(ConnectionError):
                            await ws.send_str(encode(Data(sub_id, event)))
        return tuple(successful), tuple(failed)

    # --- WebSocket ---

    async def _realtime(self, request: web.Request) -> web.WebSocketResponse:
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        auth = auth_from_subprotocols(offered) or dict(request.headers)
        ws = web.WebSocketResponse(protocols=[SUBPROTOCOL])
        await ws.prepare(request)
        if not self.authorize(auth, connect_body()):
            self.refused_connections += 1
            await ws.send_str(encode(ConnectionErrorMessage((self.refusal,))))
            await ws.close()
            return ws
        self.connections += 1
        subs: dict[str, Channel] = {}
        self._sockets[ws] = subs
        self._transports[ws] = request.transport
        ka_task: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = parse_client_message(msg.data)
                except ProtocolViolation as violation:
                    await ws.send_str(encode(violation.reply()))
                    continue
                self.frames.append(frame)
                if isinstance(frame, ConnectionInit):
                    await ws.send_str(encode(ConnectionAck(self.connection_timeout_ms)))
                    if self.drop_after_ack:
                        await ws.close()
                        break
                    ka_task = asyncio.create_task(self._keepalive(ws))
                    self._tasks.add(ka_task)
                elif isinstance(frame, Subscribe):
                    if not self.authorize(frame.authorization or auth, subscribe_body(frame.channel)):
                        await ws.send_str(encode(SubscribeError(frame.id, (UNAUTHORIZED,))))
                    else:
                        subs[frame.id] = parse_channel(frame.channel, allow_wildcard=True)
                        await ws.send_str(encode(SubscribeSuccess(frame.id)))
                        self.subscribed.set()
                elif isinstance(frame, Unsubscribe):
                    if subs.pop(frame.id, None) is None:
                        error = EventError(ErrorType.UNKNOWN_OPERATION_ERROR, f"Unknown operation id {frame.id}")
                        await ws.send_str(encode(UnsubscribeError(frame.id, (error,))))
                    else:
                        await ws.send_str(encode(UnsubscribeSuccess(frame.id)))
                elif isinstance(frame, Publish):
                    if not self.authorize(frame.authorization or auth, publish_body(frame.channel, frame.events)):
                        await ws.send_str(encode(PublishError(frame.id, (UNAUTHORIZED,))))
                        continue
                    successful, failed = await self._accept(frame.channel, frame.events)
                    await ws.send_str(encode(PublishSuccess(frame.id, successful, failed)))
        finally:
            self._sockets.pop(ws, None)
            self._transports.pop(ws, None)
            if ka_task is not None:
                ka_task.cancel()
                self._tasks.discard(ka_task)
        return ws

    async def _keepalive(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.ka_interval)
            if self.send_ka and not ws.closed:
                with contextlib.suppress(ConnectionError):
                    await ws.send_str(encode(KeepAlive()))
