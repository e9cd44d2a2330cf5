"""Typed exceptions: one class per kind of failure, mapped from the service's `errorType` (or, for an HTTP answer
without one, from its status).

Messages never contain credentials: they hold the service's own message and names of fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from eventapi.protocol import ErrorResponse, ErrorType, EventError, MessageFormatError, strict_loads

if TYPE_CHECKING:
    from eventapi.client.results import PublishResult


def one_line(text: str, limit: int = 200) -> str:
    """Text from the network fit for one line of a message: printable characters, spaces collapsed, at most `limit`
    characters (a server's error text is not ours to print unbounded)."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class EventsError(Exception):
    """Base of every error the client raises."""


class EventsConfigError(EventsError, ValueError):
    """Missing or unreadable client configuration; `str(err)` is `<field or source>: <problem>`."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class ServiceError(EventsError):
    """The Event API refused an operation; `errors` holds every error object it sent."""

    def __init__(self, errors: Sequence[EventError], *, status: int | None = None) -> None:
        self.errors = tuple(errors)
        self.status = status
        self.partial: PublishResult | None = None  # for a chunked publish: what succeeded before this error
        first = self.errors[0] if self.errors else EventError("UnknownError", None)
        self.error_type = first.error_type
        self.message = first.message
        self.error_code = first.error_code
        super().__init__("; ".join(str(e) for e in self.errors) or f"HTTP {status}")


class UnexpectedResponseError(ServiceError):
    """The endpoint's answer is not an Event API's: a redirect (never followed: it could carry credentials to
    another host), a status with no Event API error body, or a 2xx without the publish response shape."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__([EventError("UnexpectedResponse", message)], status=status)


class UnauthorizedError(ServiceError):
    """UnauthorizedException / Unauthorized: bad or missing credentials, or a handler's util.unauthorized()."""


class BadRequestError(ServiceError):
    """BadRequestException (HTTP) / InvalidInputError (WebSocket): the input breaks a rule."""


class ProcessingError(ServiceError):
    """SubscriptionProcessingError / MessageProcessingError: a handler or the service failed."""


class UnknownOperationError(ServiceError):
    """UnknownOperationError: e.g. unsubscribing an id the connection does not know."""


class LimitExceededError(ServiceError):
    """MaxSubscriptionsReachedError / LimitExceededError: a quota was hit."""


class ResourceNotFoundError(ServiceError):
    """ResourceNotFound."""


class UnsupportedOperationError(ServiceError):
    """UnsupportedOperation: a frame type the service does not know."""


class ConnectionLostError(EventsError, ConnectionError):
    """The socket closed before the service answered; the operation may or may not have happened."""


class EventsTimeoutError(EventsError, TimeoutError):
    """No answer within the configured time."""


class ClientClosedError(EventsError):
    """The client was closed (or never opened)."""


class PublishFailedError(EventsError):
    """Raised by `PublishResult.raise_for_failures()`: some events came back in `failed[]`."""

    def __init__(self, result: PublishResult) -> None:
        self.result = result
        failed = result.failed
        details = "; ".join(f"#{f.index} {f.code}: {f.message}" for f in failed)
        super().__init__(f"{len(failed)} of {len(failed) + len(result.successful)} events failed: {details}")


ERROR_CLASSES: Mapping[str, type[ServiceError]] = {
    ErrorType.UNAUTHORIZED_EXCEPTION: UnauthorizedError,
    ErrorType.UNAUTHORIZED: UnauthorizedError,
    ErrorType.BAD_REQUEST_EXCEPTION: BadRequestError,
    ErrorType.INVALID_INPUT_ERROR: BadRequestError,
    ErrorType.SUBSCRIPTION_PROCESSING_ERROR: ProcessingError,
    ErrorType.MESSAGE_PROCESSING_ERROR: ProcessingError,
    ErrorType.UNKNOWN_OPERATION_ERROR: UnknownOperationError,
    ErrorType.MAX_SUBSCRIPTIONS_REACHED_ERROR: LimitExceededError,
    ErrorType.LIMIT_EXCEEDED_ERROR: LimitExceededError,
    ErrorType.RESOURCE_NOT_FOUND: ResourceNotFoundError,
    ErrorType.UNSUPPORTED_OPERATION: UnsupportedOperationError,
}
# The kind of error an HTTP status means when the answer names none.
STATUS_ERROR_TYPES: Mapping[int, ErrorType] = {
    400: ErrorType.BAD_REQUEST_EXCEPTION,
    401: ErrorType.UNAUTHORIZED_EXCEPTION,
    403: ErrorType.UNAUTHORIZED_EXCEPTION,
    404: ErrorType.RESOURCE_NOT_FOUND,
}


def error_from(errors: Sequence[EventError], *, status: int | None = None) -> ServiceError:
    """The typed exception for an `errors` list: by the first `errorType`, else by HTTP status."""
    cls = ERROR_CLASSES.get(errors[0].error_type) if errors else None
    if cls is None:
        cls = ERROR_CLASSES.get(STATUS_ERROR_TYPES.get(status or 0, ""), ServiceError)
    return cls(errors, status=status)


def http_error(status: int, text: str) -> ServiceError:
    """The typed exception for a non-2xx HTTP answer: from its Event API `errors` body, else from its status."""
    try:
        errors = ErrorResponse.from_json(strict_loads(text)).errors
    except (ValueError, MessageFormatError):
        errors = ()
    if errors:
        return error_from(errors, status=status)
    if status in STATUS_ERROR_TYPES:
        return error_from([EventError(STATUS_ERROR_TYPES[status].value, one_line(text) or None)], status=status)
    return UnexpectedResponseError(
        f"HTTP {status} without an Event API error: {one_line(text, 100) or 'no body'}", status=status
    )
