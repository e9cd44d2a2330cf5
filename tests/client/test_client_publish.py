"""HTTP and socket publishing: exact bodies, chunking to 5, per-event failures, error mapping, refresh, IAM."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.credentials import Credentials

from eventapi.client import (
    ApiKey,
    BadRequestError,
    Cognito,
    EventsClient,
    Iam,
    Lambda,
    Oidc,
    PublishFailedError,
    Token,
    UnauthorizedError,
    UnexpectedResponseError,
)
from eventapi.protocol import AuthHeaders, ChannelError, FailedEvent, Publish, SuccessfulEvent, TokenAuth
from eventapi.protocol.modes import AuthMode
from tests.client.conftest import fast_client
from tests.client.fake_server import FakeEventApi


async def test_http_publish_sends_the_documented_body(fake: FakeEventApi) -> None:
    """One event goes out as {"channel","events":[JSON string]} with x-api-key; the result lists it."""
    async with fast_client(fake.config()) as client:
        result = await client.publish("default/greetings/", {"msg": "hi"})
    headers, body = fake.http_requests[0]
    assert body == '{"channel":"/default/greetings","events":["{\\"msg\\":\\"hi\\"}"]}'
    assert headers["x-api-key"] == "da2-test"
    assert headers["Content-Type"] == "application/json"
    assert [s.index for s in result.successful] == [0]
    assert result.failed == ()
    assert result.ok


async def test_twelve_events_are_chunked_in_fives(fake: FakeEventApi) -> None:
    """12 events become requests of 5, 5 and 2, in order; indices refer to the whole call."""
    async with fast_client(fake.config()) as client:
        result = await client.publish("/default/x", *range(12))
    sent = [json.loads(body)["events"] for _, body in fake.http_requests]
    assert sent == [["0", "1", "2", "3", "4"], ["5", "6", "7", "8", "9"], ["10", "11"]]
    assert [s.index for s in result.successful] == list(range(12))


async def test_socket_publish_chunks_six_events(fake: FakeEventApi) -> None:
    """Over the socket, 6 events become two publish frames of 5 and 1, each with its own authorization."""
    async with fast_client(fake.config()) as client:
        result = await client.publish("/default/x", *"abcdef", via="ws")
    frames = [f for f in fake.frames if isinstance(f, Publish)]
    assert [f.events for f in frames] == [('"a"', '"b"', '"c"', '"d"', '"e"'), ('"f"',)]
    assert all(f.authorization == {"x-api-key": "da2-test"} for f in frames)
    assert [s.index for s in result.successful] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("via", ["http", "ws"])
async def test_per_event_failures_are_returned(fake: FakeEventApi, via: str) -> None:
    """An oversize event comes back in failed[] with its index in the call; raise_for_failures names it."""
    fake.max_event_bytes = 10
    async with fast_client(fake.config()) as client:
        result = await client.publish("/default/x", *([1] * 5), "x" * 20, 2, via=via)  # type: ignore[arg-type]
    assert [s.index for s in result.successful] == [0, 1, 2, 3, 4, 6]
    assert [(f.index, f.code, f.message) for f in result.failed] == [
        (5, "EventTooLargeException", "Transformed event is larger than 240KB")
    ]
    with pytest.raises(PublishFailedError) as err:
        result.raise_for_failures()
    assert str(err.value) == "1 of 7 events failed: #5 EventTooLargeException: Transformed event is larger than 240KB"


async def test_http_errors_are_typed(fake: FakeEventApi) -> None:
    """A 400 BadRequestException and a 401 UnauthorizedException map to their classes with exact messages."""
    fake.canned_http.append(
        (400, '{"errors":[{"errorType":"BadRequestException","message":"Input exceeded 5 event limit"}]}')
    )
    async with fast_client(fake.config()) as client:
        with pytest.raises(BadRequestError) as bad:
            await client.publish("/default/x", 1)
        assert str(bad.value) == "BadRequestException: Input exceeded 5 event limit"
        assert (bad.value.status, bad.value.error_type) == (400, "BadRequestException")
    async with fast_client(fake.config(api_key="da2-wrong")) as client:
        with pytest.raises(UnauthorizedError) as unauthorized:
            await client.publish("/default/x", 1)
    assert str(unauthorized.value) == "UnauthorizedException: You are not authorized to make this call."
    assert unauthorized.value.error_code == 401


async def test_failed_chunk_keeps_earlier_results(fake: FakeEventApi) -> None:
    """When the second request of a chunked publish is refused, the error carries the first request's result."""
    fake.canned_http.extend(
        [
            (200, '{"successful":[{"identifier":"a","index":0}],"failed":[]}'),
            (403, '{"errors":[{"errorType":"Unauthorized","message":"handler said no"}]}'),
        ]
    )
    async with fast_client(fake.config()) as client:
        with pytest.raises(UnauthorizedError) as err:
            await client.publish("/default/x", *range(6))
    assert str(err.value) == "Unauthorized: handler said no"
    assert err.value.partial is not None
    assert err.value.partial.successful == (SuccessfulEvent("a", 0),)


