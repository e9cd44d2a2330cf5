"""The prod stage's handlers through the handler test kit: comments (JS + DynamoDB) and users (Python direct Lambda)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from eventapi.exits import ExitCode
from eventapi.testing import HandlerKit, api_key, cognito, iam

# The kit starts moto (an AWS stand-in): the clock marker runs these at other instants too.
pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node runs APPSYNC_JS handlers"),
    pytest.mark.clock,
]


def test_users_subscribe_only_under_own_sub(handler_kit: Callable[[str], HandlerKit]) -> None:
    """A Cognito user may subscribe under /users/<own sub>/ only; another sub, a wildcard above, or no user is refused."""
    kit = handler_kit("prod")
    alice = cognito(sub="a1b2")
    assert kit.subscribe("/users/a1b2/inbox", identity=alice).allowed
    assert kit.subscribe("/users/a1b2/*", identity=alice).allowed
    for channel in ("/users/c3d4/inbox", "/users/*"):
        refused = kit.subscribe(channel, identity=alice)
        assert (refused.allowed, refused.unauthorized, refused.error) == (
            False,
            True,
            "subscribe only under /users/<your sub>/",
        )
    assert kit.subscribe("/users/a1b2/inbox", identity=api_key()).unauthorized


def test_users_publish_has_no_handler(handler_kit: Callable[[str], HandlerKit]) -> None:
    """users has no onPublish: events are broadcast unchanged."""
    out = handler_kit("prod").publish("/users/a1b2/inbox", [{"note": "hi"}], identity=iam())
    assert [e.payload for e in out.broadcast] == [{"note": "hi"}] and out.ok


def test_comments_saved_then_broadcast(handler_kit: Callable[[str], HandlerKit]) -> None:
    """comments: empty ones are dropped; the rest are saved (channel, id, receivedAt) and broadcast with receivedAt."""
    kit = handler_kit("prod")
    out = kit.publish("/comments/7/new", [{"content": "  "}, {"content": "first"}], identity=cognito(sub="u"))
    assert out.ok and out.failed == ()
    (event,) = out.broadcast
    assert sorted(event.payload) == ["content", "receivedAt"] and event.payload["content"] == "first"
    saved = [i for i in kit.items("comments") if i["channel"] == "/comments/7/new"]
    assert saved == [
        {"channel": "/comments/7/new", "id": event.id, "content": "first", "receivedAt": event.payload["receivedAt"]}
    ]


def test_comments_all_empty_skips_the_table(handler_kit: Callable[[str], HandlerKit]) -> None:
    """Only empty comments: runtime.earlyReturn([]) ends the handler before DynamoDB; nothing is broadcast."""
    kit = handler_kit("prod")
    out = kit.publish("/comments/8/new", [{"content": ""}], identity=cognito(sub="u"))
    assert (out.ok, out.broadcast) == (True, ())
    assert not [i for i in kit.items("comments") if i["channel"] == "/comments/8/new"]


def test_cli_refusal_as_unauthorized_exits_as_the_client_would(pytestconfig: pytest.Config) -> None:
    """`handler test`: a handler's Unauthorized exits 4 (`UNAUTHORIZED`), the code the client exits with for it.
    (A process of its own: the session's kit already holds the stage's tables in this one.)"""
    root = Path(pytestconfig.rootpath)
    argv = ["handler", "test", "--stage", "prod", "--project-root", str(root), "--operation", "subscribe"]
    done = subprocess.run(
        [sys.executable, "-m", "eventapi.local", *argv, "--channel", "/users/c3d4/inbox", "--identity", "cognito:a1b2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout), done.stderr) == (
        ExitCode.UNAUTHORIZED,
        {"allowed": False, "error": "subscribe only under /users/<your sub>/", "unauthorized": True},
        "",
    )
