"""`eventapi-local demo --stage dev`: runs `python -m eventapi.demo` (the seed post's scenario, locally).

The demo uses the Python client, and `eventapi.local` never imports `eventapi.client` (docs/architecture.md,
"Import rules"), so this command only replaces the current process with `python -m eventapi.demo <same options>`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from eventapi.exits import ExitCode

DEFAULT_TIMEOUT = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", default="dev", help="a stage of cdk.json (default dev)")
    parser.add_argument("--project-root", type=Path, help="where cdk.json and app.py are (default .)")
    parser.add_argument("--template", type=Path, help="use this synthesized template instead of synthesizing")
    parser.add_argument("--state-dir", type=Path, help="TLS CA and issuer key (default ~/.cache/eventapi-local)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per scenario step (default {DEFAULT_TIMEOUT:g})",
    )


def demo_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "eventapi.demo", "--stage", args.stage, "--timeout", str(args.timeout)]
    for option, value in (
        ("--project-root", args.project_root),
        ("--template", args.template),
        ("--state-dir", args.state_dir),
    ):
        if value is not None:
            argv += [option, str(value)]
    return argv


def main(args: argparse.Namespace) -> int:
    argv = demo_argv(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 - this interpreter, fixed module, arguments parsed above
    return ExitCode.UNEXPECTED  # not reached: execv replaced this process
