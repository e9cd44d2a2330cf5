"""The publish and subscribe pipeline, shared by HTTP publish and the WebSocket: one path for every operation.

A WebSocket connect is authorized against the API's connection modes. For a publish or a subscribe, the channel
names its namespace; the operation is authorized against the namespace's modes; the namespace handler
(`onPublish` / `onSubscribe`), when emulated, runs; for a publish, oversized events fail one by one and the rest fan
out. Every refusal is a `Rejected` carrying the HTTP status and the error, which each transport answers its own way.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventapi.local.auth import (
    OPERATION_CONNECT,
    OPERATION_PUBLISH,
    OPERATION_SUBSCRIBE,
    Authenticator,
    AuthRequest,
    Denied,
    Identity,
)
from eventapi.local.handlers import HandlerError
from eventapi.local.integrations import LocalHandlers
from eventapi.local.template import NamespaceSpec
from eventapi.protocol import (
    EVENT_TOO_LARGE_MESSAGE,
    MAX_EVENT_BYTES,
    UNAUTHORIZED_MESSAGE,
    Channel,
    ErrorType,
    EventError,
    FailedEvent,
    SuccessfulEvent,
    connect_body,
    parse_publish_channel,
    parse_subscribe_channel,
    subscribe_body,
)
from eventapi.protocol.modes import AuthMode

log = logging.getLogger("eventapi.local")

UNAUTHORIZED = EventError(ErrorType.UNAUTHORIZED_EXCEPTION, UNAUTHORIZED_MESSAGE, 401)
UNKNOWN_NAMESPACE = EventError(ErrorType.UNAUTHORIZED_EXCEPTION)
# Request headers that are never part of an auth object: a native client sends its auth object's keys as upgrade
# or publish request headers (docs/protocol.md, WebSocket handshake), beside these.
_NOT_AUTH_HEADERS = frozenset(
    {
        "connection",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "cookie",
        "origin",
        "user-agent",
        "pragma",
        "cache-control",
        "accept-encoding",
        "accept-language",
    }
)

FanOut = Callable[[Channel, Sequence[str]], None]
Published = tuple[tuple[SuccessfulEvent, ...], tuple[FailedEvent, ...]]


class Rejected(Exception):
    """An operation refused as a whole: the HTTP status and the error to answer with."""

    def __init__(self, status: int, error: EventError) -> None:
        self.status = status
        self.error = error
        super().__init__(str(error))


def auth_from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The auth object a request carries as headers."""
    return {k: v for k, v in headers.items() if k.lower() not in _NOT_AUTH_HEADERS}


def _handler_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in headers.items():
        name = key.lower()
        if name == "cookie" or name.startswith("sec-websocket"):
            continue
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def _handler_rejection(err: HandlerError, default: ErrorType) -> Rejected:
    if err.kind == "unauthorized":
        return Rejected(401, UNAUTHORIZED)
    if err.kind == "error":
        return Rejected(403, EventError(err.error_type or default, err.message or None))
    return Rejected(500, EventError(default, err.message[:500] or None))


