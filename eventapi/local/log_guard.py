"""Keep credentials and client bytes out of the server's log: a filter on aiohttp's own loggers.

aiohttp logs what clients send in two places the server does not control. A WebSocket handshake whose offered
subprotocols lack `aws-appsync-event-ws` is logged with the offered list, and a `header-…` subprotocol is the
base64 auth object, API key included. A request aiohttp cannot parse (a line over 8,190 bytes, a malformed request
line or header) is logged as a traceback whose message quotes up to 100 bytes of what the client sent, which may be
an `x-api-key:` line or a `header-…` subprotocol. The filter masks every `header-…` subprotocol and API-key-shaped
string in those records, and turns a request aiohttp refused into one line naming the peer and the kind of error.
"""

from __future__ import annotations

import logging
import traceback
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError

from eventapi.protocol.auth import mask_credentials

# The loggers aiohttp writes client data to (server: bad requests and handler errors; websocket: handshakes).
AIOHTTP_LOGGERS: Final = ("aiohttp.server", "aiohttp.websocket", "aiohttp.web", "aiohttp.access")


class ClientDataFilter(logging.Filter):
    """Rewrites records in place: masked message and traceback; a refused request becomes one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        message = mask_credentials(record.getMessage())
        if isinstance(exc, HttpProcessingError):
            # The client's mistake, answered with 400: one line, without the bytes it sent (exc.message quotes them).
            record.msg = f"{message}: {type(exc).__name__} (answered {exc.code}; request refused)"
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        else:
            record.msg = message
            if record.exc_info:
                record.exc_text = mask_credentials("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.args = ()
        return True


_FILTER: Final = ClientDataFilter()


def guard_aiohttp_logs() -> None:
    """Install the filter on aiohttp's loggers (idempotent)."""
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
