"""Scale: 10,000 idle subscribers on the local Event API against a bare aiohttp WebSocket server, in one run.

N WebSocket connections (default 10,000, `--subscribers`) are opened at once from several client processes and
held open, first against (a) a bare aiohttp server written below (upgrade, then read until closed: no auth, no
protocol; the ceiling), then against (b) `eventapi.local` (API key in the `header-` subprotocol, connection
registry, writer task and bounded queue per connection, subscription index). Each server runs in its own
subprocess. Measured:

- memory per connection: the server's RSS growth (VmRSS in /proc/<pid>/status, read after a 100-connection
  warm-up and again with all N open) divided by N;
- connects/s: N over the time from the clients' start to the last connection being ready. Ready means, for the
  local Event API, upgraded, acknowledged (`connection_init` -> `connection_ack`) and subscribed to a channel of
  its own (`subscribe` -> `subscribe_success`, API key in `authorization`): three round trips; for the bare
  server, the upgrade answered: one. Also the server's CPU µs per connection over that window (/proc/<pid>/stat);
- the ratios local/ceiling.

The clients speak WebSocket over plain asyncio streams (the handshake and a few masked frames written by hand) rather
than aiohttp's client, so they cost the machine far less CPU than the server does and the figures are the server's.
Every process raises RLIMIT_NOFILE to its hard limit; N is capped to what that limit allows, with a note. Both sides
listen with a backlog of 1024. A server's connect phase ends after 45 s even if not all N are open (a busy machine):
its row then says how many were, and the rates are over those 45 s. 127.0.0.1 only; every wait is bounded; stops by
itself. Not a test.

    .venv/bin/python bench/local_scale.py [--subscribers 10000] [--workers 4] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

API_KEY = "da2-" + "c" * 26
HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")
DEADLINE_SECONDS = 45  # for one server's connect phase: keeps a run on a busy machine near 2 minutes
WARMUP = 100
BACKLOG = 1024  # what eventapi.local's listening socket uses
FD_RESERVE = 200  # descriptors a process needs besides its sockets


def raise_fd_limit() -> int:
    """Raise this process's RLIMIT_NOFILE soft limit to the hard limit; returns it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the servers (each runs in its own subprocess) ------------------------------------------------------------


def serve_local(port_file: str) -> None:
    import logging

    from eventapi.local import LocalApiKey, LocalApiSpec, LocalSettings
    from eventapi.local.server import LocalServer

    raise_fd_limit()
    logging.basicConfig(level=logging.WARNING)
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::AppSync::Api",
                "Properties": {"Name": "scale", "EventConfig": {"AuthProviders": [{"AuthType": "API_KEY"}]}},
            },
            "Ns": {
                "Type": "AWS::AppSync::ChannelNamespace",
                "Properties": {"ApiId": {"Fn::GetAtt": ["Api", "ApiId"]}, "Name": "default"},
            },
        }
    }
    spec = LocalApiSpec.from_template(template)
    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    settings = LocalSettings(host=HOST, port=0, state_dir=state, api_keys=(LocalApiKey(API_KEY),))

    async def main() -> None:
        async with LocalServer(spec, settings) as server:
            Path(port_file).write_text(str(server.ports.http_port))
            await asyncio.sleep(DEADLINE_SECONDS * 3)

    asyncio.run(main())


def serve_bare(port_file: str) -> None:
    from aiohttp import web

    raise_fd_limit()
    open_sockets = 0

    async def realtime(request: web.Request) -> web.WebSocketResponse:
        nonlocal open_sockets
        ws = web.WebSocketResponse(protocols=("aws-appsync-event-ws",))
        try:
            await ws.prepare(request)
        except ConnectionResetError:  # the client gave up mid-handshake (the phase's deadline)
            return ws
        open_sockets += 1
        try:
            async for _ in ws:
                pass
        finally:
            open_sockets -= 1
        return ws

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"connections": open_sockets})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/event/realtime", realtime)
        app.router.add_get("/health", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=BACKLOG)
        await site.start()
        Path(port_file).write_text(str(runner.addresses[0][1]))
        await asyncio.sleep(DEADLINE_SECONDS * 3)

    asyncio.run(main())


