"""`eventapi-local renew --stage dev`: run the scheduled key renewer once against a running `make local`.

In AWS, `apiKey.autoRenew` runs the renewer daily on EventBridge Scheduler; locally nothing schedules it. This runs
its code (`python -m eventapi.deploy.renewer`, what the Lambda runs) in a subprocess pointed at the local moto, as
`up` runs the post-deploy step. The local Event API picks up the renewed expiry within a second (its key sync).
Exit codes: the renewer's (`eventapi.exits`: 0 done, 3 config, 7 no key, 11 nothing published, ...); 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from eventapi.exits import ExitCode
from eventapi.local.aws_env import local_aws_env
from eventapi.local.cli_up import DEFAULT_MOTO_PORT
from eventapi.local.control_plane import LOCAL_HOST
from eventapi.local.deploy_step import LocalDeployError
from eventapi.local.settings import DEFAULT_REGION
from eventapi.local.synth import load_stage_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="a stage of cdk.json, e.g. dev")
    parser.add_argument("--project-root", type=Path, default=Path(), help="where cdk.json is (default .)")
    parser.add_argument(
        "--moto-url",
        default=f"http://{LOCAL_HOST}:{DEFAULT_MOTO_PORT}",
        help=f"the AWS_ENDPOINT_URL `up` printed (default http://{LOCAL_HOST}:{DEFAULT_MOTO_PORT})",
    )


def main(args: argparse.Namespace) -> int:
    try:
        stage = load_stage_config(args.stage, args.project_root.resolve())
    except LocalDeployError as err:
        print(f"error: {err}", file=sys.stderr)
        return ExitCode.CONFIG
    if stage.auth.api_key is None:
        print(f"error: stage {stage.name} has no API key (auth.providers.apiKey); nothing to renew", file=sys.stderr)
        return ExitCode.CONFIG
    command = [sys.executable, "-m", "eventapi.deploy.renewer", "--stage", stage.name, "--project-root", "."]
    env = local_aws_env(args.moto_url, stage.region or DEFAULT_REGION)
    return subprocess.run(command, cwd=args.project_root.resolve(), env=env, check=False).returncode
