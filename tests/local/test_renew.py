"""`python -m eventapi.local renew`: the scheduled renewer's code, run once against the local moto on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventapi.config import api_key_expiry
from tests.deploy.conftest import STAGES, create_api, create_key, create_stack, outputs_for, write_project
from tests.deploy.test_cli import REGION, cli, moto_url  # noqa: F401 - the moto server fixture

pytestmark = [pytest.mark.slow, pytest.mark.clock]
ROOT = Path(__file__).resolve().parents[2]


def test_renew_runs_the_renewer_against_local_moto(moto_url: str, tmp_path: Path) -> None:  # noqa: F811
    """With a stage published to the local moto, `renew` moves the key to the far end of the scheme and prints
    the masked report; the key's value is never printed."""
    dev = {**STAGES["dev"], "auth": {**STAGES["dev"]["auth"], "providers": {"apiKey": {"autoRenew": True}, "iam": {}}}}
    project = write_project(tmp_path / "project", {"dev": dev})
    session: Any = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    real_client = session.client
    session.client = lambda service, **kw: real_client(service, endpoint_url=moto_url, **kw)
    api = create_api(session, "social-dev")
    key = create_key(session, api["apiId"], datetime.now(UTC) + timedelta(days=40))
    create_stack(session, "Social-dev", outputs_for(api))
    assert cli(moto_url, "publish", "--stage", "dev", cwd=project).returncode == 0
    before = datetime.now(UTC).date()

    result = subprocess.run(
        [sys.executable, "-m", "eventapi.local", "renew", "--stage", "dev", "--moto-url", moto_url],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expires = report["apiKey"]["expires"]
    allowed = {api_key_expiry(365, day) for day in (before, datetime.now(UTC).date())}
    assert datetime.fromisoformat(expires) in allowed
    (item,) = session.client("appsync").list_api_keys(apiId=api["apiId"])["apiKeys"]
    assert datetime.fromtimestamp(item["expires"], UTC) == datetime.fromisoformat(expires)
    assert key not in result.stdout + result.stderr
