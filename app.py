#!/usr/bin/env python3
"""CDK entry point: reads the `eventapi` context once, builds one stack per stage, nothing else.

    npx cdk synth                          # every stage in cdk.json
    npx cdk synth --context stage=prod     # one stage

A bad config value ends synth with one line on stderr naming the field, the value and what is allowed, and exit
code 3 (`eventapi.exits.ExitCode.CONFIG`); any other failure with one line and exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from eventapi.config import CONTEXT_KEY, ConfigError, parse_config, parse_context_json, read_cdk_context
from eventapi.exits import ExitCode, unexpected_line
from eventapi.handler_checks import check_stage_code
from eventapi.infra.nag import EventApiChecks
from eventapi.protocol.auth import mask_credentials
from stacks.ci_stack import CiStack
from stacks.event_api_stack import EventApiStack

ROOT = Path(__file__).resolve().parent
TODAY_KEY = "eventapi:today"  # pins the API key expiry for reproducible builds and tests (YYYY-MM-DD)


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json (the CLI passes it in for us; tests and benches read it here)."""
    return read_cdk_context(ROOT)


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> cdk.App:
    """The CDK app for `context` (None: what the CDK CLI passed, or cdk.json when run without the CLI)."""
    if context is None and "CDK_CONTEXT_JSON" not in os.environ:
        context = cdk_json_context()
    elif context is None:
        parse_context_json(os.environ["CDK_CONTEXT_JSON"], "CDK_CONTEXT_JSON")  # one line here, not a jsii trace
    # No CDKMetadata resource: templates stay byte-identical between the CLI, tests and reviewers' machines.
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir, analytics_reporting=False)
    config = parse_config(app.node.try_get_context(CONTEXT_KEY), ROOT)
    selected = app.node.try_get_context("stage")
    if selected is not None and not isinstance(selected, str):
        raise ConfigError("--context stage", f"{json.dumps(selected)} is not one stage name; give it once")
    stages = [config.stage(selected, field="--context stage")] if selected else list(config.stages)
    today = _today(app.node.try_get_context(TODAY_KEY))
    for stage in stages:
        code = {name: checked.code for name, checked in check_stage_code(stage, ROOT).items()}
        EventApiStack(app, stage=stage, today=today, project_root=ROOT, bundled_code=code)
    if config.ci is not None and not selected:
        CiStack(app, config=config.ci)  # `<App>-ci`: deployed once with admin credentials (`make ci-deploy`)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), EventApiChecks(app, today=today))
    return app


def _today(value: Any) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(TODAY_KEY, f"{value!r} is not a date; expected YYYY-MM-DD") from None


def main() -> int:
    try:
        build_app().synth()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return ExitCode.CONFIG
    except Exception as err:  # e.g. a rule pack's finding: its report is printed above; one line here, no jsii trace
        print(unexpected_line("error: synth", err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED
    return ExitCode.OK


if __name__ == "__main__":
    code = main()
    # The cloud assembly is on disk now. jsii's atexit shutdown of its Node process would add ~0.9 s to every
    # `cdk synth`/`deploy`; nothing is left to write, so leave at once (the Node process ends on stdin EOF).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
