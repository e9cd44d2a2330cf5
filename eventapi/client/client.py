"""`EventsClient`: publish over HTTP (one pooled keep-alive session) or the socket, subscribe over the socket.

The socket is opened on first use and kept: a watchdog closes it when no `ka` arrives within the service's
`connectionTimeoutMs`, and it is reopened with jittered exponential backoff. Before every reconnect the config is
read again (a callable config source picks up a rotated API key), every live subscription is subscribed again, and
the application hears about the possible gap (the `on_gap` callback, and `Event.after_gap` on the next event).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import ssl as ssl_module
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp

from eventapi.client.auth import ApiKey, AuthProvider, Static
from eventapi.client.config import EventsConfig
from eventapi.client.errors import (
    ClientClosedError,
    ConnectionLostError,
    EventsConfigError,
    EventsTimeoutError,
    PublishFailedError,
    ServiceError,
    UnauthorizedError,
    UnexpectedResponseError,
    error_from,
    one_line,
)
from eventapi.protocol import (
    MAX_EVENTS_PER_PUBLISH,
    SUBPROTOCOL,
    Authorizer,
    BroadcastError,
    Channel,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    Data,
    ErrorMessage,
    ErrorResponse,
    EventError,
    FailedEvent,
    KeepAlive,
    MessageFormatError,
    Publish,
    PublishError,
    PublishResponse,
    PublishSuccess,
    ServerMessage,
    Subscribe,
    SubscribeError,
    SubscribeSuccess,
    SuccessfulEvent,
    Unsubscribe,
    UnsubscribeError,
    UnsubscribeSuccess,
    compact_json,
    encode,
    parse_publish_channel,
    parse_server_message,
    parse_subscribe_channel,
    publish_body,
    strict_loads,
    subprotocols,
    subscribe_body,
    upgrade_headers,
)
from eventapi.trust import TrustError, trust_context

log = logging.getLogger("eventapi.client")

ConfigSource = EventsConfig | Callable[[], EventsConfig | Awaitable[EventsConfig]]


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `initial * factor**attempt`, capped at `maximum`, times a random factor in [1-jitter, 1]."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 - self.jitter * random.random())


@dataclass(frozen=True)
class Event:
    """One event received by a subscription: the raw JSON string and its parsed value."""

    raw: str
    subscription_id: str
    channel: str  # the subscription's channel (pattern): data frames do not name the concrete channel
    after_gap: bool = False  # events may have been missed just before this one (a reconnect, or a full buffer)

    @cached_property
    def data(self) -> Any:
        return strict_loads(self.raw)


@dataclass(frozen=True)
class Gap:
    """The socket was down: events published meanwhile were not delivered. Passed to `on_gap`."""

    reason: str
    down_for: float  # seconds
    reconnects: int  # how many times this client has reconnected so far
    channels: tuple[str, ...]  # the subscriptions restored


@dataclass(frozen=True)
class PublishResult:
    """Per-event outcome of one `publish` call; indices are positions in that call's events."""

    successful: tuple[SuccessfulEvent, ...] = ()
    failed: tuple[FailedEvent, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> Self:
        """Raise `PublishFailedError` if any event failed; else return self."""
        if self.failed:
            raise PublishFailedError(self)
        return self

    def to_json(self) -> dict[str, Any]:
        return PublishResponse(self.successful, self.failed).to_json()

    def _extend(self, other: PublishResponse | PublishSuccess, offset: int) -> PublishResult:
        return PublishResult(
            self.successful + tuple(SuccessfulEvent(s.identifier, s.index + offset) for s in other.successful),
            self.failed + tuple(FailedEvent(f.identifier, f.index + offset, f.code, f.message) for f in other.failed),
        )


_END = object()


DEFAULT_MAX_BUFFERED = 10_000


class Subscription:
    """An active subscription: `async for event in sub`, then `await sub.unsubscribe()` (or `async with sub`).

    Events wait in a buffer of at most `max_buffered` until the application reads them. When it is full, newly
    arriving events are dropped (counted in `dropped`) and the next event that fits has `after_gap=True`: a
    consumer that falls behind loses events it is told about, never the process's memory.
    """

    def __init__(self, client: EventsClient, channel: str, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        self.id = str(uuid.uuid4())
        self.channel = channel
        self.max_buffered = max_buffered
        self.dropped = 0
        self.broadcast_errors: list[EventError] = []
        self._client = client
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._after_gap = False
        self._ended = False

    def __repr__(self) -> str:
        return f"Subscription(id={self.id!r}, channel={self.channel!r})"

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(_END)
            raise item
        event: Event = item
        return event

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unsubscribe()

    async def unsubscribe(self) -> None:
        """Stop the subscription (the service confirms); iteration then ends. Idempotent."""
        await self._client._unsubscribe(self)

    # --- called by the client ---

    def _deliver(self, raw: str) -> None:
        if self._queue.qsize() >= self.max_buffered:
            self.dropped += 1
            self._after_gap = True
            return
        self._queue.put_nowait(Event(raw, self.id, self.channel, self._after_gap))
        self._after_gap = False

    def _end(self, error: BaseException | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        if not self._confirmed.done():
            self._confirmed.set_exception(error or ClientClosedError("the client was closed"))
            self._confirmed.exception()  # retrieved: the waiter, if any, re-raises it
        self._queue.put_nowait(error if error is not None else _END)


class EventsClient:
    """An AppSync Event API client; use as `async with EventsClient(config) as client:`.

    `config` is an `EventsConfig` or a callable returning one (sync callables run in a thread); a callable is
    called again before every reconnect. `auth` defaults to the config's API key. TLS: the default CAs plus
    `ca_file` (a PEM bundle, e.g. a local Event API's CA) and the file `$EVENTAPI_EXTRA_CA_CERTS` names, both
    added to the default store, never replacing it; or `ssl` (an SSLContext, or False to skip verification).
    Timeouts are in seconds; `keepalive_timeout` overrides the service's `connectionTimeoutMs`.
    `max_reconnect_attempts`: None retries forever; N gives up after N failed attempts in a row and ends every
    subscription with the last error. Subscriptions buffer events without bound: consume them.
    """

    def __init__(self, config: ConfigSource, *, auth: AuthProvider | Authorizer | None = None,
                 ssl: ssl_module.SSLContext | bool | None = None, ca_file: str | Path | None = None,
                 http_keepalive: bool = True, auth_transport: Literal["subprotocol", "headers"] = "subprotocol",
                 connect_timeout: float = 10.0, operation_timeout: float = 10.0,
                 keepalive_timeout: float | None = None, backoff: Backoff = Backoff(),
                 max_reconnect_attempts: int | None = None,
                 on_gap: Callable[[Gap], Awaitable[None] | None] | None = None) -> None:  # fmt: skip
        self._source = config
        self._config: EventsConfig | None = config if isinstance(config, EventsConfig) else None
        if auth is None:
            auth = ApiKey()
        self._auth: AuthProvider = auth if isinstance(auth, AuthProvider) else Static(auth)
        if ssl is None:
            try:
                ssl = trust_context(ca_file)
            except TrustError as err:
                raise EventsConfigError(err.where, err.problem) from None
        self._ssl: ssl_module.SSLContext | bool = True if ssl is None else ssl
        self._http_keepalive = http_keepalive
        self._auth_transport = auth_transport
        self._connect_timeout = connect_timeout
        self._operation_timeout = operation_timeout
        self._keepalive_timeout = keepalive_timeout
        self._backoff = backoff
        self._max_reconnect_attempts = max_reconnect_attempts
        self._on_gap = on_gap

        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._subs: dict[str, Subscription] = {}
        self._pending: dict[str, asyncio.Future[ServerMessage]] = {}
        self._connected = asyncio.Event()
        self._conn_task: asyncio.Task[None] | None = None
        self._conn_failed: BaseException | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.reconnects = 0

    def __repr__(self) -> str:
        where = self._config.http_endpoint if self._config else "<config not read yet>"
        return f"EventsClient({where!r}, auth={self._auth!r})"

    @property
    def config(self) -> EventsConfig:
        if self._config is None:
            raise ClientClosedError("the client is not open; use `async with EventsClient(...)`")
        return self._config

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # --- lifecycle ---

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        await self.close()

    async def open(self) -> None:
        """Read the config and create the pooled HTTP session (the socket opens on first use)."""
        if self._session is not None:
            return
        self._closing = False
        if self._config is None:
            self._config = await self._read_config()
        connector = aiohttp.TCPConnector(ssl=self._ssl, force_close=not self._http_keepalive)
        self._session = aiohttp.ClientSession(connector=connector, middlewares=(_refuse_redirects,))

    async def close(self) -> None:
        """Close the socket and the HTTP session; subscriptions end; pending operations fail. Idempotent."""
        self._closing = True
        task, self._conn_task = self._conn_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for background in list(self._background):
            background.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._drop_socket(ClientClosedError("the client was closed"))
        for sub in list(self._subs.values()):
            sub._end()
        self._subs.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _read_config(self) -> EventsConfig:
        source = self._source
        if isinstance(source, EventsConfig):
            return source
        call: Callable[[], Any] = source
        result = call() if inspect.iscoroutinefunction(call) else await asyncio.to_thread(call)
        config = await result if inspect.isawaitable(result) else result
        if not isinstance(config, EventsConfig):
            raise TypeError(f"the config source returned {type(config).__name__}, not EventsConfig")
        return config

    async def refresh_config(self) -> EventsConfig:
        """Read a callable config source again (e.g. after an API key rotation)."""
        self._config = await self._read_config()
        return self._config

    def _session_or_fail(self) -> aiohttp.ClientSession:
        if self._session is None or self._closing:
            raise ClientClosedError("the client is not open; use `async with EventsClient(...)`")
        return self._session

    # --- publish ---

    async def publish(self, channel: str, *events: Any, via: Literal["http", "ws"] = "http",
                      raw: bool = False) -> PublishResult:  # fmt: skip
        """Publish events (JSON-serialisable values; with `raw=True`, strings that already hold JSON).

        Sent in requests of at most 5 events, in order. Per-event failures come back in `PublishResult.failed`
        (call `.raise_for_failures()` to turn them into an exception); a refused request raises a
        `ServiceError` subclass whose `.partial` holds what earlier requests of this call published.
        """
        path = parse_publish_channel(channel).path
        encoded = [self._encode_event(e, raw) for e in events]
        if not encoded:
            raise ValueError("publish needs at least one event")
        send = self._publish_http if via == "http" else self._publish_ws
        result = PublishResult()
        for offset in range(0, len(encoded), MAX_EVENTS_PER_PUBLISH):
            chunk = encoded[offset : offset + MAX_EVENTS_PER_PUBLISH]
            try:
                response = await send(path, chunk)
            except ServiceError as err:
                err.partial = result
                raise
            result = result._extend(response, offset)
        if result.failed:
            log.warning("publish to %s: %d of %d events failed", path, len(result.failed), len(encoded))
        return result

    @staticmethod
    def _encode_event(event: Any, raw: bool) -> str:
        if not raw:
            return compact_json(event)
        if not isinstance(event, str):
            raise TypeError(f"raw events must be strings holding JSON, got {type(event).__name__}")
        strict_loads(event)  # raises ValueError for text that is not standard JSON
        return event

    async def _publish_http(self, channel: str, events: Sequence[str]) -> PublishResponse:
        session = self._session_or_fail()
        body = publish_body(channel, events)
        refreshed = False
        while True:
            config = self.config
            authorizer = await self._auth.authorizer(config, refresh=refreshed)
            headers = authorizer.http_headers(config.http_host, body)
            try:
                async with session.post(
                    config.http_endpoint,
                    data=body.encode("utf-8"),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self._operation_timeout),
                ) as response:
                    status, text = response.status, await response.text(errors="replace")
            except TimeoutError:
                raise EventsTimeoutError(f"no answer to POST {config.http_endpoint} within "
                                         f"{self._operation_timeout:g} s") from None  # fmt: skip
            except aiohttp.ClientError as err:
                raise ConnectionLostError(f"POST {config.http_endpoint} failed: {err}") from None
            if 200 <= status < 300:
                return _publish_response(config.http_endpoint, status, text)
            error = _http_error(status, text)
            if isinstance(error, UnauthorizedError) and not refreshed and self._can_refresh():
                refreshed = True
                await self._refresh_for_retry()
                continue
            raise error

    def _can_refresh(self) -> bool:
        return self._auth.refreshable or not isinstance(self._source, EventsConfig)

    async def _refresh_for_retry(self) -> None:
        if not isinstance(self._source, EventsConfig):
            await self.refresh_config()

    async def _publish_ws(self, channel: str, events: Sequence[str]) -> PublishSuccess:
        await self._wait_connected()
        op_id = str(uuid.uuid4())
        body = publish_body(channel, events)
        authorizer = await self._auth.authorizer(self.config)
        message = Publish(op_id, channel, tuple(events), authorizer.operation_auth(self.config.http_host, body))
        reply = await self._request(op_id, message)
        if isinstance(reply, PublishSuccess):
            return reply
        raise error_from(reply.errors if isinstance(reply, PublishError | ErrorMessage) else ())

    # --- subscribe ---

    async def subscribe(self, channel: str, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> Subscription:
        """Subscribe (opening the socket if needed) and wait for `subscribe_success`.

        `channel` is an exact channel or ends in `/*` (which receives every deeper channel, not the parent).
        `max_buffered`: events held for a slow reader before new ones are dropped (see `Subscription`).
        """
        self._session_or_fail()
        path = parse_subscribe_channel(channel).path
        sub = Subscription(self, path, max_buffered)
        self._subs[sub.id] = sub
        try:
            # Registered while connected: send now. Otherwise the next (re)connect sends it with the others.
            if self._connected.is_set():
                with contextlib.suppress(ConnectionLostError):
                    await self._send_subscribe(sub)
            else:
                await self._ensure_connection()
            async with asyncio.timeout(self._connect_timeout + self._operation_timeout):
                await asyncio.shield(sub._confirmed)
        except TimeoutError:
            self._subs.pop(sub.id, None)
            sub._end(EventsTimeoutError(f"no answer to subscribe {path}"))
            raise EventsTimeoutError(f"no answer to subscribe {path} within "
                                     f"{self._connect_timeout + self._operation_timeout:g} s") from None  # fmt: skip
        except BaseException:
            self._subs.pop(sub.id, None)
            sub._end(ClientClosedError("subscribe was interrupted"))
            raise
        return sub

    async def _send_subscribe(self, sub: Subscription) -> None:
        authorizer = await self._auth.authorizer(self.config)
        auth = authorizer.operation_auth(self.config.http_host, subscribe_body(sub.channel))
        await self._send(Subscribe(sub.id, sub.channel, auth))

    async def _unsubscribe(self, sub: Subscription) -> None:
        if self._subs.pop(sub.id, None) is None:
            sub._end()
            return
        try:
            if self._connected.is_set() and sub._confirmed.done() and not sub._confirmed.exception():
                reply = await self._request(sub.id, Unsubscribe(sub.id))
                if isinstance(reply, UnsubscribeError | ErrorMessage):
                    raise error_from(reply.errors)
        except ConnectionLostError:
            pass  # the socket is gone, and the subscription with it
        finally:
            sub._end()

    # --- the socket ---

    async def _ensure_connection(self) -> None:
        """Start the connection task if needed; the first connect's error is raised here."""
        if self._conn_task is not None and not self._conn_task.done():
            return
        self._session_or_fail()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._conn_task = asyncio.create_task(self._run(ready), name="eventapi-client-socket")
        try:
            await asyncio.shield(ready)
        except BaseException:
            if ready.done() and not ready.cancelled():
                self._conn_task = None
            raise

    async def connect(self) -> None:
        """Open the socket now (it otherwise opens on first use) and wait for `connection_ack`.

        A refused connection raises its error here (e.g. `UnauthorizedError`).
        """
        await self._wait_connected()

    async def _wait_connected(self) -> None:
        await self._ensure_connection()
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._connected.wait()
        except TimeoutError:
            raise EventsTimeoutError(f"not connected within {self._connect_timeout:g} s") from None

    async def _run(self, ready: asyncio.Future[None]) -> None:
        """Connect, read, and reconnect until closed."""
        attempt = 0
        # Connections in a row that dropped before they were stable (up at least `backoff.maximum` seconds): each
        # one lengthens the next delay, so a server that acks and then drops is not hammered.
        flaps = 0
        refresh = False
        down_since: float | None = None
        reason = ""
        while not self._closing:
            try:
                if down_since is not None:
                    self._config = await self._read_config()
                ws, ack = await self._connect(refresh=refresh)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not ready.done():
                    ready.set_exception(err)
                    return
                refresh = isinstance(err, UnauthorizedError)
                attempt += 1
                if self._max_reconnect_attempts is not None and attempt >= self._max_reconnect_attempts:
                    log.error("giving up after %d reconnect attempts: %s", attempt, err)
                    for sub in list(self._subs.values()):
                        sub._end(err)
                    self._subs.clear()
                    return
                delay = self._backoff.delay(attempt + flaps)
                log.warning("reconnect attempt %d failed (%s); next in %.3f s", attempt, err, delay)
                await asyncio.sleep(delay)
                continue
            attempt, refresh = 0, False
            if not ready.done():
                ready.set_result(None)
            # Connected: register the socket and restore subscriptions in one step (no await in between), so a
            # concurrent subscribe() either is in this snapshot or sees the socket as connected.
            self._ws = ws
            self._connected.set()
            restore = list(self._subs.values())
            gap = None
            if down_since is not None:
                self.reconnects += 1
                gap = Gap(reason, time.monotonic() - down_since, self.reconnects, tuple(s.channel for s in restore))
            self._spawn(self._restore(restore, gap))
            connected_at = time.monotonic()
            try:
                reason = await self._read_loop(ws, ack)
            except Exception as err:  # a bug must cost a reconnect, never the reader itself
                log.exception("the socket reader failed")
                reason = f"reader error ({type(err).__name__})"
            log.warning("socket lost: %s", reason)
            down_since = time.monotonic()
            await self._drop_socket(ConnectionLostError(f"the socket closed before an answer ({reason})"))
            for sub in self._subs.values():
                if sub._confirmed.done():
                    sub._after_gap = True
            flaps = 0 if time.monotonic() - connected_at >= self._backoff.maximum else flaps + 1
            if not self._closing:
                await asyncio.sleep(self._backoff.delay(flaps))

    async def _connect(self, *, refresh: bool) -> tuple[aiohttp.ClientWebSocketResponse, ConnectionAck]:
        session = self._session_or_fail()
        config = self.config
        authorizer = await self._auth.authorizer(config, refresh=refresh)
        auth = authorizer.connect_auth(config.http_host)
        if self._auth_transport == "subprotocol":
            protocols, headers = subprotocols(auth), None
        else:
            protocols, headers = [SUBPROTOCOL], upgrade_headers(auth)
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws = await session.ws_connect(
                    config.realtime_endpoint, protocols=protocols, headers=headers, autoping=True, max_msg_size=0,
                    timeout=aiohttp.ClientWSTimeout(ws_close=min(self._connect_timeout, 1.0)),
                )  # fmt: skip
        except TimeoutError:
            raise EventsTimeoutError(f"no connection to {config.realtime_endpoint} within "
                                     f"{self._connect_timeout:g} s") from None  # fmt: skip
        except aiohttp.WSServerHandshakeError as err:
            errors = [EventError("UnauthorizedException" if err.status in (401, 403) else "HandshakeError",
                                 f"WebSocket upgrade refused with HTTP {err.status}", err.status)]  # fmt: skip
            raise error_from(errors, status=err.status) from None
        except aiohttp.ClientError as err:
            raise ConnectionLostError(f"cannot connect to {config.realtime_endpoint}: {err}") from None
        try:
            await ws.send_str(encode(ConnectionInit()))
            async with asyncio.timeout(self._connect_timeout):
                while True:
                    msg = await ws.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        raise ConnectionLostError(f"the socket closed during connection_init ({msg.type.name})")
                    try:
                        frame = parse_server_message(msg.data)
                    except MessageFormatError as err:
                        raise ConnectionLostError(f"unreadable frame during connection_init ({err})") from None
                    if isinstance(frame, ConnectionAck):
                        return ws, frame
                    if isinstance(frame, ConnectionErrorMessage | ErrorMessage):
                        raise error_from(frame.errors)
        except TimeoutError:
            await ws.close()
            raise EventsTimeoutError(f"no connection_ack within {self._connect_timeout:g} s") from None
        except BaseException:
            await ws.close()
            raise

    async def _read_loop(self, ws: aiohttp.ClientWebSocketResponse, ack: ConnectionAck) -> str:
        """Dispatch frames until the socket ends; returns why. The watchdog: `ka` must come within the timeout."""
        window = self._keepalive_timeout or ack.connection_timeout_ms / 1000
        loop = asyncio.get_running_loop()
        deadline = loop.time() + window
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return f"no keep-alive within {window:g} s"
            try:
                msg = await ws.receive(timeout=remaining)
            except TimeoutError:
                return f"no keep-alive within {window:g} s"
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return f"closed by the server (code {ws.close_code})"
            if msg.type == aiohttp.WSMsgType.ERROR:
                return f"socket error ({ws.exception()})"
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = parse_server_message(msg.data)
            except MessageFormatError as err:
                # It may have been an event: reconnect, so every subscription hears of the gap (`on_gap`,
                # `Event.after_gap`) instead of silently missing it.
                return f"unreadable frame from the server ({err})"
            if isinstance(frame, KeepAlive):
                deadline = loop.time() + window
            elif isinstance(frame, ConnectionErrorMessage):
                return f"connection_error: {'; '.join(str(e) for e in frame.errors)}"
            else:
                self._dispatch(frame)

    def _dispatch(self, frame: ServerMessage) -> None:
        if isinstance(frame, Data):
            sub = self._subs.get(frame.id)
            if sub is not None:
                sub._deliver(frame.event)
        elif isinstance(frame, SubscribeSuccess):
            sub = self._subs.get(frame.id)
            if sub is not None and not sub._confirmed.done():
                sub._confirmed.set_result(None)
        elif isinstance(frame, SubscribeError) or (isinstance(frame, ErrorMessage) and frame.id in self._subs
                                                   and frame.id not in self._pending):  # fmt: skip
            sub = self._subs.pop(frame.id or "", None)
            if sub is not None:
                log.warning("subscription to %s refused: %s", sub.channel, "; ".join(map(str, frame.errors)))
                sub._end(error_from(frame.errors))
        elif isinstance(frame, BroadcastError):
            sub = self._subs.get(frame.id)
            log.warning(
                "broadcast error on %s: %s", sub.channel if sub else frame.id, "; ".join(map(str, frame.errors))
            )
            if sub is not None:
                sub.broadcast_errors.extend(frame.errors)
        elif isinstance(frame, PublishSuccess | PublishError | UnsubscribeSuccess | UnsubscribeError | ErrorMessage):
            future = self._pending.pop(frame.id or "", None)
            if future is not None and not future.done():
                future.set_result(frame)
            elif isinstance(frame, ErrorMessage):
                log.warning("error from the service: %s", "; ".join(map(str, frame.errors)))

    async def _restore(self, subs: list[Subscription], gap: Gap | None) -> None:
        """Send subscribe for every registered subscription, wait for the answers, then report the gap."""
        for sub in subs:
            if sub.id in self._subs and self._connected.is_set():
                with contextlib.suppress(ConnectionLostError):
                    await self._send_subscribe(sub)
        if gap is None:
            return
        for sub in subs:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._operation_timeout):
                    await asyncio.shield(sub._confirmed)
        if self._on_gap is not None:
            try:
                result = self._on_gap(gap)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("the on_gap callback failed")

    async def _send(self, message: Subscribe | Unsubscribe | Publish) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionLostError("the socket is not connected")
        try:
            await ws.send_str(encode(message))
        except (ConnectionError, aiohttp.ClientError) as err:
            raise ConnectionLostError(f"sending {message.type} failed: {err}") from None

    async def _request(self, op_id: str, message: Unsubscribe | Publish) -> ServerMessage:
        future: asyncio.Future[ServerMessage] = asyncio.get_running_loop().create_future()
        self._pending[op_id] = future
        try:
            await self._send(message)
            async with asyncio.timeout(self._operation_timeout):
                return await future
        except TimeoutError:
            raise EventsTimeoutError(f"no answer to {message.type} within {self._operation_timeout:g} s") from None
        finally:
            self._pending.pop(op_id, None)

    async def _drop_socket(self, error: BaseException) -> None:
        self._connected.clear()
        ws, self._ws = self._ws, None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background task failed: %s", task.exception())


async def _refuse_redirects(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Session middleware, run for every hop: a redirect is an error, never followed. Following it would carry the
    credentials (`x-api-key`, `Authorization`, SigV4 headers, the `header-` subprotocol) and the body to another
    URL, on publish and on the WebSocket upgrade alike."""
    response = await handler(request)
    if 300 <= response.status < 400:
        location = response.headers.get("Location") or "?"
        response.close()
        raise UnexpectedResponseError(
            f"{request.method} {request.url} answered HTTP {response.status}, a redirect to {one_line(location)}; "
            "redirects are not followed (they would carry the credentials): point the config at the Event API's "
            "own endpoints",
            status=response.status,
        )
    return response


def _publish_response(endpoint: str, status: int, text: str) -> PublishResponse:
    """A 2xx answer to a publish: `{"successful": [...], "failed": [...]}`, or an `UnexpectedResponseError`."""
    try:
        obj = strict_loads(text)
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), list) for k in ("successful", "failed")):
            raise MessageFormatError('expected {"successful": [...], "failed": [...]}')
        return PublishResponse.from_json(obj)
    except (ValueError, MessageFormatError) as err:
        raise UnexpectedResponseError(
            f"POST {endpoint} answered HTTP {status} without a publish result ({one_line(str(err))}): "
            f"{one_line(text, 100) or 'an empty body'}",
            status=status,
        ) from None


def _http_error(status: int, text: str) -> ServiceError:
    try:
        errors = ErrorResponse.from_json(strict_loads(text)).errors
    except (ValueError, MessageFormatError):
        errors = ()
    if errors:
        return error_from(errors, status=status)
    if status in _STATUS_TYPES:
        return error_from([EventError(_STATUS_TYPES[status], one_line(text) or None)], status=status)
    return UnexpectedResponseError(f"HTTP {status} without an Event API error: {one_line(text, 100) or 'no body'}",
                                   status=status)  # fmt: skip


_STATUS_TYPES = {400: "BadRequestException", 401: "UnauthorizedException", 403: "UnauthorizedException",
                 404: "ResourceNotFound"}  # fmt: skip

__all__ = ["Backoff", "Channel", "ConfigSource", "Event", "EventsClient", "Gap", "PublishResult", "Subscription"]
