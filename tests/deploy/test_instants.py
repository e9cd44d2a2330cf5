"""The key lifecycle against moto at calendar edges and far from today: one clock moves the code and moto alike.

`make test-at AT=...` adds its instant here (EVENTAPI_TEST_AT), besides running the whole process tree there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from eventapi.config import api_key_expiry
from eventapi.deploy import finish_rotation, publish, renew_key, rotate_key
from tests.clock import requested_instant
from tests.deploy.conftest import deploy, ssm_values

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"
KEY, EXPIRES, CONFIG = f"{PREFIX}/api-key", f"{PREFIX}/api-key-expires", f"{PREFIX}/config"

INSTANTS = [
    datetime(2027, 4, 30, 23, 58, tzinfo=UTC),  # a month's last minutes
    datetime(2027, 12, 31, 23, 59, tzinfo=UTC),  # the year's last minute
    datetime(2028, 2, 29, 12, 0, tzinfo=UTC),  # a leap day
    datetime(2039, 6, 15, 8, 30, tzinfo=UTC),  # far from any day this suite was written or run
    *([at] if (at := requested_instant()) else []),
]


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def expiries(session: Any, api_id: str) -> dict[str, datetime]:
    keys = session.client("appsync").list_api_keys(apiId=api_id)["apiKeys"]
    return {k["id"]: datetime.fromtimestamp(k["expires"], UTC) for k in keys}


@pytest.mark.parametrize("instant", INSTANTS, ids=iso)
def test_key_lifecycle_at(instant: datetime, clock: time_machine.Coordinates, session: Any, project: Path) -> None:
    """deploy, publish, renew, rotate and finish all succeed against moto at `instant`, with expiries computed
    from that instant: the stage's scheme for renewals and new keys, the grace period (25 h at least) for the old."""
    clock.move_to(instant)
    dep = deploy(session, project, key_days=20)
    scheme = api_key_expiry(dep.stage.auth.api_key.valid_days, instant.date())  # type: ignore[union-attr]

    publish(session, dep.stage)
    assert ssm_values(session, PREFIX)[KEY] == ("SecureString", dep.key)

    renew_key(session, dep.stage)
    assert expiries(session, dep.api_id) == {dep.key: scheme}
    assert ssm_values(session, PREFIX)[EXPIRES] == ("String", iso(scheme))
    assert json.loads(ssm_values(session, PREFIX)[CONFIG][1])["apiKeyExpires"] == iso(scheme)

    rotate_key(session, dep.stage, grace_hours=48)
    new = ssm_values(session, PREFIX)[KEY][1]
    cut = (instant + timedelta(hours=48)).replace(minute=0) + timedelta(hours=1 if instant.minute else 0)
    assert expiries(session, dep.api_id) == {dep.key: cut, new: scheme}

    clock.move_to(instant + timedelta(hours=48))
    finish_rotation(session, dep.stage)
    assert expiries(session, dep.api_id) == {new: scheme}
