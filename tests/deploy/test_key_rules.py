"""The API key rules: when a key is expired, which key is current (never an expired or retired one), AppSync's
expiry window, when to warn; each limit at and one past it. Key listing against moto and stubbed answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from eventapi.contract import iso
from eventapi.deploy import DeployError
from eventapi.deploy.aws import Aws
from eventapi.deploy.keys import (
    AppSyncKey,
    ceil_hour,
    clamp_expiry,
    days_left,
    expiry_warning,
    floor_hour,
    from_epoch,
    list_keys,
    pick_current,
    to_epoch,
)
from tests.deploy.conftest import NOW, REGION, StubbedSession, create_api, create_key

pytestmark = pytest.mark.clock

DAY = timedelta(days=1)


def test_a_key_is_expired_from_its_expiry_instant_on() -> None:
    """A key is refused at its exact expiry instant, not a moment later."""
    key = AppSyncKey("da2-k", NOW)
    assert not key.expired(NOW - timedelta(microseconds=1))
    assert key.expired(NOW)
    assert "da2-k" not in repr(key)


def test_security_pick_current_never_offers_an_expired_stored_key() -> None:
    """Security check: the key stored in SSM stays current only while valid; once expired (from its exact expiry
    instant) it is not offered to clients, and the valid key that expires last is."""
    stored, other = AppSyncKey("da2-stored", NOW), AppSyncKey("da2-other", NOW + 10 * DAY)
    assert pick_current([stored, other], "da2-stored", NOW) == other
    assert pick_current([stored], "da2-stored", NOW) is None
    assert pick_current([stored, other], "da2-stored", NOW - timedelta(seconds=1)) == stored


def test_security_pick_current_never_offers_the_key_being_retired() -> None:
    """Security check: the key a rotation retires is never chosen, even when it is the stored one and expires
    last."""
    retiring, new = AppSyncKey("da2-old", NOW + 300 * DAY), AppSyncKey("da2-new", NOW + 100 * DAY)
    assert pick_current([retiring, new], "da2-old", NOW, exclude="da2-old") == new
    assert pick_current([retiring], None, NOW, exclude="da2-old") is None
    assert pick_current([retiring, new], "da2-old", NOW) == retiring


def test_pick_current_prefers_the_stored_key_then_the_latest_expiry() -> None:
    """The stored key wins while valid; otherwise the latest expiry, ties broken by description (any order)."""
    a, b = AppSyncKey("da2-a", NOW + 100 * DAY, "a"), AppSyncKey("da2-b", NOW + 200 * DAY, "b")
    c = AppSyncKey("da2-c", NOW + 200 * DAY, "c")
    assert pick_current([a, b], "da2-a", NOW) == a
    assert pick_current([a, b], None, NOW) == b
    assert pick_current([a, b], "da2-gone", NOW) == b
    assert pick_current([b, c], None, NOW) == pick_current([c, b], None, NOW) == c
    assert pick_current([], None, NOW) is None


def test_list_keys_reads_every_key_and_hides_its_value(session: Any) -> None:
    """Every key of the API, with its expiry and description; each value is registered as a secret to mask."""
    api = create_api(session, "social-dev")["apiId"]
    first = create_key(session, api, NOW + 10 * DAY, "first")
    second = create_key(session, api, NOW + 20 * DAY, "second")
    aws = Aws(session)

    keys = list_keys(aws, api)

    assert sorted((k.id, k.expires, k.description) for k in keys) == sorted(
        [(first, NOW + 10 * DAY, "first"), (second, NOW + 20 * DAY, "second")]
    )
    assert aws.redact.secrets == {first, second}


def test_epoch_and_iso_are_utc() -> None:
    """Times cross AWS as epoch seconds and SSM as ISO 8601 with a Z, always in UTC."""
    assert from_epoch(to_epoch(NOW)) == NOW
    assert to_epoch(NOW) == 1_795_867_200
    assert from_epoch(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert iso(NOW) == "2026-11-28T12:00:00Z"
    assert iso(NOW.astimezone(timezone(timedelta(hours=2)))) == "2026-11-28T12:00:00Z"


def test_hours_round_down_and_up() -> None:
    """AppSync keeps whole hours: floor drops minutes and below (in UTC); ceil moves up unless on the hour."""
    assert floor_hour(NOW + timedelta(minutes=59, seconds=59, microseconds=1)) == NOW
    assert floor_hour(NOW.astimezone(timezone(timedelta(hours=-5, minutes=-30)))) == NOW
    assert ceil_hour(NOW) == NOW
    assert ceil_hour(NOW + timedelta(microseconds=1)) == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("target", "now", "expected"),
    [
        (NOW + 400 * DAY, NOW, NOW + 365 * DAY),  # the upper clamp
        (NOW + 365 * DAY, NOW, NOW + 365 * DAY),  # the limit itself
        (NOW + 365 * DAY, NOW + timedelta(minutes=30), NOW + 365 * DAY),  # rounded down to the hour
        (NOW + 10 * DAY + timedelta(minutes=30), NOW, NOW + 10 * DAY),  # inside: whole hours
        (NOW, NOW, NOW + DAY + timedelta(hours=1)),  # the lower clamp: more than a day, on the hour
        (NOW - 5 * DAY, NOW, NOW + DAY + timedelta(hours=1)),
        (NOW + DAY + timedelta(hours=1), NOW, NOW + DAY + timedelta(hours=1)),  # the earliest allowed
        (NOW + DAY, NOW - timedelta(minutes=1), NOW + DAY),  # a day and a minute away is allowed
    ],
)
def test_expiry_is_clamped_into_appsyncs_window(target: datetime, now: datetime, expected: datetime) -> None:
    """A requested expiry is moved into AppSync's window: whole hours, more than 1 day and at most 365 days out."""
    assert clamp_expiry(target, now) == expected


