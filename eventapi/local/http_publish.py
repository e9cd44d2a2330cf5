"""`POST /event`: HTTP publish, answered with the service's JSON bodies and status codes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from eventapi.local.broker import SHUTTING_DOWN, Broker
from eventapi.local.pipeline import Rejected, auth_from_headers
from eventapi.protocol import (
    ErrorResponse,
    ErrorType,
    EventError,
    ProtocolViolation,
    PublishResponse,
    parse_http_publish,
)


def json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json")


def error_response(status: int, error: EventError) -> web.Response:
    return json_response(status, ErrorResponse((error,)).to_json())


async def http_publish(broker: Broker, request: web.Request) -> web.Response:
    """Publish the request's events: 200 with per-event results, or a whole-request error."""
    if broker.shutting_down:
        return error_response(503, SHUTTING_DOWN)
    broker.begin()
    try:
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, EventError(ErrorType.BAD_REQUEST_EXCEPTION, "the body is not UTF-8 JSON"))
        try:
            publish = parse_http_publish(body)
        except ProtocolViolation as err:
            return json_response(err.http_status, err.http_reply().to_json())
        headers = request.headers
        try:
            successful, failed = await broker.pipeline.publish(
                publish.channel, publish.events, auth_from_headers(headers), body, headers
            )
        except Rejected as err:
            return error_response(err.status, err.error)
        return json_response(200, PublishResponse(successful, failed).to_json())
    finally:
        broker.end()
