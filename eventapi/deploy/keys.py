"""AppSync API keys of an Event API: list, choose the current one, and the expiry limits AWS enforces.

An API key's `id` is its value (`da2-…`): `AppSyncKey` keeps it out of `repr`, and nothing here logs it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from eventapi.contract import iso
from eventapi.deploy.aws import Aws

# AppSync: a key's expiry is 1 to 365 days from now, rounded down to the hour.
MIN_VALIDITY: Final = timedelta(days=1)
MAX_VALIDITY: Final = timedelta(days=365)
WARN_WITHIN: Final = timedelta(days=30)
KEY_ROW_TYPE: Final = "AppSync key"  # the TYPE of a key's row in a report (parameters are String/SecureString)


@dataclass(frozen=True)
class AppSyncKey:
    """An API key of the Event API as AppSync lists it (`ListApiKeys`): its value (`id`), expiry and description."""

    id: str = field(repr=False)
    expires: datetime
    description: str = ""

    def expired(self, now: datetime) -> bool:
        return self.expires <= now


def list_keys(aws: Aws, api_id: str, region: str | None = None) -> list[AppSyncKey]:
    """All API keys of the API (`ListApiKeys`, every page)."""
    keys = []
    for item in aws.paginate(
        "appsync", "ListApiKeys", f"API {api_id} (its API keys)", "apiKeys", region=region, apiId=api_id
    ):
        aws.redact.add(item["id"])
        keys.append(
            AppSyncKey(
                id=item["id"], expires=from_epoch(int(item.get("expires", 0))), description=item.get("description", "")
            )
        )
    return keys


def pick_current(
    keys: Iterable[AppSyncKey], stored: str | None, now: datetime, exclude: str | None = None
) -> AppSyncKey | None:
    """The key clients should use: the one already in SSM if it still exists and is valid, else the valid key
    that expires last (never `exclude`, the key a rotation is retiring)."""
    valid = [k for k in keys if not k.expired(now) and k.id != exclude]
    for key in valid:
        if key.id == stored:
            return key
    return max(valid, key=lambda k: (k.expires, k.description), default=None)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_epoch(when: datetime) -> int:
    return int(when.timestamp())


def floor_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(when: datetime) -> datetime:
    floored = floor_hour(when)
    return floored if floored == when else floored + timedelta(hours=1)


def clamp_expiry(target: datetime, now: datetime) -> datetime:
    """`target` moved into AppSync's window: whole hours, more than 1 day and at most 365 days from `now`."""
    latest = floor_hour(now + MAX_VALIDITY)
    earliest = ceil_hour(now + MIN_VALIDITY + timedelta(minutes=1))
    return min(max(floor_hour(target), earliest), latest)


def days_left(expires: datetime, now: datetime) -> int:
    return max(0, math.floor((expires - now).total_seconds() / 86_400))


def expiry_warning(expires: datetime, now: datetime, stage: str) -> str | None:
    """A loud warning when the key expires within 30 days (or has expired)."""
    if expires - now > WARN_WITHIN:
        return None
    if expires <= now:
        return (
            f"WARNING: the API key EXPIRED on {iso(expires)}; clients using it are refused. Run: "
            f"python -m eventapi.deploy rotate-key --stage {stage}"
        )
    return (
        f"WARNING: the API key expires in {days_left(expires, now)} days ({iso(expires)}); clients using it will be "
        f"refused then. Run: python -m eventapi.deploy renew-key --stage {stage}"
    )
