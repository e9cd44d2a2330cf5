"""Direct Lambda `onSubscribe` of the `users` namespace: per-user channels.

A Cognito user may subscribe only under `/users/<their sub>/...`; anything else (another user's channel, or a
wildcard above one's own, such as `/users/*`) is refused as unauthorized. Powertools' `AppSyncEventsResolver`
routes the AppSync event to the function registered for the channel path and turns its answer into the shape
AppSync expects; raising `UnauthorizedException` refuses the subscription.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import AppSyncEventsResolver
from aws_lambda_powertools.event_handler.events_appsync.exceptions import UnauthorizedException
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = AppSyncEventsResolver()


@app.on_subscribe("/users/*")
def own_channel_only() -> None:
    event = app.current_event
    sub = (event.identity or {}).get("sub")
    segments = event.info.channel_segments
    if not sub or len(segments) < 2 or segments[1] != sub:
        logger.info("subscribe refused", extra={"channel": event.info.channel_path, "sub": sub})
        raise UnauthorizedException("subscribe only under /users/<your sub>/")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return app.resolve(event, context)
