"""`Backoff`: how long the client waits before each reconnect attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `initial * factor**attempt`, capped at `maximum`, times a random factor in [1-jitter, 1]."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 - self.jitter * random.random())


DEFAULT_BACKOFF = Backoff()
