"""The client's pooled aiohttp session, which refuses every redirect (on publish and on the WebSocket upgrade)."""

from __future__ import annotations

import ssl as ssl_module

import aiohttp

from eventapi.client.errors import UnexpectedResponseError, one_line


def open_session(ssl: ssl_module.SSLContext | bool, *, keepalive: bool) -> aiohttp.ClientSession:
    """One session for every request and the socket: `ssl` verifies the server, `keepalive` pools connections."""
    connector = aiohttp.TCPConnector(ssl=ssl, force_close=not keepalive)
    return aiohttp.ClientSession(connector=connector, middlewares=(refuse_redirects,))


async def refuse_redirects(
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
