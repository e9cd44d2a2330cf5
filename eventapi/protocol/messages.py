"""Every Event API message as a frozen dataclass with `to_json`/`from_json` (docs/protocol.md, Messages).

`parse_server_message` (client side: what the service sends) raises `MessageFormatError`. What clients send is
validated in `eventapi.protocol.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from eventapi.protocol.json_text import (
    MessageFormatError,
    compact_json,
    int_field,
    load_object,
    object_field,
    show,
    string_field,
)
from eventapi.protocol.limits import CONNECTION_TIMEOUT_MS, MAX_EVENTS_PER_PUBLISH


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
            raise MessageFormatError(f"an error needs a string errorType, got {show(raw)}")
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
        obj = object_field(raw, "a successful[] entry")
        return cls(identifier=string_field(obj, "identifier"), index=int_field(obj, "index"))


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
        obj = object_field(raw, "a failed[] entry")
        code = obj.get("code")
        message = obj.get("message")
        return cls(
            identifier=str(obj.get("identifier", "")),
            index=int_field(obj, "index"),
            code=str(code) if code is not None else "",
            message=message if isinstance(message, str) else "",
        )


def _errors_json(errors: Sequence[EventError]) -> list[dict[str, Any]]:
    return [e.to_json() for e in errors]


def _errors(obj: Mapping[str, Any]) -> tuple[EventError, ...]:
    raw = obj.get("errors", [])
    if not isinstance(raw, list):
        raise MessageFormatError(f"errors must be a list, got {show(raw)}")
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
        return {
            "type": self.type,
            "id": self.id,
            "successful": [s.to_json() for s in self.successful],
            "failed": [f.to_json() for f in self.failed],
        }


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
    ConnectionAck
    | KeepAlive
    | SubscribeSuccess
    | SubscribeError
    | Data
    | BroadcastError
    | UnsubscribeSuccess
    | UnsubscribeError
    | PublishSuccess
    | PublishError
    | ConnectionErrorMessage
    | ErrorMessage
)


def encode(message: ClientMessage | ServerMessage | PublishRequest | PublishResponse | ErrorResponse) -> str:
    """The frame (or HTTP body) text of a message."""
    return compact_json(message.to_json())


def parse_server_message(text: str | bytes) -> ServerMessage:
    """Parse a frame the service sent; raises `MessageFormatError` for anything off-shape."""
    obj = load_object(text)
    kind = obj.get("type")
    if kind == ConnectionAck.type:
        timeout = obj.get("connectionTimeoutMs", CONNECTION_TIMEOUT_MS)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            raise MessageFormatError(f"connectionTimeoutMs must be a positive integer, got {show(timeout)}")
        return ConnectionAck(timeout)
    if kind == KeepAlive.type:
        return KeepAlive()
    if kind == Data.type:
        event = obj.get("event")
        if not isinstance(event, str):
            raise MessageFormatError(f"data.event must be one JSON-encoded string, got {show(event)}")
        return Data(string_field(obj, "id"), event)
    if kind == SubscribeSuccess.type:
        return SubscribeSuccess(string_field(obj, "id"))
    if kind == UnsubscribeSuccess.type:
        return UnsubscribeSuccess(string_field(obj, "id"))
    for cls in (SubscribeError, UnsubscribeError, BroadcastError, PublishError):
        if kind == cls.type:
            return cls(string_field(obj, "id"), _errors(obj))
    if kind == PublishSuccess.type:
        return PublishSuccess(string_field(obj, "id"), *_results(obj))
    if kind == ConnectionErrorMessage.type:
        return ConnectionErrorMessage(_errors(obj))
    if kind == ErrorMessage.type:
        op_id = obj.get("id")
        return ErrorMessage(_errors(obj), op_id if isinstance(op_id, str) else None)
    raise MessageFormatError(f"unknown message type {show(kind)}")


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
        return cls(*_results(object_field(raw, "a publish response")))


@dataclass(frozen=True)
class ErrorResponse:
    """A non-200 answer to `POST /event`: `{"errors": [...]}`."""

    errors: tuple[EventError, ...]

    def to_json(self) -> dict[str, Any]:
        return {"errors": _errors_json(self.errors)}

    @classmethod
    def from_json(cls, raw: Any) -> ErrorResponse:
        return cls(_errors(object_field(raw, "an error response")))


def _results(obj: Mapping[str, Any]) -> tuple[tuple[SuccessfulEvent, ...], tuple[FailedEvent, ...]]:
    successful, failed = obj.get("successful", []), obj.get("failed", [])
    if not isinstance(successful, list) or not isinstance(failed, list):
        raise MessageFormatError("successful and failed must be lists")
    return tuple(SuccessfulEvent.from_json(s) for s in successful), tuple(FailedEvent.from_json(f) for f in failed)
