"""`eventapi-local serve --template cdk.out/Social-dev.template.json [--port 8080] [--tls-port 8443] ...`.

Exit codes (`eventapi.exits`): 0 stopped, 2 a bad option value, 3 the template cannot be read, 22 cannot listen on
a port. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from eventapi.exits import ExitCode
from eventapi.local.server import LocalServer, banner, run
from eventapi.local.settings import (
    API_KEY_RE,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    STATE_DIR_ENV,
    IamCredential,
    LocalApiKey,
    LocalSettings,
    default_state_dir,
    new_api_key,
)
from eventapi.local.template import LocalApiSpec, TemplateError

API_KEY_ENV = "EVENTAPI_LOCAL_API_KEY"
IAM_ENV = "EVENTAPI_LOCAL_IAM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template", required=True, type=Path, help="synthesized template, e.g. cdk.out/Social-dev.template.json"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"plain http/ws port (0 = ephemeral, -1 = off; default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--tls-port",
        type=int,
        default=DEFAULT_TLS_PORT,
        help=f"https/wss port (0 = ephemeral, -1 = off; default {DEFAULT_TLS_PORT})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"TLS CA and issuer key (default ${STATE_DIR_ENV} or ~/.cache/eventapi-local)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"a valid API key da2-<26 chars> (repeatable; or ${API_KEY_ENV}); none = one is made and written to "
        "<state dir>/api-key (mode 0600)",
    )
    parser.add_argument(
        "--iam",
        action="append",
        default=[],
        metavar="AKID:SECRET",
        help=f"local IAM credentials accepted for AWS_IAM (repeatable; or ${IAM_ENV})",
    )
    parser.add_argument("--region", default=None, help="SigV4 region (default: the template's)")
    parser.add_argument(
        "--user-pool-id",
        default=None,
        help="Cognito pool id tokens name in iss (default: the template's, else <region>_local)",
    )
    parser.add_argument(
        "--lambda-authorizer",
        default=None,
        metavar="MODULE:FUNCTION",
        help="Python callable standing in for the AWS_LAMBDA authorizer",
    )
    parser.add_argument("--keepalive", type=float, default=60.0, help="seconds between ka frames (default 60)")
    parser.add_argument(
        "--publish-rate-limit",
        type=float,
        default=None,
        help="publish requests per second per connection (default: not enforced)",
    )
    parser.add_argument(
        "--no-handlers", action="store_true", help="do not run namespace handlers (forward events unchanged)"
    )
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def settings_from_args(args: argparse.Namespace) -> tuple[LocalSettings, str | None]:
    """The settings, and the API key made for this run (None when keys were given)."""
    values = list(args.api_key) + [k for k in os.environ.get(API_KEY_ENV, "").split(",") if k]
    for value in values:
        if not API_KEY_RE.fullmatch(value):
            raise ValueError("--api-key: expected 'da2-' followed by 26 lowercase letters and digits")
    made = None
    if not values:
        made = new_api_key()
        values = [made]
    creds = []
    for pair in list(args.iam) + [p for p in os.environ.get(IAM_ENV, "").split(",") if p]:
        akid, sep, secret = pair.partition(":")
        if not sep or not akid or not secret:
            raise ValueError("--iam: expected ACCESS_KEY_ID:SECRET_ACCESS_KEY")
        creds.append(IamCredential(akid, secret))
    settings = LocalSettings(
        host=args.host,
        port=None if args.port < 0 else args.port,
        tls_port=None if args.tls_port < 0 else args.tls_port,
        state_dir=(args.state_dir.expanduser() if args.state_dir else default_state_dir()),
        api_keys=tuple(LocalApiKey(v) for v in values),
        iam_credentials=tuple(creds),
        region=args.region,
        cognito_user_pool_id=args.user_pool_id,
        lambda_authorizer=args.lambda_authorizer,
        keepalive_seconds=args.keepalive,
        publish_rate_limit=args.publish_rate_limit,
        emulate_handlers=not args.no_handlers,
        # The app's functions run from their source under the current directory (edits apply), else from the
        # staged assets next to the template. DynamoDB data sources need moto: use `up`.
        project_root=Path.cwd(),
        assembly_dir=Path(args.template).resolve().parent,
    )
    return settings, made


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        spec = LocalApiSpec.from_file(args.template)
    except TemplateError as err:
        print(f"eventapi-local serve: {err}", file=sys.stderr)
        return ExitCode.CONFIG
    try:
        settings, made = settings_from_args(args)
    except ValueError as err:
        print(f"eventapi-local serve: {err}", file=sys.stderr)
        return ExitCode.USAGE

    key_file = settings.state_dir / "api-key"
    if made is not None:
        # The key goes to a private file, never to the terminal (command output ends up in logs and CI).
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        key_file.unlink(missing_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(made + "\n")

    def started(server: LocalServer) -> None:
        for line in banner(server):
            print(line, flush=True)
        if made is not None:
            print(f"  API key (made for this run) in {key_file}: export EVENTAPI_API_KEY=$(cat {key_file})", flush=True)

    try:
        asyncio.run(run(spec, settings, on_started=started))
    except OSError as err:
        print(f"eventapi-local serve: cannot listen: {err}; choose another --port/--tls-port", file=sys.stderr)
        return ExitCode.PORT_IN_USE
    except KeyboardInterrupt:
        pass
    return ExitCode.OK
