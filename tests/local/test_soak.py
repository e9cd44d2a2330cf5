"""A bounded soak: 200 connections, 50 publishes of 5 events each; zero lost, zero duplicated deliveries."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from eventapi.local.server import LocalServer

from .conftest import connect, http_publish

CONNECTIONS = 200
PUBLISHES = 50
EVENTS = 5


async def test_soak_no_loss_no_duplicates(server: LocalServer) -> None:
    """Every subscriber receives each of the 250 events exactly once, in each publisher's order."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await _soak(server, session)


async def _soak(server: LocalServer, session: aiohttp.ClientSession) -> None:
    conns = await asyncio.gather(*(connect(session, server) for _ in range(CONNECTIONS)))
    for i, ws in enumerate(conns):
        await ws.send(
            {
                "type": "subscribe",
                "id": f"s{i}",
                "channel": "/default/soak/*",
                "authorization": {"x-api-key": ws.auth.api_key},
            }
        )
    for i, ws in enumerate(conns):
        assert await ws.recv() == {"type": "subscribe_success", "id": f"s{i}"}
    assert server.health()["subscriptions"] == CONNECTIONS

    async def publisher(p: int) -> None:
        for k in range(p, PUBLISHES, 5):
            events = [json.dumps({"p": p, "k": k, "e": e}) for e in range(EVENTS)]
            if k % 2:
                status, body = await http_publish(session, server, f"/default/soak/{k}", events)
                assert status == 200 and len(body["successful"]) == EVENTS
            else:
                await conns[k].publish(f"pub{k}", f"/default/soak/{k}", events)

    await asyncio.gather(*(publisher(p) for p in range(5)))
    expected = PUBLISHES * EVENTS

    async def drain(i: int, ws) -> list[dict]:
        got = []
        while len(got) < expected:
            frame = await ws.recv(timeout=10)
            if frame["type"] == "data":
                assert frame["id"] == f"s{i}"
                got.append(json.loads(frame["event"]))
            else:
                assert frame["type"] == "publish_success"
        return got

    results = await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(conns)))
    for got in results:
        keys = [(g["k"], g["e"]) for g in got]
        assert len(keys) == len(set(keys)) == expected
        for p in range(5):
            mine = [(g["k"], g["e"]) for g in got if g["p"] == p]
            assert mine == sorted(mine)
    for ws in conns:
        while True:  # no extra data frame may follow (only a late publish_success)
            try:
                frame = await ws.recv(timeout=0.02)
            except TimeoutError:
                break
            assert frame["type"] == "publish_success"
        await ws.close()
    assert server.broker.deliveries >= CONNECTIONS * expected