async def test_unreadable_error_body_is_an_unexpected_response(fake: FakeEventApi) -> None:
    """A non-JSON error body with a status the Event API never uses is an UnexpectedResponseError with the text."""
    fake.canned_http.append((502, "Bad Gateway"))
    async with fast_client(fake.config()) as client:
        with pytest.raises(UnexpectedResponseError) as err:
            await client.publish("/default/x", 1)
    assert err.value.status == 502
    assert str(err.value) == "UnexpectedResponse: HTTP 502 without an Event API error: Bad Gateway"


async def test_unreadable_error_body_with_a_known_status_maps_by_status(fake: FakeEventApi) -> None:
    """A non-JSON 400 body still maps to BadRequestError by its status and keeps the text."""
    fake.canned_http.append((400, "nope"))
    async with fast_client(fake.config()) as client:
        with pytest.raises(BadRequestError) as err:
            await client.publish("/default/x", 1)
    assert str(err.value) == "BadRequestException: nope"


async def test_bad_channel_is_refused_before_sending(fake: FakeEventApi) -> None:
    """Publishing to a wildcard channel raises ChannelError and sends nothing."""
    async with fast_client(fake.config()) as client:
        with pytest.raises(ChannelError) as err:
            await client.publish("/default/*", 1)
    assert str(err.value) == "invalid channel '/default/*': '*' is not allowed in a publish channel"
    assert fake.http_requests == []


async def test_pooled_session_reuses_one_connection(fake: FakeEventApi) -> None:
    """Ten publishes over the pooled session use one TCP connection; with keep-alive off, ten."""
    async with fast_client(fake.config()) as client:
        for i in range(10):
            await client.publish("/default/x", i)
    assert len(fake.http_peers) == 1
    fake.http_peers.clear()
    async with fast_client(fake.config(), http_keepalive=False) as client:
        for i in range(10):
            await client.publish("/default/x", i)
    assert len(fake.http_peers) == 10


async def test_token_refreshed_after_unauthorized(fake: FakeEventApi) -> None:
    """A callable token source is called again after a 401 and the publish is retried once."""
    fake.tokens = {"token-2"}
    tokens = iter(["token-1", "token-2"])
    calls: list[str] = []

    def source() -> str:
        calls.append("called")
        return next(tokens)

    async with fast_client(fake.config(api_key=None), auth=Token(source)) as client:
        result = await client.publish("/default/x", 1)
    assert result.ok
    assert calls == ["called", "called"]
    assert [h.get("Authorization") for h, _ in fake.http_requests] == ["token-1", "token-2"]


async def test_expired_jwt_is_refreshed_before_use(fake: FakeEventApi) -> None:
    """A cached JWT whose exp is within the margin is replaced before the next use."""

    def jwt(exp: int) -> str:
        import base64

        payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJub25lIn0.{payload}.sig"

    old, new = jwt(1_000), jwt(5_000)
    fake.tokens = {old, new}
    issued = iter([old, new])
    auth = Token(lambda: next(issued), refresh_margin=60, clock=lambda: 2_000.0)
    async with fast_client(fake.config(api_key=None), auth=auth) as client:
        await client.publish("/default/x", 1)
        await client.publish("/default/x", 2)
    assert [h["Authorization"] for h, _ in fake.http_requests] == [old, new]


