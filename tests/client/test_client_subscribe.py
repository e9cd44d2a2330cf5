"""Subscriptions over the socket: delivery, wildcard rules, unsubscribe, reconnect, keep-alive watchdog, auth."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.credentials import Credentials

from eventapi.client import (
    ClientClosedError,
    Event,
    EventsClient,
    EventsConfig,
    Gap,
    Iam,
    Subscription,
    UnauthorizedError,
)
from eventapi.protocol import BroadcastError, EventError, Subscribe, Unsubscribe
from tests.client.conftest import fast_client
from tests.client.fake_server import FakeEventApi


async def next_event(sub: Subscription, timeout: float = 2.0) -> Event:
    async with asyncio.timeout(timeout):
        return await anext(sub)


async def test_subscribe_receives_published_events(fake: FakeEventApi) -> None:
    """A subscription gets each event once, parsed, with the raw string kept."""
    async with fast_client(fake.config()) as client:
        sub = await client.subscribe("/default/*")
        await client.publish("/default/greetings/tutorial", {"msg": "hi"}, [1, 2])
        first, second = await next_event(sub), await next_event(sub)
    assert (first.raw, first.data, first.channel, first.after_gap) == (
        '{"msg":"hi"}',
        {"msg": "hi"},
        "/default/*",
        False,
    )
    assert second.data == [1, 2]
    subscribe = next(f for f in fake.frames if isinstance(f, Subscribe))
    assert (subscribe.channel, subscribe.authorization) == ("/default/*", {"x-api-key": "da2-test"})


async def test_wildcard_does_not_receive_the_parent(fake: FakeEventApi) -> None:
    """`/default/comments/1/*` receives `/default/comments/1/new` but not `/default/comments/1`."""
    async with fast_client(fake.config()) as client:
        sub = await client.subscribe("/default/comments/1/*")
        await client.publish("/default/comments/1", "parent")
        await client.publish("/default/comments/1/new", "child")
        assert (await next_event(sub)).data == "child"


async def test_slow_reader_buffer_is_bounded(fake: FakeEventApi) -> None:
    """A reader that falls behind keeps at most max_buffered events; the next one after a drop is marked a gap."""
    async with fast_client(fake.config()) as client:
        sub = await client.subscribe("/default/*", max_buffered=3)
        await client.publish("/default/a", 1, 2, 3, 4, 5)
        async with asyncio.timeout(2):
            while sub.dropped < 2:
                await asyncio.sleep(0.01)
        got = [(await next_event(sub)).data for _ in range(3)]
        await client.publish("/default/a", 6)
        after = await next_event(sub)
    assert (got, sub.dropped) == ([1, 2, 3], 2)
    assert (after.data, after.after_gap) == (6, True)


async def test_unsubscribe_ends_iteration(fake: FakeEventApi) -> None:
    """unsubscribe sends `unsubscribe` with the subscription id, is confirmed, and ends the iterator."""
    async with fast_client(fake.config()) as client:
        async with await client.subscribe("/default/x") as sub:
            pass
        assert [e async for e in sub] == []
        await sub.unsubscribe()  # idempotent
    assert [f for f in fake.frames if isinstance(f, Unsubscribe)] == [Unsubscribe(sub.id)]


async def test_subscribe_refused_is_typed(fake: FakeEventApi) -> None:
    """A subscribe_error with UnauthorizedException raises UnauthorizedError with the exact message."""
    async with fast_client(fake.config()) as client:
        await client.publish("/default/x", 1)  # the socket is not needed for HTTP
        fake.api_key = "da2-rotated"  # the connection was not opened yet: connect now fails
        with pytest.raises(UnauthorizedError) as err:
            await client.subscribe("/default/x")
    assert str(err.value) == "UnauthorizedException: You are not authorized to make this call."
    assert fake.refused_connections == 1


async def test_subscribe_error_after_connect(fake: FakeEventApi) -> None:
    """With a good connection but a bad per-subscribe key, subscribe raises and the socket stays usable."""
    from eventapi.client import Static
    from eventapi.protocol import ApiKeyAuth

    class WrongForOperations(ApiKeyAuth):
        def operation_auth(self, host: str, body: str) -> dict[str, str]:
            return {"x-api-key": "da2-wrong"}

    async with fast_client(fake.config(), auth=Static(WrongForOperations("da2-test"))) as client:
        with pytest.raises(UnauthorizedError) as err:
            await client.subscribe("/default/x")
        assert err.value.error_code == 401
        assert client.connected


async def test_broadcast_error_is_recorded_not_fatal(fake: FakeEventApi) -> None:
    """A broadcast_error is kept on the subscription (and logged); events keep flowing."""
    async with fast_client(fake.config()) as client:
        sub = await client.subscribe("/default/x")
        error = EventError("MessageProcessingError", "handler failed")
        await fake.send_to_all(BroadcastError(sub.id, (error,)))
        await client.publish("/default/x", "still here", via="ws")
        assert (await next_event(sub)).data == "still here"
    assert sub.broadcast_errors == [error]


async def test_reconnect_resubscribes_and_reports_the_gap(fake: FakeEventApi) -> None:
    """When the server drops the socket, the client reconnects, resubscribes, calls on_gap, flags the next event."""
    gaps: list[Gap] = []
    reported = asyncio.Event()

    async def on_gap(gap: Gap) -> None:
        gaps.append(gap)
        reported.set()

    async with fast_client(fake.config(), on_gap=on_gap) as client:
        sub = await client.subscribe("/default/*")
        await fake.drop_all()
        async with asyncio.timeout(2):
            await reported.wait()
        await client.publish("/default/after", "after")
        event = await next_event(sub)
        assert (event.data, event.after_gap) == ("after", True)
        await client.publish("/default/after", "again")
        assert (await next_event(sub)).after_gap is False
    assert fake.connections == 2
    assert client.reconnects == 1
    assert [(g.reconnects, g.channels) for g in gaps] == [(1, ("/default/*",))]
    assert gaps[0].reason.startswith("closed by the server") or gaps[0].reason.startswith("socket error")
    assert [f.id for f in fake.frames if isinstance(f, Subscribe)] == [sub.id, sub.id]


async def test_keepalive_watchdog_reconnects(fake: FakeEventApi) -> None:
    """No `ka` within keepalive_timeout: the client closes the socket and reconnects."""
    gaps: list[Gap] = []
    async with fast_client(fake.config(), keepalive_timeout=0.1, on_gap=gaps.append) as client:
        await client.subscribe("/default/x")
        fake.send_ka = False
        async with asyncio.timeout(2):
            while not gaps:
                await asyncio.sleep(0.01)
        fake.send_ka = True
    assert gaps[0].reason == "no keep-alive within 0.1 s"
    assert fake.connections >= 2


async def test_connection_timeout_from_ack(fake: FakeEventApi) -> None:
    """Without an override, the watchdog window is the ack's connectionTimeoutMs."""
    fake.connection_timeout_ms = 80
    fake.send_ka = False
    gaps: list[Gap] = []
    async with fast_client(fake.config(), on_gap=gaps.append) as client:
        await client.subscribe("/default/x")
        async with asyncio.timeout(2):
            while not gaps:
                await asyncio.sleep(0.01)
    assert gaps[0].reason == "no keep-alive within 0.08 s"


