"""The publish/subscribe pipeline on its own: what a namespace handler receives (ctx), how its answer or its error
becomes the result a client gets, which namespaces run a handler, and how refusals are logged. A stand-in runs the
handlers (tests/local/test_handlers.py runs real ones in Node)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from eventapi.local import LocalApiSpec
from eventapi.local.auth import Authenticator
from eventapi.local.handlers import HandlerError, HandlerResult
from eventapi.local.issuer import LocalIssuer
from eventapi.local.pipeline import Pipeline, Rejected, auth_from_headers
from eventapi.local.settings import ApiKeyStore
from eventapi.protocol import Channel, EventError

from .authorizers import Recording
from .conftest import API_KEY, OTHER_KEY, make_settings

KEY = {"x-api-key": API_KEY}
LAMBDA = {"Authorization": "Bearer good"}
BIG = "x" * (250 * 1024)


class Handlers:
    """Stands in for the handler runner of some namespaces: records each call's ctx, answers with `respond(ctx)`
    (a HandlerResult, or a value returned as the handler's) or raises `error`."""

    def __init__(
        self, *namespaces: str, respond: Callable[[dict[str, Any]], Any] | None = None, error: Exception | None = None
    ) -> None:
        self.namespaces = frozenset(namespaces)
        self.respond = respond
        self.error = error
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, namespace: str, function: str, ctx: Mapping[str, Any]) -> HandlerResult:
        self.calls.append((namespace, function, dict(ctx)))
        if self.error is not None:
            raise self.error
        if self.respond is None:
            return HandlerResult(missing=True)
        value = self.respond(dict(ctx))
        return value if isinstance(value, HandlerResult) else HandlerResult(missing=False, value=value)


class Delivered:
    """The fan-out: what each publish let through, by channel path."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[str]]] = []

    def __call__(self, channel: Channel, events: Sequence[str]) -> None:
        self.batches.append((channel.path, list(events)))


@pytest.fixture
def make_pipeline(spec: LocalApiSpec, state_dir: Path) -> Any:
    """A pipeline for the conformance API with `handlers`; returns it and its fan-out."""

    def make(handlers: Handlers | None, **overrides: Any) -> tuple[Pipeline, Delivered]:
        settings = make_settings(state_dir, **overrides)
        issuer = LocalIssuer.load_or_create(state_dir)
        auth = Authenticator(spec, settings, ApiKeyStore(settings.api_keys), issuer)
        delivered = Delivered()
        namespaces = {ns.name: ns for ns in spec.namespaces}
        return Pipeline(spec.connection_modes, namespaces, auth, handlers, delivered), delivered  # type: ignore[arg-type]

    return make


def test_auth_from_headers_keeps_only_the_auth_object() -> None:
    """A request's headers minus the WebSocket handshake's, cookies and the browser's own: the auth object."""
    headers = {
        "Host": "api.example.com",
        "X-Api-Key": API_KEY,
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": "k",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "aws-appsync-event-ws",
        "Sec-WebSocket-Extensions": "permessage-deflate",
        "Cookie": "session=1",
        "Origin": "http://localhost:5173",
        "User-Agent": "test",
        "Pragma": "no-cache",
        "Cache-Control": "no-cache",
        "Accept-Encoding": "gzip",
        "Accept-Language": "en",
    }
    assert auth_from_headers(headers) == {"Host": "api.example.com", "X-Api-Key": API_KEY}


