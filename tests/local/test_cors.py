"""CORS on POST /event: the preflight a browser sends before a cross-origin fetch, and the publish responses."""

from __future__ import annotations

import json

import aiohttp

from eventapi.local.server import LocalServer
from tests.local.conftest import API_KEY

ORIGIN = "http://127.0.0.1:5500"
EVENT_BODY = json.dumps({"channel": "/default/comments/42/new", "events": [json.dumps({"content": "hi"})]})


async def test_preflight_echoes_the_requested_headers(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """OPTIONS /event names exactly the requested headers (`*` would not cover Authorization) and allows POST."""
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-api-key",
    }
    async with session.options(server.ports.http_url, headers=headers) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
        assert resp.headers["Access-Control-Allow-Headers"] == "authorization,content-type,x-api-key"
        assert resp.headers["Vary"] == "Access-Control-Request-Headers"


async def test_preflight_without_requested_headers_allows_any(
    server: LocalServer, session: aiohttp.ClientSession
) -> None:
    """A preflight that asks for no headers gets the wildcard."""
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    async with session.options(server.ports.http_url, headers=headers) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Headers"] == "*"
        assert "Vary" not in resp.headers


async def test_publish_responses_carry_the_allow_origin(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """Accepted (200) and refused (401) publishes are both readable cross-origin."""
    statuses = []
    for key in (API_KEY, "da2-" + "z" * 26):
        headers = {"Origin": ORIGIN, "content-type": "application/json", "x-api-key": key}
        async with session.post(server.ports.http_url, data=EVENT_BODY, headers=headers) as resp:
            statuses.append((resp.status, resp.headers["Access-Control-Allow-Origin"]))
    assert statuses == [(200, "*"), (401, "*")]
