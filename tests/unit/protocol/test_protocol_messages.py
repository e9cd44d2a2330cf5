"""Message dataclasses: exact JSON both ways, server-frame parsing, and client-frame validation for servers."""

from __future__ import annotations

import json

import pytest

from eventapi.protocol import (
    BroadcastError,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    Data,
    ErrorMessage,
    ErrorResponse,
    ErrorType,
    EventError,
    FailedEvent,
    KeepAlive,
    MessageFormatError,
    ProtocolViolation,
    Publish,
    PublishError,
    PublishRequest,
    PublishResponse,
    PublishSuccess,
    Subscribe,
    SubscribeError,
    SubscribeSuccess,
    SuccessfulEvent,
    Unsubscribe,
    UnsubscribeError,
    UnsubscribeSuccess,
    Violation,
    encode,
    parse_client_message,
    parse_http_publish,
    parse_server_message,
)

SERVER_FRAMES = [
    '{"type":"connection_ack","connectionTimeoutMs":300000}',
    '{"type":"ka"}',
    '{"type":"subscribe_success","id":"s1"}',
    '{"type":"subscribe_error","id":"s1","errors":[{"errorType":"Unauthorized","message":"no"}]}',
    '{"type":"data","id":"s1","event":"{\\"msg\\":\\"hi\\"}"}',
    '{"type":"broadcast_error","id":"s1","errors":[{"errorType":"MessageProcessingError","message":"x"}]}',
    '{"type":"unsubscribe_success","id":"s1"}',
    '{"type":"unsubscribe_error","id":"s1","errors":[{"errorType":"UnknownOperationError",'
    '"message":"Unknown operation id s1"}]}',
    '{"type":"publish_success","id":"p1","successful":[{"identifier":"u1","index":0}],'
    '"failed":[{"identifier":"u2","index":1,"code":"EventTooLargeException",'
    '"message":"Transformed event is larger than 240KB"}]}',
    '{"type":"publish_error","id":"p1","errors":[{"errorType":"InvalidInputError",'
    '"message":"input exceeded 5 event limit"}]}',
    '{"type":"connection_error","errors":[{"errorType":"UnauthorizedException","errorCode":401,'
    '"message":"You are not authorized to make this call."}]}',
    '{"type":"error","id":"x","errors":[{"errorType":"UnsupportedOperation","message":"m"}]}',
    '{"type":"error","errors":[{"errorType":"UnsupportedOperation"}]}',
]


@pytest.mark.parametrize("frame", SERVER_FRAMES)
def test_server_frames_round_trip(frame: str) -> None:
    """Every documented server frame parses and re-encodes to the same compact JSON."""
    assert encode(parse_server_message(frame)) == frame


def test_server_frames_parse_to_typed_values() -> None:
    """Parsed frames are the expected dataclasses with typed fields."""
    assert parse_server_message(SERVER_FRAMES[0]) == ConnectionAck(300000)
    assert parse_server_message(SERVER_FRAMES[1]) == KeepAlive()
    assert parse_server_message(SERVER_FRAMES[4]) == Data("s1", '{"msg":"hi"}')
    assert parse_server_message(SERVER_FRAMES[8]) == PublishSuccess(
        "p1",
        (SuccessfulEvent("u1", 0),),
        (FailedEvent("u2", 1, "EventTooLargeException", "Transformed event is larger than 240KB"),),
    )
    assert parse_server_message(SERVER_FRAMES[10]) == ConnectionErrorMessage(
        (EventError("UnauthorizedException", "You are not authorized to make this call.", 401),)
    )
    assert isinstance(parse_server_message(SERVER_FRAMES[3]), SubscribeError)
    assert isinstance(parse_server_message(SERVER_FRAMES[5]), BroadcastError)
    assert isinstance(parse_server_message(SERVER_FRAMES[7]), UnsubscribeError)
    assert isinstance(parse_server_message(SERVER_FRAMES[9]), PublishError)
    assert parse_server_message(SERVER_FRAMES[11]) == ErrorMessage((EventError("UnsupportedOperation", "m"),), "x")
    assert parse_server_message(SERVER_FRAMES[6]) == UnsubscribeSuccess("s1")
    assert parse_server_message(SERVER_FRAMES[2]) == SubscribeSuccess("s1")


