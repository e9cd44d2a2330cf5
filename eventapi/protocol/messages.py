"""Every Event API message as a frozen dataclass with `to_json`/`from_json` (docs/protocol.md, Messages).

Two directions: `parse_server_message` (client side: what the service sends) raises `MessageFormatError`;
`parse_client_message` / `parse_http_publish` (server side: what clients send) raise `ProtocolViolation`,
which knows the `errorType` and the reply frame a server should answer with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from eventapi.protocol.channels import ChannelError, parse_publish_channel, parse_subscribe_channel
from eventapi.protocol.limits import CONNECTION_TIMEOUT_MS, ID_RE, MAX_EVENTS_PER_PUBLISH


class ErrorType(StrEnum):
    """`errorType` values the service is known to send (docs/protocol.md, Errors)."""

    UNAUTHORIZED_EXCEPTION = "UnauthorizedException"
    UNAUTHORIZED = "Unauthorized"  # a handler's util.unauthorized() on subscribe
    BAD_REQUEST_EXCEPTION = "BadRequestException"  # HTTP input errors
    INVALID_INPUT_ERROR = "InvalidInputError"  # WebSocket input errors
    SUBSCRIPTION_PROCESSING_ERROR = "SubscriptionProcessingError"
    MESSAGE_PROCESSING_ERROR = "MessageProcessingError"
    UNKNOWN_OPERATION_ERROR = "UnknownOperationError"
    MAX_SUBSCRIPTIONS_REACHED_ERROR = "MaxSubscriptionsReachedError"
    LIMIT_EXCEEDED_ERROR = "LimitExceededError"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    UNSUPPORTED_OPERATION = "UnsupportedOperation"
    EVENT_TOO_LARGE_EXCEPTION = "EventTooLargeException"  # `code` of a failed[] entry


UNAUTHORIZED_MESSAGE = "You are not authorized to make this call."
EVENT_TOO_LARGE_MESSAGE = "Transformed event is larger than 240KB"
TOO_MANY_EVENTS_WS_MESSAGE = f"input exceeded {MAX_EVENTS_PER_PUBLISH} event limit"
TOO_MANY_EVENTS_HTTP_MESSAGE = f"Input exceeded {MAX_EVENTS_PER_PUBLISH} event limit"


def compact_json(value: Any) -> str:
    """JSON as JavaScript's `JSON.stringify` writes it (no spaces, non-ASCII kept): the bytes IAM signs."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class MessageFormatError(ValueError):
    """A frame or body that does not have the documented shape."""


class JsonTextError(ValueError):
    """Text that is not standard JSON (`NaN`/`Infinity`, or nested deeper than Python's parser goes)."""


def _no_constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not standard JSON")


def strict_loads(text: str | bytes) -> Any:
    """`json.loads` for text from the network: standard JSON only (what `JSON.parse` reads), and a nesting too deep
    to parse is a `ValueError` like any other bad JSON, never a `RecursionError`."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise JsonTextError("JSON nested too deeply") from None


# --- errors and publish results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventError:
    """One entry of an `errors` list: `errorType`, `message` (sometimes absent), optional `errorCode`."""

    error_type: str
    message: str | None = None
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"errorType": self.error_type}
        if self.error_code is not None:
            out["errorCode"] = self.error_code
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, raw: Any) -> EventError:
        if not isinstance(raw, dict) or not isinstance(raw.get("errorType"), str):
            raise MessageFormatError(f"an error needs a string errorType, got {_show(raw)}")
        message = raw.get("message")
        code = raw.get("errorCode")
        if isinstance(code, str) and code.isdigit():
            code = int(code)
        return cls(
            error_type=raw["errorType"],
            message=message if isinstance(message, str) else None,
            error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        )

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}" if self.message else self.error_type


@dataclass(frozen=True)
class SuccessfulEvent:
    """A `successful[]` entry: the service's identifier of the event and its index in the request."""

    identifier: str
    index: int

    def to_json(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "index": self.index}

    @classmethod
    def from_json(cls, raw: Any) -> SuccessfulEvent:
        obj = _obj(raw, "a successful[] entry")
        return cls(identifier=_str(obj, "identifier"), index=_int(obj, "index"))


@dataclass(frozen=True)
class FailedEvent:
    """A `failed[]` entry: an event the service rejected inside an otherwise successful publish."""

    identifier: str
    index: int
    code: str  # a string in live traffic; a number is accepted and kept as its text
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "index": self.index,
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, raw: Any) -> FailedEvent:
        obj = _obj(raw, "a failed[] entry")
        code = obj.get("code")
        message = obj.get("message")
        return cls(
            identifier=str(obj.get("identifier", "")),
            index=_int(obj, "index"),
            code=str(code) if code is not None else "",
            message=message if isinstance(message, str) else "",
        )


def _errors_json(errors: Sequence[EventError]) -> list[dict[str, Any]]:
    return [e.to_json() for e in errors]


