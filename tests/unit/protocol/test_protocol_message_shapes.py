"""Off-shape server frames and HTTP bodies: what a client accepts, what it refuses, and the exact reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventapi.protocol import (
    ConnectionAck,
    ConnectionErrorMessage,
    ErrorMessage,
    ErrorResponse,
    EventError,
    FailedEvent,
    MessageFormatError,
    ProtocolViolation,
    PublishResponse,
    PublishSuccess,
    SuccessfulEvent,
    encode,
    parse_http_publish,
    parse_server_message,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("true", "true"), ('"300000"', "'300000'"), ("1.5", "1.5"), ("-1", "-1"), ("0", "0"), ("null", "null")],
)
def test_connection_timeout_of_the_wrong_type_is_refused(value: str, shown: str) -> None:
    """connectionTimeoutMs must be a positive integer: a boolean, a string, a float or zero is refused."""
    with pytest.raises(MessageFormatError) as err:
        parse_server_message('{"type":"connection_ack","connectionTimeoutMs":' + value + "}")
    assert str(err.value) == f"connectionTimeoutMs must be a positive integer, got {shown}"


def test_connection_timeout_of_one_millisecond_is_accepted() -> None:
    """The smallest positive timeout is a timeout (the limit itself)."""
    assert parse_server_message('{"type":"connection_ack","connectionTimeoutMs":1}') == ConnectionAck(1)


def test_error_entries_keep_only_well_typed_fields() -> None:
    """An error's message must be a string and its errorCode an integer (or digits); anything else is dropped."""
    assert EventError.from_json({"errorType": "X", "message": 5, "errorCode": True}) == EventError("X")
    assert EventError.from_json({"errorType": "X", "errorCode": "4x1"}) == EventError("X")
    assert EventError.from_json({"errorType": "X", "errorCode": 401}) == EventError("X", None, 401)
    assert str(EventError("X")) == "X"
    assert str(EventError("X", "why")) == "X: why"


def test_error_lists_default_to_empty_and_must_be_lists() -> None:
    """A frame without `errors` has none; `errors` that is not a list is refused."""
    assert parse_server_message('{"type":"connection_error"}') == ConnectionErrorMessage(())
    with pytest.raises(MessageFormatError) as err:
        parse_server_message('{"type":"connection_error","errors":{"a":1}}')
    assert str(err.value) == 'errors must be a list, got {"a": 1}'


def test_error_frame_id_is_kept_only_when_a_string() -> None:
    """The generic `error` frame names its operation only by a string id."""
    frame = '{"type":"error","id":5,"errors":[{"errorType":"X"}]}'
    assert parse_server_message(frame) == ErrorMessage((EventError("X"),), None)


def test_publish_results_default_and_shapes() -> None:
    """successful and failed default to empty; a failed entry's missing fields read as empty strings."""
    assert parse_server_message('{"type":"publish_success","id":"p"}') == PublishSuccess("p")
    response = PublishResponse.from_json({"successful": [], "failed": [{"index": 2}]})
    assert response.failed == (FailedEvent("", 2, "", ""),)
    assert PublishResponse.from_json({"successful": [{"identifier": "u", "index": 0}]}) == PublishResponse(
        (SuccessfulEvent("u", 0),)
    )
    failed = PublishResponse((), (FailedEvent("u", 1, "EventTooLargeException", "big"),))
    assert encode(failed) == (
        '{"successful":[],"failed":[{"identifier":"u","index":1,"code":"EventTooLargeException","message":"big"}]}'
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"successful": [], "failed": {}}, "successful and failed must be lists"),
        ({"successful": {}, "failed": []}, "successful and failed must be lists"),
        ({"successful": [5]}, "a successful[] entry must be an object, got 5"),
        ({"failed": [None]}, "a failed[] entry must be an object, got null"),
        ({"successful": [{"identifier": 1, "index": 0}]}, "identifier must be a string, got 1"),
        ({"successful": [{"identifier": "u", "index": True}]}, "index must be an integer, got true"),
        ({"failed": [{"index": "0"}]}, "index must be an integer, got '0'"),
        (5, "a publish response must be an object, got 5"),
    ],
)
def test_bad_publish_responses(raw: Any, message: str) -> None:
    """An off-shape publish response raises MessageFormatError naming the field and what it held."""
    with pytest.raises(MessageFormatError) as err:
        PublishResponse.from_json(raw)
    assert str(err.value) == message


def test_bad_error_response() -> None:
    """An error response must be an object."""
    with pytest.raises(MessageFormatError) as err:
        ErrorResponse.from_json("x")
    assert str(err.value) == "an error response must be an object, got 'x'"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("NaN", "not valid JSON (NaN is not standard JSON)"),
        ('{"type":"subscribe_success","id":5}', "id must be a string, got 5"),
        # What an error quotes is cut to 60 characters: 60 are shown whole, 61 become 57 and "...".
        (json.dumps({"type": "subscribe_success", "id": ["a" * 56]}), f'id must be a string, got ["{"a" * 56}"]'),
        (json.dumps({"type": "subscribe_success", "id": ["a" * 57]}), f'id must be a string, got ["{"a" * 55}...'),
    ],
)
def test_bad_server_frame_messages(frame: str, message: str) -> None:
    """Off-shape frames are refused with the exact reason, quoting at most 60 characters of what was sent."""
    with pytest.raises(MessageFormatError) as err:
        parse_server_message(frame)
    assert str(err.value) == message


def test_a_value_that_cannot_be_shown_as_json_is_named_by_its_type() -> None:
    """An off-shape value JSON cannot write (a cycle) is described by its type, not a crash."""
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(MessageFormatError) as err:
        EventError.from_json(cycle)
    assert str(err.value) == "an error needs a string errorType, got a list"


def test_json_nested_too_deeply_is_bad_json_not_a_crash() -> None:
    """Text nested deeper than the parser goes is refused as bad JSON, saying so, in a frame and in an event."""
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(MessageFormatError) as err:
        parse_server_message(deep)
    assert str(err.value) == "not valid JSON (JSON nested too deeply)"
    with pytest.raises(ProtocolViolation) as violation:
        parse_http_publish(json.dumps({"channel": "/d/x", "events": [deep]}))
    assert violation.value.message == "events[0] is not valid JSON (JSON nested too deeply)"
