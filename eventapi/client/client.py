"""`EventsClient`: publish over HTTP (one pooled keep-alive session) or the socket, subscribe over the socket.

The socket, its keep-alive watchdog and its reconnects are the `Connection`'s (eventapi/client/connection.py);
one HTTP publish is `post_events` (eventapi/client/http_publish.py).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp

from eventapi.client.auth import ApiKey, AuthProvider, Static
from eventapi.client.backoff import DEFAULT_BACKOFF, Backoff
from eventapi.client.config import EventsConfig
from eventapi.client.connection import Connection, SocketOptions
from eventapi.client.errors import ClientClosedError, EventsConfigError, ServiceError, UnauthorizedError
from eventapi.client.http_publish import post_events
from eventapi.client.results import Gap, PublishResult
from eventapi.client.session import open_session
from eventapi.client.subscription import DEFAULT_MAX_BUFFERED, Subscription
from eventapi.client.websocket import AuthTransport
from eventapi.protocol import (
    MAX_EVENTS_PER_PUBLISH,
    Authorizer,
    PublishResponse,
    compact_json,
    parse_publish_channel,
    parse_subscribe_channel,
    strict_loads,
)
from eventapi.trust import TrustError, trust_context

log = logging.getLogger("eventapi.client")

ConfigSource = EventsConfig | Callable[[], EventsConfig | Awaitable[EventsConfig]]


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

    def __init__(
        self,
        config: ConfigSource,
        *,
        auth: AuthProvider | Authorizer | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        ca_file: str | Path | None = None,
        http_keepalive: bool = True,
        auth_transport: AuthTransport = "subprotocol",
        connect_timeout: float = 10.0,
        operation_timeout: float = 10.0,
        keepalive_timeout: float | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        max_reconnect_attempts: int | None = None,
        on_gap: Callable[[Gap], Awaitable[None] | None] | None = None,
    ) -> None:
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
        self._operation_timeout = operation_timeout
        self._session: aiohttp.ClientSession | None = None
        options = SocketOptions(
            auth_transport=auth_transport,
            connect_timeout=connect_timeout,
            operation_timeout=operation_timeout,
            keepalive_timeout=keepalive_timeout,
            backoff=backoff,
            max_reconnect_attempts=max_reconnect_attempts,
            on_gap=on_gap,
        )
        self._connection = Connection(
            options,
            self._auth,
            session=self._session_or_fail,
            config=lambda: self.config,
            reread_config=self.refresh_config,
        )

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
        return self._connection.connected

    @property
    def reconnects(self) -> int:
        """How many times the socket has been reopened after it was lost."""
        return self._connection.reconnects

    # --- lifecycle ---

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Read the config and create the pooled HTTP session (the socket opens on first use)."""
        if self._session is not None:
            return
        self._connection.open()
        if self._config is None:
            self._config = await self._read_config()
        self._session = open_session(self._ssl, keepalive=self._http_keepalive)

    async def close(self) -> None:
        """Close the socket and the HTTP session; subscriptions end; pending operations fail. Idempotent."""
        await self._connection.close()
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
        if self._session is None or self._connection.closed:
            raise ClientClosedError("the client is not open; use `async with EventsClient(...)`")
        return self._session

    # --- publish ---

    async def publish(
        self, channel: str, *events: Any, via: Literal["http", "ws"] = "http", raw: bool = False
    ) -> PublishResult:
        """Publish events (JSON-serialisable values; with `raw=True`, strings that already hold JSON).

        Sent in requests of at most 5 events, in order. Per-event failures come back in `PublishResult.failed`
        (call `.raise_for_failures()` to turn them into an exception); a refused request raises a
        `ServiceError` subclass whose `.partial` holds what earlier requests of this call published.
        """
        path = parse_publish_channel(channel).path
        encoded = [self._encode_event(e, raw) for e in events]
        if not encoded:
            raise ValueError("publish needs at least one event")
        send = self._publish_http if via == "http" else self._connection.publish
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
        """One POST; refused as Unauthorized, it is sent once more with refreshed credentials (when they can be)."""
        session = self._session_or_fail()
        refreshed = False
        while True:
            config = self.config
            authorizer = await self._auth.authorizer(config, refresh=refreshed)
            try:
                return await post_events(session, config, authorizer, channel, events, timeout=self._operation_timeout)
            except UnauthorizedError:
                if refreshed or not self._can_refresh():
                    raise
            refreshed = True
            if not isinstance(self._source, EventsConfig):
                await self.refresh_config()

    def _can_refresh(self) -> bool:
        return self._auth.refreshable or not isinstance(self._source, EventsConfig)

    # --- subscribe ---

    async def subscribe(self, channel: str, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> Subscription:
        """Subscribe (opening the socket if needed) and wait for `subscribe_success`.

        `channel` is an exact channel or ends in `/*` (which receives every deeper channel, not the parent).
        `max_buffered`: events held for a slow reader before new ones are dropped (see `Subscription`).
        """
        self._session_or_fail()
        path = parse_subscribe_channel(channel).path
        return await self._connection.subscribe(path, max_buffered)

    async def connect(self) -> None:
        """Open the socket now (it otherwise opens on first use) and wait for `connection_ack`.

        A refused connection raises its error here (e.g. `UnauthorizedError`).
        """
        await self._connection.wait_connected()


__all__ = ["ConfigSource", "EventsClient"]