async def test_on_publish_gets_the_context(make_pipeline: Any) -> None:
    """onPublish gets the identity, the request's headers (lowercased, no cookies or WebSocket handshake) and host,
    the channel and namespace, the operation, an empty stash, and each event with its id and parsed payload."""
    handlers = Handlers("default", respond=lambda ctx: None)
    pipeline, _ = make_pipeline(handlers, lambda_authorizer=Recording(handlerContext={"user": "u"}))
    headers = {"Cookie": "c=1", "host": "api.example.com", "Sec-WebSocket-Key": "k", "X-Custom": "1"}

    successful, failed = await pipeline.publish("/default/room", ('{"a":1}', '"two"'), LAMBDA, "", headers)

    ((namespace, function, ctx),) = handlers.calls
    assert (namespace, function, failed) == ("default", "onPublish", ())
    assert ctx == {
        "identity": {"handlerContext": {"user": "u"}},
        "request": {"headers": {"host": "api.example.com", "x-custom": "1"}, "domainName": "api.example.com"},
        "info": {
            "channel": {"path": "/default/room", "segments": ["default", "room"]},
            "channelNamespace": {"name": "default"},
            "operation": "PUBLISH",
        },
        "stash": {},
        "events": [
            {"id": successful[0].identifier, "payload": {"a": 1}},
            {"id": successful[1].identifier, "payload": "two"},
        ],
    }


async def test_on_subscribe_gets_the_context(make_pipeline: Any) -> None:
    """onSubscribe gets the same context without events; an API key has no identity; without a Host header the
    domain is localhost; a header sent several times is a list."""
    handlers = Handlers("default", respond=lambda ctx: None)
    pipeline, _ = make_pipeline(handlers)
    headers = CIMultiDict([("X-Many", "one"), ("x-many", "two"), ("X-Many", "three")])

    assert await pipeline.subscribe("/default/room/*", KEY, headers) == Channel(("default", "room", "*"))

    ((namespace, function, ctx),) = handlers.calls
    assert (namespace, function) == ("default", "onSubscribe")
    assert ctx == {
        "identity": None,
        "request": {"headers": {"x-many": ["one", "two", "three"]}, "domainName": "localhost"},
        "info": {
            "channel": {"path": "/default/room/*", "segments": ["default", "room", "*"]},
            "channelNamespace": {"name": "default"},
            "operation": "SUBSCRIBE",
        },
        "stash": {},
    }


async def test_only_namespaces_with_a_handler_run_one(make_pipeline: Any) -> None:
    """A namespace runs its handler only when the runner has one for it; without a runner, none does."""
    handlers = Handlers("guarded", respond=lambda ctx: [])
    pipeline, delivered = make_pipeline(handlers)
    await pipeline.publish("/default/a", ("1",), KEY, "", {})
    await pipeline.subscribe("/default/a", KEY, {})
    assert (handlers.calls, delivered.batches) == ([], [("/default/a", ["1"])])
    await pipeline.publish("/guarded/a", ("1",), KEY, "", {})
    await pipeline.subscribe("/guarded/a", KEY, {})
    assert [(ns, function) for ns, function, _ in handlers.calls] == [
        ("guarded", "onPublish"),
        ("guarded", "onSubscribe"),
    ]
    plain, delivered = make_pipeline(None)
    await plain.publish("/guarded/a", ("1",), KEY, "", {})
    assert delivered.batches == [("/guarded/a", ["1"])]


def answer_by_index(*items: Callable[[list[str]], Any]) -> Callable[[dict[str, Any]], list[Any]]:
    """A handler answer built from the ids of the events it got."""
    return lambda ctx: [item([event["id"] for event in ctx["events"]]) for item in items]


