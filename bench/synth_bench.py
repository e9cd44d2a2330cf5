"""Synth cost of the full app vs a bare app with a single EventApi and API key.

Two measures, alternating full and bare for N rounds, medians printed with their ratio full/bare:
- per synth run, as `cdk synth` runs it: a fresh Python process each time (jsii start-up included) — the wall
  time a user or CI waits; this is the figure with the target (<= 1.15). app.py leaves right after synth instead
  of waiting ~1-2 s for jsii's Node shutdown; the bare app exits normally, and is also timed with that same fast
  exit for a like-for-like ratio;
- in one warm process (jsii start-up paid once): the marginal cost of our config, constructs and cdk-nag.
Not a test: figures only.

    .venv/bin/python bench/synth_bench.py [rounds]
"""

from __future__ import annotations

import json
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


ROOT = Path(__file__).resolve().parents[1]


def timed_process(name: str) -> float:
    """Wall time of one synth process, started and awaited as the CDK CLI does (`app` in cdk.json)."""
    with tempfile.TemporaryDirectory() as outdir:
        if name == "full":  # the project's own app.py, given its context the way the CLI passes it
            from app import TODAY_KEY, cdk_json_context

            context = json.dumps({**cdk_json_context(), TODAY_KEY: "2026-11-15"})
            argv = [sys.executable, str(ROOT / "app.py")]
            env = {**os.environ, "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": context}
        else:  # a bare app.py: build, synth, then an ordinary exit (or app.py's fast exit, for a like-for-like view)
            argv = [sys.executable, __file__, "--child", "bare", outdir]
            argv += ["--fast-exit"] if name == "bare-fast-exit" else []
            env = dict(os.environ)
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=env, cwd=ROOT)
        elapsed = time.perf_counter() - start
        assert list(Path(outdir).glob("*.template.json")), f"{name}: no template written"
        return elapsed


def report(title: str, full: list[float], bare: list[float], target: str) -> None:
    f, b = statistics.median(full), statistics.median(bare)
    print(title)
    print(f"  bare app (1 EventApi + API key)        : {b * 1000:8.1f} ms")
    print(f"  full app (cdk.json dev + prod, cdk-nag) : {f * 1000:8.1f} ms")
    print(f"  ratio full/bare                         : {f / b:8.2f}  {target}")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        APPS[sys.argv[2]](sys.argv[3])
        if sys.argv[4:5] == ["--fast-exit"]:  # what app.py does after synth: skip jsii's Node shutdown
            os._exit(0)
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    full, bare, bare_fast = [], [], []
    for _ in range(rounds):
        bare.append(timed_process("bare"))
        bare_fast.append(timed_process("bare-fast-exit"))
        full.append(timed_process("full"))
    title = f"per synth run (fresh process, as `cdk synth` runs app.py), median of {rounds}"
    report(title, full, bare, "(target <= 1.15)")
    f, b = statistics.median(full), statistics.median(bare_fast)
    print(f"  like for like: bare app with app.py's fast exit {b * 1000:8.1f} ms; ratio full/that {f / b:.2f}")
    timed(bare_app)  # warm-up: jsii start-up and module loading
    timed(full_app)
    full, bare = [], []
    for _ in range(rounds):
        bare.append(timed(bare_app))
        full.append(timed(full_app))
    report(f"in one warm process (marginal cost), median of {rounds}", full, bare, "(context, no target)")


if __name__ == "__main__":
    main()
