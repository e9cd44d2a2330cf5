"""`Connection`: the client's one WebSocket, kept up. It owns the subscriptions and the operations awaiting answers.

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
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from eventapi.client.auth import AuthProvider
from eventapi.client.backoff import Backoff
from eventapi.client.config import EventsConfig
from eventapi.client.errors import (
    ClientClosedError,
    ConnectionLostError,
    EventsTimeoutError,
    UnauthorizedError,
    error_from,
)
from eventapi.client.results import Gap
from eventapi.client.subscription import Subscription
from eventapi.client.websocket import AuthTransport, open_socket, read_frames, send_frame
from eventapi.protocol import (
    BroadcastError,
    ConnectionAck,
    Data,
    ErrorMessage,
    Publish,
    PublishError,
    PublishSuccess,
    ServerMessage,
    Subscribe,
    SubscribeError,
    SubscribeSuccess,
    Unsubscribe,
    UnsubscribeError,
    UnsubscribeSuccess,
    publish_body,
    subscribe_body,
)

log = logging.getLogger("eventapi.client")


@dataclass(frozen=True)
class SocketOptions:
    """How the socket connects and stays up: the `EventsClient` arguments of the same names."""

    auth_transport: AuthTransport
    connect_timeout: float
    operation_timeout: float
    keepalive_timeout: float | None
    backoff: Backoff
    max_reconnect_attempts: int | None
    on_gap: Callable[[Gap], Awaitable[None] | None] | None


class Connection:
    """The socket's life for one `EventsClient`, which lends it the HTTP session (`session`, raising
    `ClientClosedError` once closed), the current config (`config`) and a way to read it again (`reread_config`)."""

    def __init__(
        self,
        options: SocketOptions,
        auth: AuthProvider,
        *,
        session: Callable[[], aiohttp.ClientSession],
        config: Callable[[], EventsConfig],
        reread_config: Callable[[], Awaitable[object]],
    ) -> None:
        self._options = options
        self._auth = auth
        self._session = session
        self._config = config
        self._reread_config = reread_config
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._subs: dict[str, Subscription] = {}
        self._pending: dict[str, asyncio.Future[ServerMessage]] = {}
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.closed = False
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def open(self) -> None:
        """Let the socket open again (on first use) after `close`."""
        self.closed = False

    async def close(self) -> None:
        """Close the socket for good; subscriptions end; pending operations fail. Idempotent."""
        self.closed = True
        task, self._task = self._task, None
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

    async def wait_connected(self) -> None:
        """Start the socket if needed and wait for `connection_ack`; the first connect's error is raised here."""
        await self._ensure_started()
        timeout = self._options.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise EventsTimeoutError(f"not connected within {timeout:g} s") from None

    async def _ensure_started(self) -> None:
        """Start the connection task if needed; the first connect's error is raised here."""
        if self._task is not None and not self._task.done():
            return
        self._session()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(ready), name="eventapi-client-socket")
        try:
            await asyncio.shield(ready)
        except BaseException:
            if ready.done() and not ready.cancelled():
                self._task = None
            raise

    # --- operations ---

    async def subscribe(self, path: str, max_buffered: int) -> Subscription:
        """Register a subscription to `path` (a parsed channel) and wait for `subscribe_success`."""
        sub = Subscription(self.unsubscribe, path, max_buffered)
        self._subs[sub.id] = sub
        timeout = self._options.connect_timeout + self._options.operation_timeout
        try:
            # Registered while connected: send now. Otherwise the next (re)connect sends it with the others.
            if self._connected.is_set():
                with contextlib.suppress(ConnectionLostError):
                    await self._send_subscribe(sub)
            else:
                await self._ensure_started()
            async with asyncio.timeout(timeout):
                await asyncio.shield(sub._confirmed)
        except TimeoutError:
            self._subs.pop(sub.id, None)
            sub._end(EventsTimeoutError(f"no answer to subscribe {path}"))
            raise EventsTimeoutError(f"no answer to subscribe {path} within {timeout:g} s") from None
        except BaseException:
            self._subs.pop(sub.id, None)
            sub._end(ClientClosedError("subscribe was interrupted"))
            raise
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        """Send `unsubscribe` (when the service knows the subscription) and end it. Idempotent."""
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

    async def publish(self, channel: str, events: Sequence[str]) -> PublishSuccess:
        """Publish at most 5 events (JSON texts) to `channel` on the socket; a refusal raises its `ServiceError`."""
        await self.wait_connected()
        op_id = str(uuid.uuid4())
        body = publish_body(channel, events)
        authorizer = await self._auth.authorizer(self._config())
        message = Publish(op_id, channel, tuple(events), authorizer.operation_auth(self._config().http_host, body))
        reply = await self._request(op_id, message)
        if isinstance(reply, PublishSuccess):
            return reply
        raise error_from(reply.errors if isinstance(reply, PublishError | ErrorMessage) else ())

    async def _send_subscribe(self, sub: Subscription) -> None:
        authorizer = await self._auth.authorizer(self._config())
        auth = authorizer.operation_auth(self._config().http_host, subscribe_body(sub.channel))
        await send_frame(self._ws, Subscribe(sub.id, sub.channel, auth))

    async def _request(self, op_id: str, message: Unsubscribe | Publish) -> ServerMessage:
        """Send `message` and wait for the frame answering `op_id`."""
        future: asyncio.Future[ServerMessage] = asyncio.get_running_loop().create_future()
        self._pending[op_id] = future
        timeout = self._options.operation_timeout
        try:
            await send_frame(self._ws, message)
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise EventsTimeoutError(f"no answer to {message.type} within {timeout:g} s") from None
        finally:
            self._pending.pop(op_id, None)

    # --- the socket's life ---

    async def _run(self, ready: asyncio.Future[None]) -> None:
        """Connect, read, and reconnect until closed (or, after `max_reconnect_attempts` failures, give up)."""
        backoff = self._options.backoff
        attempt = 0
        # Connections in a row that dropped before they were stable (up at least `backoff.maximum` seconds): each
        # one lengthens the next delay, so a server that acks and then drops is not hammered.
        flaps = 0
        refresh = False
        down_since: float | None = None
        reason = ""
        while not self.closed:
            try:
                if down_since is not None:
                    await self._reread_config()
                ws, ack = await self._open(refresh=refresh)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not ready.done():
                    ready.set_exception(err)
                    return
                refresh = isinstance(err, UnauthorizedError)
                attempt += 1
                if self._give_up(attempt, err):
                    return
                delay = backoff.delay(attempt + flaps)
                log.warning("reconnect attempt %d failed (%s); next in %.3f s", attempt, err, delay)
                await asyncio.sleep(delay)
                continue
            attempt, refresh = 0, False
            if not ready.done():
                ready.set_result(None)
            self._register(ws, down_since, reason)
            connected_at = time.monotonic()
            reason = await self._read(ws, ack)
            down_since = time.monotonic()
            await self._lost(reason)
            flaps = 0 if time.monotonic() - connected_at >= backoff.maximum else flaps + 1
            if not self.closed:
                await asyncio.sleep(backoff.delay(flaps))

    async def _open(self, *, refresh: bool) -> tuple[aiohttp.ClientWebSocketResponse, ConnectionAck]:
        session = self._session()
        config = self._config()
        authorizer = await self._auth.authorizer(config, refresh=refresh)
        options = self._options
        return await open_socket(
            session, config, authorizer, transport=options.auth_transport, timeout=options.connect_timeout
        )

    def _give_up(self, attempt: int, err: Exception) -> bool:
        """After `max_reconnect_attempts` failed attempts in a row, end every subscription with the last error."""
        limit = self._options.max_reconnect_attempts
        if limit is None or attempt < limit:
            return False
        log.error("giving up after %d reconnect attempts: %s", attempt, err)
        for sub in list(self._subs.values()):
            sub._end(err)
        self._subs.clear()
        return True

    def _register(self, ws: aiohttp.ClientWebSocketResponse, down_since: float | None, reason: str) -> None:
        """Connected: register the socket and restore subscriptions in one step (no await in between), so a
        concurrent subscribe() either is in this snapshot or sees the socket as connected."""
        self._ws = ws
        self._connected.set()
        restore = list(self._subs.values())
        gap = None
        if down_since is not None:
            self.reconnects += 1
            gap = Gap(reason, time.monotonic() - down_since, self.reconnects, tuple(s.channel for s in restore))
        self._spawn(self._restore(restore, gap))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, ack: ConnectionAck) -> str:
        """Read until the socket ends (the keep-alive window: `keepalive_timeout`, else the service's); why it did."""
        try:
            window = self._options.keepalive_timeout or ack.connection_timeout_ms / 1000
            return await read_frames(ws, window, self._dispatch)
        except Exception as err:  # a bug must cost a reconnect, never the reader itself
            log.exception("the socket reader failed")
            return f"reader error ({type(err).__name__})"

    async def _lost(self, reason: str) -> None:
        """The socket ended: fail what awaits an answer; confirmed subscriptions flag their next event."""
        log.warning("socket lost: %s", reason)
        await self._drop_socket(ConnectionLostError(f"the socket closed before an answer ({reason})"))
        for sub in self._subs.values():
            if sub._confirmed.done():
                sub._after_gap = True

    def _dispatch(self, frame: ServerMessage) -> None:
        if isinstance(frame, Data):
            sub = self._subs.get(frame.id)
            if sub is not None:
                sub._deliver(frame.event)
        elif isinstance(frame, SubscribeSuccess):
            sub = self._subs.get(frame.id)
            if sub is not None and not sub._confirmed.done():
                sub._confirmed.set_result(None)
        elif isinstance(frame, SubscribeError) or (
            # an `error` frame naming a subscription, not an operation awaiting its answer, refuses it
            isinstance(frame, ErrorMessage) and frame.id in self._subs and frame.id not in self._pending
        ):
            sub = self._subs.pop(frame.id or "", None)
            if sub is not None:
                log.warning("subscription to %s refused: %s", sub.channel, "; ".join(map(str, frame.errors)))
                sub._end(error_from(frame.errors))
        elif isinstance(frame, BroadcastError):
            sub = self._subs.get(frame.id)
            errors = "; ".join(map(str, frame.errors))
            log.warning("broadcast error on %s: %s", sub.channel if sub else frame.id, errors)
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
                async with asyncio.timeout(self._options.operation_timeout):
                    await asyncio.shield(sub._confirmed)
        if self._options.on_gap is not None:
            try:
                result = self._options.on_gap(gap)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("the on_gap callback failed")

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