def _errors(obj: Mapping[str, Any]) -> tuple[EventError, ...]:
    raw = obj.get("errors", [])
    if not isinstance(raw, list):
        raise MessageFormatError(f"errors must be a list, got {_show(raw)}")
    return tuple(EventError.from_json(e) for e in raw)


# --- client -> server ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionInit:
    type: ClassVar[str] = "connection_init"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class Subscribe:
    type: ClassVar[str] = "subscribe"
    id: str
    channel: str
    authorization: Mapping[str, str] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "id": self.id, "channel": self.channel}
        if self.authorization is not None:
            out["authorization"] = dict(self.authorization)
        return out


@dataclass(frozen=True)
class Unsubscribe:
    type: ClassVar[str] = "unsubscribe"
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class Publish:
    type: ClassVar[str] = "publish"
    id: str
    channel: str
    events: tuple[str, ...]  # each a JSON-encoded string
    authorization: Mapping[str, str] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "id": self.id,
            "channel": self.channel,
            "events": list(self.events),
        }
        if self.authorization is not None:
            out["authorization"] = dict(self.authorization)
        return out


ClientMessage = ConnectionInit | Subscribe | Unsubscribe | Publish


# --- server -> client ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionAck:
    type: ClassVar[str] = "connection_ack"
    connection_timeout_ms: int = CONNECTION_TIMEOUT_MS

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "connectionTimeoutMs": self.connection_timeout_ms}


@dataclass(frozen=True)
class KeepAlive:
    type: ClassVar[str] = "ka"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class SubscribeSuccess:
    type: ClassVar[str] = "subscribe_success"
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class UnsubscribeSuccess:
    type: ClassVar[str] = "unsubscribe_success"
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class Data:
    """One event for one subscription: `event` is ONE JSON-encoded string (one frame per event)."""

    type: ClassVar[str] = "data"
    id: str
    event: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "event": self.event}


@dataclass(frozen=True)
class _IdErrors:
    type: ClassVar[str]
    id: str
    errors: tuple[EventError, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "errors": _errors_json(self.errors)}


@dataclass(frozen=True)
class SubscribeError(_IdErrors):
    type: ClassVar[str] = "subscribe_error"


@dataclass(frozen=True)
class UnsubscribeError(_IdErrors):
    type: ClassVar[str] = "unsubscribe_error"


@dataclass(frozen=True)
class BroadcastError(_IdErrors):
    type: ClassVar[str] = "broadcast_error"


@dataclass(frozen=True)
class PublishError(_IdErrors):
    type: ClassVar[str] = "publish_error"


@dataclass(frozen=True)
class PublishSuccess:
    type: ClassVar[str] = "publish_success"
    id: str
    successful: tuple[SuccessfulEvent, ...] = ()
    failed: tuple[FailedEvent, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "successful": [s.to_json() for s in self.successful],
                "failed": [f.to_json() for f in self.failed]}  # fmt: skip


@dataclass(frozen=True)
class ConnectionErrorMessage:
    type: ClassVar[str] = "connection_error"
    errors: tuple[EventError, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "errors": _errors_json(self.errors)}


@dataclass(frozen=True)
class ErrorMessage:
    """The generic `error` frame; `id` names the operation when there is one."""

    type: ClassVar[str] = "error"
    errors: tuple[EventError, ...]
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.id is not None:
            out["id"] = self.id
        out["errors"] = _errors_json(self.errors)
        return out


ServerMessage = (
    ConnectionAck | KeepAlive | SubscribeSuccess | SubscribeError | Data | BroadcastError | UnsubscribeSuccess
    | UnsubscribeError | PublishSuccess | PublishError | ConnectionErrorMessage | ErrorMessage
)  # fmt: skip


def encode(message: ClientMessage | ServerMessage | PublishRequest | PublishResponse | ErrorResponse) -> str:
    """The frame (or HTTP body) text of a message."""
    return compact_json(message.to_json())


def parse_server_message(text: str | bytes) -> ServerMessage:
    """Parse a frame the service sent; raises `MessageFormatError` for anything off-shape."""
    obj = _load(text)
    kind = obj.get("type")
    if kind == ConnectionAck.type:
        timeout = obj.get("connectionTimeoutMs", CONNECTION_TIMEOUT_MS)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            raise MessageFormatError(f"connectionTimeoutMs must be a positive integer, got {_show(timeout)}")
        return ConnectionAck(timeout)
    if kind == KeepAlive.type:
        return KeepAlive()
    if kind == Data.type:
        event = obj.get("event")
        if not isinstance(event, str):
            raise MessageFormatError(f"data.event must be one JSON-encoded string, got {_show(event)}")
        return Data(_str(obj, "id"), event)
    if kind == SubscribeSuccess.type:
        return SubscribeSuccess(_str(obj, "id"))
    if kind == UnsubscribeSuccess.type:
        return UnsubscribeSuccess(_str(obj, "id"))
    for cls in (SubscribeError, UnsubscribeError, BroadcastError, PublishError):
        if kind == cls.type:
            return cls(_str(obj, "id"), _errors(obj))
    if kind == PublishSuccess.type:
        return PublishSuccess(_str(obj, "id"), *_results(obj))
    if kind == ConnectionErrorMessage.type:
        return ConnectionErrorMessage(_errors(obj))
    if kind == ErrorMessage.type:
        op_id = obj.get("id")
        return ErrorMessage(_errors(obj), op_id if isinstance(op_id, str) else None)
    raise MessageFormatError(f"unknown message type {_show(kind)}")


