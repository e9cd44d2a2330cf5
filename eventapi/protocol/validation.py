"""The server side: validating what clients send. `parse_client_message` / `parse_http_publish` raise
`ProtocolViolation`, which knows the `errorType` and the frame (or HTTP body) a server answers with
(docs/protocol.md, Errors)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from eventapi.protocol.channels import ChannelError, parse_publish_channel, parse_subscribe_channel
from eventapi.protocol.json_text import JsonTextError, MessageFormatError, load_object, show, strict_loads
from eventapi.protocol.limits import ID_RE, MAX_EVENTS_PER_PUBLISH
from eventapi.protocol.messages import (
    TOO_MANY_EVENTS_HTTP_MESSAGE,
    TOO_MANY_EVENTS_WS_MESSAGE,
    ClientMessage,
    ConnectionInit,
    ErrorMessage,
    ErrorResponse,
    ErrorType,
    EventError,
    Publish,
    PublishError,
    PublishRequest,
    ServerMessage,
    Subscribe,
    SubscribeError,
    Unsubscribe,
    UnsubscribeError,
)


class Violation(StrEnum):
    """Why a client frame (or HTTP body) was refused."""

    INVALID_JSON = "invalid-json"
    UNKNOWN_TYPE = "unknown-type"
    BAD_ID = "bad-id"
    DUPLICATE_ID = "duplicate-id"  # stateful: raised by a server, never by the parsers
    BAD_CHANNEL = "bad-channel"
    BAD_AUTHORIZATION = "bad-authorization"
    NO_EVENTS = "no-events"
    TOO_MANY_EVENTS = "too-many-events"
    BAD_EVENT = "bad-event"
    TOO_MANY_SUBSCRIPTIONS = "too-many-subscriptions"  # stateful: raised by a server


# The errorType to answer for each violation. The service's exact choice is only known for TOO_MANY_EVENTS and
# TOO_MANY_SUBSCRIPTIONS; the rest follow the family the service uses per transport.
# See docs/protocol.md, Inferred, not documented by AWS.
WS_ERROR_TYPES: Mapping[Violation, ErrorType] = {
    **{v: ErrorType.INVALID_INPUT_ERROR for v in Violation},
    Violation.UNKNOWN_TYPE: ErrorType.UNSUPPORTED_OPERATION,
    Violation.TOO_MANY_SUBSCRIPTIONS: ErrorType.MAX_SUBSCRIPTIONS_REACHED_ERROR,
}
HTTP_ERROR_TYPES: Mapping[Violation, ErrorType] = {v: ErrorType.BAD_REQUEST_EXCEPTION for v in Violation}
HTTP_BAD_REQUEST = 400

_REPLY_TYPES: Mapping[str, type[SubscribeError | UnsubscribeError | PublishError]] = {
    Subscribe.type: SubscribeError,
    Unsubscribe.type: UnsubscribeError,
    Publish.type: PublishError,
}


class ProtocolViolation(ValueError):
    """A refused client frame: which rule (`kind`), the operation and id when known, and how to answer."""

    def __init__(
        self, kind: Violation, message: str, *, op: str | None = None, id: str | None = None, http: bool = False
    ) -> None:
        self.kind = kind
        self.message = message
        self.op = op
        self.id = id
        self.http = http
        super().__init__(message)

    @property
    def error_type(self) -> ErrorType:
        return (HTTP_ERROR_TYPES if self.http else WS_ERROR_TYPES)[self.kind]

    @property
    def http_status(self) -> int:
        return HTTP_BAD_REQUEST

    def error(self) -> EventError:
        return EventError(self.error_type, self.message)

    def reply(self) -> ServerMessage:
        """The frame to answer with: `<op>_error` when the operation and id are known, else `error`."""
        reply_cls = _REPLY_TYPES.get(self.op or "")
        if reply_cls is not None and self.id is not None:
            return reply_cls(self.id, (self.error(),))
        return ErrorMessage((self.error(),), self.id)

    def http_reply(self) -> ErrorResponse:
        return ErrorResponse((self.error(),))


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse and validate a client frame; raises `ProtocolViolation` naming the rule and the answer."""
    try:
        obj = load_object(text)
    except MessageFormatError as err:
        raise ProtocolViolation(Violation.INVALID_JSON, str(err)) from None
    kind = obj.get("type")
    if kind == ConnectionInit.type:
        return ConnectionInit()
    if not isinstance(kind, str) or kind not in _REPLY_TYPES:
        raise ProtocolViolation(Violation.UNKNOWN_TYPE, f"{show(kind)} is not a supported operation type")
    kind = str(kind)
    op_id = obj.get("id")
    if not isinstance(op_id, str) or not ID_RE.fullmatch(op_id):
        raise ProtocolViolation(
            Violation.BAD_ID,
            f"id {show(op_id)} must match {ID_RE.pattern}",
            op=kind,
            id=op_id if isinstance(op_id, str) else None,
        )
    if kind == Unsubscribe.type:
        return Unsubscribe(op_id)
    auth = _authorization(obj, kind, op_id)
    channel = _channel_text(obj, kind, op_id, http=False)
    try:
        if kind == Subscribe.type:
            parse_subscribe_channel(channel)
            return Subscribe(op_id, channel, auth)
        parse_publish_channel(channel)
    except ChannelError as err:
        raise ProtocolViolation(Violation.BAD_CHANNEL, str(err), op=kind, id=op_id) from None
    events = _events(obj.get("events"), http=False, op=kind, op_id=op_id)
    return Publish(op_id, channel, events, auth)


