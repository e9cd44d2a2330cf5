"""`python -m eventapi.local handler test`: evaluate one namespace handler of a stage from the command line.

    python -m eventapi.local handler test --stage prod --operation subscribe --channel /users/a1/inbox \
        --identity cognito:a1
    python -m eventapi.local handler test --stage prod --channel /comments/7/new --events '[{"content": "hi"}]'

Prints the outcome as JSON. Exit codes, those the client exits with for the same answer (`eventapi.exits`): 0
allowed / published, 4 refused as unauthorized, 16 refused with an error, 2 bad arguments, 3 cdk.json or stage
problem.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from eventapi.config import ConfigError
from eventapi.exits import ExitCode
from eventapi.protocol.channels import ChannelError
from eventapi.testing.identities import cognito, iam
from eventapi.testing.kit import HandlerKit

PROG = "eventapi-local handler test"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="handler_command", required=True, metavar="COMMAND")
    test = sub.add_parser("test", help="run onPublish/onSubscribe of a stage's namespace once")
    test.add_argument("--stage", required=True, help="a stage of cdk.json, e.g. prod")
    test.add_argument("--project-root", type=Path, default=Path(), help="where cdk.json is (default .)")
    test.add_argument("--operation", choices=("publish", "subscribe"), default="publish")
    test.add_argument("--channel", required=True, help="e.g. /comments/7/new (subscribe: wildcards allowed)")
    test.add_argument("--events", default="[]", help="publish: a JSON list of event payloads")
    test.add_argument(
        "--identity",
        default="api-key",
        help="api-key (no identity), cognito:<sub> or iam:<user name> (default api-key)",
    )


def identity_of(text: str) -> dict[str, Any] | None:
    kind, _, value = text.partition(":")
    if kind == "api-key" and not value:
        return None
    if kind == "cognito" and value:
        return cognito(sub=value)
    if kind == "iam" and value:
        return iam(value)
    raise ValueError(f"--identity: {text!r} is not api-key, cognito:<sub> or iam:<user name>")


def main(args: argparse.Namespace) -> int:
    try:
        identity = identity_of(args.identity)
        events = json.loads(args.events)
        if not isinstance(events, list):
            raise ValueError("--events: expected a JSON list of event payloads")
    except (ValueError, json.JSONDecodeError) as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        with HandlerKit.for_stage(args.stage, args.project_root) as kit:
            if args.operation == "subscribe":
                result: Any = kit.subscribe(args.channel, identity=identity)
                ok = result.allowed
            else:
                result = kit.publish(args.channel, events, identity=identity)
                ok = result.ok
    except ConfigError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return ExitCode.CONFIG
    except ChannelError as err:
        print(f"{PROG}: --channel: {err}", file=sys.stderr)
        return ExitCode.USAGE
    print(json.dumps(dataclasses.asdict(result), indent=2))
    if ok:
        return ExitCode.OK
    return ExitCode.UNAUTHORIZED if result.unauthorized else ExitCode.REFUSED
