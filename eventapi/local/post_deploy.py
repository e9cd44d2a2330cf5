"""Step 4 of a local deploy: the unchanged post-deploy step (`python -m eventapi.deploy publish`) in a subprocess,
against the local stand-in, reading an outputs file in the shape `cdk deploy --outputs-file` writes.

Output relayed from the step is redacted: the key value never leaves this process except into the local server
and moto.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from eventapi.config import StageConfig
from eventapi.exits import ExitCode
from eventapi.local.control_plane import RegisteredApi
from eventapi.local.deploy_step import LocalDeployError, communicate
from eventapi.local.deployed import Endpoints
from eventapi.outputs import Output

PUBLISH_TIMEOUT: Final = 60.0
REDACTED: Final = "<redacted>"


def outputs_for(stage: StageConfig, api: RegisteredApi, endpoints: Endpoints, region: str) -> dict[str, Any]:
    """The `cdk deploy --outputs-file` JSON the post-deploy step reads: `{"<Stack>": {"<Output>": value}}`."""
    host = endpoints.http_host
    return {
        stage.stack_name: {
            Output.API_ID.value: api.api_id,
            Output.API_ARN.value: api.api_arn,
            Output.HTTP_ENDPOINT.value: endpoints.http,
            Output.REALTIME_ENDPOINT.value: endpoints.realtime,
            Output.HTTP_HOST.value: host,
            Output.REALTIME_HOST.value: host,
            Output.REGION.value: region,
            **({Output.USER_POOL_ID.value: api.user_pool_id} if api.user_pool_id else {}),
            **({Output.USER_POOL_CLIENT_ID.value: api.user_pool_client_id} if api.user_pool_client_id else {}),
        }
    }


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


async def run_publish(
    stage: str,
    outputs_file: Path,
    *,
    project_root: Path,
    env: Mapping[str, str],
    secrets: Sequence[str],
    timeout: float = PUBLISH_TIMEOUT,
) -> list[str]:
    """Run the unchanged post-deploy step against the local stand-in; return its output lines (redacted)."""
    argv = ("publish", "--stage", stage, "--outputs-file", str(outputs_file))
    return await run_deploy_step(argv, project_root=project_root, env=env, secrets=secrets, timeout=timeout)


async def run_deploy_step(
    argv: Sequence[str],
    *,
    project_root: Path,
    env: Mapping[str, str],
    secrets: Sequence[str],
    timeout: float = PUBLISH_TIMEOUT,
) -> list[str]:
    """Run `python -m eventapi.deploy <argv>` as a user would; its output lines (redacted), or `LocalDeployError`."""
    what = f"post-deploy step (python -m eventapi.deploy {argv[0]})"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventapi.deploy",
        *argv,
        cwd=project_root,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    finished = await communicate(proc, timeout)
    if finished is None:
        raise LocalDeployError(f"{what} took more than {timeout:.0f} s", ExitCode.POST_DEPLOY)
    out, err = finished
    text_out = redact(out.decode(errors="replace"), secrets)
    text_err = redact(err.decode(errors="replace"), secrets)
    if proc.returncode != 0:
        lines = [ln for ln in text_err.splitlines() if ln.strip()] or [f"exit code {proc.returncode}"]
        raise LocalDeployError(f"{what} failed: {lines[-1].strip()}", ExitCode.POST_DEPLOY)
    return [ln for ln in (text_out + text_err).splitlines() if ln.strip()]