async def test_on_publish_answer_decides_each_event(make_pipeline: Any, caplog: pytest.LogCaptureFixture) -> None:
    """onPublish's list decides: an entry with an id and payload is delivered (re-encoded compactly, in the list's
    order, text kept as is); one with an error fails that event; an `error` of null is no error; entries that are
    not objects, or name an unknown id, are dropped (an unknown id logged); events it leaves out are not delivered
    but count as successful."""
    caplog.set_level(logging.WARNING, logger="eventapi.local")
    handlers = Handlers(
        "default",
        respond=answer_by_index(
            lambda ids: "not an object",
            lambda ids: {"id": "unknown", "error": "ignored"},
            lambda ids: {"id": "unknown", "payload": 1},
            lambda ids: {"id": 7, "payload": 1},
            lambda ids: {"id": [ids[0]], "payload": 1},
            lambda ids: {"id": ids[0], "payload": {"b": "é", "n": [1, 2]}},
            lambda ids: {"id": ids[2], "error": "no thanks"},
            lambda ids: {"id": ids[1], "error": None, "payload": 3},
        ),
    )
    pipeline, delivered = make_pipeline(handlers)

    successful, failed = await pipeline.publish("/default/a", ("1", "2", "3", "4"), KEY, "", {})

    assert delivered.batches == [("/default/a", ['{"b":"é","n":[1,2]}', "3"])]
    assert [s.index for s in successful] == [0, 1, 3]
    assert [(f.index, f.code, f.message) for f in failed] == [(2, "MessageProcessingError", "no thanks")]
    assert failed[0].identifier == handlers.calls[0][2]["events"][2]["id"]
    assert [r.getMessage() for r in caplog.records] == [
        "namespace 'default': onPublish returned an event with an unknown id; dropped"
    ] * 3


async def test_failed_events_come_back_in_event_order(make_pipeline: Any) -> None:
    """Failures from the handler and events it grew past 240 KB come back ordered by event index."""
    handlers = Handlers(
        "default",
        respond=answer_by_index(
            lambda ids: {"id": ids[2], "error": "late"},
            lambda ids: {"id": ids[1], "payload": BIG},
            lambda ids: {"id": ids[0], "error": "early"},
        ),
    )
    pipeline, delivered = make_pipeline(handlers)
    successful, failed = await pipeline.publish("/default/a", ("1", "2", "3"), KEY, "", {})
    assert (successful, delivered.batches) == ((), [])
    assert [(f.index, f.code, f.message) for f in failed] == [
        (0, "MessageProcessingError", "early"),
        (1, "EventTooLargeException", "Transformed event is larger than 240KB"),
        (2, "MessageProcessingError", "late"),
    ]


async def test_on_publish_without_a_list(make_pipeline: Any) -> None:
    """No onPublish export delivers the events unchanged; a null answer delivers nothing; any other non-list answer
    fails the publish with a 500 MessageProcessingError saying what it must return."""
    pipeline, delivered = make_pipeline(Handlers("default"))
    await pipeline.publish("/default/a", ('{"a": 1}',), KEY, "", {})
    assert delivered.batches == [("/default/a", ['{"a": 1}'])]
    pipeline, delivered = make_pipeline(Handlers("default", respond=lambda ctx: None))
    successful, failed = await pipeline.publish("/default/a", ("1",), KEY, "", {})
    assert (len(successful), failed, delivered.batches) == (1, (), [])
    pipeline, _ = make_pipeline(Handlers("default", respond=lambda ctx: {"id": ctx["events"][0]["id"]}))
    with pytest.raises(Rejected) as err:
        await pipeline.publish("/default/a", ("1",), KEY, "", {})
    assert (err.value.status, err.value.error) == (
        500,
        EventError("MessageProcessingError", "onPublish must return a list of events"),
    )


