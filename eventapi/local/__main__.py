"""`python -m eventapi.local <command>` (console script `eventapi-local`): a thin dispatcher.

Each subcommand lives in its own module with `add_arguments(parser)` and `main(args) -> int`:
`serve` (cli_serve) and `token` (cli_token). Other commands (e.g. `up`) register the same way in `COMMANDS`.
Every command exits with a code of `eventapi.exits`; an exception none of them expected is one line on stderr
(`eventapi-local <command>: unexpected <type>: <message>`, credentials masked) and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from eventapi.exits import ExitCode, unexpected_line
from eventapi.protocol.auth import mask_credentials

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("eventapi.local.cli_serve", "serve one Event API from a synthesized template"),
    "token": ("eventapi.local.cli_token", "mint a Cognito/OIDC token from the local issuer"),
}
for _name, _entry in (
    ("up", ("eventapi.local.cli_up", "deploy a stage locally and serve it")),
    ("web", ("eventapi.local.cli_web", "deploy a stage locally and serve the browser page (web/) against it")),
    ("demo", ("eventapi.local.cli_demo", "the seed post's scenario, deployed locally (python -m eventapi.demo)")),
    ("handler", ("eventapi.testing.cli", "evaluate a stage's namespace handler once (handler test ...)")),
    ("renew", ("eventapi.local.cli_renew", "run the scheduled API key renewer once against a running `up`")),
):
    if importlib.util.find_spec(_entry[0]) is not None:
        COMMANDS[_name] = _entry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventapi-local", description="The local AppSync Event API.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        result: int = modules[args.command].main(args)
    except Exception as err:  # one line, no traceback (it could quote a credential)
        print(unexpected_line(f"eventapi-local {args.command}", err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED
    return result


if __name__ == "__main__":
    sys.exit(main())
