"""The broker of one local Event API: its state, its registry of connections and subscriptions, and its lifecycle.

It owns what every request handler shares: the spec and settings, the API keys, the token issuer and authenticator,
the emulated namespace handlers, the publish/subscribe pipeline, the live connections (each unregistered in its
handler's `finally`) and the subscription index. It counts in-flight publishes so that shutdown lets them finish,
sends keep-alives, and reports health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from aiohttp import WSCloseCode, web

from eventapi.local.auth import Authenticator
from eventapi.local.connection import KA_FRAME, Connection
from eventapi.local.integrations import LocalHandlers, build_handlers
from eventapi.local.issuer import LocalIssuer
from eventapi.local.pipeline import Pipeline
from eventapi.local.settings import ApiKeyStore, LocalSettings
from eventapi.local.subscriptions import SubscriptionIndex
from eventapi.local.template import LocalApiSpec, NamespaceSpec
from eventapi.protocol import Channel, EventError

log = logging.getLogger("eventapi.local")

SHUTTING_DOWN = EventError("ServiceUnavailable", "shutting down")


class Broker:
    """The state and the shared logic of one local Event API (served by `LocalServer`)."""

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
        self.pipeline = Pipeline(spec.connection_modes, self.namespaces, self.auth, self.handlers, self.fan_out)
        self.connections: set[Connection] = set()
        self.subscriptions = SubscriptionIndex()
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.shutting_down = False
        self.started = time.monotonic()  # uptime must not jump with the wall clock
        self.deliveries = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ka_task: asyncio.Task[None] | None = None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` in the background; shutdown waits for it (bounded)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def health(self) -> dict[str, Any]:
        return {
            "status": "stopping" if self.shutting_down else "ok",
            "api": self.spec.name,
            "connections": len(self.connections),
            "subscriptions": len(self.subscriptions),
            "namespaces": sorted(self.namespaces),
            "deliveries": self.deliveries,
            "uptimeSeconds": round(time.monotonic() - self.started, 3),
        }

    def fan_out(self, channel: Channel, events: Sequence[str]) -> None:
        self.deliveries += self.subscriptions.fan_out(channel, events)

    # In-flight publishes: `begin()` before, `end()` in a `finally` after; shutdown waits until none is left.

    def begin(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()

    # --- lifecycle: aiohttp's startup, shutdown and cleanup hooks ----------------------------------------------

    async def _keepalive_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.keepalive_seconds)
            for conn in list(self.connections):
                conn.send(KA_FRAME)

    async def on_startup(self, app: web.Application) -> None:
        self._ka_task = asyncio.create_task(self._keepalive_loop())

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
            if conn.unregister():
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