def test_connection_ack_default_timeout_and_numeric_codes() -> None:
    """A missing connectionTimeoutMs means 300000; a numeric failed code and a string errorCode are accepted."""
    assert parse_server_message('{"type":"connection_ack"}') == ConnectionAck(300000)
    response = PublishResponse.from_json({"failed": [{"identifier": "a", "index": 0, "code": 400, "message": "m"}]})
    assert response.failed == (FailedEvent("a", 0, "400", "m"),)
    assert EventError.from_json({"errorType": "X", "errorCode": "401"}) == EventError("X", None, 401)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("nope", "not valid JSON"),
        ("[1]", "expected a JSON object, got [1]"),
        ('{"type":"data","id":"s","event":["{}"]}', 'data.event must be one JSON-encoded string, got ["{}"]'),
        ('{"type":"bogus"}', "unknown message type 'bogus'"),
        ('{"type":"subscribe_success"}', "id must be a string, got null"),
        ('{"type":"connection_ack","connectionTimeoutMs":0}', "connectionTimeoutMs must be a positive integer, got 0"),
        ('{"type":"error","errors":[{"message":"m"}]}', 'an error needs a string errorType, got {"message": "m"}'),
    ],
)
def test_bad_server_frames(frame: str, message: str) -> None:
    """Off-shape server frames raise MessageFormatError with an exact message."""
    with pytest.raises(MessageFormatError) as err:
        parse_server_message(frame)
    assert str(err.value) == message


def test_client_messages_encode_exactly() -> None:
    """Client frames have the documented shapes; authorization is omitted when absent and hidden from repr."""
    assert encode(ConnectionInit()) == '{"type":"connection_init"}'
    sub = Subscribe("s1", "/default/*", {"x-api-key": "da2-secret"})
    assert (
        encode(sub)
        == '{"type":"subscribe","id":"s1","channel":"/default/*","authorization":{"x-api-key":"da2-secret"}}'
    )
    assert "da2-secret" not in repr(sub)
    assert encode(Unsubscribe("s1")) == '{"type":"unsubscribe","id":"s1"}'
    assert encode(Publish("p1", "/default/a", ('{"a":1}',))) == (
        '{"type":"publish","id":"p1","channel":"/default/a","events":["{\\"a\\":1}"]}'
    )
    assert encode(PublishRequest("/default/é", ("1",))) == '{"channel":"/default/é","events":["1"]}'


def test_parse_client_frames() -> None:
    """Valid client frames parse into the client dataclasses."""
    assert parse_client_message('{"type":"connection_init"}') == ConnectionInit()
    assert parse_client_message('{"type":"subscribe","id":"a-b_c+1","channel":"default/*"}') == Subscribe(
        "a-b_c+1", "default/*"
    )
    assert parse_client_message('{"type":"unsubscribe","id":"s"}') == Unsubscribe("s")
    frame = {"type": "publish", "id": "p", "channel": "/d/x", "events": ["1", '"s"'], "authorization": {"A": "b"}}
    assert parse_client_message(json.dumps(frame)) == Publish("p", "/d/x", ("1", '"s"'), {"A": "b"})


