"""The handler test kit on a small project of its own: direct Lambda result semantics, EVENT invocations, a JS
handler with a Lambda data source, timeouts, hot reload, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventapi.exits import ExitCode
from eventapi.testing import HandlerKit, cognito

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node runs APPSYNC_JS handlers"),
    pytest.mark.clock,
]

FUNCTION = """
import os, time
from pathlib import Path

def handler(event, context):
    info = event["info"]
    if info["channelNamespace"]["name"] == "audit":
        release = Path(os.environ["KIT_DIR"]) / "release"
        deadline = time.time() + 10
        while not release.exists() and time.time() < deadline:
            time.sleep(0.01)
        partial = Path(os.environ["KIT_DIR"]) / "done.tmp"  # then renamed: the test never reads a half-written file
        partial.write_text(str(len(event["events"])))
        partial.replace(partial.with_name("done"))
        return {"events": []}
    if info["channel"]["segments"][-1] == "slow":
        time.sleep(5)
    if info["operation"] == "SUBSCRIBE":
        return None
    if info["channel"]["segments"][-1] == "fail":
        return {"error": "the whole batch is refused"}
    out = []
    for e in event["events"]:
        if e["payload"].get("bad"):
            out.append({"id": e["id"], "error": "bad event"})
        elif not e["payload"].get("drop"):
            out.append({"id": e["id"], "payload": {**e["payload"], "by": (event["identity"] or {}).get("sub")}})
    return {"events": out}
"""

JS_WITH_LAMBDA = """
export const onPublish = {
  request(ctx) {
    ctx.stash.count = ctx.events.length;
    return { operation: 'Invoke', payload: { info: ctx.info, identity: ctx.identity, events: ctx.events } };
  },
  response(ctx) {
    return ctx.result.events.map((e) => ({ ...e, payload: { ...e.payload, seen: ctx.stash.count } }));
  },
};
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kitproject")
    (root / "functions" / "fn").mkdir(parents=True)
    (root / "functions" / "fn" / "handler.py").write_text(textwrap.dedent(FUNCTION))
    (root / "handlers").mkdir()
    (root / "handlers" / "via.js").write_text(JS_WITH_LAMBDA)
    stage = {
        "namespaces": {
            "direct": {"onPublish": {"lambda": "fn"}, "onSubscribe": {"lambda": "fn"}},
            "audit": {"onPublish": {"lambda": "fn", "invokeType": "EVENT"}},
            "via": {"onPublish": {"code": "handlers/via.js", "dataSource": "fn"}},
        },
        "dataSources": {"fn": {"type": "lambda", "function": "fn", "timeoutSeconds": 1}},
    }
    cdk = {"context": {"eventapi": {"app": "kit", "stages": {"test": stage}}}}
    (root / "cdk.json").write_text(json.dumps(cdk))
    return root


@pytest.fixture(scope="module")
def kit(project: Path) -> Iterator[HandlerKit]:
    os.environ["KIT_DIR"] = str(project)  # the worker inherits it
    with HandlerKit.for_stage("test", project) as made:
        yield made


def test_direct_lambda_filters_transforms_and_fails_per_event(kit: HandlerKit) -> None:
    """{"events": [...]} is applied as AppSync applies it: dropped, transformed, and failed-with-error events."""
    out = kit.publish("/direct/room", [{"n": 1}, {"drop": True}, {"bad": True}], identity=cognito(sub="s1"))
    assert [e.payload for e in out.broadcast] == [{"n": 1, "by": "s1"}]
    assert out.failed == ((2, "bad event"),) and out.ok


def test_direct_lambda_top_level_error_fails_the_request(kit: HandlerKit) -> None:
    """{"error": "..."} fails the whole publish with that message."""
    out = kit.publish("/direct/fail", [{"n": 1}])
    assert (out.ok, out.error, out.broadcast) == (False, "the whole batch is refused", ())


def test_direct_lambda_timeout(kit: HandlerKit) -> None:
    """A function running past its timeout fails the request as Lambda reports it; the next call gets a fresh worker."""
    out = kit.publish("/direct/slow", [{"n": 1}])
    assert out.error == "Sandbox.Timedout: Task timed out after 1 seconds"
    assert kit.publish("/direct/room", [{"n": 2}]).broadcast[0].payload == {"n": 2, "by": None}


def test_event_invocation_does_not_block_or_change_the_publish(kit: HandlerKit, project: Path) -> None:
    """EVENT: the publish returns (events unchanged) while the function still waits; the function then runs."""
    out = kit.publish("/audit/x", [{"n": 1}, {"n": 2}])
    # The function is blocked until `release` exists: had the publish waited for it, we would not be here.
    assert [e.payload for e in out.broadcast] == [{"n": 1}, {"n": 2}]
    (project / "release").write_text("go")
    deadline = time.monotonic() + 10
    while not (project / "done").exists() and time.monotonic() < deadline:
        kit.publish("/direct/room", [{}])  # the kit's loop runs the background invocation between calls
    assert (project / "done").read_text() == "2"


def test_js_handler_with_lambda_data_source(kit: HandlerKit) -> None:
    """request() builds an Invoke, the same worker runs it, response() reads ctx.result and the stash."""
    out = kit.publish("/via/room", [{"n": 1}, {"drop": True}], identity=cognito(sub="s2"))
    assert [e.payload for e in out.broadcast] == [{"n": 1, "by": "s2", "seen": 2}]


def test_hot_reload_of_function_and_code(kit: HandlerKit, project: Path) -> None:
    """Editing the function or the JS file takes effect on the next call, without a new kit."""
    fn = project / "functions" / "fn" / "handler.py"
    js = project / "handlers" / "via.js"
    before_fn, before_js = fn.read_text(), js.read_text()
    try:
        fn.write_text(before_fn.replace('"by": (event["identity"] or {}).get("sub")', '"by": "v2"'))
        js.write_text(before_js.replace("seen: ctx.stash.count", "seen: 'v2'"))
        future = time.time() + 5
        os.utime(fn, (future, future))
        os.utime(js, (future, future))
        time.sleep(0.3)  # past the reload check interval
        assert kit.publish("/via/room", [{"n": 1}]).broadcast[0].payload == {"n": 1, "by": "v2", "seen": "v2"}
    finally:
        fn.write_text(before_fn)
        js.write_text(before_js)


def test_cli(project: Path) -> None:
    """`python -m eventapi.local handler test` prints the outcome as JSON; exit 16 (`REFUSED`) when the handler
    refuses with an error."""
    env = {**os.environ, "KIT_DIR": str(project)}
    command = [
        sys.executable,
        "-m",
        "eventapi.local",
        "handler",
        "test",
        "--stage",
        "test",
        "--project-root",
        str(project),
    ]
    done = subprocess.run(
        [*command, "--channel", "/direct/fail", "--events", '[{"n": 1}]'],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout)) == (
        ExitCode.REFUSED,
        {"broadcast": [], "failed": [], "error": "the whole batch is refused", "unauthorized": False},
    )
    bad = subprocess.run(
        [*command, "--channel", "/direct/x", "--identity", "oidc:x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "eventapi-local handler test: --identity: 'oidc:x' is not api-key, cognito:<sub> or iam:<user name>",
    )
