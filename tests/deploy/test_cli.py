"""The real CLI (`python -m eventapi.deploy`) in a subprocess against a moto server, reached via AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from eventapi.outputs import Output
from tests.deploy.conftest import REGION, create_api, create_key, create_stack, outputs_for, write_project

pytestmark = [pytest.mark.slow, pytest.mark.clock]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server for the module's tests, starting empty: moto keeps its state per process, so without the reset
    a stack another module's server created (same worker) would already exist here."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto's documented reset endpoint, on the http URL of the server just started
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310
    yield url
    server.stop()


def cli_env(moto_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=moto_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONPATH=str(ROOT),
    )
    return env


def cli(moto_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventapi.deploy", *args],
        cwd=cwd,
        env=cli_env(moto_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_end_to_end(moto_url: str, tmp_path: Path) -> None:
    """publish, an unchanged rerun, show, rotate, finish, export and unpublish through the real CLI."""
    # Given: a deployed-looking dev stage in the moto server (an Event API, its key, a stack with outputs)
    project = write_project(tmp_path / "project")
    session: Any = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    real_client = session.client

    def client(service: str, **kwargs: Any) -> Any:
        return real_client(service, endpoint_url=moto_url, **kwargs)

    session.client = client
    api = create_api(session, "social-dev")
    key = create_key(session, api["apiId"], datetime.now(UTC) + timedelta(days=200))
    create_stack(session, "Social-dev", outputs_for(api))

    # When / Then: publish creates, a rerun changes nothing
    first = cli(moto_url, "publish", "--stage", "dev", cwd=project)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines()[-1] == "publish dev under /social/dev/events: 11 created"
    again = cli(moto_url, "publish", "--stage", "dev", "--json", cwd=project)
    assert again.returncode == 0
    assert {c["action"] for c in json.loads(again.stdout)["changes"]} == {"unchanged"}

    shown = cli(moto_url, "show", "--stage", "dev", "--json", cwd=project)
    params = json.loads(shown.stdout)["parameters"]
    assert params["/social/dev/events/api-key"] == "****" + key[-4:]
    assert params["/social/dev/events/api-id"] == api["apiId"]

    rotated = cli(moto_url, "rotate-key", "--stage", "dev", "--json", cwd=project)
    assert rotated.returncode == 0, rotated.stderr
    finished = cli(moto_url, "rotate-key", "--stage", "dev", "--finish", "--force", cwd=project)
    assert finished.returncode == 0, finished.stderr
    keys = session.client("appsync").list_api_keys(apiId=api["apiId"])["apiKeys"]
    assert [k["id"] for k in keys] != [key]
    assert len(keys) == 1

    exported = cli(moto_url, "export", "--stage", "dev", "--format", "env", "-o", "web.env", cwd=project)
    assert exported.returncode == 0
    assert exported.stderr == (
        "WARNING: web.env holds the API key in clear text; keep it out of version control and out of logs\n"
    )
    assert f"EVENTAPI_API_KEY={keys[0]['id']}\n" in (project / "web.env").read_text()
    assert stat.S_IMODE((project / "web.env").stat().st_mode) == 0o600

    gone = cli(moto_url, "unpublish", "--stage", "dev", cwd=project)
    assert gone.stdout.splitlines()[-1] == "unpublish dev under /social/dev/events: 11 deleted"

    for run in (first, again, shown, rotated, finished, exported, gone):
        assert key not in run.stdout + run.stderr
        assert keys[0]["id"] not in run.stdout + run.stderr


def test_cli_errors_exit_with_their_codes(moto_url: str, tmp_path: Path) -> None:
    """A stage with no stack exits 5; an outputs file without the realtime host exits 6; both print one line."""
    project = write_project(tmp_path / "project")

    missing = cli(moto_url, "publish", "--stage", "prod", cwd=project)
    assert (missing.returncode, missing.stdout) == (5, "")
    assert missing.stderr == (
        "error: stack Social-prod does not exist in eu-west-1; deploy it first (make deploy STAGE=<stage>), "
        "or pass --region or --outputs-file\n"
    )

    outputs = {Output.API_ID.value: "x", Output.REGION.value: REGION}
    (project / "outputs.json").write_text(json.dumps({"Social-prod": outputs}))
    partial = cli(moto_url, "publish", "--stage", "prod", "--outputs-file", "outputs.json", cwd=project)
    assert partial.returncode == 6
    assert partial.stderr == (
        "error: stack Social-prod has no output EventApiHttpEndpoint, EventApiRealtimeEndpoint, EventApiHttpHost, "
        "EventApiRealtimeHost (outputs file outputs.json); deploy the current version of the stack "
        "(make deploy STAGE=<stage>) and run again\n"
    )
