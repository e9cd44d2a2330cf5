"""The aiohttp application of one local Event API: its routes, CORS, and the broker's lifecycle hooks.

`POST /event` (and its CORS preflight), the WebSocket at `/event/realtime`, `/health`, and the local token
issuer's `/.well-known/jwks.json`. Binds no socket: `LocalServer` serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from eventapi.local.broker import Broker
from eventapi.local.http_publish import http_publish, json_response
from eventapi.local.log_guard import guard_aiohttp_logs
from eventapi.local.websocket import realtime
from eventapi.protocol import HTTP_PATH, REALTIME_PATH

MAX_HTTP_BODY = 2 * 1024 * 1024  # a 1.2 MB publish payload plus envelope fits
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Max-Age": "600",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("eventapi.local")


@web.middleware
async def client_gone(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A client that resets its socket mid-request (killed, a probe, its own timeout) is not a server error: one
    debug line, not aiohttp's ERROR with a traceback. A reset while the client's socket is still open (an outbound
    call failing) is still an error."""
    try:
        return await handler(request)
    except ConnectionResetError:
        if request.transport is not None and not request.transport.is_closing():
            raise
        log.debug("%s %s: the client left before the answer", request.method, request.path)
        return web.Response()  # aiohttp finds the socket gone and drops this answer quietly


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the preflight of `POST /event`, and make every answer readable cross-origin (browsers publish)."""
    if request.method == "OPTIONS" and request.path == HTTP_PATH:
        headers = dict(CORS_HEADERS)
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            # The Fetch standard's `*` does not cover Authorization, so a browser publishing with a Cognito/OIDC
            # token needs the requested names echoed back.
            headers["Access-Control-Allow-Headers"] = requested
            headers["Vary"] = "Access-Control-Request-Headers"
        return web.Response(status=204, headers=headers)
    response = await handler(request)
    if not response.prepared:
        response.headers.update(CORS_HEADERS)
    return response


def build_app(broker: Broker) -> web.Application:
    """The application serving `broker`'s Event API (no sockets bound, no TLS, no signals)."""
    guard_aiohttp_logs()
    app = web.Application(client_max_size=MAX_HTTP_BODY, middlewares=[client_gone, cors])

    async def publish(request: web.Request) -> web.StreamResponse:
        return await http_publish(broker, request)

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await realtime(broker, request)

    async def health(request: web.Request) -> web.StreamResponse:
        return json_response(200, broker.health())

    async def jwks(request: web.Request) -> web.StreamResponse:
        return json_response(200, broker.issuer.jwks())

    app.router.add_post(HTTP_PATH, publish)
    app.router.add_route("OPTIONS", HTTP_PATH, publish)
    app.router.add_get(REALTIME_PATH, websocket)
    app.router.add_get("/health", health)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.on_startup.append(broker.on_startup)
    app.on_shutdown.append(broker.on_shutdown)
    app.on_cleanup.append(broker.on_cleanup)
    return app