class Pipeline:
    """Connect, publish and subscribe for one local Event API; `fan_out` delivers what a publish lets through."""

    def __init__(
        self,
        connection_modes: tuple[AuthMode, ...],
        namespaces: Mapping[str, NamespaceSpec],
        authenticator: Authenticator,
        handlers: LocalHandlers | None,
        fan_out: FanOut,
    ) -> None:
        self.connection_modes = connection_modes
        self.namespaces = namespaces
        self.authenticator = authenticator
        self.handlers = handlers
        self.fan_out = fan_out

    async def connect(self, auth: Mapping[str, str], headers: Mapping[str, str]) -> Identity:
        """Authorize a WebSocket connection with its auth object; raises `Rejected`."""
        request = AuthRequest(OPERATION_CONNECT, auth, connect_body(), request_headers=dict(headers))
        return await self._identify(self.connection_modes, request, logging.INFO)

    async def publish(
        self, channel_text: str, events: tuple[str, ...], auth: Mapping[str, str], body: str, headers: Mapping[str, str]
    ) -> Published:
        """Authorize, run `onPublish`, check sizes, fan out; returns (successful, failed) or raises `Rejected`.

        `body` is the text an IAM signature covers (the HTTP body, or the frame's publish body)."""
        channel = parse_publish_channel(channel_text)
        ns, identity = await self._authorize(OPERATION_PUBLISH, channel, auth, body, headers)
        ids = [str(uuid.uuid4()) for _ in events]
        out: list[tuple[int, str]] = list(enumerate(events))
        failed: list[FailedEvent] = []
        if self._emulated(ns):
            out, failed = await self._on_publish(ns, channel, events, ids, identity=identity, headers=headers)
        broadcast: list[str] = []
        failed_index = {f.index for f in failed}
        for index, event in out:
            if len(event) * 4 > MAX_EVENT_BYTES and len(event.encode("utf-8")) > MAX_EVENT_BYTES:
                failed.append(
                    FailedEvent(ids[index], index, ErrorType.EVENT_TOO_LARGE_EXCEPTION, EVENT_TOO_LARGE_MESSAGE)
                )
                failed_index.add(index)
            else:
                broadcast.append(event)
        if broadcast:
            self.fan_out(channel, broadcast)
        successful = tuple(SuccessfulEvent(ids[i], i) for i in range(len(events)) if i not in failed_index)
        return successful, tuple(sorted(failed, key=lambda f: f.index))

    async def subscribe(self, channel_text: str, auth: Mapping[str, str], headers: Mapping[str, str]) -> Channel:
        """Authorize and run `onSubscribe`; returns the channel to subscribe to, or raises `Rejected`."""
        channel = parse_subscribe_channel(channel_text)
        ns, identity = await self._authorize(OPERATION_SUBSCRIBE, channel, auth, subscribe_body(channel_text), headers)
        if not self._emulated(ns):
            return channel
        assert self.handlers is not None
        ctx = self._ctx(ns, channel, identity, headers, "SUBSCRIBE")
        try:
            await self.handlers.call(ns.name, "onSubscribe", ctx)
        except HandlerError as err:
            if err.kind == "unauthorized":
                raise Rejected(401, EventError(ErrorType.UNAUTHORIZED, err.message or None)) from None
            error_type = err.error_type or ErrorType.SUBSCRIPTION_PROCESSING_ERROR
            raise Rejected(403, EventError(error_type, err.message or None)) from None
        return channel

    async def _authorize(
        self, operation: str, channel: Channel, auth: Mapping[str, str], body: str, headers: Mapping[str, str]
    ) -> tuple[NamespaceSpec, Identity]:
        ns = self.namespaces.get(channel.namespace)
        if ns is None:
            raise Rejected(401, UNKNOWN_NAMESPACE)
        modes = ns.publish_modes if operation == OPERATION_PUBLISH else ns.subscribe_modes
        request = AuthRequest(operation, auth, body, ns.name, channel.path, dict(headers))
        return ns, await self._identify(modes, request, logging.DEBUG)

    async def _identify(self, modes: tuple[AuthMode, ...], request: AuthRequest, log_level: int) -> Identity:
        try:
            return await self.authenticator.authorize(modes, request)
        except Denied as denied:
            where = f" to {request.channel}" if request.channel else ""
            log.log(log_level, "%s%s refused: %s", request.operation, where, denied.reason)
            raise Rejected(401, UNAUTHORIZED) from None

    def _emulated(self, ns: NamespaceSpec) -> bool:
        return self.handlers is not None and ns.name in self.handlers.namespaces

    def _ctx(
        self, ns: NamespaceSpec, channel: Channel, identity: Identity, headers: Mapping[str, str], operation: str
    ) -> dict[str, Any]:
        return {
            "identity": dict(identity.info) if identity.info is not None else None,
            "request": {"headers": _handler_headers(headers), "domainName": headers.get("host", "localhost")},
            "info": {
                "channel": {"path": channel.path, "segments": list(channel.segments)},
                "channelNamespace": {"name": ns.name},
                "operation": operation,
            },
            "stash": {},
        }

    async def _on_publish(
        self,
        ns: NamespaceSpec,
        channel: Channel,
        events: tuple[str, ...],
        ids: list[str],
        *,
        identity: Identity,
        headers: Mapping[str, str],
    ) -> tuple[list[tuple[int, str]], list[FailedEvent]]:
        """Run `onPublish`: the events it lets through (by index, re-encoded) and those it failed."""
        assert self.handlers is not None
        ctx = self._ctx(ns, channel, identity, headers, "PUBLISH")
        ctx["events"] = [{"id": ids[i], "payload": json.loads(e)} for i, e in enumerate(events)]
        try:
            result = await self.handlers.call(ns.name, "onPublish", ctx)
        except HandlerError as err:
            raise _handler_rejection(err, ErrorType.MESSAGE_PROCESSING_ERROR) from None
        if result.missing:
            return list(enumerate(events)), []
        value = result.value
        if value is None:
            return [], []
        if not isinstance(value, list):
            raise Rejected(
                500, EventError(ErrorType.MESSAGE_PROCESSING_ERROR, "onPublish must return a list of events")
            )
        position = {event_id: i for i, event_id in enumerate(ids)}
        out: list[tuple[int, str]] = []
        failed: list[FailedEvent] = []
        for item in value:
            if not isinstance(item, dict):
                continue
            item_id = item.get("id")
            index = position.get(item_id, -1) if isinstance(item_id, str) else -1
            if "error" in item and item["error"] is not None:
                if index >= 0:
                    failed.append(
                        FailedEvent(ids[index], index, ErrorType.MESSAGE_PROCESSING_ERROR, str(item["error"]))
                    )
                continue
            if index < 0:
                log.warning("namespace %r: onPublish returned an event with an unknown id; dropped", ns.name)
                continue
            out.append((index, json.dumps(item.get("payload"), separators=(",", ":"), ensure_ascii=False)))
        return out, failed
