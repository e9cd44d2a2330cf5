"""What a namespace handler adds to local fan-out: no handler vs APPSYNC_JS vs direct Python Lambda vs JS + DynamoDB.

One local Event API (a subprocess, with moto for the DynamoDB table) serves four namespaces of a small project:
`plain` (no handler, the baseline), `js` (an onPublish function), `lambda` (a direct Lambda onPublish in Powertools'
AppSyncEventsResolver, run by the persistent worker) and `jsddb` (a JS onPublish that batchPuts to DynamoDB, then
broadcasts). For each, publishers POST single events over keep-alive HTTP while WebSocket subscribers (this
process) record the publish->delivery latency. Prints deliveries/s, p50/p99 latency and what the handler adds to
p50/p99 over `plain`, all from the same run. Target: the Lambda path adds under 5 ms at p50. Not a test.

    .venv/bin/python bench/handler_fanout.py [--events 300] [--subscribers 20] [--publishers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

API_KEY = "da2-" + "c" * 26
HOST = "127.0.0.1"
NAMESPACES = ("plain", "js", "lambda", "jsddb")

JS = """
export function onPublish(ctx) {
  return ctx.events.map((e) => ({ id: e.id, payload: { ...e.payload, seen: true } }));
}
"""
JS_DDB = """
import * as ddb from '@aws-appsync/utils/dynamodb';
const TABLE = 'bench-local-events';
export const onPublish = {
  request(ctx) {
    const channel = ctx.info.channel.path;
    return ddb.batchPut({ tables: { [TABLE]: ctx.events.map(({ id, payload }) => ({ ...payload, channel, id })) } });
  },
  response(ctx) {
    return ctx.result.data[TABLE].map(({ channel, id, ...payload }) => ({ id, payload }));
  },
};
"""
FUNCTION = """
from aws_lambda_powertools.event_handler import AppSyncEventsResolver

app = AppSyncEventsResolver()


@app.on_publish("/lambda/*")
def stamp(payload):
    return {**payload, "seen": True}


def handler(event, context):
    return app.resolve(event, context)
"""


def make_project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-handlers-"))
    (root / "handlers").mkdir()
    (root / "handlers" / "js.js").write_text(JS)
    (root / "handlers" / "jsddb.js").write_text(JS_DDB)
    (root / "functions" / "stamp").mkdir(parents=True)
    (root / "functions" / "stamp" / "handler.py").write_text(FUNCTION)
    stage = {
        "auth": {"providers": {"apiKey": {}}},
        "namespaces": {
            "plain": {},
            "js": {"onPublish": {"code": "handlers/js.js"}},
            "lambda": {"onPublish": {"lambda": "stamp"}},
            "jsddb": {"onPublish": {"code": "handlers/jsddb.js", "dataSource": "events"}},
        },
        "dataSources": {
            "stamp": {"type": "lambda", "function": "stamp"},
            "events": {"type": "dynamodb", "partitionKey": "channel", "sortKey": "id"},
        },
    }
    (root / "cdk.json").write_text(json.dumps({"context": {"eventapi": {"app": "bench", "stages": {"local": stage}}}}))
    return root


def serve(project: str, port_file: str) -> None:
    """The server process: moto (DynamoDB) + the local Event API for the project's stage."""
    import logging

    from eventapi.config import load_stage
    from eventapi.local import LocalApiKey, LocalSettings
    from eventapi.local.control_plane import MotoServer, local_client
    from eventapi.local.integrations import create_tables
    from eventapi.local.server import LocalServer
    from eventapi.testing.kit import spec_for_stage

    logging.basicConfig(level=logging.WARNING)
    root = Path(project)
    spec = spec_for_stage(load_stage("local", root))
    moto = MotoServer(port=0).start()
    create_tables(local_client("dynamodb", moto.endpoint_url, region="eu-west-1"), spec)
    settings = LocalSettings(
        port=0,
        state_dir=root / "state",
        api_keys=(LocalApiKey(API_KEY),),
        region="eu-west-1",
        project_root=root,
        aws_endpoint_url=moto.endpoint_url,
        max_queued_frames=100_000,
    )

    async def main() -> None:
        async with LocalServer(spec, settings) as server:
            Path(port_file).write_text(str(server.ports.http_port))
            await asyncio.sleep(600)

    asyncio.run(main())


