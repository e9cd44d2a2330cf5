"""`python -m eventapi.client`: subscribe to a channel or publish events from the command line.

    python -m eventapi.client subscribe '/default/*' --stage dev
    python -m eventapi.client publish /default/x '{"a":1}' --config-file amplify_outputs.json
    python -m eventapi.client smoke --stage dev     # every auth mode at hand: connect, subscribe, publish, refusals

Config comes from SSM (`--stage` or `--prefix`, with `--profile`/`--region`; boto3 honours AWS_ENDPOINT_URL) or
a file (`--config-file`). Tokens for Cognito/OIDC/Lambda auth are read from $EVENTAPI_AUTH_TOKEN, never from
the command line. Errors are one line on stderr, with the exit codes of `eventapi.exits`. The API key is never
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from eventapi.client.auth import ApiKey, AuthProvider, Iam, Token
from eventapi.client.client import EventsClient
from eventapi.client.config import EventsConfig
from eventapi.client.errors import (
    ClientClosedError,
    ConnectionLostError,
    EventsConfigError,
    EventsTimeoutError,
    ServiceError,
    UnauthorizedError,
    UnexpectedResponseError,
    one_line,
)
from eventapi.client.smoke import RECEIVE_TIMEOUT, credential_modes, run_smoke
from eventapi.client.smoke import __doc__ as smoke_doc
from eventapi.config import ConfigError
from eventapi.exits import MAX_LINE, ExitCode, unexpected_line
from eventapi.protocol import ChannelError, strict_loads
from eventapi.protocol.auth import mask_credentials
from eventapi.protocol.modes import AuthMode

TOKEN_ENV = "EVENTAPI_AUTH_TOKEN"  # noqa: S105 - the name of a variable, not a token
AUTH_CHOICES = {
    "api-key": AuthMode.API_KEY,
    "iam": AuthMode.AWS_IAM,
    "cognito": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "oidc": AuthMode.OPENID_CONNECT,
    "lambda": AuthMode.AWS_LAMBDA,
}


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    source = common.add_argument_group("config (one of)")
    source.add_argument("--stage", help="a stage of cdk.json: read its config from SSM")
    source.add_argument("--prefix", help="an SSM prefix, e.g. /social/dev/events")
    source.add_argument("--config-file", help="a config JSON, amplify_outputs.json or env file")
    common.add_argument("--project-root", default=".", help="where cdk.json is (with --stage)")
    common.add_argument("--profile", help="AWS profile for SSM and IAM auth")
    common.add_argument("--region", help="AWS region for SSM")
    common.add_argument("--ca-file", help="PEM bundle to trust (a local Event API's CA)")
    common.add_argument("-v", "--verbose", action="store_true", help="log reconnects and warnings")
    with_auth = argparse.ArgumentParser(add_help=False, parents=[common])
    with_auth.add_argument(
        "--auth",
        choices=sorted(AUTH_CHOICES),
        default="api-key",
        help=f"auth mode (tokens come from ${TOKEN_ENV}); default api-key",
    )

    parser = argparse.ArgumentParser(prog="python -m eventapi.client", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("subscribe", parents=[with_auth], help="print events of a channel, one JSON per line")
    sub.add_argument("channel", help="e.g. '/default/*' (a /* subscription does not receive the parent channel)")
    sub.add_argument("--count", type=int, default=0, help="exit after this many events (default: run until Ctrl-C)")
    pub = commands.add_parser("publish", parents=[with_auth], help="publish events (JSON texts) to a channel")
    pub.add_argument("channel", help="e.g. /default/comments/42/new")
    pub.add_argument("events", nargs="+", help="each a JSON text, e.g. '{\"a\":1}'")
    pub.add_argument("--via", choices=("http", "ws"), default="http", help="HTTP POST (default) or the socket")
    smoke = commands.add_parser(
        "smoke",
        parents=[common],
        help="check a deployed stage with every auth mode at hand",
        description=smoke_doc.split("\n\n")[1],
    )
    smoke.add_argument("--namespace", help="the namespace to use (default: 'default', else the first)")
    smoke.add_argument(
        "--token-mode",
        choices=("cognito", "oidc", "lambda"),
        help=f"what ${TOKEN_ENV} is for (default: the stage's first token mode)",
    )
    smoke.add_argument("--timeout", type=float, default=RECEIVE_TIMEOUT, help="seconds to wait for each event")
    return parser


def _session(args: argparse.Namespace) -> Any:
    import boto3  # noqa: PLC0415 - only SSM and IAM need it

    return boto3.Session(profile_name=args.profile, region_name=args.region)


def load_config(args: argparse.Namespace) -> EventsConfig:
    chosen = [name for name in ("stage", "prefix", "config_file") if getattr(args, name)]
    if len(chosen) != 1:
        raise CliError("give exactly one of --stage, --prefix or --config-file", ExitCode.USAGE)
    if args.config_file:
        return EventsConfig.from_file(args.config_file)
    return EventsConfig.from_ssm(args.prefix, stage=args.stage, session=_session(args), project_root=args.project_root)


def make_auth(args: argparse.Namespace) -> AuthProvider:
    mode = AUTH_CHOICES[args.auth]
    if mode is AuthMode.API_KEY:
        return ApiKey()
    if mode is AuthMode.AWS_IAM:
        return Iam(_session(args))
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise CliError(f"--auth {args.auth} needs the token in ${TOKEN_ENV}", ExitCode.CONFIG)
    return Token(token, mode=mode)


async def smoke(args: argparse.Namespace) -> int:
    config = await asyncio.to_thread(load_config, args)
    session = _session(args) if config.region else None
    has_iam = session is not None and await asyncio.to_thread(session.get_credentials) is not None
    providers = credential_modes(
        config,
        iam=Iam(session) if has_iam else None,
        token=os.environ.get(TOKEN_ENV),
        token_mode=AUTH_CHOICES[args.token_mode] if args.token_mode else None,
    )
    print(f"smoke {config.http_endpoint} with {', '.join(providers) or 'no credentials'}", flush=True)
    options = {"ca_file": args.ca_file} if args.ca_file else {}
    try:
        report = await run_smoke(
            config,
            providers,
            namespace=args.namespace,
            client_options=options,
            receive_timeout=args.timeout,
            emit=lambda check: print(check.line(), flush=True),
        )
    except ValueError as err:
        raise CliError(str(err), ExitCode.USAGE) from None
    failed = sum(not check.ok for check in report.checks)
    verdict = {
        0: "smoke ok",
        ExitCode.UNAUTHORIZED: f"no credentials for any mode; give the API key in SSM, AWS credentials or ${TOKEN_ENV}",
    }.get(report.exit_code, f"smoke failed: {failed} check(s)")
    print(f"{verdict} ({len(report.checks)} checks)", file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code


async def run(args: argparse.Namespace) -> int:
    if args.command == "smoke":
        return await smoke(args)
    config = load_config(args)
    async with EventsClient(config, auth=make_auth(args), ca_file=args.ca_file) as client:
        if args.command == "publish":
            events = []
            for text in args.events:
                try:
                    strict_loads(text)
                except ValueError:
                    raise CliError(f"event {text[:40]!r} is not valid JSON", ExitCode.USAGE) from None
                events.append(text)
            result = await client.publish(args.channel, *events, via=args.via, raw=True)
            print(json.dumps(result.to_json(), separators=(",", ":")), flush=True)
            if result.failed:
                print(f"error: {len(result.failed)} of {len(events)} events failed", file=sys.stderr)
                return ExitCode.FAILED_EVENTS
            return ExitCode.OK
        received = 0
        async with await client.subscribe(args.channel) as subscription:
            print(f"subscribed to {subscription.channel}", file=sys.stderr, flush=True)
            async for event in subscription:
                try:
                    event.data  # noqa: B018 - stdout holds JSON only: check the event parses
                except ValueError as err:
                    print(f"warning: skipped an event that is not JSON ({err})", file=sys.stderr, flush=True)
                    continue
                print(event.raw if "\n" not in event.raw else json.dumps(event.data), flush=True)
                received += 1
                if args.count and received >= args.count:
                    break
        return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, format="%(levelname)s: %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except CliError as err:
        return _fail(str(err), err.code)
    except (EventsConfigError, ConfigError) as err:
        return _fail(str(err), ExitCode.CONFIG)
    except UnauthorizedError as err:
        return _fail(f"unauthorized: {err}", ExitCode.UNAUTHORIZED)
    except UnexpectedResponseError as err:
        return _fail(f"unexpected answer: {err}", ExitCode.UNEXPECTED_ANSWER)
    except ServiceError as err:
        return _fail(f"refused: {err}", ExitCode.REFUSED)
    except ChannelError as err:
        return _fail(str(err), ExitCode.USAGE)
    except (ConnectionLostError, EventsTimeoutError, ClientClosedError, OSError) as err:
        return _fail(f"connection: {err}", ExitCode.CONNECTION)
    except Exception as err:  # one line, no traceback (it could quote a credential)
        print(unexpected_line(f"error: {args.command}", err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED


def _fail(message: str, code: ExitCode) -> int:
    print(f"error: {one_line(message, MAX_LINE)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