@pytest.mark.parametrize(
    ("frame", "kind", "reply"),
    [
        (
            "{",
            Violation.INVALID_JSON,
            '{"type":"error","errors":[{"errorType":"InvalidInputError","message":"not valid JSON"}]}',
        ),
        (
            '{"type":"start"}',
            Violation.UNKNOWN_TYPE,
            '{"type":"error","errors":[{"errorType":"UnsupportedOperation","message":"\'start\' is not a supported operation type"}]}',
        ),
        (
            '{"type":"subscribe","id":"a b","channel":"/d/*"}',
            Violation.BAD_ID,
            '{"type":"subscribe_error","id":"a b","errors":[{"errorType":"InvalidInputError","message":"id \'a b\' must match [a-zA-Z0-9\\\\-_+]{1,128}"}]}',
        ),
        (
            '{"type":"subscribe","channel":"/d/*"}',
            Violation.BAD_ID,
            '{"type":"error","errors":[{"errorType":"InvalidInputError","message":"id null must match [a-zA-Z0-9\\\\-_+]{1,128}"}]}',
        ),
        (
            '{"type":"subscribe","id":"s","channel":"/d/*/x"}',
            Violation.BAD_CHANNEL,
            '{"type":"subscribe_error","id":"s","errors":[{"errorType":"InvalidInputError","message":"invalid channel \'/d/*/x\': \'*\' is only allowed as the last segment"}]}',
        ),
        (
            '{"type":"publish","id":"p","channel":"/d/*","events":["1"]}',
            Violation.BAD_CHANNEL,
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"invalid channel \'/d/*\': \'*\' is not allowed in a publish channel"}]}',
        ),
        (
            '{"type":"publish","id":"p","channel":"/d/x","events":["1","2","3","4","5","6"]}',
            Violation.TOO_MANY_EVENTS,
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"input exceeded 5 event limit"}]}',
        ),
        (
            '{"type":"publish","id":"p","channel":"/d/x","events":[]}',
            Violation.NO_EVENTS,
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"events must be a non-empty list of JSON strings, got []"}]}',
        ),
        (
            '{"type":"publish","id":"p","channel":"/d/x","events":[{"a":1}]}',
            Violation.BAD_EVENT,
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"events[0] must be a JSON-encoded string, got {\\"a\\": 1}"}]}',
        ),
        (
            '{"type":"publish","id":"p","channel":"/d/x","events":["{x"]}',
            Violation.BAD_EVENT,
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"events[0] is not valid JSON"}]}',
        ),
        (
            '{"type":"subscribe","id":"s","channel":"/d/*","authorization":{"k":1}}',
            Violation.BAD_AUTHORIZATION,
            '{"type":"subscribe_error","id":"s","errors":[{"errorType":"InvalidInputError","message":"authorization must be an object of strings"}]}',
        ),
        (
            '{"type":"unsubscribe","id":""}',
            Violation.BAD_ID,
            '{"type":"unsubscribe_error","id":"","errors":[{"errorType":"InvalidInputError","message":"id \'\' must match [a-zA-Z0-9\\\\-_+]{1,128}"}]}',
        ),
    ],
)
def test_client_frame_violations(frame: str, kind: Violation, reply: str) -> None:
    """A refused client frame names its rule and the exact reply frame a server sends."""
    with pytest.raises(ProtocolViolation) as err:
        parse_client_message(frame)
    assert err.value.kind is kind
    assert encode(err.value.reply()) == reply


def test_http_publish_parsing_and_violations() -> None:
    """HTTP bodies parse to PublishRequest; violations answer 400 BadRequestException with the live message."""
    assert parse_http_publish(b'{"channel":"default/x","events":["{}"]}') == PublishRequest("default/x", ("{}",))
    with pytest.raises(ProtocolViolation) as err:
        parse_http_publish(json.dumps({"channel": "/default/x", "events": ["1"] * 6}))
    assert err.value.http_status == 400
    assert err.value.error_type is ErrorType.BAD_REQUEST_EXCEPTION
    assert encode(err.value.http_reply()) == (
        '{"errors":[{"errorType":"BadRequestException","message":"Input exceeded 5 event limit"}]}'
    )
    with pytest.raises(ProtocolViolation) as err:
        parse_http_publish('{"events":["1"]}')
    assert str(err.value) == "channel must be a string, got null"


def test_stateful_violations_for_servers() -> None:
    """Servers raise DUPLICATE_ID and TOO_MANY_SUBSCRIPTIONS themselves and get the reply frame."""
    err = ProtocolViolation(Violation.TOO_MANY_SUBSCRIPTIONS, "too many", op="subscribe", id="s201")
    assert encode(err.reply()) == (
        '{"type":"subscribe_error","id":"s201","errors":[{"errorType":"MaxSubscriptionsReachedError",'
        '"message":"too many"}]}'
    )


def test_http_bodies_round_trip() -> None:
    """Publish responses and error responses round-trip through JSON."""
    response = PublishResponse((SuccessfulEvent("u", 0),), ())
    assert PublishResponse.from_json(json.loads(encode(response))) == response
    error = ErrorResponse((EventError("UnauthorizedException", "You are not authorized to make this call."),))
    assert ErrorResponse.from_json(json.loads(encode(error))) == error
    assert str(error.errors[0]) == "UnauthorizedException: You are not authorized to make this call."


def test_security_parsed_subscribe_keeps_its_authorization() -> None:
    """Security check: a subscribe frame's own `authorization` survives parsing, so a server checks the
    per-operation credential the client sent (a parser that dropped it would leave only the connection's)."""
    frame = '{"type":"subscribe","id":"s1","channel":"/default/*","authorization":{"x-api-key":"da2-op"}}'
    parsed = parse_client_message(frame)
    assert isinstance(parsed, Subscribe)
    assert parsed.authorization == {"x-api-key": "da2-op"}
    assert parse_client_message('{"type":"subscribe","id":"s1","channel":"/default/*"}') == Subscribe(
        "s1", "/default/*", None
    )


