"""Publishing over HTTP: one signed POST of at most 5 events to the Event API's HTTP endpoint, and its answer."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from eventapi.client.config import EventsConfig
from eventapi.client.errors import (
    ConnectionLostError,
    EventsTimeoutError,
    UnexpectedResponseError,
    http_error,
    one_line,
)
from eventapi.protocol import Authorizer, MessageFormatError, PublishResponse, publish_body, strict_loads


async def post_events(
    session: aiohttp.ClientSession,
    config: EventsConfig,
    authorizer: Authorizer,
    channel: str,
    events: Sequence[str],
    *,
    timeout: float,
) -> PublishResponse:
    """POST `events` (JSON texts) to `channel`; a refusal raises its typed `ServiceError` (see `http_error`)."""
    body = publish_body(channel, events)
    headers = authorizer.http_headers(config.http_host, body)
    try:
        async with session.post(
            config.http_endpoint,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status, text = response.status, await response.text(errors="replace")
    except TimeoutError:
        raise EventsTimeoutError(f"no answer to POST {config.http_endpoint} within {timeout:g} s") from None
    except aiohttp.ClientError as err:
        raise ConnectionLostError(f"POST {config.http_endpoint} failed: {err}") from None
    if 200 <= status < 300:
        return publish_response(config.http_endpoint, status, text)
    raise http_error(status, text)


def publish_response(endpoint: str, status: int, text: str) -> PublishResponse:
    """A 2xx answer to a publish: `{"successful": [...], "failed": [...]}`, or an `UnexpectedResponseError`."""
    try:
        obj = strict_loads(text)
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), list) for k in ("successful", "failed")):
            raise MessageFormatError('expected {"successful": [...], "failed": [...]}')
        return PublishResponse.from_json(obj)
    except (ValueError, MessageFormatError) as err:
        raise UnexpectedResponseError(
            f"POST {endpoint} answered HTTP {status} without a publish result ({one_line(str(err))}): "
            f"{one_line(text, 100) or 'an empty body'}",
            status=status,
        ) from None
