"""show, renew-key, rotate-key and rotate-key --finish against moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import DeployError, ExitCode, finish_rotation, publish, renew_key, rotate_key, show
from tests.deploy.conftest import NOW, CallLog, Deployed, ssm_values

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"
KEY = ssm_name(PREFIX, SsmParam.API_KEY)
EXPIRES = ssm_name(PREFIX, SsmParam.API_KEY_EXPIRES)
PREVIOUS = ssm_name(PREFIX, SsmParam.API_KEY_PREVIOUS)
CONFIG = ssm_name(PREFIX, SsmParam.CONFIG)


def keys_of(session: Any, api_id: str) -> dict[str, datetime]:
    items = session.client("appsync").list_api_keys(apiId=api_id)["apiKeys"]
    return {k["id"]: datetime.fromtimestamp(k["expires"], UTC) for k in items}


@pytest.fixture
def published(session: Any, deployed: Deployed) -> Deployed:
    publish(session, deployed.stage)
    return deployed


def test_show_masks_the_key(session: Any, published: Deployed) -> None:
    """show lists what clients read, the key reduced to its last 4 characters."""
    report = show(session, published.stage)

    values = report.data["parameters"]
    assert values[KEY] == "****" + published.key[-4:]
    assert published.key not in json.dumps(report.to_json())
    assert values[ssm_name(PREFIX, SsmParam.API_ID)] == published.api_id
    assert next(iter(values)) == ssm_name(PREFIX, SsmParam.HTTP_ENDPOINT)


def test_show_before_publish_is_an_error(session: Any, deployed: Deployed) -> None:
    """show on a stage never published fails with NOT_PUBLISHED."""
    with pytest.raises(DeployError) as err:
        show(session, deployed.stage)

    assert err.value.code == ExitCode.NOT_PUBLISHED
    assert err.value.message == (
        "nothing published for stage dev: /social/dev/events/config does not exist in eu-west-1; run "
        "python -m eventapi.deploy publish --stage dev first"
    )


def test_renew_moves_the_expiry_to_the_stage_scheme(session: Any, published: Deployed) -> None:
    """renew-key sets the expiry the stage's scheme gives today (validDays 365: the 1st, 11 months on)."""
    report = renew_key(session, published.stage)

    target = datetime(2027, 10, 1, tzinfo=UTC)
    assert keys_of(session, published.api_id)[published.key] == target
    assert ssm_values(session, PREFIX)[EXPIRES] == ("String", "2027-10-01T00:00:00Z")
    assert json.loads(ssm_values(session, PREFIX)[CONFIG][1])["apiKeyExpires"] == "2027-10-01T00:00:00Z"
    assert [(c.name, c.action) for c in report.changes] == [
        ("API key ****" + published.key[-4:], "updated"),
        (EXPIRES, "updated"),
        (CONFIG, "updated"),
    ]


def test_renew_twice_changes_nothing_the_second_time(session: Any, published: Deployed) -> None:
    """A second renew the same day makes no write call: the key already expires at the target."""
    renew_key(session, published.stage)
    log = CallLog(session)

    report = renew_key(session, published.stage)

    assert log.writes == []
    assert {c.action for c in report.changes} == {"unchanged"}


def test_renew_clamps_to_appsync_limits(session: Any, published: Deployed, clock: time_machine.Coordinates) -> None:
    """--days beyond 365 is cut to 365 days from now, rounded down to the hour."""
    clock.move_to(NOW + timedelta(minutes=30))
    renew_key(session, published.stage, days=400)

    assert keys_of(session, published.api_id)[published.key] == NOW + timedelta(days=365)


def test_renew_warns_when_still_expiring_soon(
    session: Any, published: Deployed, clock: time_machine.Coordinates
) -> None:
    """A renewal that would shorten the key changes nothing, and still warns when the key expires within 30 days."""
    clock.move_to(NOW + timedelta(days=196))
    report = renew_key(session, published.stage, days=2)

    assert report.changes[0].action == "unchanged"
    assert report.warnings == [
        "WARNING: the API key expires in 4 days (2027-06-16T12:00:00Z); clients using it will be refused then. "
        "Run: python -m eventapi.deploy renew-key --stage dev"
    ]


