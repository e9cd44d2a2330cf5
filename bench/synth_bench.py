"""Synth cost of the full app vs a bare app with a single EventApi and API key.

Two measures, alternating full and bare for N rounds, medians printed with their ratio full/bare:
- per synth run, as `cdk synth` runs it: a fresh Python process each time (jsii start-up included) — the wall
  time a user or CI waits; this is the figure with the target (<= 1.15);
- in one warm process (jsii start-up paid once): the marginal cost of our config, constructs and cdk-nag.
Not a test: figures only.

    .venv/bin/python bench/synth_bench.py [rounds]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Imports happen inside each app function, so a fresh process pays only what that app's `app.py` would import.


def full_app(outdir: str) -> None:
    from app import TODAY_KEY, build_app, cdk_json_context

    build_app({**cdk_json_context(), TODAY_KEY: "2026-11-15"}, outdir=outdir).synth()


def bare_app(outdir: str) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_appsync as appsync

    app = cdk.App(outdir=outdir, analytics_reporting=False)
    stack = cdk.Stack(app, "Bare")
    appsync.EventApi(
        stack,
        "Api",
        api_name="bare",
        authorization_config=appsync.EventApiAuthConfig(
            auth_providers=[appsync.AppSyncAuthProvider(authorization_type=appsync.AppSyncAuthorizationType.API_KEY)]
        ),
    )
    app.synth()


def timed(fn: Callable[[str], None]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        fn(outdir)
        return time.perf_counter() - start


APPS = {"full": full_app, "bare": bare_app}


def timed_process(name: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", name], check=True)
    return time.perf_counter() - start


def report(title: str, full: list[float], bare: list[float], target: str) -> None:
    f, b = statistics.median(full), statistics.median(bare)
    print(title)
    print(f"  bare app (1 EventApi + API key)        : {b * 1000:8.1f} ms")
    print(f"  full app (cdk.json dev + prod, cdk-nag) : {f * 1000:8.1f} ms")
    print(f"  ratio full/bare                         : {f / b:8.2f}  {target}")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        timed(APPS[sys.argv[2]])
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    full, bare = [], []
    for _ in range(rounds):
        bare.append(timed_process("bare"))
        full.append(timed_process("full"))
    title = f"per synth run (fresh process, as `cdk synth` runs app.py), median of {rounds}"
    report(title, full, bare, "(target <= 1.15)")
    timed(bare_app)  # warm-up: jsii start-up and module loading
    timed(full_app)
    full, bare = [], []
    for _ in range(rounds):
        bare.append(timed(bare_app))
        full.append(timed(full_app))
    report(f"in one warm process (marginal cost), median of {rounds}", full, bare, "(context, no target)")


if __name__ == "__main__":
    main()
