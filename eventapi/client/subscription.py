"""`Subscription`: one channel's events as the application reads them, held in a bounded buffer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self

from eventapi.client.errors import ClientClosedError
from eventapi.client.results import Event
from eventapi.protocol import EventError

DEFAULT_MAX_BUFFERED = 10_000

_END = object()  # queued when the subscription ends: iteration stops there


class Subscription:
    """An active subscription: `async for event in sub`, then `await sub.unsubscribe()` (or `async with sub`).

    Events wait in a buffer of at most `max_buffered` until the application reads them. When it is full, newly
    arriving events are dropped (counted in `dropped`) and the next event that fits has `after_gap=True`: a
    consumer that falls behind loses events it is told about, never the process's memory.
    """

    def __init__(
        self,
        unsubscribe: Callable[[Subscription], Awaitable[None]],
        channel: str,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.channel = channel
        self.max_buffered = max_buffered
        self.dropped = 0
        self.broadcast_errors: list[EventError] = []
        self._unsubscribe = unsubscribe
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
        await self._unsubscribe(self)

    # --- called by the connection ---

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
