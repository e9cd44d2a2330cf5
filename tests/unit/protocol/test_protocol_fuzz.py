"""Every parser of outside text (hypothesis): any type, any depth, any JSON dialect gives the documented error only."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventapi.protocol import (
    AuthFormatError,
    ErrorType,
    MessageFormatError,
    ProtocolViolation,
    decode_auth_subprotocol,
    parse_client_message,
    parse_http_publish,
    parse_server_message,
    strict_loads,
)

# Any JSON value, non-strings included, in the positions the parsers read.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10,
)


def nested(depth: int, opener: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + "1" + closer * depth


# Texts no parser may crash on: too deep for Python's parser, JSON's non-standard constants, huge numbers.
hostile_texts = st.one_of(
    st.builds(nested, st.integers(900, 20_000), st.sampled_from(["[", '{"a":'])),
    st.sampled_from(["NaN", "Infinity", "-Infinity", '{"a": NaN}', "[Infinity]", "1" * 5000, "1e999", "\ud800"]),
    st.text(max_size=50),
    json_values.map(json.dumps),
)
fields = st.one_of(json_values, hostile_texts)


def frame_like(draw_type: Any) -> Any:
    return st.fixed_dictionaries(
        {"type": draw_type},
        optional={
            "id": fields,
            "channel": fields,
            "events": fields | st.lists(hostile_texts, max_size=6),
            "authorization": fields,
        },
    ).map(json.dumps)


frames = st.one_of(
    hostile_texts,
    frame_like(st.sampled_from(["subscribe", "publish", "unsubscribe", "connection_init"])),
    frame_like(fields),  # the type itself of any type: lists and objects are unhashable
    st.builds(
        lambda e: json.dumps({"type": "publish", "id": "p", "channel": "/default/a", "events": [e]}), hostile_texts
    ),
)


@settings(max_examples=200, deadline=None)
@given(frames)
def test_client_frames_raise_only_protocol_violations(text: str) -> None:
    """parse_client_message accepts a frame or raises ProtocolViolation with a WebSocket error type."""
    try:
        parse_client_message(text)
    except ProtocolViolation as violation:
        assert violation.error_type in set(ErrorType)
        assert violation.reply().to_json()["errors"][0]["errorType"] == violation.error_type


@settings(max_examples=200, deadline=None)
@given(st.one_of(frames, st.builds(lambda c, e: json.dumps({"channel": c, "events": e}), fields, fields)))
def test_http_bodies_raise_only_bad_requests(text: str) -> None:
    """parse_http_publish accepts a body or raises ProtocolViolation answering 400 BadRequestException."""
    try:
        parse_http_publish(text)
    except ProtocolViolation as violation:
        assert (violation.http_status, violation.error_type) == (400, ErrorType.BAD_REQUEST_EXCEPTION)


@settings(max_examples=200, deadline=None)
@given(st.one_of(frames, frame_like(st.sampled_from(["data", "publish_success", "subscribe_error", "connection_ack"]))))
def test_server_frames_raise_only_message_format_errors(text: str) -> None:
    """parse_server_message (the client's reader) accepts a frame or raises MessageFormatError."""
    with contextlib.suppress(MessageFormatError):
        parse_server_message(text)


def subprotocol(text: str) -> str:
    return "header-" + base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@settings(max_examples=200, deadline=None)
@given(st.one_of(hostile_texts.map(subprotocol), st.text(max_size=40).map(lambda t: "header-" + t)))
def test_auth_subprotocols_raise_only_auth_format_errors(protocol: str) -> None:
    """decode_auth_subprotocol returns an auth object of strings or raises AuthFormatError."""
    try:
        auth = decode_auth_subprotocol(protocol)
    except AuthFormatError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in auth.items())


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "[Infinity]", '{"a": NaN}', "[" * 100_000])
def test_strict_loads_refuses_what_json_parse_cannot_read(text: str) -> None:
    """NaN, Infinity and nesting deeper than Python parses are ValueErrors (what JSON.parse refuses, or cannot do)."""
    with pytest.raises(ValueError, match=r"is not standard JSON|nested too deeply"):
        strict_loads(text)
