"""Publish throughput of EventsClient: pooled HTTP session vs a new connection per publish vs the socket.

    .venv/bin/python bench/client_publish.py [--count 500]

Runs a minimal Event API (aiohttp, eventapi.protocol) in-process on 127.0.0.1 and publishes `--count` single-event
requests sequentially in each mode; prints requests/s and the ratios. Server and client share one event loop and
one core, so the absolute numbers are a floor; the ratios are the point. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Literal

from aiohttp import WSMsgType, web

from eventapi.client import EventsClient, EventsConfig
from eventapi.protocol import (
    SUBPROTOCOL,
    ConnectionAck,
    ConnectionInit,
    ProtocolViolation,
    Publish,
    PublishResponse,
    PublishSuccess,
    SuccessfulEvent,
    encode,
    parse_client_message,
    parse_http_publish,
)

API_KEY = "da2-bench"


async def http_publish(request: web.Request) -> web.Response:
    if request.headers.get("x-api-key") != API_KEY:
        return web.json_response({"errors": [{"errorType": "UnauthorizedException"}]}, status=401)
    try:
        publish = parse_http_publish(await request.read())
    except ProtocolViolation as violation:
        return web.json_response(violation.http_reply().to_json(), status=violation.http_status)
    ok = tuple(SuccessfulEvent(str(uuid.uuid4()), i) for i in range(len(publish.events)))
    return web.json_response(PublishResponse(ok).to_json())


async def realtime(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=[SUBPROTOCOL])
    await ws.prepare(request)
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        frame = parse_client_message(msg.data)
        if isinstance(frame, ConnectionInit):
            await ws.send_str(encode(ConnectionAck()))
        elif isinstance(frame, Publish):
            ok = tuple(SuccessfulEvent(str(uuid.uuid4()), i) for i in range(len(frame.events)))
            await ws.send_str(encode(PublishSuccess(frame.id, ok)))
    return ws


async def measure(config: EventsConfig, count: int, *, via: Literal["http", "ws"], keepalive: bool) -> float:
    async with EventsClient(config, http_keepalive=keepalive) as client:
        await client.publish("/default/bench", {"warm": True}, via=via)
        start = time.perf_counter()
        for i in range(count):
            result = await client.publish("/default/bench", {"i": i}, via=via)
            result.raise_for_failures()
        return count / (time.perf_counter() - start)


async def run(count: int) -> None:
    app = web.Application()
    app.router.add_post("/event", http_publish)
    app.router.add_get("/event/realtime", realtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = EventsConfig.create(f"http://127.0.0.1:{port}/event", "eu-west-1", api_key=API_KEY)
    try:
        pooled = await measure(config, count, via="http", keepalive=True)
        fresh = await measure(config, count, via="http", keepalive=False)
        socket = await measure(config, count, via="ws", keepalive=True)
    finally:
        await runner.cleanup()
    print(f"{count} sequential single-event publishes against 127.0.0.1 (in-process aiohttp server)")
    print(f"  HTTP, one pooled keep-alive session : {pooled:8.0f} req/s")
    print(f"  HTTP, new connection per publish    : {fresh:8.0f} req/s")
    print(f"  WebSocket (via='ws')                : {socket:8.0f} req/s")
    print(f"  pooled / new connection = {pooled / fresh:.2f}x; socket / pooled = {socket / pooled:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="publishes per mode (default 500)")
    args = parser.parse_args()
    asyncio.run(run(max(1, min(args.count, 100_000))))


if __name__ == "__main__":
    main()