def test_days_left_counts_whole_days() -> None:
    """Whole days remaining, rounded down, never negative."""
    assert days_left(NOW + 10 * DAY, NOW) == 10
    assert days_left(NOW + 10 * DAY - timedelta(seconds=1), NOW) == 9
    assert days_left(NOW - DAY, NOW) == 0


def test_expiry_warning_starts_at_thirty_days() -> None:
    """No warning with more than 30 days left; a warning at exactly 30 days and below."""
    assert expiry_warning(NOW + 30 * DAY + timedelta(seconds=1), NOW, "dev") is None
    assert expiry_warning(NOW + 30 * DAY, NOW, "dev") == (
        "WARNING: the API key expires in 30 days (2026-12-28T12:00:00Z); clients using it will be refused then. "
        "Run: python -m eventapi.deploy renew-key --stage dev"
    )
    assert expiry_warning(NOW + timedelta(seconds=1), NOW, "prod") == (
        "WARNING: the API key expires in 0 days (2026-11-28T12:00:01Z); clients using it will be refused then. "
        "Run: python -m eventapi.deploy renew-key --stage prod"
    )


@pytest.mark.parametrize("expires", [NOW, NOW - 3 * DAY])
def test_expired_key_warning_says_rotate(expires: datetime) -> None:
    """At the exact expiry instant and after, the warning says the key has expired and to rotate it."""
    assert expiry_warning(expires, NOW, "dev") == (
        f"WARNING: the API key EXPIRED on {iso(expires)}; clients using it are refused. Run: "
        "python -m eventapi.deploy rotate-key --stage dev"
    )


@pytest.fixture
def half_hour_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is UTC+05:30 (a POSIX TZ rule: no time zone database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_rounding_and_iso_ignore_the_machines_time_zone(half_hour_zone: None) -> None:
    """Whole hours and ISO times are UTC's, whatever zone the machine running the deploy is in."""
    assert floor_hour(NOW + timedelta(minutes=30)) == NOW
    assert ceil_hour(NOW + timedelta(minutes=30)) == NOW + timedelta(hours=1)
    assert iso(NOW) == "2026-11-28T12:00:00Z"
    assert clamp_expiry(NOW + 10 * DAY + timedelta(minutes=45), NOW) == NOW + 10 * DAY


def test_list_keys_of_an_api_in_another_region(session: Any) -> None:
    """Keys are listed in the region asked for, not the session's."""
    api = session.client("appsync", region_name="us-east-1").create_api(
        name="social-dev",
        eventConfig={
            "authProviders": [{"authType": "API_KEY"}],
            "connectionAuthModes": [{"authType": "API_KEY"}],
            "defaultPublishAuthModes": [{"authType": "API_KEY"}],
            "defaultSubscribeAuthModes": [{"authType": "API_KEY"}],
        },
    )["api"]["apiId"]
    key = session.client("appsync", region_name="us-east-1").create_api_key(apiId=api, expires=to_epoch(NOW + DAY))
    assert [k.id for k in list_keys(Aws(session), api, region="us-east-1")] == [key["apiKey"]["id"]]


def stubbed_appsync(setup: Any) -> Aws:
    """The tool's AWS access, its AppSync client answering from a Stubber (needs the aws_env fixture)."""
    return Aws(StubbedSession(boto3.Session(region_name=REGION), {"appsync": setup}))


def test_a_key_listed_without_expiry_or_description_is_expired(aws_env: None) -> None:
    """A key AppSync lists without an expiry counts as expired in 1970 (never chosen), without a description as ''."""
    aws = stubbed_appsync(lambda s: s.add_response("list_api_keys", {"apiKeys": [{"id": "da2-nothing0000"}]}))
    (key,) = list_keys(aws, "abc")
    assert (key.id, key.expires, key.description) == ("da2-nothing0000", datetime(1970, 1, 1, tzinfo=UTC), "")
    assert pick_current([key], "da2-nothing0000", NOW) is None


def test_a_failed_key_listing_names_the_api(aws_env: None) -> None:
    """When ListApiKeys fails, the error names the call and the API it was for."""
    aws = stubbed_appsync(lambda s: s.add_client_error("list_api_keys", "NotFoundException", "gone", 404))
    with pytest.raises(DeployError) as err:
        list_keys(aws, "abc")
    assert err.value.message == "appsync:ListApiKeys on API abc (its API keys) failed: NotFoundException: gone"