async def run_namespace(port: int, namespace: str, events: int, subscribers: int, publishers: int) -> dict[str, Any]:
    import aiohttp

    from eventapi.protocol import subprotocols

    latencies: list[float] = []
    received = 0
    channel = f"/{namespace}/bench"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        protos = subprotocols({"host": "localhost", "x-api-key": API_KEY})
        sockets = [
            await session.ws_connect(f"ws://{HOST}:{port}/event/realtime", protocols=protos) for _ in range(subscribers)
        ]
        for i, ws in enumerate(sockets):
            await ws.send_str(
                json.dumps(
                    {
                        "type": "subscribe",
                        "id": f"s{i}",
                        "channel": f"/{namespace}/*",
                        "authorization": {"x-api-key": API_KEY},
                    }
                )
            )
            while json.loads((await ws.receive(timeout=30)).data)["type"] != "subscribe_success":
                pass
        expected = events * subscribers
        done = asyncio.Event()

        async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal received
            while not done.is_set():
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                frame = json.loads(msg.data)
                if frame["type"] == "data":
                    latencies.append((time.time_ns() - json.loads(frame["event"])["t"]) / 1e6)
                    received += 1
                    if received >= expected:
                        done.set()

        drains = [asyncio.ensure_future(drain(ws)) for ws in sockets]
        headers = {"content-type": "application/json", "x-api-key": API_KEY}
        started = time.monotonic()

        async def publisher(p: int) -> None:
            for n in range(p, events, publishers):
                body = json.dumps({"channel": channel, "events": [json.dumps({"n": n, "t": time.time_ns()})]})
                async with session.post(f"http://{HOST}:{port}/event", data=body, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()

        await asyncio.gather(*(publisher(p) for p in range(publishers)))
        await asyncio.wait_for(done.wait(), 60)
        elapsed = time.monotonic() - started
        for task in drains:
            task.cancel()
        for ws in sockets:
            await ws.close()
    return {"received": received, "elapsed": elapsed, "latencies": latencies}


def summarize(runs: list[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(x for r in runs for x in r["latencies"])
    return {
        "deliveries_per_s": sum(r["received"] for r in runs) / sum(r["elapsed"] for r in runs),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
    }


async def worker_round_trips(project: Path, count: int) -> list[float]:
    """The persistent worker alone: AppSync-shaped publish events through the stamp function, one at a time."""
    from eventapi.local.lambda_worker import LambdaWorker, LocalFunction

    worker = LambdaWorker(LocalFunction(name="stamp", directory=project / "functions" / "stamp"))
    event = {
        "info": {
            "channel": {"path": "/lambda/x", "segments": ["lambda", "x"]},
            "channelNamespace": {"name": "lambda"},
            "operation": "PUBLISH",
        },
        "identity": None,
        "request": {"headers": {}, "domainName": None},
        "stash": {},
        "outErrors": [],
        "events": [{"id": "1", "payload": {"n": 1}}],
    }
    await worker.invoke(event)  # the cold start
    out = []
    for _ in range(count):
        started = time.perf_counter()
        await worker.invoke(event)
        out.append((time.perf_counter() - started) * 1000)
    await worker.close()
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="driver")
    parser.add_argument("--project")
    parser.add_argument("--port-file")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, namespaces interleaved within each")
    args = parser.parse_args()
    if args.role == "serve":
        serve(args.project, args.port_file)
        return
    project = make_project()
    port_file = project / "port"
    server = subprocess.Popen(
        [sys.executable, __file__, "--role", "serve", "--project", str(project), "--port-file", str(port_file)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        runs: dict[str, list[dict[str, Any]]] = {ns: [] for ns in NAMESPACES}
        for ns in NAMESPACES:
            asyncio.run(run_namespace(port, ns, 20, 2, 1))  # warm-up: Node helper, worker import, moto table
        for _ in range(args.rounds):  # interleaved, so a noisy moment spreads over every namespace
            for ns in NAMESPACES:
                per_round = args.events // args.rounds
                runs[ns].append(asyncio.run(run_namespace(port, ns, per_round, args.subscribers, args.publishers)))
        results = {ns: summarize(r) for ns, r in runs.items()}
    finally:
        server.terminate()
        server.wait(10)
    base = results["plain"]
    print(f"local fan-out, {args.events} events x {args.subscribers} subscribers, {args.publishers} publishers")
    print(
        f"{'namespace':<10} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8} "
        f"{'x rate':>7}"
    )
    for ns, r in results.items():
        print(
            f"{ns:<10} {r['deliveries_per_s']:>13.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['p50_ms'] - base['p50_ms']:>8.2f} {r['p99_ms'] - base['p99_ms']:>8.2f} "
            f"{r['deliveries_per_s'] / base['deliveries_per_s']:>7.2f}"
        )
    added = results["lambda"]["p50_ms"] - base["p50_ms"]
    print(
        f"direct Lambda adds {added:.2f} ms at p50 through the server (target < 5 ms): "
        f"{'met' if added < 5 else 'NOT met'}"
    )
    trips = asyncio.run(worker_round_trips(project, 500))
    print(
        f"persistent worker alone (Powertools resolver, 500 invocations): p50 {statistics.median(trips):.2f} ms, "
        f"p99 {trips[int(len(trips) * 0.99) - 1]:.2f} ms per invocation"
    )


if __name__ == "__main__":
    main()