def test_security_publish_frame_carries_its_authorization() -> None:
    """Security check: `Publish.to_json` writes the operation's `authorization` object, exactly, so the
    service authorizes the publish with the credential meant for it."""
    frame = Publish("p1", "/default/a", ("1",), {"Authorization": "eyJ.token", "host": "h"})
    assert frame.to_json()["authorization"] == {"Authorization": "eyJ.token", "host": "h"}
    assert encode(frame) == (
        '{"type":"publish","id":"p1","channel":"/default/a","events":["1"],'
        '"authorization":{"Authorization":"eyJ.token","host":"h"}}'
    )
    assert parse_client_message(encode(frame)) == frame
    assert "eyJ.token" not in repr(frame)


@pytest.mark.parametrize("count", [1, 5])
def test_publish_of_up_to_five_events_is_accepted(count: int) -> None:
    """The event limit itself: one to five events pass, over WebSocket and HTTP (six are refused above)."""
    events = [str(n) for n in range(count)]
    frame = {"type": "publish", "id": "p", "channel": "/d/x", "events": events}
    assert parse_client_message(json.dumps(frame)) == Publish("p", "/d/x", tuple(events))
    assert parse_http_publish(json.dumps({"channel": "/d/x", "events": events})).events == tuple(events)


@pytest.mark.parametrize(
    ("body", "kind", "reply"),
    [
        ("{", Violation.INVALID_JSON, '{"errors":[{"errorType":"BadRequestException","message":"not valid JSON"}]}'),
        (
            '{"channel":"/d/x","events":["1"],"n":NaN}',
            Violation.INVALID_JSON,
            '{"errors":[{"errorType":"BadRequestException","message":"not valid JSON (NaN is not standard JSON)"}]}',
        ),
        (
            '{"channel":"/d/*","events":["1"]}',
            Violation.BAD_CHANNEL,
            '{"errors":[{"errorType":"BadRequestException","message":"invalid channel \'/d/*\': \'*\' is not allowed in a publish channel"}]}',
        ),
        (
            '{"channel":5,"events":["1"]}',
            Violation.BAD_CHANNEL,
            '{"errors":[{"errorType":"BadRequestException","message":"channel must be a string, got 5"}]}',
        ),
        (
            '{"channel":"/d/x","events":["Infinity"]}',
            Violation.BAD_EVENT,
            '{"errors":[{"errorType":"BadRequestException","message":"events[0] is not valid JSON (Infinity is not standard JSON)"}]}',
        ),
    ],
)
def test_http_publish_violations_answer_bad_request(body: str, kind: Violation, reply: str) -> None:
    """Every refused HTTP body is a 400 BadRequestException (never the WebSocket InvalidInputError) with the
    exact reason, for bad JSON and a bad channel as for bad events."""
    with pytest.raises(ProtocolViolation) as err:
        parse_http_publish(body)
    assert (err.value.kind, err.value.http, err.value.http_status) == (kind, True, 400)
    assert encode(err.value.http_reply()) == reply


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        (
            '{"type":"subscribe","id":"s","channel":5}',
            '{"type":"subscribe_error","id":"s","errors":[{"errorType":"InvalidInputError","message":"channel must be a string, got 5"}]}',
        ),
        (
            '{"type":"publish","id":"p","events":["1"]}',
            '{"type":"publish_error","id":"p","errors":[{"errorType":"InvalidInputError","message":"channel must be a string, got null"}]}',
        ),
        (
            '{"type":"subscribe","id":5,"channel":"/d/*"}',
            '{"type":"error","errors":[{"errorType":"InvalidInputError","message":"id 5 must match [a-zA-Z0-9\\\\-_+]{1,128}"}]}',
        ),
    ],
)
def test_websocket_violations_answer_on_the_operation(frame: str, reply: str) -> None:
    """A WebSocket frame with a non-string channel is answered by `<op>_error` with its id and the WebSocket
    errorType; an id that is not a string cannot be echoed, so the answer is a plain `error`."""
    with pytest.raises(ProtocolViolation) as err:
        parse_client_message(frame)
    assert encode(err.value.reply()) == reply


def test_violation_with_an_id_but_no_operation_answers_error_with_the_id() -> None:
    """A server's violation naming only an id (no operation) answers an `error` frame that still carries it."""
    err = ProtocolViolation(Violation.DUPLICATE_ID, "duplicate id", id="s1")
    assert encode(err.reply()) == (
        '{"type":"error","id":"s1","errors":[{"errorType":"InvalidInputError","message":"duplicate id"}]}'
    )
