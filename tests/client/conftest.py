"""Fixtures for client tests: a fake Event API on port 0 and a client tuned for millisecond timings."""

from __future__ import annotations

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
