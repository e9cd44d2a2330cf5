"""`eventapi-local up --stage dev`: deploy a stage locally and serve it until Ctrl-C / SIGTERM.

Synthesizes the stage (or reads a template), starts moto (AppSync control plane + SSM) and the local Event API on
127.0.0.1, registers the API, its namespaces and keys, runs the unchanged post-deploy step against moto, then
prints the endpoints, where the key is (its SSM name, never its value), the AWS_ENDPOINT_URL, the
NODE_EXTRA_CA_CERTS and EVENTAPI_EXTRA_CA_CERTS lines and copy-paste client commands. See docs/local-deploy.md.

Exit codes (`eventapi.exits`): 0 stopped cleanly (Ctrl-C or SIGTERM), 2 bad arguments, 3 cdk.json/stage/template/
synth, 22 a port is taken, 23 the post-deploy step failed, 1 anything else. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from eventapi.exits import ExitCode, unexpected_line
from eventapi.local.auth import load_authorizer
from eventapi.local.control_plane import PortInUseError
from eventapi.local.local_deploy import (
    Deployed,
    DeployOptions,
    LocalDeployError,
    LocalDeployment,
    client_env,
)
from eventapi.local.server import on_stop_signals
from eventapi.local.settings import DEFAULT_PORT, DEFAULT_TLS_PORT, STATE_DIR_ENV, default_state_dir
from eventapi.protocol.auth import mask_credentials
from eventapi.trust import EXTRA_CA_CERTS_ENV

PROG: Final = "eventapi-local up"
DEFAULT_MOTO_PORT: Final = 5005


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="a stage of cdk.json, e.g. dev")
    parser.add_argument("--project-root", type=Path, default=Path(), help="where cdk.json and app.py are (default .)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--template", type=Path, help="serve this synthesized template instead of synthesizing")
    source.add_argument(
        "--no-synth", action="store_true", help="read cdk.out/<Stack>.template.json (from `make synth`) as is"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"plain http/ws port (0 = free port, -1 = off; {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--tls-port",
        type=int,
        default=DEFAULT_TLS_PORT,
        help=f"https/wss port, the endpoints in SSM (0 = free port, -1 = off; default {DEFAULT_TLS_PORT})",
    )
    parser.add_argument(
        "--moto-port",
        type=int,
        default=DEFAULT_MOTO_PORT,
        help=f"moto server (AppSync control plane + SSM) port (0 = free port; default {DEFAULT_MOTO_PORT})",
    )
    parser.add_argument(
        "--state-dir", type=Path, help=f"TLS CA and issuer key (default ${STATE_DIR_ENV} or ~/.cache/eventapi-local)"
    )
    parser.add_argument(
        "--lambda-authorizer",
        metavar="MODULE:FUNCTION",
        help="a Python callable standing in for the stage's AWS_LAMBDA authorizer (see docs/local.md)",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="write the endpoints, ports and SSM names as JSON here once ready (no secrets)"
    )


def options_from_args(args: argparse.Namespace) -> DeployOptions:
    for name in ("port", "tls_port"):
        if getattr(args, name) < -1:
            raise ValueError(f"--{name.replace('_', '-')}: expected a port, 0 (a free one) or -1 (off)")
    if args.moto_port < 0:
        raise ValueError("--moto-port: expected a port or 0 (a free one)")
    if args.port < 0 and args.tls_port < 0:
        raise ValueError("--port and --tls-port are both off; nothing to serve")
    if args.lambda_authorizer is not None:
        load_authorizer(args.lambda_authorizer)  # fail now, as a usage error, not after synth and moto

    return DeployOptions(
        stage=args.stage,
        project_root=args.project_root,
        template=args.template,
        synth=not args.no_synth,
        port=None if args.port < 0 else args.port,
        tls_port=None if args.tls_port < 0 else args.tls_port,
        moto_port=args.moto_port,
        state_dir=args.state_dir.expanduser() if args.state_dir else None,
        lambda_authorizer=args.lambda_authorizer,
    )


def python_command() -> str:
    """How to call this Python in a copy-paste line: `.venv/bin/python` when it is the project's venv."""
    exe = Path(sys.executable)
    with contextlib.suppress(ValueError):
        rel = exe.relative_to(Path.cwd())
        return str(rel)
    return "python"


# Auth modes the sample client commands can use without extra setup, in order of preference, and their flag.
CLIENT_AUTH: Final[dict[str, str]] = {
    "API_KEY": "",
    "AWS_IAM": " --auth iam",  # signed with the printed dummy credentials, which the local Event API accepts
    "AMAZON_COGNITO_USER_POOLS": " --auth cognito",  # a token from `eventapi-local token` in $EVENTAPI_AUTH_TOKEN
}
SAMPLE_EVENT: Final = """'{"msg":"hi"}'"""


def _client_auth(modes: tuple[str, ...]) -> str | None:
    return next((CLIENT_AUTH[m] for m in CLIENT_AUTH if m in modes), None)


def token_command(dep: Deployed, py: str) -> str | None:
    """The command that mints a Cognito token the local Event API accepts (None without Cognito)."""
    if dep.user_pool_id is None:
        return None
    command = f"{py} -m eventapi.local token --user alice --region {dep.region} --user-pool-id {dep.user_pool_id}"
    if dep.user_pool_client_id:
        command += f" --client-id {dep.user_pool_client_id}"
    if dep.state_dir and Path(dep.state_dir) != default_state_dir():
        command += f" --state-dir {shlex.quote(dep.state_dir)}"
    return command


