"""The scheduled key renewer (apiKey.autoRenew) and its agreement with the template, against moto.

CloudFormation cannot create AppSync resources in moto, so a deploy is played as CloudFormation plays it on the
stack's key: an UpdateApiKey to the template's `Expires` when that differs from the last deployed template's
(CloudFormation compares templates, not the live key). Each instant is set for the code and moto alike.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import StageConfig, api_key_expiry, load_stage
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import publish, rotate_key
from eventapi.deploy.renewer import STAGE_ENV, RenewalFailed, main, run, stage_environment, stage_from_environment
from eventapi.exits import ExitCode
from tests.deploy.conftest import STAGES, CallLog, create_api, create_key, create_stack, outputs_for, write_project

pytestmark = pytest.mark.clock
PREFIX = "/social/dev/events"
EXPIRES = ssm_name(PREFIX, SsmParam.API_KEY_EXPIRES)
CONFIG = ssm_name(PREFIX, SsmParam.CONFIG)


def at(year: int, month: int, day: int, hour: int = 3) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


class Stage:
    """A deployed stage with autoRenew, and the template date of its last deploy."""

    def __init__(self, session: Any, project: Path) -> None:
        self.session = session
        self.config: StageConfig = load_stage("dev", project)
        self.api = create_api(session, self.config.api_name)
        self.synth_date = date.today()
        expires = api_key_expiry(365, self.synth_date)
        self.key = create_key(session, self.api["apiId"], expires, self.config.auth.api_key.stack_key_description)  # type: ignore[union-attr]
        create_stack(session, self.config.stack_name, outputs_for(self.api))
        publish(session, self.config)

    @property
    def env(self) -> dict[str, str]:
        return stage_environment(self.config)

    def deploy(self, synthesized: date) -> None:
        """`make deploy` of an assembly synthesized on `synthesized`: CloudFormation, then publish."""
        template, deployed = api_key_expiry(365, synthesized), api_key_expiry(365, self.synth_date)
        if template != deployed:
            self.session.client("appsync").update_api_key(
                apiId=self.api["apiId"], id=self.key, expires=int(template.timestamp())
            )
        self.synth_date = synthesized
        publish(self.session, self.config)

    def keys(self) -> dict[str, datetime]:
        items = self.session.client("appsync").list_api_keys(apiId=self.api["apiId"])["apiKeys"]
        return {k["id"]: datetime.fromtimestamp(k["expires"], UTC) for k in items}

    def published_expiry(self) -> tuple[str, str]:
        ssm = self.session.client("ssm")
        stored = ssm.get_parameter(Name=EXPIRES)["Parameter"]["Value"]
        return stored, json.loads(ssm.get_parameter(Name=CONFIG)["Parameter"]["Value"])["apiKeyExpires"]


@pytest.fixture
def stage(session: Any, tmp_path: Path, clock: Any) -> Stage:
    clock.move_to(at(2026, 11, 15, 12))
    dev = {**STAGES["dev"], "auth": {**STAGES["dev"]["auth"], "providers": {"apiKey": {"autoRenew": True}, "iam": {}}}}
    return Stage(session, write_project(tmp_path / "project", {**STAGES, "dev": dev}))


def test_renewer_moves_the_key_to_the_far_end(stage: Stage, clock: Any) -> None:
    """A month after the deploy, the renewer moves the key to the scheme's date for today and publishes it."""
    clock.move_to(at(2026, 12, 1))

    result = run(stage.env, session=stage.session)

    assert stage.keys()[stage.key] == at(2027, 11, 1, 0)
    assert stage.published_expiry() == ("2027-11-01T00:00:00Z", "2027-11-01T00:00:00Z")
    assert result["changes"][0] == {
        "name": "API key ****" + stage.key[-4:],
        "type": "AppSync key",
        "action": "updated",
        "note": "expires 2027-10-01T00:00:00Z -> 2027-11-01T00:00:00Z",
    }


def test_renewer_does_not_fight_the_template(stage: Stage, clock: Any) -> None:
    """In the month of a deploy the renewer's target is the template's Expires: it makes no write at all."""
    clock.move_to(at(2026, 11, 30))
    log = CallLog(stage.session)

    run(stage.env, session=stage.session)

    assert log.writes == []
    assert stage.keys()[stage.key] == at(2027, 10, 1, 0)


