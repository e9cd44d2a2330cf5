"""`LocalServer`: one local Event API served on sockets, plain and TLS; `run` serves it until SIGINT or SIGTERM.

Also the one way the local tools bind a port (`bind_socket`: the local deploy probes its ports with it) and wait
for a stop signal (`on_stop_signals`: `eventapi-local up` waits on it too). What it serves: `eventapi.local.app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from eventapi.local.app import build_app
from eventapi.local.broker import Broker
from eventapi.local.issuer import LocalIssuer
from eventapi.local.settings import ApiKeyStore, LocalSettings
from eventapi.local.template import LocalApiSpec
from eventapi.local.tls import TlsFiles, ensure_tls
from eventapi.protocol import HTTP_PATH, REALTIME_PATH

log = logging.getLogger("eventapi.local")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` the way the local servers bind (IPv6 when `host` has a `:`); raises
    OSError (e.g. EADDRINUSE) with no socket left open."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _listen(host: str, port: int) -> socket.socket:
    sock = bind_socket(host, port)
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
        self.broker = Broker(spec, self.settings, keys=self.keys, issuer=self.issuer)
        self.app = build_app(self.broker)
        self._runner: web.AppRunner | None = None
        self._ports: BoundPorts | None = None

    @property
    def ports(self) -> BoundPorts:
        if self._ports is None:
            raise RuntimeError("the server is not started; call `await server.start()` first")
        return self._ports

    def health(self) -> dict[str, Any]:
        return self.broker.health()

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
            sock = _listen(settings.host, settings.port)
            http_port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock).start()
        if settings.tls_port is not None:
            self.tls = ensure_tls(settings.state_dir)
            if self.tls.note:
                log.warning("%s", self.tls.note)
            sock = _listen(settings.host, settings.tls_port)
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
    lines.append(f"  namespaces: {', '.join(sorted(server.broker.namespaces))}")
    lines.append(f"  connect modes: {', '.join(m.value for m in server.spec.connection_modes)}")
    lines.append(f"  API keys: {len(server.keys)} valid")
    if server.tls is not None:
        lines.append(f"  {server.tls.node_extra_ca_certs}")
        if server.tls.note:
            lines.append(f"  note: {server.tls.note}")
    return lines


def on_stop_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set `stop` on SIGINT or SIGTERM (where the running loop can handle signals); returns the function that
    gives the signals back (call it in a `finally`)."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    def release() -> None:
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)

    return release


async def run(
    spec: LocalApiSpec,
    settings: LocalSettings | None = None,
    *,
    on_started: Callable[[LocalServer], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully."""
    server = LocalServer(spec, settings)
    stop = asyncio.Event()
    release_signals = on_stop_signals(stop)
    try:
        await server.start()
        try:
            if on_started is not None:
                on_started(server)
            await stop.wait()
            log.info("stopping: finishing in-flight publishes and closing sockets")
        finally:
            await server.stop()
    finally:
        release_signals()


__all__ = ["BoundPorts", "LocalServer", "banner", "bind_socket", "on_stop_signals", "run"]
