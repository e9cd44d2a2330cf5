"""`eventapi-local token --user alice --groups admins [--template ...] [--mode cognito|oidc]`: print a JWT.

The token is signed by the local issuer (its key in the state dir) with the claims the local Event API checks
for that mode: `iss`, `aud`/`client_id`, `exp`, `token_use`, `cognito:groups` (Cognito) or `groups` (OIDC).
Exit codes (`eventapi.exits`): 0 printed, 2 a mode the template has no provider for, 3 the template cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eventapi.exits import ExitCode
from eventapi.local.issuer import LocalIssuer, TokenRules, cognito_issuer, token_rules
from eventapi.local.settings import STATE_DIR_ENV, LocalSettings, default_state_dir
from eventapi.local.template import LocalApiSpec, TemplateError
from eventapi.protocol.modes import AuthMode

MODES = {"cognito": AuthMode.AMAZON_COGNITO_USER_POOLS, "oidc": AuthMode.OPENID_CONNECT}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="user name (sub is derived from it)")
    parser.add_argument("--groups", action="append", default=[], help="group (repeatable or comma-separated)")
    parser.add_argument("--template", type=Path, default=None, help="synthesized template (issuer, audience)")
    parser.add_argument("--mode", choices=sorted(MODES), default=None, help="default: cognito if the API has it")
    parser.add_argument("--client-id", default=None, help="aud (ID token) / client_id (access token)")
    parser.add_argument("--token-use", choices=("id", "access"), default="id")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until exp (negative = already expired)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--user-pool-id", default=None, help="Cognito pool id in iss (as given to serve)")
    parser.add_argument("--issuer", default=None, help="override iss")
    parser.add_argument(
        "--state-dir", type=Path, default=None, help=f"default ${STATE_DIR_ENV} or ~/.cache/eventapi-local"
    )


def main(args: argparse.Namespace) -> int:
    state_dir = args.state_dir.expanduser() if args.state_dir else default_state_dir()
    settings = LocalSettings(state_dir=state_dir, region=args.region, cognito_user_pool_id=args.user_pool_id)
    spec = None
    if args.template is not None:
        try:
            spec = LocalApiSpec.from_file(args.template)
        except TemplateError as err:
            print(f"eventapi-local token: {err}", file=sys.stderr)
            return ExitCode.CONFIG
    mode = MODES[args.mode] if args.mode else None
    if mode is None:
        mode = (
            AuthMode.OPENID_CONNECT
            if spec and spec.providers.oidc and not spec.providers.cognito
            else AuthMode.AMAZON_COGNITO_USER_POOLS
        )
    rules = token_rules(spec, settings, mode) if spec is not None else None
    if rules is None:
        if spec is not None and args.issuer is None:
            print(f"eventapi-local token: the API in {args.template} has no {mode} provider", file=sys.stderr)
            return ExitCode.USAGE
        issuer = args.issuer or (
            f"https://cognito-idp.{settings.effective_region(None)}.amazonaws.com/"
            f"{args.user_pool_id or settings.effective_region(None) + '_local'}"
        )
        rules = TokenRules(mode, issuer)
    elif args.issuer:
        rules = TokenRules(
            rules.mode,
            args.issuer,
            rules.client_id_regex,
            rules.audience,
            rules.auth_ttl_seconds,
            rules.iat_ttl_seconds,
        )
    groups = [g for item in args.groups for g in item.split(",") if g]
    issuer = LocalIssuer.load_or_create(state_dir)
    print(
        issuer.mint(
            rules,
            user=args.user,
            groups=groups,
            client_id=args.client_id,
            token_use=args.token_use,
            ttl_seconds=args.ttl,
        )
    )
    return ExitCode.OK


__all__ = ["add_arguments", "cognito_issuer", "main"]
