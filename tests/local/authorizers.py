"""Lambda authorizer stand-ins for the tests (`tests.local.authorizers:allow_good`, `...:Nested.authorize`)."""

from typing import Any

CALLS: list[dict[str, Any]] = []


def allow_good(event: dict[str, Any]) -> dict[str, Any]:
    """Authorize `Bearer good` only; record the request."""
    CALLS.append(event)
    ok = event["authorizationToken"] == "Bearer good"
    return {"isAuthorized": ok, "handlerContext": {"user": "lambda-user"}, "ttlOverride": 0}


class Recording:
    """A Lambda authorizer that answers `answer` (or raises it) and records each request."""

    def __init__(self, answer: Any = None, **fields: Any) -> None:
        self.answer = answer if answer is not None else {"isAuthorized": True, **fields}
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Nested:
    """An authorizer reached through an attribute path (`module:Nested.authorize`)."""

    @staticmethod
    async def authorize(event: dict[str, Any]) -> dict[str, Any]:
        return {"isAuthorized": event["authorizationToken"] == "Bearer good"}
