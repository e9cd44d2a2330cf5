"""Fixtures for client tests: a fake Event API on port 0 and a client tuned for millisecond timings."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from eventapi.client import Backoff, EventsClient
from tests.client.fake_server import FakeEventApi

FAST = {"connect_timeout": 2.0, "operation_timeout": 2.0, "backoff": Backoff(initial=0.005, maximum=0.02)}


@pytest.fixture
async def fake() -> AsyncIterator[FakeEventApi]:
    server = FakeEventApi()
    await server.start()
    yield server
    await server.stop()


def fast_client(config: Any, **kwargs: Any) -> EventsClient:
    return EventsClient(config, **{**FAST, **kwargs})


def interruptible() -> None:
    """`preexec_fn` for a CLI a test sends Ctrl-C: SIGINT back to its default. A job started in the background of a
    script without job control inherits SIGINT ignored (POSIX), and so would the CLI: it would never see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
