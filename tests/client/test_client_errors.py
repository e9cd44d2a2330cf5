"""Every known errorType maps to its exception class; unknown types fall back by HTTP status."""

from __future__ import annotations

import pytest

from eventapi.client import (
    ERROR_CLASSES,
    BadRequestError,
    LimitExceededError,
    ProcessingError,
    ResourceNotFoundError,
    ServiceError,
    UnauthorizedError,
    UnknownOperationError,
    UnsupportedOperationError,
    error_from,
)
from eventapi.protocol import ErrorType, EventError


@pytest.mark.parametrize(
    ("error_type", "cls"),
    [
        ("UnauthorizedException", UnauthorizedError),
        ("Unauthorized", UnauthorizedError),
        ("BadRequestException", BadRequestError),
        ("InvalidInputError", BadRequestError),
        ("SubscriptionProcessingError", ProcessingError),
        ("MessageProcessingError", ProcessingError),
        ("UnknownOperationError", UnknownOperationError),
        ("MaxSubscriptionsReachedError", LimitExceededError),
        ("LimitExceededError", LimitExceededError),
        ("ResourceNotFound", ResourceNotFoundError),
        ("UnsupportedOperation", UnsupportedOperationError),
    ],
)
def test_error_type_mapping(error_type: str, cls: type[ServiceError]) -> None:
    """Each documented errorType becomes its exception class, keeping type, message and code."""
    err = error_from([EventError(error_type, "why", 401)])
    assert type(err) is cls
    assert (err.error_type, err.message, err.error_code, str(err)) == (error_type, "why", 401, f"{error_type}: why")


def test_every_error_type_is_mapped() -> None:
    """All errorTypes the protocol knows (except the per-event code) have a class."""
    assert set(ERROR_CLASSES) == {t.value for t in ErrorType} - {"EventTooLargeException"}


def test_unknown_error_type_falls_back_by_status() -> None:
    """An unknown errorType maps by HTTP status, else to ServiceError; several errors are all in the message."""
    assert type(error_from([EventError("Weird", "m")], status=401)) is UnauthorizedError
    err = error_from([EventError("Weird", "m"), EventError("Other")])
    assert type(err) is ServiceError
    assert str(err) == "Weird: m; Other"
    assert str(error_from([], status=404)) == "HTTP 404"