# --- a minimal WebSocket client over asyncio streams ----------------------------------------------------------


def client_frame(text: str) -> bytes:
    """One masked text frame, as a client must send it."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next server frame (never masked) as JSON; a close frame is an error."""
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    payload = await reader.readexactly(size)
    if head[0] & 0x0F == 0x8:
        raise ConnectionError(f"closed by the server ({int.from_bytes(payload[:2], 'big') if payload else '?'})")
    frame: dict[str, Any] = json.loads(payload)
    return frame


async def expect(reader: asyncio.StreamReader, wanted: str) -> None:
    while True:
        frame = await read_frame(reader)
        if frame.get("type") == wanted:
            return
        if frame.get("type") != "ka":
            raise ConnectionError(f"expected {wanted}, got {json.dumps(frame)[:200]}")


async def open_socket(port: int, kind: str, index: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open one WebSocket; for the local Event API also connection_init/ack and one subscribe."""
    from eventapi.protocol import encode_auth_subprotocol

    reader, writer = await asyncio.open_connection(HOST, port)
    protocols = "aws-appsync-event-ws"
    if kind == "local":
        protocols += ", " + encode_auth_subprotocol({"host": f"{HOST}:{port}", "x-api-key": API_KEY})
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /event/realtime HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocols}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    if kind == "local":
        writer.write(client_frame('{"type":"connection_init"}'))
        await expect(reader, "connection_ack")
        subscribe = {
            "type": "subscribe",
            "id": "s1",
            "channel": f"/default/idle/c{index}",
            "authorization": {"x-api-key": API_KEY},
        }
        writer.write(client_frame(json.dumps(subscribe, separators=(",", ":"))))
        await expect(reader, "subscribe_success")
    return reader, writer


async def open_many(port: int, kind: str, count: int, first: int, concurrency: int) -> dict[str, Any]:
    """Open `count` sockets, at most `concurrency` handshakes at a time; they stay open (returned in `held`)."""
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            try:
                held.append(await open_socket(port, kind, index))
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as err:
                errors.append(f"{type(err).__name__}: {err}")

    start = time.monotonic()
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            await asyncio.gather(*(one(first + i) for i in range(count)))
    except TimeoutError:
        errors.append(f"not done within {DEADLINE_SECONDS} s")
    return {
        "start": start,
        "end": time.monotonic(),
        "ok": len(held),
        "failed": count - len(held),
        "error": errors[0] if errors else None,
        "held": held,
    }


def worker(port: int, kind: str, count: int, first: int, concurrency: int) -> None:
    """A client process: 'ready', wait for 'go', open its sockets, report, hold them until 'close' (or EOF)."""
    raise_fd_limit()

    async def main() -> None:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        if (await loop.run_in_executor(None, sys.stdin.readline)).strip() != "go":
            return
        result = await open_many(port, kind, count, first, concurrency)
        held = result.pop("held")
        print(json.dumps(result), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), DEADLINE_SECONDS)
        for _, writer in held:
            writer.transport.abort()

    asyncio.run(main())


# --- the driver -----------------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def start(role: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--role", role, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def wait_file(path: Path, proc: subprocess.Popen[str]) -> str:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return path.read_text()
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError(path)


def open_connections(port: int) -> int:
    """The server's own count of open WebSockets (`/health`), to check that all N are held at measurement time."""
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=10) as response:
        return int(json.load(response)["connections"])


def warm_up(port: int, kind: str) -> None:
    """Open and close a few connections so the server's first-use costs are not counted per connection."""

    async def run() -> None:
        result = await open_many(port, kind, WARMUP, 0, 16)
        if result["failed"]:
            raise RuntimeError(f"warm-up failed: {result['error']}")
        for _, writer in result["held"]:
            writer.close()
        await asyncio.sleep(0.5)

    asyncio.run(run())


