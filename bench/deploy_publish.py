"""AWS API calls and wall time of `publish` for a stage with 10 namespaces: first run vs an unchanged rerun.

    .venv/bin/python bench/deploy_publish.py [--runs 3]

Starts a moto server (ThreadedMotoServer on 127.0.0.1, a free port), makes an Event API, its key and a stack with
the outputs there, then runs `eventapi.deploy.publish` against it through AWS_ENDPOINT_URL, as a user would.
Calls are counted with botocore `before-call` event hooks on the session; a write is any Put/Delete/Create/Update/
AddTags call. The rerun must make 0 write calls. Wall time is the median of `--runs` reruns (the first run is
measured once). Not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from eventapi.config import load_stage  # noqa: E402
from eventapi.deploy import publish  # noqa: E402
from eventapi.outputs import Output  # noqa: E402

REGION = "eu-west-1"
WRITES = ("Put", "Delete", "Create", "Update", "AddTags", "RemoveTags")


def project_with_namespaces(root: Path, count: int) -> Path:
    stage = {
        "region": REGION,
        "auth": {"providers": {"apiKey": {}, "iam": {}}, "connect": ["API_KEY", "AWS_IAM"]},
        "namespaces": {f"ns{i}": {} for i in range(count)},
    }
    context = {"eventapi": {"app": "bench", "stages": {"dev": stage}}}
    (root / "cdk.json").write_text(json.dumps({"app": "true", "context": context}), encoding="utf-8")
    return root


def deploy_stage(session: Any) -> None:
    appsync = session.client("appsync")
    mode = [{"authType": "API_KEY"}]
    config = {
        "authProviders": mode,
        "connectionAuthModes": mode,
        "defaultPublishAuthModes": mode,
        "defaultSubscribeAuthModes": mode,
    }
    api = appsync.create_api(name="bench-dev", eventConfig=config)["api"]
    for i in range(10):
        appsync.create_channel_namespace(apiId=api["apiId"], name=f"ns{i}")
    expires = int((datetime.now(UTC) + timedelta(days=200)).timestamp())
    appsync.create_api_key(apiId=api["apiId"], description="bench", expires=expires)
    http, realtime = api["dns"]["HTTP"], api["dns"]["REALTIME"]
    outputs = {
        Output.API_ID.value: api["apiId"],
        Output.HTTP_ENDPOINT.value: f"https://{http}/event",
        Output.REALTIME_ENDPOINT.value: f"wss://{realtime}/event/realtime",
        Output.HTTP_HOST.value: http,
        Output.REALTIME_HOST.value: realtime,
        Output.REGION.value: REGION,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(StackName="Bench-dev", TemplateBody=json.dumps(template))


def measure(session: Any, stage: Any) -> tuple[float, Counter[str]]:
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    session.events.register("before-call", record)
    start = time.perf_counter()
    publish(session, stage)
    elapsed = time.perf_counter() - start
    session.events.unregister("before-call", record)
    return elapsed, calls


def show(label: str, elapsed: float, calls: Counter[str]) -> None:
    writes = sum(n for op, n in calls.items() if op.startswith(WRITES))
    detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    print(f"{label:<16} {sum(calls.values()):>3} calls ({writes:>2} writes)  {elapsed * 1000:7.1f} ms   {detail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="reruns to time (median)")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines from the moto server
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stage = load_stage("dev", project_with_namespaces(Path(tmp), 10))
            deploy_stage(boto3.Session())
            first = measure(boto3.Session(), stage)
            reruns = [measure(boto3.Session(), stage) for _ in range(args.runs)]
    finally:
        server.stop()

    print(f"publish, stage with {len(stage.namespaces)} namespaces, moto server on 127.0.0.1:{port}")
    show("first run", *first)
    median = statistics.median(t for t, _ in reruns)
    show(f"rerun (median {args.runs})", median, reruns[0][1])
    rerun_writes = [sum(n for op, n in c.items() if op.startswith(WRITES)) for _, c in reruns]
    print(f"rerun write calls: {rerun_writes} (must be all 0)")
    return 0 if not any(rerun_writes) else 1


if __name__ == "__main__":
    sys.exit(main())
