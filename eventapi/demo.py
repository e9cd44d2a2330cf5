"""`python -m eventapi.demo --stage dev` (also `python -m eventapi.local demo`, `make demo`): the seed post, locally.

Deploys the stage locally (`eventapi.local.local_deploy`: synth, moto as AppSync + SSM, the local Event API, the
unchanged post-deploy step), then plays the seed post's scenario with the Python client, configured from SSM
exactly as an app in AWS would be (only `AWS_ENDPOINT_URL` and dummy credentials differ):

1. subscribe to `/default/comments/<article id>/*` over the WebSocket;
2. publish the seed's comment over HTTP to the parent channel `/default/comments/<article id>`, as the seed post
   does: a `/*` subscription does not receive its parent channel (AppSync's wildcard rule), so nothing arrives;
3. publish it to the child channel `/default/comments/<article id>/new`: it arrives.

Events on one connection arrive in publish order, so "the first event received is the child's" proves the
parent's was not delivered, without waiting for a non-event. Everything is shut down at the end; the exit code
is 0 only if the comment arrived. Each step is bounded by a timeout. The API key is never printed.

This module lives outside `eventapi.local` because it uses `eventapi.client` (the local Event API never imports
the client: docs/architecture.md, "Import rules").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from eventapi.client import EventsClient, EventsConfig, EventsError
from eventapi.exits import ExitCode, unexpected_line
from eventapi.local.aws_env import local_aws_env
from eventapi.local.control_plane import PortInUseError
from eventapi.local.local_deploy import DeployOptions, LocalDeployError, LocalDeployment
from eventapi.protocol.auth import mask_credentials

PROG: Final = "eventapi demo"
ARTICLE_ID: Final = "0192ec6b-b12f-708f-8ea9-b1d48c993be2"  # the seed post's placeholder article id
# The seed post's test event (its Pub/Sub editor example).
COMMENT: Final[dict[str, str]] = {
    "id": "0192ec69-3337-7d35-9b49-e63106332e87",
    "date": "just now",
    "author": "jesse millman",
    "content": "unreal blog post my guy, sockets are great!",
}
STEP_TIMEOUT: Final = 15.0


class ScenarioError(Exception):
    """The scenario did not go as the seed post says; one line."""


def channels(namespace: str, article_id: str) -> tuple[str, str, str]:
    """(subscription, parent, child) channels of the comments of one article."""
    parent = f"/{namespace}/comments/{article_id}"
    return f"{parent}/*", parent, f"{parent}/new"


async def scenario(
    config: EventsConfig, *, ca_file: str | None, namespace: str, out: Callable[[str], None], timeout: float
) -> None:
    """Subscribe to an article's comments, publish to the parent (not received) and a child (received)."""
    subscription, parent, child = channels(namespace, ARTICLE_ID)
    async with EventsClient(config, ca_file=ca_file) as client:
        async with asyncio.timeout(timeout):
            sub = await client.subscribe(subscription)
        out(f"subscribed  {subscription}  (WebSocket {config.realtime_endpoint})")
        async with sub:
            async with asyncio.timeout(timeout):
                first = await client.publish(parent, {**COMMENT, "channel": "parent"})
                second = await client.publish(child, {**COMMENT, "channel": "child"})
            if not first.ok or not second.ok:
                raise ScenarioError(f"publish failed: {first.to_json()} {second.to_json()}")
            out(f"published   {parent}  over HTTP (the seed post's channel): accepted")
            out(f"published   {child}  over HTTP (a child channel): accepted")
            try:
                async with asyncio.timeout(timeout):
                    event = await anext(sub)
            except TimeoutError:
                raise ScenarioError(f"no comment received on {subscription} within {timeout:g} s") from None
            data: Any = event.data
            if not isinstance(data, dict) or data.get("channel") != "child":
                raise ScenarioError(f"received an unexpected event first: {event.raw}")
            out(f"received    comment by {data['author']}: {data['content']!r}  (from {child})")
            out(
                f"note        nothing came from {parent}: a '/*' subscription receives deeper channels, "
                "never the parent; publish to a child channel (or subscribe to the exact channel)"
            )


async def run_demo(options: DeployOptions, *, out: Callable[[str], None], timeout: float) -> int:
    out(f"demo: the seed post's comments, deployed locally (stage {options.stage!r}; no AWS account needed)")
    async with LocalDeployment(options, log=out) as deployment:
        dep = deployment.deployed
        assert dep is not None
        # Configure the process as a client app pointed at the local stand-in would be (none of the caller's AWS
        # settings), then read SSM.
        env = local_aws_env(dep.moto_url, dep.region)
        os.environ.clear()
        os.environ.update(env)
        config = await asyncio.to_thread(EventsConfig.from_ssm, stage=dep.stage, project_root=options.project_root)
        key = f"; the key from SecureString {dep.api_key_parameter} (value not shown)" if dep.api_key_parameter else ""
        out(f"client      config read from SSM {dep.config_parameter}{key}")
        namespace = "default" if "default" in dep.namespaces else dep.namespaces[0]
        await scenario(config, ca_file=dep.ca_cert, namespace=namespace, out=out, timeout=timeout)
    out("demo ok: comment received; moto and the local Event API are stopped")
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eventapi.demo", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", default="dev", help="a stage of cdk.json (default dev)")
    parser.add_argument("--project-root", type=Path, default=Path(), help="where cdk.json and app.py are")
    parser.add_argument("--template", type=Path, help="use this synthesized template instead of synthesizing")
    parser.add_argument("--state-dir", type=Path, help="TLS CA and issuer key (default ~/.cache/eventapi-local)")
    parser.add_argument(
        "--timeout", type=float, default=STEP_TIMEOUT, help=f"seconds per scenario step (default {STEP_TIMEOUT:g})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def out(line: str) -> None:
        print(line, flush=True)

    options = DeployOptions(
        stage=args.stage,
        project_root=args.project_root,
        template=args.template,
        port=None,  # TLS only, like AWS (and free ports: the demo never collides with `make local`)
        tls_port=0,
        moto_port=0,
        state_dir=args.state_dir.expanduser() if args.state_dir else None,
    )
    try:
        return asyncio.run(run_demo(options, out=out, timeout=args.timeout))
    except PortInUseError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return ExitCode.PORT_IN_USE
    except LocalDeployError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return err.code
    except (ScenarioError, EventsError, TimeoutError) as err:
        print(f"{PROG}: the scenario failed: {type(err).__name__}: {err}", file=sys.stderr)
        return ExitCode.SCENARIO
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as err:  # one line, no traceback (it could quote a credential)
        print(unexpected_line(PROG, err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
