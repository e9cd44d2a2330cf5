"""One WebSocket to the Event API: open it (upgrade, `connection_init`, `connection_ack`), send a frame, and read
frames under the keep-alive watchdog. The frames and their order are described in docs/protocol.md."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import aiohttp

from eventapi.client.config import EventsConfig
from eventapi.client.errors import ConnectionLostError, EventsTimeoutError, error_from
from eventapi.protocol import (
    SUBPROTOCOL,
    Authorizer,
    ConnectionAck,
    ConnectionErrorMessage,
    ConnectionInit,
    ErrorMessage,
    EventError,
    KeepAlive,
    MessageFormatError,
    Publish,
    ServerMessage,
    Subscribe,
    Unsubscribe,
    encode,
    parse_server_message,
    subprotocols,
    upgrade_headers,
)

AuthTransport = Literal["subprotocol", "headers"]


async def open_socket(
    session: aiohttp.ClientSession,
    config: EventsConfig,
    authorizer: Authorizer,
    *,
    transport: AuthTransport,
    timeout: float,
) -> tuple[aiohttp.ClientWebSocketResponse, ConnectionAck]:
    """Upgrade to the realtime endpoint (credentials in the subprotocol or in headers) and wait for the ack.

    A refusal raises its typed `ServiceError`; no answer within `timeout` seconds, `EventsTimeoutError`.
    """
    auth = authorizer.connect_auth(config.http_host)
    if transport == "subprotocol":
        protocols, headers = subprotocols(auth), None
    else:
        protocols, headers = [SUBPROTOCOL], upgrade_headers(auth)
    try:
        async with asyncio.timeout(timeout):
            ws = await session.ws_connect(
                config.realtime_endpoint,
                protocols=protocols,
                headers=headers,
                autoping=True,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=min(timeout, 1.0)),
            )
    except TimeoutError:
        raise EventsTimeoutError(f"no connection to {config.realtime_endpoint} within {timeout:g} s") from None
    except aiohttp.WSServerHandshakeError as err:
        kind = "UnauthorizedException" if err.status in (401, 403) else "HandshakeError"
        errors = [EventError(kind, f"WebSocket upgrade refused with HTTP {err.status}", err.status)]
        raise error_from(errors, status=err.status) from None
    except aiohttp.ClientError as err:
        raise ConnectionLostError(f"cannot connect to {config.realtime_endpoint}: {err}") from None
    try:
        await ws.send_str(encode(ConnectionInit()))
        async with asyncio.timeout(timeout):
            return ws, await _ack(ws)
    except TimeoutError:
        await ws.close()
        raise EventsTimeoutError(f"no connection_ack within {timeout:g} s") from None
    except BaseException:
        await ws.close()
        raise


async def _ack(ws: aiohttp.ClientWebSocketResponse) -> ConnectionAck:
    """Read frames after `connection_init` until the ack; a connection error raises its typed `ServiceError`."""
    while True:
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionLostError(f"the socket closed during connection_init ({msg.type.name})")
        try:
            frame = parse_server_message(msg.data)
        except MessageFormatError as err:
            raise ConnectionLostError(f"unreadable frame during connection_init ({err})") from None
        if isinstance(frame, ConnectionAck):
            return frame
        if isinstance(frame, ConnectionErrorMessage | ErrorMessage):
            raise error_from(frame.errors)


async def send_frame(ws: aiohttp.ClientWebSocketResponse | None, message: Subscribe | Unsubscribe | Publish) -> None:
    """Send one frame; a socket that is gone (or goes while sending) raises `ConnectionLostError`."""
    if ws is None or ws.closed:
        raise ConnectionLostError("the socket is not connected")
    try:
        await ws.send_str(encode(message))
    except (ConnectionError, aiohttp.ClientError) as err:
        raise ConnectionLostError(f"sending {message.type} failed: {err}") from None


async def read_frames(
    ws: aiohttp.ClientWebSocketResponse, window: float, dispatch: Callable[[ServerMessage], None]
) -> str:
    """Hand every frame to `dispatch` until the socket ends; returns why. The watchdog: a `ka` must arrive within
    `window` seconds of the last one (or of the ack)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return f"no keep-alive within {window:g} s"
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError:
            return f"no keep-alive within {window:g} s"
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            return f"closed by the server (code {ws.close_code})"
        if msg.type == aiohttp.WSMsgType.ERROR:
            return f"socket error ({ws.exception()})"
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        try:
            frame = parse_server_message(msg.data)
        except MessageFormatError as err:
            # It may have been an event: reconnect, so every subscription hears of the gap (`on_gap`,
            # `Event.after_gap`) instead of silently missing it.
            return f"unreadable frame from the server ({err})"
        if isinstance(frame, KeepAlive):
            deadline = loop.time() + window
        elif isinstance(frame, ConnectionErrorMessage):
            return f"connection_error: {'; '.join(str(e) for e in frame.errors)}"
        else:
            dispatch(frame)
