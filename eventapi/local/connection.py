"""One accepted WebSocket: its session (subscriptions, publish rate), its connect auth, and its outgoing queue.

Slow-subscriber policy: every connection has a bounded outgoing queue drained by its writer task, at most
`LocalSettings.max_queued_bytes` (16 MiB) and `max_queued_frames` (10,000). When a publish would push a queue past
either, the connection is dropped: its subscriptions are removed at once, the queue is discarded and the socket is
closed with code 1013 ("try again later"; the client reconnects and resubscribes). Other subscribers never wait for
a slow one, and memory per connection is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, web

from eventapi.local.auth import Identity
from eventapi.local.subscriptions import Subscription
from eventapi.protocol import KeepAlive, Session, encode

if TYPE_CHECKING:
    from eventapi.local.broker import Broker

log = logging.getLogger("eventapi.local")

KA_FRAME = encode(KeepAlive())
CLOSE_TOO_SLOW = 1013  # "try again later"
WHOLE_FRAME: tuple[str, ...] = ("",)  # the prefixes of a queued frame that is sent as it is


class Connection:
    """A WebSocket with its session, its connect auth, and a bounded outgoing queue with a writer task."""

    def __init__(
        self,
        broker: Broker,
        ws: web.WebSocketResponse,
        request: web.Request,
        auth: Mapping[str, str],
        identity: Identity,
    ) -> None:
        self.broker = broker
        self.ws = ws
        self.request = request
        self.auth = auth
        self.identity = identity
        self.session: Session[Subscription] = Session(publish_rate_limit=broker.settings.publish_rate_limit)
        # (tail, prefixes, size): one frame `prefix + tail` per prefix; `size` counts the shared tail once.
        self.queue: deque[tuple[str, tuple[str, ...], int]] = deque()
        self.queued_bytes = 0  # what the queue holds (frames are ASCII JSON: characters are bytes)
        self.queued_frames = 0
        self.max_bytes = broker.settings.max_queued_bytes
        self.max_frames = broker.settings.max_queued_frames
        self.wake = asyncio.Event()
        self.closed = False
        self.writer: asyncio.Task[None] | None = None

    @property
    def subs(self) -> dict[str, Subscription]:
        """The live subscriptions by id (the session's; the broker's index keeps both in step)."""
        return self.session.subscriptions

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

    def start_writer(self) -> None:
        self.writer = asyncio.create_task(self._write_loop())

    async def _write_loop(self) -> None:
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

    def unregister(self) -> bool:
        """Mark the connection closed and remove its subscriptions now; False when it already was."""
        if self.closed:
            return False
        self.closed = True
        self.broker.subscriptions.remove_connection(self)
        return True

    def drop(self, code: int, reason: str) -> None:
        """Unregister all subscriptions now and close the socket in the background."""
        if not self.unregister():
            return
        log.info("closing connection (%d): %s", code, reason)
        self.queue.clear()
        self.queued_bytes = self.queued_frames = 0
        self.wake.set()
        self.broker.spawn(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120]), 2)
        except (TimeoutError, ConnectionError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    async def stop_writer(self) -> None:
        """After the reader loop: wake and cancel the writer task and wait for it to end."""
        self.wake.set()
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.writer
