"""What the client hands the application: each received `Event`, each `Gap` in delivery, each `PublishResult`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

from eventapi.client.errors import PublishFailedError
from eventapi.protocol import FailedEvent, PublishResponse, PublishSuccess, SuccessfulEvent, strict_loads


@dataclass(frozen=True)
class Event:
    """One event received by a subscription: the raw JSON string and its parsed value."""

    raw: str
    subscription_id: str
    channel: str  # the subscription's channel (pattern): data frames do not name the concrete channel
    after_gap: bool = False  # events may have been missed just before this one (a reconnect, or a full buffer)

    @cached_property
    def data(self) -> Any:
        return strict_loads(self.raw)


@dataclass(frozen=True)
class Gap:
    """The socket was down: events published meanwhile were not delivered. Passed to `on_gap`."""

    reason: str
    down_for: float  # seconds
    reconnects: int  # how many times this client has reconnected so far
    channels: tuple[str, ...]  # the subscriptions restored


@dataclass(frozen=True)
class PublishResult:
    """Per-event outcome of one `publish` call; indices are positions in that call's events."""

    successful: tuple[SuccessfulEvent, ...] = ()
    failed: tuple[FailedEvent, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> Self:
        """Raise `PublishFailedError` if any event failed; else return self."""
        if self.failed:
            raise PublishFailedError(self)
        return self

    def to_json(self) -> dict[str, Any]:
        return PublishResponse(self.successful, self.failed).to_json()

    def _extend(self, other: PublishResponse | PublishSuccess, offset: int) -> PublishResult:
        return PublishResult(
            self.successful + tuple(SuccessfulEvent(s.identifier, s.index + offset) for s in other.successful),
            self.failed + tuple(FailedEvent(f.identifier, f.index + offset, f.code, f.message) for f in other.failed),
        )
