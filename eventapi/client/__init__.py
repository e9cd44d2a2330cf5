"""Python client for AppSync Event APIs (and the local Event API): asyncio + aiohttp.

async with EventsClient(EventsConfig.from_ssm(stage="dev")) as client:
    async with await client.subscribe("/default/*") as sub:
        await client.publish("/default/greetings", {"msg": "hi"})
        async for event in sub:
            print(event.data)

The names below are imported on first use (PEP 562), so importing one module of the package (the deploy step
reads `eventapi.client.config`) does not load aiohttp and the socket machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventapi.client.auth import ApiKey, AuthProvider, Cognito, Iam, Lambda, Oidc, Static, Token, jwt_expiry
    from eventapi.client.backoff import Backoff
    from eventapi.client.client import EventsClient
    from eventapi.client.config import ENV_KEYS, AuthModes, CognitoInfo, EventsConfig, NamespaceInfo
    from eventapi.client.errors import (
        ERROR_CLASSES,
        BadRequestError,
        ClientClosedError,
        ConnectionLostError,
        EventsConfigError,
        EventsError,
        EventsTimeoutError,
        LimitExceededError,
        ProcessingError,
        PublishFailedError,
        ResourceNotFoundError,
        ServiceError,
        UnauthorizedError,
        UnexpectedResponseError,
        UnknownOperationError,
        UnsupportedOperationError,
        error_from,
    )
    from eventapi.client.results import Event, Gap, PublishResult
    from eventapi.client.subscription import Subscription

# The module each public name lives in (the imports above say the same to the type checker).
_HOMES = {
    "eventapi.client.auth": (
        "ApiKey",
        "AuthProvider",
        "Cognito",
        "Iam",
        "Lambda",
        "Oidc",
        "Static",
        "Token",
        "jwt_expiry",
    ),
    "eventapi.client.backoff": ("Backoff",),
    "eventapi.client.client": ("EventsClient",),
    "eventapi.client.config": ("ENV_KEYS", "AuthModes", "CognitoInfo", "EventsConfig", "NamespaceInfo"),
    "eventapi.client.errors": (
        "ERROR_CLASSES",
        "BadRequestError",
        "ClientClosedError",
        "ConnectionLostError",
        "EventsConfigError",
        "EventsError",
        "EventsTimeoutError",
        "LimitExceededError",
        "ProcessingError",
        "PublishFailedError",
        "ResourceNotFoundError",
        "ServiceError",
        "UnauthorizedError",
        "UnexpectedResponseError",
        "UnknownOperationError",
        "UnsupportedOperationError",
        "error_from",
    ),
    "eventapi.client.results": ("Event", "Gap", "PublishResult"),
    "eventapi.client.subscription": ("Subscription",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "ENV_KEYS",
    "ERROR_CLASSES",
    "ApiKey",
    "AuthModes",
    "AuthProvider",
    "Backoff",
    "BadRequestError",
    "ClientClosedError",
    "Cognito",
    "CognitoInfo",
    "ConnectionLostError",
    "Event",
    "EventsClient",
    "EventsConfig",
    "EventsConfigError",
    "EventsError",
    "EventsTimeoutError",
    "Gap",
    "Iam",
    "Lambda",
    "LimitExceededError",
    "NamespaceInfo",
    "Oidc",
    "ProcessingError",
    "PublishFailedError",
    "PublishResult",
    "ResourceNotFoundError",
    "ServiceError",
    "Static",
    "Subscription",
    "Token",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnknownOperationError",
    "UnsupportedOperationError",
    "error_from",
    "jwt_expiry",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
