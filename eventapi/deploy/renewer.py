"""The scheduled key renewer: an AWS Lambda handler around `renew_key`, the code `renew-key` runs.

EventBridge Scheduler invokes `handler` daily. It renews the published key to the far end of the stage's expiry
scheme (`renewal.renewal_target`, the date a deploy synthesized today would set), updates `api-key-expires` and
`config`, and holds a rotation's retired key to its end. The stage comes from the `EVENTAPI_STAGE` environment
variable: `eventapi.config.renewal_context(stage)` as JSON, read back with `parse_config`.

A failure raises `RenewalFailed` with the one-line, redacted message of the `DeployError`: the function's Errors
metric feeds the stack's alarm. Nothing logged holds a key (the run's `Redactor` masks every log record).

    python -m eventapi.deploy.renewer --stage dev     # run it here, as the Lambda runs it (e.g. against moto)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from eventapi.config import ConfigError, StageConfig, load_stage, parse_config, renewal_context
from eventapi.deploy.aws import redacted_logs
from eventapi.deploy.errors import DeployError, Redactor
from eventapi.deploy.failures import report_failure
from eventapi.deploy.renewal import renew_key
from eventapi.exits import ExitCode

STAGE_ENV: Final = "EVENTAPI_STAGE"
log = logging.getLogger(__name__)


class RenewalFailed(DeployError):
    """The renewal failed; the message is one line with no secret in it, `code` the `ExitCode` of the failure."""

    def __init__(self, message: str, code: ExitCode = ExitCode.CONFIG) -> None:
        super().__init__(code, message)


def stage_environment(stage: StageConfig) -> dict[str, str]:
    """The renewer's environment for `stage` (what the stack sets on the function)."""
    return {STAGE_ENV: json.dumps(renewal_context(stage), separators=(",", ":"), sort_keys=True)}


def stage_from_environment(environ: Mapping[str, str]) -> StageConfig:
    raw = environ.get(STAGE_ENV)
    if raw is None:
        raise RenewalFailed(f"{STAGE_ENV} is not set; the stack sets it on the function")
    try:
        context = json.loads(raw)
        config = parse_config(context, Path())
    except (ValueError, ConfigError) as err:
        raise RenewalFailed(f"{STAGE_ENV} is not a stage this tool wrote: {err}") from None
    (stage,) = config.stages
    return stage


def run(environ: Mapping[str, str], *, session: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """One renewal: the report as JSON (the key masked). Raises `RenewalFailed`."""
    stage = stage_from_environment(environ)
    redactor = Redactor()
    with redacted_logs(redactor):
        try:
            if session is None:
                import boto3  # noqa: PLC0415 - the Lambda runtime has it; tests pass a session

                session = boto3.Session()
            report = renew_key(session, stage, now=now, redactor=redactor)
        except DeployError as err:
            log.error("key renewal failed for stage %s: %s", stage.name, redactor(err.message))
            raise RenewalFailed(redactor(err.message), err.code) from None
        result = report.to_json()
        log.info("key renewal for stage %s: %s", stage.name, redactor(json.dumps(result, separators=(",", ":"))))
    return result


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (`eventapi.deploy.renewer.handler`); the event is not read."""
    logging.getLogger().setLevel(logging.INFO)
    return run(os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the renewer here as the Lambda runs it, with the stage's environment built from cdk.json."""
    parser = argparse.ArgumentParser(prog="python -m eventapi.deploy.renewer", description=main.__doc__)
    parser.add_argument("--stage", required=True, help="stage name in cdk.json")
    parser.add_argument("--project-root", type=Path, default=Path(), help="folder holding cdk.json (default: .)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        stage = load_stage(args.stage, args.project_root)
        result = run({**os.environ, **stage_environment(stage)})
    except Exception as err:  # one line, no traceback (it could quote a key)
        return report_failure(err, Redactor(), "renewer")
    print(json.dumps(result, indent=2))
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
