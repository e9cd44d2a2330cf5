"""Lambda authorizer stand-ins for the tests (`tests.local.authorizers:allow_good`)."""

from typing import Any

CALLS: list[dict[str, Any]] = []


def allow_good(event: dict[str, Any]) -> dict[str, Any]:
    """Authorize `Bearer good` only; record the request."""
    CALLS.append(event)
    ok = event["authorizationToken"] == "Bearer good"
    return {"isAuthorized": ok, "handlerContext": {"user": "lambda-user"}, "ttlOverride": 0}