def test_deploy_renew_later_deploy_never_shortens_the_key(stage: Stage, clock: Any) -> None:
    """deploy (Nov) -> renewer (to Jan) -> deploy in Jan of an assembly built in Dec -> deploy of a Feb build:
    the key never ends up shorter than the renewer made it, and the renewer then has nothing to do."""
    for day in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 1, 5)):
        clock.move_to(at(day.year, day.month, day.day))
        run(stage.env, session=stage.session)
    assert stage.keys()[stage.key] == at(2027, 12, 1, 0)

    # Build once, deploy later: the December build's Expires (2027-11-01) is earlier than the key's.
    clock.move_to(at(2027, 1, 10, 9))
    stage.deploy(synthesized=date(2026, 12, 20))
    assert stage.keys()[stage.key] == at(2027, 12, 1, 0)  # publish took it back to the far end
    assert stage.published_expiry()[0] == "2027-12-01T00:00:00Z"

    clock.move_to(at(2027, 2, 1))
    run(stage.env, session=stage.session)
    clock.move_to(at(2027, 2, 2, 9))
    stage.deploy(synthesized=date(2027, 2, 2))  # the template says what the renewer already set
    assert stage.keys()[stage.key] == at(2028, 1, 1, 0)
    clock.move_to(at(2027, 2, 3))
    log = CallLog(stage.session)
    run(stage.env, session=stage.session)
    assert log.writes == []


def test_a_deploy_during_a_rotation_cannot_revive_the_retired_key(stage: Stage, clock: Any) -> None:
    """rotate-key -> deploy in a later month (CloudFormation renews the retired stack key) -> publish cuts it back
    to the rotation's end; the renewer holds it there too."""
    clock.move_to(at(2026, 11, 30, 12))
    rotate_key(stage.session, stage.config, grace_hours=48)
    assert stage.keys()[stage.key] == at(2026, 12, 2, 12)

    clock.move_to(at(2026, 12, 1, 9))
    stage.deploy(synthesized=date(2026, 12, 1))  # CloudFormation sets the stack key to 2027-11-01 first

    assert stage.keys()[stage.key] == at(2026, 12, 2, 12)
    stage.session.client("appsync").update_api_key(
        apiId=stage.api["apiId"], id=stage.key, expires=int(at(2027, 11, 1, 0).timestamp())
    )  # a bare `cdk deploy`, without publish
    clock.move_to(at(2026, 12, 2))
    run(stage.env, session=stage.session)
    assert stage.keys()[stage.key] == at(2026, 12, 3, 4)  # the earliest AppSync allows: 25 h after 03:00


def test_failure_is_one_line_and_logs_no_key(stage: Stage, clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A failed run raises RenewalFailed with the deploy step's one-line message (the Lambda's Errors metric
    feeds the alarm); neither the logs of a good run nor of a failed one hold the key."""
    clock.move_to(at(2026, 12, 1))
    with caplog.at_level(logging.DEBUG):
        run(stage.env, session=stage.session)
    good = caplog.text
    caplog.clear()
    stage.session.client("appsync").delete_api_key(apiId=stage.api["apiId"], id=stage.key)
    with caplog.at_level(logging.DEBUG), pytest.raises(RenewalFailed) as err:
        run(stage.env, session=stage.session)

    assert str(err.value) == (
        f"the API key published under {PREFIX} no longer exists on API {stage.api['apiId']}; run "
        "python -m eventapi.deploy publish --stage dev to publish the current key"
    )
    assert "key renewal for stage dev:" in good
    assert f"key renewal failed for stage dev: {err.value}" in caplog.text
    assert stage.key not in good + caplog.text


def test_stage_travels_through_the_environment(stage: Stage) -> None:
    """The function's environment carries exactly what renewal reads, and parses back to the same settings."""
    back = stage_from_environment(stage.env)

    assert (back.name, back.region, back.auth.api_key, back.ssm, back.tags) == (
        stage.config.name,
        stage.config.region,
        stage.config.auth.api_key.__class__(**{**vars(stage.config.auth.api_key), "auto_renew": None}),
        stage.config.ssm,
        stage.config.tags,
    )
    with pytest.raises(RenewalFailed, match=f"^{STAGE_ENV} is not set; the stack sets it on the function$"):
        stage_from_environment({})


def test_cli_runs_the_renewer_here(
    stage: Stage, clock: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`python -m eventapi.deploy.renewer --stage dev` runs the Lambda's code here and prints the masked report."""
    clock.move_to(at(2026, 12, 1))
    monkeypatch.setattr("boto3.Session", lambda **_: stage.session)

    code = main(["--stage", "dev", "--project-root", str(tmp_path / "project")])

    out = capsys.readouterr()
    assert code == 0
    assert json.loads(out.out)["apiKey"] == {"masked": "****" + stage.key[-4:], "expires": "2027-11-01T00:00:00Z"}
    assert stage.key not in out.out + out.err


def test_cli_unexpected_error_is_one_line_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`python -m eventapi.deploy.renewer`: an exception it does not expect is one line, the key masked, exit 1."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    def broken(environ: Any, **_: Any) -> None:
        raise RuntimeError(f"boom with {key}\n  and a second line")

    monkeypatch.setattr("eventapi.deploy.renewer.run", broken)
    code = main(["--stage", "dev", "--project-root", str(write_project(tmp_path / "project"))])

    assert code == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "error: renewer: unexpected RuntimeError: boom with ****wxyz and a second line\n")
