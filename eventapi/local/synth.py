"""Step 1 of a local deploy, the template: the stage's config, then `python app.py` for that stage (as `cdk synth
--context stage=<s>` runs it, offline and credential-free) into a private directory, or a given template."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Final

from eventapi.config import ConfigError, StageConfig, load_config, read_cdk_context
from eventapi.exits import ExitCode
from eventapi.local.aws_env import offline_env
from eventapi.local.deploy_step import LocalDeployError, communicate
from eventapi.local.template import LocalApiSpec, TemplateError

SYNTH_TIMEOUT: Final = 180.0


def load_stage_config(stage: str, project_root: Path) -> StageConfig:
    try:
        return load_config(project_root).stage(stage)
    except ConfigError as err:
        where = "" if err.path.startswith("cdk.json") else "cdk.json: "
        raise LocalDeployError(f"{where}{err}", ExitCode.CONFIG) from None


def local_skips(stage: StageConfig) -> list[str]:
    """One line per configured part of the stage that has no local meaning, saying what happens instead."""
    lines = []
    if stage.monitoring is not None:
        lines.append("monitoring: the alarms, their topic and the dashboard exist only in CloudWatch and SNS in AWS")
    if stage.waf is not None:
        lines.append("waf: AWS WAF runs only in AWS; the local Event API lets through what the web ACL would block")
    if stage.domain is not None:
        lines.append(
            f"domain: {stage.domain.name} is served by AppSync in AWS; locally the endpoints stay on localhost"
        )
    return lines


def synth_env(stage: str | None, project_root: Path, outdir: Path) -> dict[str, str]:
    """The environment for `python app.py` to synthesize one stage (None: every stage) into `outdir`, offline and
    credential-free."""
    try:
        context = read_cdk_context(project_root)
    except ConfigError as err:
        raise LocalDeployError(str(err), ExitCode.CONFIG) from None
    return offline_env(
        os.environ,
        CDK_OUTDIR=str(outdir),
        CDK_CONTEXT_JSON=json.dumps({**context, "stage": stage} if stage else context),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )


async def synthesize(stage: StageConfig, project_root: Path, outdir: Path, *, timeout: float = SYNTH_TIMEOUT) -> Path:
    """Run the CDK app for one stage into `outdir` (a subprocess); return the stack's template path."""
    app = project_root / "app.py"
    if not app.is_file():
        raise LocalDeployError(f"{app}: not found; run from the project root or pass --project-root", ExitCode.CONFIG)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(app),
        cwd=project_root,
        env=synth_env(stage.name, project_root, outdir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    finished = await communicate(proc, timeout)
    if finished is None:
        raise LocalDeployError(
            f"synth of stage {stage.name!r} took more than {timeout:.0f} s; gave up", ExitCode.CONFIG
        )
    out, err = finished
    template = outdir / f"{stage.stack_name}.template.json"
    if proc.returncode != 0 or not template.is_file():
        lines = [ln for ln in (err or out).decode(errors="replace").splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        raise LocalDeployError(f"synth of stage {stage.name!r} failed: {last}", ExitCode.CONFIG)
    return template


def read_spec(template: Path) -> LocalApiSpec:
    try:
        return LocalApiSpec.from_file(template)
    except TemplateError as err:
        raise LocalDeployError(str(err), ExitCode.CONFIG) from None
