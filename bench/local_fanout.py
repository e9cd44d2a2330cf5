"""Fan-out throughput, latency and CPU of the local Event API against the thinnest aiohttp broadcast server.

For 100 and 1,000 subscribers: several publishers POST single events over keep-alive HTTP to `/event`;
subscriber worker processes count every `data` frame and its publish->delivery latency. The same load runs against
(a) `eventapi.local` (auth, validation, subscription index, per-connection queues) and (b) a bare aiohttp
server written below (no auth, no validation: a list of sockets and `send_str`), the ceiling. Each server runs in
its own subprocess; its CPU seconds over the measured window come from /proc/<pid>/stat.

Prints deliveries/s, p50/p99 latency, CPU µs per delivery, loss and duplicates, and the ratios local/ceiling.
Targets: deliveries/s >= 0.7 x ceiling, CPU per delivery <= 2 x ceiling, zero loss, bounded p99.
127.0.0.1 only; bounded loops; stops by itself. Not a test.

    .venv/bin/python bench/local_fanout.py [--events-100 3000] [--events-1000 400] [--publishers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

API_KEY = "da2-" + "b" * 26
HOST = "127.0.0.1"
CHANNEL = "/default/bench"
TICKS = os.sysconf("SC_CLK_TCK")
DEADLINE_SECONDS = 120


# --- the servers (each runs in its own subprocess) ------------------------------------------------------------


def serve_local(port_file: str) -> None:
    import logging

    from eventapi.local import LocalApiKey, LocalApiSpec, LocalSettings
    from eventapi.local.server import LocalServer

    logging.basicConfig(level=logging.WARNING)
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::AppSync::Api",
                "Properties": {"Name": "bench", "EventConfig": {"AuthProviders": [{"AuthType": "API_KEY"}]}},
            },
            "Ns": {
                "Type": "AWS::AppSync::ChannelNamespace",
                "Properties": {"ApiId": {"Fn::GetAtt": ["Api", "ApiId"]}, "Name": "default"},
            },
        }
    }
    spec = LocalApiSpec.from_template(template)
    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    settings = LocalSettings(port=0, state_dir=state, api_keys=(LocalApiKey(API_KEY),), max_queued_frames=100_000)

    async def main() -> None:
        async with LocalServer(spec, settings) as server:
            Path(port_file).write_text(str(server.ports.http_port))
            await asyncio.sleep(DEADLINE_SECONDS * 3)

    asyncio.run(main())


def serve_thin(port_file: str) -> None:
    from aiohttp import web

    subs: list[tuple[web.WebSocketResponse, str]] = []

    async def publish(request: web.Request) -> web.Response:
        body = await request.json()
        for event in body["events"]:
            tail = json.dumps(event) + "}"
            for ws, prefix in subs:
                await ws.send_str(prefix + tail)
        return web.json_response({"successful": [], "failed": []})

    async def realtime(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("aws-appsync-event-ws",))
        await ws.prepare(request)
        async for msg in ws:
            frame = json.loads(msg.data)
            if frame.get("type") == "subscribe":
                subs.append((ws, '{"type":"data","id":' + json.dumps(frame["id"]) + ',"event":'))
                await ws.send_str(json.dumps({"type": "subscribe_success", "id": frame["id"]}))
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/event", publish)
        app.router.add_get("/event/realtime", realtime)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        Path(port_file).write_text(str(port))
        await asyncio.sleep(DEADLINE_SECONDS * 3)

    asyncio.run(main())


# --- subscriber worker (its own process) ----------------------------------------------------------------------


def subscriber(port: int, count: int, expected: int, out_file: str) -> None:
    import aiohttp

    from eventapi.protocol import subprotocols

    async def main() -> None:
        latencies: list[int] = []
        seen: list[set[int]] = [set() for _ in range(count)]
        duplicates = 0
        last = 0
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            protos = subprotocols({"host": "localhost", "x-api-key": API_KEY})
            sockets = [
                await session.ws_connect(f"ws://{HOST}:{port}/event/realtime", protocols=protos) for _ in range(count)
            ]
            for i, ws in enumerate(sockets):
                await ws.send_str(
                    json.dumps(
                        {
                            "type": "subscribe",
                            "id": f"s{i}",
                            "channel": CHANNEL,
                            "authorization": {"x-api-key": API_KEY},
                        }
                    )
                )
            for ws in sockets:
                while json.loads((await ws.receive(timeout=30)).data)["type"] != "subscribe_success":
                    pass
            print("ready", flush=True)

            async def drain(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
                nonlocal duplicates, last
                mine = seen[i]
                end = time.monotonic() + DEADLINE_SECONDS
                while len(mine) < expected and time.monotonic() < end:
                    msg = await ws.receive(timeout=max(0.1, end - time.monotonic()))
                    frame = json.loads(msg.data)
                    if frame["type"] != "data":
                        continue
                    now = time.time_ns()
                    event = json.loads(frame["event"])
                    latencies.append((now - event["t"]) // 1000)
                    if event["n"] in mine:
                        duplicates += 1
                    mine.add(event["n"])
                    last = max(last, now)

            await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(sockets)), return_exceptions=True)
            received = sum(len(s) for s in seen)
            Path(out_file).write_text(
                json.dumps(
                    {
                        "received": received,
                        "duplicates": duplicates,
                        "lost": count * expected - received,
                        "last_ns": last,
                        "latencies_us": latencies,
                    }
                )
            )
            for ws in sockets:
                await ws.close()

    asyncio.run(main())


# --- the driver -----------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def start(role: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", role, *args], stdout=subprocess.PIPE, text=True)


def wait_file(path: Path, proc: subprocess.Popen[str]) -> str:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return path.read_text()
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError(path)


async def publish_all(port: int, events: int, publishers: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=publishers)) as session:
        headers = {"content-type": "application/json", "x-api-key": API_KEY}
        url = f"http://{HOST}:{port}/event"
        started = time.time_ns()

        async def publisher(p: int) -> None:
            for n in range(p, events, publishers):
                event = json.dumps({"n": n, "t": time.time_ns()})
                body = json.dumps({"channel": CHANNEL, "events": [event]})
                async with session.post(url, data=body, headers=headers) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"publish answered {resp.status}: {await resp.text()}")
                    await resp.read()

        await asyncio.gather(*(publisher(p) for p in range(publishers)))
        return started


def run_case(kind: str, subscribers: int, events: int, publishers: int, workers: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    server = start(f"serve-{kind}", "--port-file", str(tmp / "port"))
    subs: list[subprocess.Popen[str]] = []
    try:
        port = int(wait_file(tmp / "port", server))
        per = [subscribers // workers + (1 if i < subscribers % workers else 0) for i in range(workers)]
        for i, count in enumerate(per):
            subs.append(
                start(
                    "sub",
                    "--port",
                    str(port),
                    "--count",
                    str(count),
                    "--expected",
                    str(events),
                    "--out",
                    str(tmp / f"sub{i}.json"),
                )
            )
        for proc in subs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a subscriber worker failed to start")
        cpu_before = cpu_seconds(server.pid)
        started_ns = asyncio.run(publish_all(port, events, publishers))
        for proc in subs:
            proc.wait(timeout=DEADLINE_SECONDS + 30)
        cpu = cpu_seconds(server.pid) - cpu_before
        results = [json.loads((tmp / f"sub{i}.json").read_text()) for i in range(workers)]
    finally:
        for proc in [*subs, server]:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    latencies = sorted(lat for r in results for lat in r["latencies_us"])
    delivered = sum(r["received"] for r in results)
    window = (max(r["last_ns"] for r in results) - started_ns) / 1e9
    return {
        "server": kind,
        "subscribers": subscribers,
        "events": events,
        "deliveries": delivered,
        "lost": sum(r["lost"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "seconds": window,
        "per_second": delivered / window if window > 0 else 0.0,
        "p50_ms": statistics.median(latencies) / 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] / 1000 if latencies else float("nan"),
        "cpu_us_per_delivery": cpu / delivered * 1e6 if delivered else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="driver")
    parser.add_argument("--port-file")
    parser.add_argument("--port", type=int)
    parser.add_argument("--count", type=int)
    parser.add_argument("--expected", type=int)
    parser.add_argument("--out")
    parser.add_argument("--events-100", type=int, default=3000)
    parser.add_argument("--events-1000", type=int, default=400)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="subscriber worker processes")
    args = parser.parse_args()
    if args.role == "serve-local":
        serve_local(args.port_file)
        return 0
    if args.role == "serve-thin":
        serve_thin(args.port_file)
        return 0
    if args.role == "sub":
        subscriber(args.port, args.count, args.expected, args.out)
        return 0

    header = (
        f"{'server':8} {'subs':>5} {'events':>6} {'deliv/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'cpu us/deliv':>12} {'lost':>5} {'dup':>4}"
    )
    print(header)
    for subscribers, events in ((100, args.events_100), (1000, args.events_1000)):
        rows = {}
        for kind in ("thin", "local"):
            row = run_case(kind, subscribers, events, args.publishers, args.workers)
            rows[kind] = row
            print(
                f"{kind:8} {subscribers:5} {events:6} {row['per_second']:10.0f} {row['p50_ms']:8.2f} "
                f"{row['p99_ms']:8.2f} {row['cpu_us_per_delivery']:12.2f} {row['lost']:5} {row['duplicates']:4}",
                flush=True,
            )
        thin, local = rows["thin"], rows["local"]
        print(
            f"  ratio local/ceiling @ {subscribers} subscribers: deliveries/s "
            f"{local['per_second'] / thin['per_second']:.2f} (target >= 0.7), CPU per delivery "
            f"{local['cpu_us_per_delivery'] / thin['cpu_us_per_delivery']:.2f} (target <= 2.0), "
            f"loss {local['lost']}, duplicates {local['duplicates']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