def parse_http_publish(body: str | bytes) -> PublishRequest:
    """Parse and validate the body of `POST /event`; raises `ProtocolViolation` with `http=True`."""
    try:
        obj = load_object(body)
    except MessageFormatError as err:
        raise ProtocolViolation(Violation.INVALID_JSON, str(err), http=True) from None
    channel = _channel_text(obj, None, None, http=True)
    try:
        parse_publish_channel(channel)
    except ChannelError as err:
        raise ProtocolViolation(Violation.BAD_CHANNEL, str(err), http=True) from None
    return PublishRequest(channel, _events(obj.get("events"), http=True, op=None, op_id=None))


def _channel_text(obj: Mapping[str, Any], op: str | None, op_id: str | None, *, http: bool) -> str:
    channel = obj.get("channel")
    if not isinstance(channel, str):
        raise ProtocolViolation(
            Violation.BAD_CHANNEL, f"channel must be a string, got {show(channel)}", op=op, id=op_id, http=http
        )
    return channel


def _events(raw: Any, *, http: bool, op: str | None, op_id: str | None) -> tuple[str, ...]:
    def fail(kind: Violation, message: str) -> ProtocolViolation:
        return ProtocolViolation(kind, message, op=op, id=op_id, http=http)

    if not isinstance(raw, list) or not raw:
        raise fail(Violation.NO_EVENTS, f"events must be a non-empty list of JSON strings, got {show(raw)}")
    if len(raw) > MAX_EVENTS_PER_PUBLISH:
        raise fail(Violation.TOO_MANY_EVENTS, TOO_MANY_EVENTS_HTTP_MESSAGE if http else TOO_MANY_EVENTS_WS_MESSAGE)
    for index, event in enumerate(raw):
        if not isinstance(event, str):
            raise fail(Violation.BAD_EVENT, f"events[{index}] must be a JSON-encoded string, got {show(event)}")
        try:
            strict_loads(event)
        except JsonTextError as err:
            raise fail(Violation.BAD_EVENT, f"events[{index}] is not valid JSON ({err})") from None
        except ValueError:
            raise fail(Violation.BAD_EVENT, f"events[{index}] is not valid JSON") from None
    return tuple(raw)


def _authorization(obj: Mapping[str, Any], op: str, op_id: str) -> dict[str, str] | None:
    raw = obj.get("authorization")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ProtocolViolation(
            Violation.BAD_AUTHORIZATION, "authorization must be an object of strings", op=op, id=op_id
        )
    return dict(raw)
