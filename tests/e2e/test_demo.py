"""`make demo`: the seed post's scenario, deployed locally on a machine without AWS credentials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eventapi import demo
from eventapi.exits import ExitCode
from tests.e2e.conftest import ARTICLE_ID, ROOT, offline_env

pytestmark = pytest.mark.clock

PARENT = f"/default/comments/{ARTICLE_ID}"


def test_demo_receives_the_seed_comment_on_a_child_channel(state_dir: Path) -> None:
    """`python -m eventapi.local demo` exits 0, prints the received comment and the wildcard note, leaks no key."""
    # Given a fresh environment with no AWS credentials or profile
    # When the demo runs (synth, moto, local Event API, post-deploy publish, client from SSM)
    done = subprocess.run(
        [sys.executable, "-m", "eventapi.local", "demo", "--stage", "dev"],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    # Then the comment published to the child channel arrives, the parent's does not, and all is shut down
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"published   {PARENT}  over HTTP (the seed post's channel): accepted" in lines
    assert f"published   {PARENT}/new  over HTTP (a child channel): accepted" in lines
    assert (
        f"received    comment by jesse millman: 'unreal blog post my guy, sockets are great!'  (from {PARENT}/new)"
    ) in lines
    assert (
        f"note        nothing came from {PARENT}: a '/*' subscription receives deeper channels, never the parent; "
        "publish to a child channel (or subscribe to the exact channel)"
    ) in lines
    assert lines[-1] == "demo ok: comment received; moto and the local Event API are stopped"
    assert "da2-" not in done.stdout + done.stderr
    assert done.stderr == ""


def test_demo_fails_with_one_line_for_an_unknown_stage(state_dir: Path) -> None:
    """`python -m eventapi.demo --stage nope` exits 3 with one line naming the known stages."""
    done = subprocess.run(
        [sys.executable, "-m", "eventapi.demo", "--stage", "nope"],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "eventapi demo: cdk.json: stage: 'nope' is not a stage in cdk.json; choose one of dev, prod"
    ]


def test_demo_unexpected_error_is_one_line_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception the demo does not expect: one line naming it, the key masked, exit 1, no traceback."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    async def broken(*_: object, **__: object) -> int:
        raise AttributeError(f"no attribute for {key}\n  and a second line")

    monkeypatch.setattr(demo, "run_demo", broken)
    assert demo.main(["--stage", "dev"]) == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == (
        "",
        "eventapi demo: unexpected AttributeError: no attribute for da2-<redacted> and a second line\n",
    )