def run_case(kind: str, subscribers: int, workers: int, concurrency: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    server = start(f"serve-{kind}", "--port-file", str(tmp / "port"))
    clients: list[subprocess.Popen[str]] = []
    try:
        port = int(wait_file(tmp / "port", server))
        warm_up(port, kind)
        per = [subscribers // workers + (1 if i < subscribers % workers else 0) for i in range(workers)]
        first = 0
        for count in per:
            clients.append(
                start(
                    "client",
                    "--port",
                    str(port),
                    "--kind",
                    kind,
                    "--count",
                    str(count),
                    "--first",
                    str(WARMUP + first),
                    "--concurrency",
                    str(concurrency),
                )
            )
            first += count
        for proc in clients:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a client process failed to start")
        time.sleep(0.5)
        rss_before, cpu_before = rss_kib(server.pid), cpu_seconds(server.pid)
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in clients:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("a client process ended without a result")
            results.append(json.loads(line))
        cpu = cpu_seconds(server.pid) - cpu_before
        time.sleep(1.0)  # let the server finish what the last handshakes started
        rss_after = rss_kib(server.pid)
        held = open_connections(port)
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("close\n")
            proc.stdin.flush()
        for proc in clients:
            proc.wait(timeout=30)
    finally:
        for proc in [*clients, server]:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    ok = sum(r["ok"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "server": kind,
        "connections": ok,
        "failed": sum(r["failed"] for r in results),
        "held": held,
        "error": next((r["error"] for r in results if r["error"]), None),
        "seconds": seconds,
        "per_second": ok / seconds if seconds > 0 else 0.0,
        "cpu_us": cpu / ok * 1e6 if ok else float("nan"),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "kib_per_connection": (rss_after - rss_before) / ok if ok else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--role", default="driver")
    parser.add_argument("--port-file")
    parser.add_argument("--port", type=int)
    parser.add_argument("--kind")
    parser.add_argument("--count", type=int)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--subscribers", type=int, default=10_000, help="connections held open at once")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--concurrency", type=int, default=32, help="handshakes in flight per client process")
    args = parser.parse_args()
    if args.role == "serve-local":
        serve_local(args.port_file)
        return 0
    if args.role == "serve-bare":
        serve_bare(args.port_file)
        return 0
    if args.role == "client":
        worker(args.port, args.kind, args.count, args.first, args.concurrency)
        return 0

    limit = raise_fd_limit()
    subscribers = min(args.subscribers, limit - FD_RESERVE - WARMUP)
    if subscribers < args.subscribers:
        print(
            f"note: RLIMIT_NOFILE's hard limit is {limit}: {subscribers} connections instead of "
            f"{args.subscribers} (raise it with `ulimit -Hn` as root)"
        )
    workers = max(args.workers, -(-subscribers // (limit - FD_RESERVE)))
    print(
        f"{subscribers} idle WebSocket connections, {workers} client processes, "
        f"{args.concurrency} handshakes in flight each"
    )
    print(
        f"{'server':7} {'conns':>6} {'failed':>6} {'connect s':>9} {'conns/s':>8} {'cpu us/conn':>11} "
        f"{'RSS before MiB':>14} {'RSS after MiB':>13} {'KiB/conn':>8}"
    )
    rows = {}
    for kind in ("bare", "local"):
        row = run_case(kind, subscribers, workers, args.concurrency)
        rows[kind] = row
        print(
            f"{kind:7} {row['connections']:6} {row['failed']:6} {row['seconds']:9.2f} {row['per_second']:8.0f} "
            f"{row['cpu_us']:11.0f} {row['rss_before'] / 1024:14.1f} {row['rss_after'] / 1024:13.1f} "
            f"{row['kib_per_connection']:8.1f}",
            flush=True,
        )
        if row["failed"] or row["held"] != row["connections"]:
            print(f"  {kind}: {row['failed']} failed ({row['error']}); the server held {row['held']}", flush=True)
    bare, local = rows["bare"], rows["local"]
    print(
        f"ratio local/ceiling: connects/s {local['per_second'] / bare['per_second']:.2f} (local: upgrade + "
        f"connection_init/ack + subscribe; ceiling: upgrade only), server CPU per connection "
        f"{local['cpu_us'] / bare['cpu_us']:.2f}, memory per connection "
        f"{local['kib_per_connection'] / bare['kib_per_connection']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