async def test_rotated_key_read_on_reconnect(fake: FakeEventApi) -> None:
    """A callable config is read again before reconnecting, so a rotated API key is used."""
    current = {"key": "da2-test"}
    reported = asyncio.Event()
    async with fast_client(lambda: fake.config(api_key=current["key"]), on_gap=lambda gap: reported.set()) as client:
        sub = await client.subscribe("/default/x")
        current["key"] = fake.api_key = "da2-rotated"
        await fake.drop_all()
        async with asyncio.timeout(2):
            await reported.wait()
        await client.publish("/default/x", "ok", via="ws")
        assert (await next_event(sub)).data == "ok"
    assert fake.refused_connections == 0


async def test_reconnect_backs_off_while_refused(fake: FakeEventApi, caplog: pytest.LogCaptureFixture) -> None:
    """While reconnects are refused, the client retries with backoff, gives up after max attempts, logs no key."""
    caplog.set_level(logging.DEBUG)
    async with fast_client(fake.config(), max_reconnect_attempts=3) as client:
        sub = await client.subscribe("/default/x")
        fake.api_key = "da2-rotated"
        await fake.drop_all()
        with pytest.raises(UnauthorizedError):
            await next_event(sub)
    assert fake.refused_connections == 3
    assert "giving up after 3 reconnect attempts: UnauthorizedException" in caplog.text
    assert "da2-" not in caplog.text