def client_commands(dep: Deployed, py: str) -> list[str]:
    """Copy-paste `eventapi.client` subscribe and publish commands for a namespace, with an auth mode it allows."""
    name = "default" if "default" in dep.namespaces else (dep.namespaces[0] if dep.namespaces else "default")
    modes = dep.namespace_modes.get(name, {})
    sub_auth = _client_auth(modes.get("subscribe", ("API_KEY",)))
    pub_auth = _client_auth(modes.get("publish", ("API_KEY",)))
    lines: list[str] = []
    token = token_command(dep, py)
    if token and CLIENT_AUTH["AMAZON_COGNITO_USER_POOLS"] in (sub_auth, pub_auth):
        lines.append(f"  export EVENTAPI_AUTH_TOKEN=$({token})")
    if sub_auth is not None:
        lines.append(f"  {py} -m eventapi.client subscribe --stage {dep.stage}{sub_auth} '/{name}/*'")
    if pub_auth is not None:
        lines.append(
            f"  {py} -m eventapi.client publish --stage {dep.stage}{pub_auth} /{name}/greetings {SAMPLE_EVENT}"
        )
    return lines


def summary(dep: Deployed) -> list[str]:
    """What `up` prints once everything runs: endpoints, where the key is, how to connect. No secrets."""
    ep = dep.endpoints
    env = client_env(dep.moto_url, dep.region)
    py = python_command()
    lines = [
        f"local deploy of stage {dep.stage!r} is up: stack {dep.stack}, Event API {dep.api_name!r} "
        f"(id {dep.api_id}), region {dep.region}, namespaces {', '.join(dep.namespaces)}",
        f"  http endpoint     {ep.http}   (in SSM: {dep.ssm_prefix}/http-endpoint)",
        f"  realtime endpoint {ep.realtime}   (in SSM: {dep.ssm_prefix}/realtime-endpoint)",
    ]
    if ep.plain_http and ep.plain_http != ep.http:
        lines.append(f"  plain http/ws     {ep.plain_http}  {ep.plain_ws}   (same API, no TLS)")
    if dep.api_key_parameter:
        lines.append(f"  API key           in SSM SecureString {dep.api_key_parameter} (value not shown)")
    lines.append(f"  client config     in SSM {dep.config_parameter}")
    if dep.user_pool_id:
        client = f", app client {dep.user_pool_client_id}" if dep.user_pool_client_id else ""
        lines.append(f"  Cognito           user pool {dep.user_pool_id}{client} (tokens: eventapi-local token)")
    lines.append(f"  AWS_ENDPOINT_URL={dep.moto_url}   (moto: AppSync control plane + SSM)")
    if dep.ca_cert:
        lines.append(f"  NODE_EXTRA_CA_CERTS={dep.ca_cert}")
        lines.append(f"  {EXTRA_CA_CERTS_ENV}={dep.ca_cert}   (the Python client adds it to the default CAs)")
    lines += [
        "from another shell (the credentials are local dummies):",
        "  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()),
    ]
    if dep.ca_cert:
        ca_file = shlex.quote(dep.ca_cert)
        lines.append(f"  export NODE_EXTRA_CA_CERTS={ca_file} {EXTRA_CA_CERTS_ENV}={ca_file}")
    lines += client_commands(dep, py)
    lines.append("Ctrl-C stops everything.")
    return lines


def write_ready_file(path: Path, dep: Deployed) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dep.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# What runs beside a deployment while it is up (e.g. `web`'s page server): it returns the lines to print and
# registers its clean-up on the stack, which is closed before the deployment stops.
Attachment = Callable[[Deployed, contextlib.AsyncExitStack], Awaitable[list[str]]]


async def print_summary(dep: Deployed, _stack: contextlib.AsyncExitStack) -> list[str]:
    return summary(dep)


async def serve(
    options: DeployOptions,
    *,
    ready_file: Path | None = None,
    out: Callable[[str], None] = print,
    attach: Attachment = print_summary,
) -> int:
    """Deploy, attach (print the summary), wait for SIGINT/SIGTERM, tear everything down. Returns the exit code."""
    stop = asyncio.Event()
    release_signals = on_stop_signals(stop)
    deployment = LocalDeployment(options, log=out)
    try:
        start = asyncio.ensure_future(deployment.start())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({start, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():  # Ctrl-C during start-up: abandon it (subprocesses are killed)
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
            out("interrupted during start-up")
            return ExitCode.OK
        stopper.cancel()
        dep = start.result()
        async with contextlib.AsyncExitStack() as attached:
            for line in await attach(dep, attached):
                out(line)
            if ready_file is not None:
                write_ready_file(ready_file, dep)
            await stop.wait()
            out("stopping: closing sockets, stopping the Event API and moto ...")
        return ExitCode.OK
    finally:
        await deployment.stop()
        if ready_file is not None:
            with contextlib.suppress(OSError):
                ready_file.unlink()
        release_signals()


def main(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
    except ValueError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return ExitCode.USAGE
    return run(options, args.ready_file, prog=PROG)


def run(
    options: DeployOptions,
    ready_file: Path | None,
    *,
    prog: str,
    attach: Attachment = print_summary,
    precheck: Callable[[], None] = lambda: None,
) -> int:
    """`precheck`, then `serve` until Ctrl-C/SIGTERM; every failure is one line on stderr (prefixed with `prog`)
    and an exit code."""

    def out(line: str) -> None:
        print(line, flush=True)

    try:
        precheck()
        code = asyncio.run(serve(options, ready_file=ready_file, out=out, attach=attach))
    except PortInUseError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return ExitCode.PORT_IN_USE
    except LocalDeployError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        return ExitCode.OK
    except Exception as err:  # one line, no traceback, no secrets
        print(unexpected_line(prog, err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED
    out("stopped")
    return code


if __name__ == "__main__":  # pragma: no cover - run through `python -m eventapi.local up`
    parser = argparse.ArgumentParser(prog=PROG)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