@pytest.mark.parametrize(
    ("provider", "mode"),
    [(Cognito, AuthMode.AMAZON_COGNITO_USER_POOLS), (Oidc, AuthMode.OPENID_CONNECT), (Lambda, AuthMode.AWS_LAMBDA)],
)
async def test_token_providers_are_token_classes_of_their_mode(
    fake: FakeEventApi, provider: type[Token], mode: AuthMode
) -> None:
    """`Cognito(token)`, `Oidc(token)` and `Lambda(token)` are `Token` providers of their auth mode; the token
    (fixed, or from a callable) is what the request carries, and never what the repr shows."""
    assert issubclass(provider, Token)
    fake.tokens = {"tok-fixed", "tok-called"}
    config = fake.config(api_key=None)
    assert await provider("tok-fixed").authorizer(config) == TokenAuth("tok-fixed", mode)
    auth = provider(lambda: "tok-called", refresh_margin=5, clock=lambda: 0.0)
    assert "tok-called" not in repr(auth)
    async with fast_client(config, auth=auth) as client:
        assert (await client.publish("/default/x", 1)).ok
    assert [h["Authorization"] for h, _ in fake.http_requests] == ["tok-called"]


async def test_rotated_api_key_picked_up_on_retry(fake: FakeEventApi) -> None:
    """With a callable config, a 401 re-reads the config and retries with the rotated key."""
    keys = iter(["da2-old", "da2-new"])
    fake.api_key = "da2-new"
    async with fast_client(lambda: fake.config(api_key=next(keys))) as client:
        assert (await client.publish("/default/x", 1)).ok
    assert [h["x-api-key"] for h, _ in fake.http_requests] == ["da2-old", "da2-new"]


async def test_iam_publish_is_verified_by_botocore(fake: FakeEventApi) -> None:
    """An IAM-signed HTTP publish carries the fixed headers and verifies with botocore on the server."""
    fake.iam_secrets = {"AKIDTEST": "secret-key"}
    creds = Credentials("AKIDTEST", "secret-key")
    fixed = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        async with fast_client(fake.config(api_key=None), auth=Iam(credentials=creds)) as client:
            result = await client.publish("/default/x", {"a": 1})
    assert result.ok
    raw_headers, body = fake.http_requests[0]
    headers = AuthHeaders(raw_headers)
    assert body == '{"channel":"/default/x","events":["{\\"a\\":1}"]}'
    assert (headers["accept"], headers["content-encoding"], headers["content-type"], headers["X-Amz-Date"]) == (
        "application/json, text/javascript",
        "amz-1.0",
        "application/json; charset=UTF-8",
        "20261128T120000Z",
    )
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/20261128/eu-west-1/appsync/")


async def test_raw_events_and_bad_raw_events(fake: FakeEventApi) -> None:
    """raw=True sends JSON strings as they are and refuses text that is not JSON."""
    async with fast_client(fake.config()) as client:
        await client.publish("/default/x", '{"a": 1}', raw=True)
        with pytest.raises(ValueError):
            await client.publish("/default/x", "{nope", raw=True)
    assert json.loads(fake.http_requests[0][1])["events"] == ['{"a": 1}']


def test_publish_result_failed_entries_are_typed() -> None:
    """FailedEvent keeps identifier, index, code and message."""
    assert FailedEvent("i", 2, "EventTooLargeException", "m").to_json() == {
        "identifier": "i",
        "index": 2,
        "code": "EventTooLargeException",
        "message": "m",
    }


async def test_api_key_provider_without_key_fails_clearly(fake: FakeEventApi) -> None:
    """With no API key anywhere, publishing raises a config error that says so (and sends nothing)."""
    async with EventsClient(fake.config(api_key=None), auth=ApiKey()) as client:
        with pytest.raises(ValueError) as err:
            await client.publish("/default/x", 1)
    assert str(err.value) == (
        "apiKey: no API key: the config has none (is API_KEY enabled for this stage?) and none was given"
    )