async def test_iam_subscribe_signature_verified(fake: FakeEventApi) -> None:
    """IAM: connect signs `{}`, subscribe signs `{"channel"}`; the server verifies both with botocore."""
    fake.iam_secrets = {"AKIDTEST": "secret-key"}
    auth = Iam(credentials=Credentials("AKIDTEST", "secret-key", "tok"))
    fixed = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        async with fast_client(fake.config(api_key=None), auth=auth) as client:
            sub = await client.subscribe("/default/*")
            await client.publish("/default/a", 1, via="ws")
            assert (await next_event(sub)).data == 1
    subscribe = next(f for f in fake.frames if isinstance(f, Subscribe))
    assert subscribe.authorization is not None
    assert subscribe.authorization["X-Amz-Date"] == "20261128T120000Z"
    assert subscribe.authorization["X-Amz-Security-Token"] == "tok"


async def test_auth_in_upgrade_headers(fake: FakeEventApi) -> None:
    """auth_transport="headers" sends the auth object as upgrade headers, as native clients do."""
    async with fast_client(fake.config(), auth_transport="headers") as client:
        await client.subscribe("/default/x")
    assert fake.connections == 1


async def test_clean_shutdown_leaves_no_tasks_or_warnings(fake: FakeEventApi) -> None:
    """Closing ends subscriptions, cancels every task and leaves no unclosed session/socket warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with fast_client(fake.config()) as client:
            sub = await client.subscribe("/default/*")
            await client.publish("/default/x", 1, via="ws")
        assert [e.data async for e in sub] == [1]  # what arrived before close, then the end
        await asyncio.sleep(0)
        gc.collect()
    client_tasks = [t for t in asyncio.all_tasks() if "eventapi/client" in t.get_coro().cr_code.co_filename]  # type: ignore[union-attr]
    assert client_tasks == []
    assert [str(w.message) for w in caught] == []
    with pytest.raises(ClientClosedError) as err:
        await client.publish("/default/x", 1)
    assert str(err.value) == "the client is not open; use `async with EventsClient(...)`"


async def test_iteration_ends_when_client_closes(fake: FakeEventApi) -> None:
    """A consumer blocked in `async for` finishes when the client closes."""
    async with fast_client(fake.config()) as client:
        sub = await client.subscribe("/default/x")
        consumer = asyncio.create_task(anext(sub, None))
        await asyncio.sleep(0.01)
    assert await asyncio.wait_for(consumer, 1) is None


async def test_repr_hides_secrets(fake: FakeEventApi) -> None:
    """Neither the config, the client nor the auth provider shows the API key."""
    config = fake.config(api_key="da2-supersecret")
    client = EventsClient(config)
    for text in (repr(config), repr(client), str(config.to_json())):
        assert "da2-supersecret" not in text
    assert repr(client) == f"EventsClient('http://{fake.host}/event', auth=ApiKey(<from config>))"
    assert isinstance(config, EventsConfig)
