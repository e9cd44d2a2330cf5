"""The instant `make test-at` runs the suite at (EVENTAPI_TEST_AT), and the check that the process clock is there."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

AT_ENV = "EVENTAPI_TEST_AT"
TOLERANCE = timedelta(minutes=15)  # the process starts a little after `make test-at` computed its offset


def requested_instant() -> datetime | None:
    """The instant given in EVENTAPI_TEST_AT ('YYYY-MM-DD HH:MM:SS', UTC), or None."""
    value = os.environ.get(AT_ENV)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise SystemExit(f"{AT_ENV}={value!r} is not an instant; expected 'YYYY-MM-DD HH:MM:SS' (UTC)") from None


def clock_problem() -> str | None:
    """Why the process clock is not at the requested instant (faketime missing or not preloaded), or None."""
    at = requested_instant()
    if at is None or abs(datetime.now(UTC) - at) <= TOLERANCE:
        return None
    return (
        f"{AT_ENV} asks for {at:%Y-%m-%d %H:%M:%S} UTC but the clock says {datetime.now(UTC):%Y-%m-%d %H:%M:%S}: "
        "run through `make test-at AT=...`, which starts pytest under faketime"
    )