def test_rotation_end_to_end(session: Any, published: Deployed, clock: time_machine.Coordinates) -> None:
    """rotate-key publishes a new key and keeps the old one for the grace period; --finish deletes the old one."""
    stage = published.stage
    report = rotate_key(session, stage, grace_hours=48)

    keys = keys_of(session, published.api_id)
    new = ssm_values(session, PREFIX)[KEY][1]
    assert new != published.key
    assert set(keys) == {published.key, new}
    assert keys[published.key] == NOW + timedelta(hours=48)
    assert json.loads(ssm_values(session, PREFIX)[PREVIOUS][1]) == {
        "keyId": published.key,
        "rotatedAt": "2026-11-28T12:00:00Z",
        "finishAfter": "2026-11-30T12:00:00Z",
    }
    assert report.data["finishAfter"] == "2026-11-30T12:00:00Z"

    # A publish during the rotation keeps the new key.
    clock.move_to(NOW + timedelta(hours=1))
    publish(session, stage)
    assert ssm_values(session, PREFIX)[KEY][1] == new

    with pytest.raises(DeployError) as again:
        clock.move_to(NOW + timedelta(hours=1))
        rotate_key(session, stage)
    assert again.value.code == ExitCode.ROTATION
    assert again.value.message == (
        "a key rotation is already under way (started 2026-11-28T12:00:00Z); finish it after 2026-11-30T12:00:00Z "
        "with: python -m eventapi.deploy rotate-key --stage dev --finish"
    )

    with pytest.raises(DeployError) as early:
        clock.move_to(NOW + timedelta(hours=47))
        finish_rotation(session, stage)
    assert early.value.code == ExitCode.ROTATION
    assert early.value.message == (
        "the grace period runs until 2026-11-30T12:00:00Z: clients may still use the old key; run --finish after "
        "then, or add --force to delete it now"
    )

    clock.move_to(NOW + timedelta(hours=48))
    finished = finish_rotation(session, stage)
    assert set(keys_of(session, published.api_id)) == {new}
    assert PREVIOUS not in ssm_values(session, PREFIX)
    assert [c.action for c in finished.changes] == ["deleted", "deleted"]
    assert finished.warnings == [
        "WARNING: the retired key was the stack's own; before the next deploy set auth.providers.apiKey.generation "
        "to 2 in cdk.json (stage dev), so CloudFormation replaces the key resource instead of failing to renew a "
        "deleted key"
    ]


def test_finish_with_force_before_the_grace_period(session: Any, published: Deployed) -> None:
    """--finish --force deletes the old key at once."""
    rotate_key(session, published.stage)

    finish_rotation(session, published.stage, force=True)

    assert published.key not in keys_of(session, published.api_id)


def test_finish_without_rotation_is_an_error(session: Any, published: Deployed) -> None:
    """--finish with no rotation under way fails with ROTATION."""
    with pytest.raises(DeployError) as err:
        finish_rotation(session, published.stage)

    assert err.value.code == ExitCode.ROTATION
    assert err.value.message == (
        "no key rotation under way for stage dev (no /social/dev/events/api-key-previous); start one with: "
        "python -m eventapi.deploy rotate-key --stage dev"
    )


def test_rotation_resumes_after_an_interruption(
    session: Any, published: Deployed, clock: time_machine.Coordinates
) -> None:
    """A rotation that died after creating its key but before publishing it reuses that key on rerun."""
    stage = published.stage
    rotate_key(session, stage)
    new = ssm_values(session, PREFIX)[KEY][1]
    # Simulate the crash: SSM still holds the old key.
    session.client("ssm").put_parameter(Name=KEY, Value=published.key, Type="SecureString", Overwrite=True)

    with pytest.raises(DeployError) as err:
        finish_rotation(session, stage, force=True)
    assert err.value.message == (
        "the rotation did not finish publishing its new key (the old key is still the published one); run "
        "python -m eventapi.deploy rotate-key --stage dev again to complete it"
    )

    clock.move_to(NOW + timedelta(minutes=5))
    report = rotate_key(session, stage)

    assert ssm_values(session, PREFIX)[KEY][1] == new
    assert len(keys_of(session, published.api_id)) == 2
    assert report.notes[0] == "resuming the rotation started 2026-11-28T12:00:00Z"


def test_rotation_dry_run_changes_nothing(session: Any, published: Deployed) -> None:
    """rotate-key --dry-run creates no key and writes no parameter."""
    log = CallLog(session)

    report = rotate_key(session, published.stage, dry_run=True)

    assert log.writes == []
    assert [c.action for c in report.changes] == ["created", "created", "updated", "updated", "updated", "updated"]
