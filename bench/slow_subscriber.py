"""Server memory under a subscriber that never reads: RSS of the local Event API with and without the byte cap.

One WebSocket subscribes to one channel (200 times, then once) and then never reads; HTTP publishes of 5 events x
200 KB follow, every event going to each of those subscriptions. The server runs in a subprocess; its RSS comes from
/proc/<pid>/status after each publish. Two runs in one invocation:

- `capped`: the settings as shipped (`max_queued_bytes`, 16 MiB): the socket is closed with 1013 once its queue
  would pass the cap, and memory stays flat;
- `frames only`: `max_queued_bytes` set out of reach, so only the 10,000-frame limit applies;
- `baseline` (with `--baseline-path DIR [--baseline-python PY]`): the server of another checkout, e.g. the commit
  before the byte cap and the shared frame tails, with its own defaults.

Prints RSS before, peak, growth and whether the socket was closed. 127.0.0.1 only; bounded; not a test.

    .venv/bin/python bench/slow_subscriber.py [--publishes 20] [--subscriptions 200]
    .venv/bin/python bench/slow_subscriber.py --publishes 5 --baseline-path ../main \
        --baseline-python ../main/.venv/bin/python
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "da2-" + "s" * 26
CHANNEL = "/default/slow"
EVENT_BYTES = 200_000
UNCAPPED = 1 << 40
TEMPLATE = {
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


def serve(port_file: str, state_dir: str, max_queued_bytes: int | None) -> None:
    """The server subprocess: serve on an ephemeral port, write the port, run until killed."""
    import dataclasses

    from eventapi.local import LocalApiKey, LocalApiSpec, LocalSettings
    from eventapi.local.server import LocalServer

    fields = {f.name for f in dataclasses.fields(LocalSettings)}
    extra: dict[str, Any] = {}
    if max_queued_bytes is not None and "max_queued_bytes" in fields:
        extra["max_queued_bytes"] = max_queued_bytes

    async def main() -> None:
        settings = LocalSettings(port=0, state_dir=Path(state_dir), api_keys=(LocalApiKey(API_KEY),), **extra)
        async with LocalServer(LocalApiSpec.from_template(TEMPLATE), settings) as server:
            Path(port_file).write_text(str(server.ports.http_port))
            await asyncio.Event().wait()

    asyncio.run(main())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(
    subscriptions: int, publishes: int, python: str, path: Path, max_queued_bytes: int | None
) -> dict[str, Any]:
    import aiohttp

    from eventapi.protocol import ApiKeyAuth, compact_json, subprotocols

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        env = {**os.environ, "PYTHONPATH": str(path)}
        cap = "none" if max_queued_bytes is None else str(max_queued_bytes)
        proc = subprocess.Popen([python, __file__, "--serve", str(port_file), tmp, cap], env=env)
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start")
                await asyncio.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            auth = ApiKeyAuth(API_KEY)
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(
                    f"{base}/event/realtime".replace("http", "ws"),
                    protocols=subprotocols(auth.connect_auth("127.0.0.1")),
                )
                for n in range(subscriptions):
                    await ws.send_str(json.dumps({"type": "subscribe", "id": f"s{n}", "channel": CHANNEL}))
                answered = 0
                while answered < subscriptions:
                    frame = json.loads((await ws.receive(timeout=10)).data)
                    answered += frame["type"] == "subscribe_success"
                # From here on the socket is never read.
                before = rss_mb(proc.pid)
                peak = before
                events = [compact_json({"n": i, "pad": "x" * EVENT_BYTES}) for i in range(5)]
                body = compact_json({"channel": CHANNEL, "events": events})
                for _ in range(publishes):
                    async with session.post(f"{base}/event", data=body, headers=auth.http_headers("", body)) as r:
                        await r.read()
                    await asyncio.sleep(0.3)
                    peak = max(peak, rss_mb(proc.pid))
                async with session.get(f"{base}/health") as r:
                    connections = (await r.json())["connections"]
                await ws.close()
        finally:
            proc.kill()
            proc.wait()
    return {"before": before, "peak": peak, "closed": connections == 0}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], None if sys.argv[4] == "none" else int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--baseline-path", type=Path, help="another checkout to measure as the baseline")
    parser.add_argument("--baseline-python", default=sys.executable, help="the baseline checkout's interpreter")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    runs: list[tuple[str, str, Path, int | None]] = [
        ("capped", sys.executable, ROOT, None),
        ("frames only", sys.executable, ROOT, UNCAPPED),
    ]
    if args.baseline_path is not None:
        runs.append(("baseline", args.baseline_python, args.baseline_path.resolve(), None))
    for subscriptions, publishes in ((args.subscriptions, args.publishes), (1, 40)):
        print(
            f"{subscriptions} subscription(s) on one never-reading socket; {publishes} HTTP publishes of "
            f"5 x {EVENT_BYTES // 1000} KB"
        )
        growth = {}
        for name, python, path, cap in runs:
            r = asyncio.run(measure(subscriptions, publishes, python, path, cap))
            growth[name] = r["peak"] - r["before"]
            print(
                f"  {name:11} RSS {r['before']:7.1f} MB -> peak {r['peak']:7.1f} MB (+{growth[name]:.1f} MB); "
                f"socket {'closed (1013)' if r['closed'] else 'still open'}"
            )
        for name, grown in growth.items():
            if name != "capped":
                print(f"  growth capped / {name}: {growth['capped'] / max(grown, 0.1):.3f}")


if __name__ == "__main__":
    main()
