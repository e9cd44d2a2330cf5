"""The rules one realtime connection lives by, without I/O: what a server checks before a subscribe or a publish.

A server keeps one `Session` per WebSocket. It holds the connection's subscriptions by id and the times of its recent
publishes, and answers whether the next subscribe or publish may go ahead: a subscription id already in use and more
than MAX_SUBSCRIPTIONS_PER_CONNECTION subscriptions are refused, and so are publishes beyond the rate limit within
any one-second window (docs/protocol.md, Rules). The caller passes the time, so the rules run without a clock.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Generic, TypeVar

from eventapi.protocol.limits import MAX_SUBSCRIPTIONS_PER_CONNECTION
from eventapi.protocol.messages import ErrorType, EventError
from eventapi.protocol.validation import ProtocolViolation, Violation

RATE_WINDOW_SECONDS: Final = 1.0
RATE_EXCEEDED_MESSAGE: Final = "Rate exceeded: too many publish requests"

S = TypeVar("S")


class Session(Generic[S]):
    """One connection's subscriptions (by id, whatever a server keeps per subscription) and its publish window.

    `publish_rate_limit`: publishes allowed per one-second window; None = not enforced.
    """

    def __init__(self, *, publish_rate_limit: float | None = None) -> None:
        self.subscriptions: dict[str, S] = {}
        self.publish_rate_limit = publish_rate_limit
        self._publish_times: deque[float] = deque()

    def subscribe_error(self, sub_id: str) -> EventError | None:
        """None when a subscribe with this id may go ahead, else the error its `subscribe_error` carries."""
        if sub_id in self.subscriptions:
            kind, message = Violation.DUPLICATE_ID, f"subscription id {sub_id!r} is already in use"
        elif len(self.subscriptions) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            kind, message = (
                Violation.TOO_MANY_SUBSCRIPTIONS,
                f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection",
            )
        else:
            return None
        # The caller answers with its own subscribe_error frame: only the error entry (type and message) is needed.
        return ProtocolViolation(kind, message).error()

    def publish_error(self, now: float) -> EventError | None:
        """None when a publish at `now` (seconds on a monotonic clock) is within the rate, and it is counted; else
        the error its `publish_error` carries (a refused publish is not counted)."""
        limit = self.publish_rate_limit
        if limit is None:
            return None
        times = self._publish_times
        while times and now - times[0] >= RATE_WINDOW_SECONDS:
            times.popleft()
        if len(times) >= limit:
            return EventError(ErrorType.LIMIT_EXCEEDED_ERROR, RATE_EXCEEDED_MESSAGE)
        times.append(now)
        return None
