"""The API key stays out of what the local deploy prints, raises and reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventapi.exits import ExitCode
from eventapi.local.control_plane import RegisteredApi
from eventapi.local.deploy_step import LocalDeployError
from eventapi.local.post_deploy import run_publish
from eventapi.local.settings import LocalApiKey, new_api_key
from tests.e2e.conftest import offline_env

FAKE_DEPLOY = """import sys
print("writing the key", sys.argv[1:], file=sys.stdout)
print("error: AccessDenied for key {key}", file=sys.stderr)
sys.exit(3)
"""


async def test_a_failing_post_deploy_step_is_reported_without_the_key(tmp_path: Path, state_dir: Path) -> None:
    """When the post-deploy step fails and prints the key, the one-line error shows `<redacted>` instead."""
    # Given a post-deploy step (a stand-in `eventapi.deploy` first on sys.path) that prints the key and fails
    key = new_api_key()
    package = tmp_path / "eventapi" / "deploy"
    package.mkdir(parents=True)
    (tmp_path / "eventapi" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_DEPLOY.format(key=key))
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    # When the local deploy runs it
    with pytest.raises(LocalDeployError) as caught:
        await run_publish("dev", outputs, project_root=tmp_path, env=offline_env(state_dir), secrets=[key])
    # Then the error names the step and its last line, with the key redacted
    assert caught.value.code == ExitCode.POST_DEPLOY
    assert str(caught.value) == (
        "post-deploy step (python -m eventapi.deploy publish) failed: error: AccessDenied for key <redacted>"
    )


def test_registered_api_repr_hides_the_keys() -> None:
    """`RegisteredApi` and `LocalApiKey` reprs never show a key value."""
    key = new_api_key()
    api = RegisteredApi("apiid", "arn:aws:appsync:eu-west-1:123456789012:apis/apiid", {}, (LocalApiKey(key, 1.0),))
    assert key not in repr(api)
    assert key not in repr(api.keys)