UNAUTHORIZED = EventError("UnauthorizedException", "You are not authorized to make this call.", 401)


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (HandlerError("unauthorized", "Unauthorized"), 401, UNAUTHORIZED),
        (HandlerError("error", "bad event", "CustomError"), 403, EventError("CustomError", "bad event")),
        (HandlerError("error", ""), 403, EventError("MessageProcessingError")),
        (
            HandlerError("timeout", "onPublish timed out after 0.5s"),
            500,
            EventError("MessageProcessingError", "onPublish timed out after 0.5s"),
        ),
        (HandlerError("crash", "y" * 600), 500, EventError("MessageProcessingError", "y" * 500)),
        (HandlerError("crash", ""), 500, EventError("MessageProcessingError")),
    ],
    ids=["unauthorized", "error-with-type", "error-bare", "timeout", "crash-long", "crash-bare"],
)
async def test_on_publish_errors(make_pipeline: Any, error: HandlerError, status: int, expected: EventError) -> None:
    """A handler's util.unauthorized() is 401 UnauthorizedException; util.error() is 403 with its type (else
    MessageProcessingError); a crash or timeout is 500 with at most 500 characters of its message; none delivers."""
    pipeline, delivered = make_pipeline(Handlers("default", error=error))
    with pytest.raises(Rejected) as err:
        await pipeline.publish("/default/a", ("1",), KEY, "", {})
    assert (err.value.status, err.value.error, str(err.value), delivered.batches) == (
        status,
        expected,
        str(expected),
        [],
    )


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (HandlerError("unauthorized", "Unauthorized"), 401, EventError("Unauthorized", "Unauthorized")),
        (HandlerError("unauthorized", ""), 401, EventError("Unauthorized")),
        (HandlerError("error", "broken", "CustomError"), 403, EventError("CustomError", "broken")),
        (HandlerError("error", "refused"), 403, EventError("SubscriptionProcessingError", "refused")),
        (HandlerError("crash", ""), 403, EventError("SubscriptionProcessingError")),
    ],
    ids=["unauthorized", "unauthorized-bare", "error-with-type", "error", "crash-bare"],
)
async def test_on_subscribe_errors(make_pipeline: Any, error: HandlerError, status: int, expected: EventError) -> None:
    """onSubscribe's util.unauthorized() is 401 Unauthorized; any other failure is 403 with its type (else
    SubscriptionProcessingError) and message."""
    pipeline, _ = make_pipeline(Handlers("default", error=error))
    with pytest.raises(Rejected) as err:
        await pipeline.subscribe("/default/a", KEY, {})
    assert (err.value.status, err.value.error) == (status, expected)


async def test_refusals_are_logged_with_operation_channel_and_reason(
    make_pipeline: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused connect is logged at info, a refused subscribe or publish at debug (clients retry those), each
    naming the operation, the channel and the reason, never the credential."""
    caplog.set_level(logging.DEBUG, logger="eventapi.local")
    pipeline, _ = make_pipeline(None)
    bad = {"x-api-key": OTHER_KEY}
    for attempt in (
        pipeline.connect(bad, {}),
        pipeline.subscribe("/default/a", bad, {}),
        pipeline.publish("/default/b", ("1",), bad, "", {}),
    ):
        with pytest.raises(Rejected) as err:
            await attempt
        assert (err.value.status, err.value.error) == (401, UNAUTHORIZED)
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "eventapi.local"]
    assert records == [
        ("INFO", "EVENT_CONNECT refused: unknown or expired API key"),
        ("DEBUG", "EVENT_SUBSCRIBE to /default/a refused: unknown or expired API key"),
        ("DEBUG", "EVENT_PUBLISH to /default/b refused: unknown or expired API key"),
    ]
    assert OTHER_KEY not in caplog.text


async def test_the_lambda_authorizer_sees_each_requests_headers(make_pipeline: Any) -> None:
    """Connect, subscribe and publish pass their request's headers on to the Lambda authorizer."""
    authorizer = Recording()
    pipeline, _ = make_pipeline(None, lambda_authorizer=authorizer)
    await pipeline.connect(LAMBDA, {"X-Step": "connect"})
    await pipeline.subscribe("/default/a", LAMBDA, {"X-Step": "subscribe"})
    await pipeline.publish("/default/a", ("1",), LAMBDA, "", {"X-Step": "publish"})
    assert [r["requestHeaders"] for r in authorizer.events] == [
        {"x-step": "connect"},
        {"x-step": "subscribe"},
        {"x-step": "publish"},
    ]
    assert [r["requestContext"]["operation"] for r in authorizer.events] == [
        "EVENT_CONNECT",
        "EVENT_SUBSCRIBE",
        "EVENT_PUBLISH",
    ]