# --- HTTP bodies --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishRequest:
    """The body of `POST /event`: `{"channel", "events"}` (also the body IAM signs for a publish)."""

    channel: str
    events: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "events": list(self.events)}


@dataclass(frozen=True)
class PublishResponse:
    """A 200 answer to `POST /event`; per-event failures are in `failed`."""

    successful: tuple[SuccessfulEvent, ...] = ()
    failed: tuple[FailedEvent, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "successful": [s.to_json() for s in self.successful],
            "failed": [f.to_json() for f in self.failed],
        }

    @classmethod
    def from_json(cls, raw: Any) -> PublishResponse:
        return cls(*_results(_obj(raw, "a publish response")))


@dataclass(frozen=True)
class ErrorResponse:
    """A non-200 answer to `POST /event`: `{"errors": [...]}`."""

    errors: tuple[EventError, ...]

    def to_json(self) -> dict[str, Any]:
        return {"errors": _errors_json(self.errors)}

    @classmethod
    def from_json(cls, raw: Any) -> ErrorResponse:
        return cls(_errors(_obj(raw, "an error response")))


def _results(obj: Mapping[str, Any]) -> tuple[tuple[SuccessfulEvent, ...], tuple[FailedEvent, ...]]:
    successful, failed = obj.get("successful", []), obj.get("failed", [])
    if not isinstance(successful, list) or not isinstance(failed, list):
        raise MessageFormatError("successful and failed must be lists")
    return tuple(SuccessfulEvent.from_json(s) for s in successful), tuple(FailedEvent.from_json(f) for f in failed)


# --- server side: validating what clients send --------------------------------------------------------------


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

    def __init__(self, kind: Violation, message: str, *, op: str | None = None, id: str | None = None,
                 http: bool = False) -> None:  # fmt: skip
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
        obj = _load(text)
    except MessageFormatError as err:
        raise ProtocolViolation(Violation.INVALID_JSON, str(err)) from None
    kind = obj.get("type")
    if kind == ConnectionInit.type:
        return ConnectionInit()
    if not isinstance(kind, str) or kind not in _REPLY_TYPES:
        raise ProtocolViolation(Violation.UNKNOWN_TYPE, f"{_show(kind)} is not a supported operation type")
    kind = str(kind)
    op_id = obj.get("id")
    if not isinstance(op_id, str) or not ID_RE.fullmatch(op_id):
        raise ProtocolViolation(Violation.BAD_ID, f"id {_show(op_id)} must match {ID_RE.pattern}", op=kind,
                                id=op_id if isinstance(op_id, str) else None)  # fmt: skip
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
        obj = _load(body)
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
        raise ProtocolViolation(Violation.BAD_CHANNEL, f"channel must be a string, got {_show(channel)}", op=op,
                                id=op_id, http=http)  # fmt: skip
    return channel


def _events(raw: Any, *, http: bool, op: str | None, op_id: str | None) -> tuple[str, ...]:
    def fail(kind: Violation, message: str) -> ProtocolViolation:
        return ProtocolViolation(kind, message, op=op, id=op_id, http=http)

    if not isinstance(raw, list) or not raw:
        raise fail(Violation.NO_EVENTS, f"events must be a non-empty list of JSON strings, got {_show(raw)}")
    if len(raw) > MAX_EVENTS_PER_PUBLISH:
        raise fail(Violation.TOO_MANY_EVENTS, TOO_MANY_EVENTS_HTTP_MESSAGE if http else TOO_MANY_EVENTS_WS_MESSAGE)
    for index, event in enumerate(raw):
        if not isinstance(event, str):
            raise fail(Violation.BAD_EVENT, f"events[{index}] must be a JSON-encoded string, got {_show(event)}")
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
        raise ProtocolViolation(Violation.BAD_AUTHORIZATION, "authorization must be an object of strings",
                                op=op, id=op_id)  # fmt: skip
    return dict(raw)


# --- helpers ------------------------------------------------------------------------------------------------


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        obj = strict_loads(text)
    except JsonTextError as err:
        raise MessageFormatError(f"not valid JSON ({err})") from None
    except ValueError:
        raise MessageFormatError("not valid JSON") from None
    if not isinstance(obj, dict):
        raise MessageFormatError(f"expected a JSON object, got {_show(obj)}")
    return obj


def _obj(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise MessageFormatError(f"{what} must be an object, got {_show(raw)}")
    return raw


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MessageFormatError(f"{key} must be a string, got {_show(value)}")
    return value


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageFormatError(f"{key} must be an integer, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    try:
        text = json.dumps(value) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
