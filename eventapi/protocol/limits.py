"""The Event API's fixed names and limits: one definition each (docs/protocol.md, Limits).

Imported by the client and the local Event API, so both enforce the same numbers. docs/protocol.md lists every
constant here with its value, and tests/unit/test_docs.py keeps the two equal.
"""

from __future__ import annotations

import re
from typing import Final

# --- endpoints and subprotocols (docs/protocol.md, Endpoints) ---
HTTP_PATH: Final = "/event"
REALTIME_PATH: Final = "/event/realtime"
SUBPROTOCOL: Final = "aws-appsync-event-ws"
HEADER_SUBPROTOCOL_PREFIX: Final = "header-"
SIGV4_SERVICE: Final = "appsync"

# --- channels (docs/protocol.md, Channels and namespaces) ---
MAX_CHANNEL_SEGMENTS: Final = 5  # the trailing `*` of a subscription counts as a segment
MAX_SEGMENT_LENGTH: Final = 50
WILDCARD: Final = "*"
# 1-50 letters, digits and '-', not starting or ending with '-'; case-sensitive.
SEGMENT_RE: Final = re.compile(rf"[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{MAX_SEGMENT_LENGTH - 2}}}[A-Za-z0-9])?")

# --- operation ids (docs/protocol.md, Messages) ---
MAX_ID_LENGTH: Final = 128
ID_RE: Final = re.compile(rf"[a-zA-Z0-9\-_+]{{1,{MAX_ID_LENGTH}}}")

# --- publish (docs/protocol.md, Rules) ---
MAX_EVENTS_PER_PUBLISH: Final = 5
MAX_EVENT_BYTES: Final = 240 * 1024  # "240 KB" per event
MAX_PUBLISH_PAYLOAD_BYTES: Final = MAX_EVENTS_PER_PUBLISH * MAX_EVENT_BYTES  # "1.2 MB"
MAX_PUBLISH_REQUESTS_PER_SECOND_PER_CONNECTION: Final = 25

# --- connections (docs/protocol.md, Rules) ---
MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 200
MAX_CONNECTION_LIFETIME_SECONDS: Final = 24 * 60 * 60
KEEP_ALIVE_INTERVAL_SECONDS: Final = 60
CONNECTION_TIMEOUT_MS: Final = 300_000  # `connectionTimeoutMs` of `connection_ack`
