"""HTTP publish conformance: POST /event success, per-event failures, request errors, CORS, JWKS."""

from __future__ import annotations

import json

import aiohttp
import pytest

from eventapi.local.server import LocalServer

from .conftest import API_KEY, EXPIRED_KEY, OTHER_KEY, connect, http_publish, key_auth, strip_ids

UNAUTHORIZED = {
    "errors": [
        {"errorType": "UnauthorizedException", "errorCode": 401, "message": "You are not authorized to make this call."}
    ]
}


async def test_http_publish_delivers(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """POST /event answers 200 with successful[] and fans out one data frame per event."""
    ws = await connect(session, server)
    await ws.subscribe("s", "/default/*")
    status, body = await http_publish(session, server, "default/channel", ['{"a":1}', '{"b":2}'])
    assert (status, strip_ids(body)) == (
        200,
        {"successful": [{"identifier": "<uuid>", "index": 0}, {"identifier": "<uuid>", "index": 1}], "failed": []},
    )
    assert await ws.recv() == {"type": "data", "id": "s", "event": '{"a":1}'}
    assert await ws.recv() == {"type": "data", "id": "s", "event": '{"b":2}'}
    await ws.close()


async def test_http_six_events(server: LocalServer, session) -> None:
    """6 events over HTTP: 400 BadRequestException "Input exceeded 5 event limit"."""
    status, body = await http_publish(session, server, "/default/a", ["1"] * 6)
    assert (status, body) == (
        400,
        {"errors": [{"errorType": "BadRequestException", "message": "Input exceeded 5 event limit"}]},
    )


async def test_http_oversize_event(server: LocalServer, session) -> None:
    """An event over 240 KB is a failed[] entry with 200."""
    status, body = await http_publish(session, server, "/default/a", [json.dumps("x" * 245_760), "1"])
    assert (status, strip_ids(body)) == (
        200,
        {
            "successful": [{"identifier": "<uuid>", "index": 1}],
            "failed": [
                {
                    "identifier": "<uuid>",
                    "index": 0,
                    "code": "EventTooLargeException",
                    "message": "Transformed event is larger than 240KB",
                }
            ],
        },
    )


async def test_http_unknown_namespace(server: LocalServer, session) -> None:
    """Publishing to a namespace that does not exist: 401 UnauthorizedException without a message."""
    assert await http_publish(session, server, "/nowhere/a", ["1"]) == (
        401,
        {"errors": [{"errorType": "UnauthorizedException"}]},
    )


@pytest.mark.parametrize("key", [OTHER_KEY, EXPIRED_KEY])
async def test_http_bad_or_expired_key(server: LocalServer, session, key: str) -> None:
    """An unknown or expired key: 401 UnauthorizedException."""
    assert await http_publish(session, server, "/default/a", ["1"], key_auth(key)) == (401, UNAUTHORIZED)


async def test_key_rotation_at_runtime(server: LocalServer, session) -> None:
    """Keys added at runtime work at once; removed keys stop working at once."""
    assert (await http_publish(session, server, "/default/a", ["1"], key_auth(OTHER_KEY)))[0] == 401
    server.keys.add(OTHER_KEY)
    assert (await http_publish(session, server, "/default/a", ["1"], key_auth(OTHER_KEY)))[0] == 200
    server.keys.remove(API_KEY)
    assert (await http_publish(session, server, "/default/a", ["1"]))[0] == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{nope", "not valid JSON"),
        ("[]", "expected a JSON object, got []"),
        ('{"events":["1"]}', "channel must be a string, got null"),
        (
            '{"channel":"/default/*","events":["1"]}',
            "invalid channel '/default/*': '*' is not allowed in a publish channel",
        ),
        ('{"channel":"/default/a","events":"1"}', "events must be a non-empty list of JSON strings, got '1'"),
    ],
)
async def test_http_bad_body(server: LocalServer, session, body: str, message: str) -> None:
    """Malformed bodies: 400 BadRequestException naming the rule."""
    async with session.post(server.ports.http_url, data=body, headers={"x-api-key": API_KEY}) as resp:
        assert (resp.status, await resp.json()) == (
            400,
            {"errors": [{"errorType": "BadRequestException", "message": message}]},
        )


async def test_http_cors_preflight(server: LocalServer, session) -> None:
    """OPTIONS /event answers 204 with CORS headers (browsers publish cross-origin)."""
    async with session.options(server.ports.http_url, headers={"Origin": "http://localhost:5173"}) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_jwks_published(server: LocalServer, session) -> None:
    """GET /.well-known/jwks.json serves the issuer's public RSA key (no private parts)."""
    async with session.get(server.ports.http_url.replace("/event", "/.well-known/jwks.json")) as resp:
        body = await resp.json()
    (key,) = body["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key and "p" not in key
