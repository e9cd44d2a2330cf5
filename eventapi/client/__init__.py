"""Python client for AppSync Event APIs (and the local Event API): asyncio + aiohttp.

async with EventsClient(EventsConfig.from_ssm(stage="dev")) as client:
    async with await client.subscribe("/default/*") as sub:
        await client.publish("/default/greetings", {"msg": "hi"})
        async for event in sub:
            print(event.data)
"""

from eventapi.client.auth import ApiKey, AuthProvider, Cognito, Iam, Lambda, Oidc, Static, Token, jwt_expiry
from eventapi.client.client import Backoff, Event, EventsClient, Gap, PublishResult, Subscription
from eventapi.client.config import EventsConfig
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
from eventapi.contract import ENV_KEYS, AuthModes, CognitoInfo, NamespaceInfo

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
