"""`eventapi-local web --stage dev` (`make web`): the browser page (web/) against a local deploy, in one command.

Deploys the stage locally as `up` does, exports the page's config from SSM with the unchanged post-deploy step
(`python -m eventapi.deploy export --format json`, into a private temporary directory, never into web/), serves
web/ and that config on 127.0.0.1, prints the URL and waits. It opens no browser. Ctrl-C (or SIGTERM) stops the
page server, the Event API and moto, and deletes the exported config.

TLS: by default the API's endpoints in SSM are plain http/ws on 127.0.0.1, which every browser accepts from an
http://127.0.0.1 page with nothing to trust. `--tls-port 8443` puts https/wss endpoints in SSM and serves the page
over https too, both with the local CA's certificate: the browser must trust the CA first (the command printed).

Exit codes: those of `up` (`eventapi.exits`: 0 stopped, 2 bad arguments, 3 cdk.json/stage/template/synth or no
web/, 22 a port is taken, 23 a post-deploy step failed, 1 anything else). Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Final

from aiohttp import web

from eventapi.exits import ExitCode
from eventapi.local import cli_up
from eventapi.local.aws_env import local_aws_env
from eventapi.local.deploy_step import LocalDeployError
from eventapi.local.deployed import Deployed
from eventapi.local.ports import check_port_free
from eventapi.local.post_deploy import run_deploy_step
from eventapi.local.tls import ensure_tls

PROG: Final = "eventapi-local web"
DEFAULT_WEB_PORT: Final = 8000
CONFIG_NAME: Final = "events.json"  # what web/app.js fetches next to index.html
PAGE_MODES: Final = ("publish", "subscribe")  # the page does both with the API key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli_up.add_arguments(parser)
    parser.set_defaults(tls_port=-1)  # plain http/ws in SSM: a browser needs no CA for them
    parser.add_argument(
        "--web-port",
        type=int,
        default=DEFAULT_WEB_PORT,
        help=f"port of the page on 127.0.0.1 (0 = a free port; default {DEFAULT_WEB_PORT})",
    )


def trust_hint(ca_cert: str) -> str:
    """What to do so a browser trusts the local CA (the page and the API are served with its certificate)."""
    return (
        f"TLS         the page and the API use the local CA {ca_cert}; trust it in the browser first: "
        f"Chrome/Chromium on Linux `certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n eventapi-local -i {ca_cert}` "
        f"(libnss3-tools), macOS `security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "
        f"{ca_cert}`, Firefox: Settings > Certificates > View Certificates > Authorities > Import; or drop "
        "--tls-port for plain http/ws"
    )


def api_key_warning(dep: Deployed) -> str | None:
    """The page posts and subscribes with the API key: say so when the namespace it uses does not allow that."""
    modes = dep.namespace_modes.get("default")
    if modes is None:
        return f"warning     stage {dep.stage!r} has no 'default' namespace; the page uses /default/comments/..."
    refused = [op for op in PAGE_MODES if "API_KEY" not in modes.get(op, ())]
    if not refused:
        return None
    return (
        f"warning     stage {dep.stage!r}: namespace 'default' does not allow API_KEY for {' and '.join(refused)}; "
        "the page uses the API key, so it will be refused there"
    )


def web_root(project_root: Path) -> Path:
    root = project_root / "web"
    if not (root / "index.html").is_file():
        raise LocalDeployError(
            f"{root}/index.html is missing; run from the project root (or pass --project-root)", ExitCode.CONFIG
        )
    return root


def attach_page(project_root: Path, host: str, port: int) -> cli_up.Attachment:
    """Export the config, serve web/ and it on host:port; the lines to print. Clean-up goes on the stack."""

    async def attach(dep: Deployed, stack: contextlib.AsyncExitStack) -> list[str]:
        root = web_root(project_root)
        private = Path(tempfile.mkdtemp(prefix="eventapi-web-"))  # 0700: the exported config holds the key
        stack.callback(shutil.rmtree, private, True)
        config_file = private / CONFIG_NAME
        argv = ("export", "--stage", dep.stage, "--format", "json", "--output", str(config_file))
        env = local_aws_env(dep.moto_url, dep.region)
        await run_deploy_step(argv, project_root=project_root, env=env, secrets=())

        async def config(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(config_file, headers={"Cache-Control": "no-store"})

        async def index(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(root / "index.html")

        app = web.Application()
        app.router.add_get(f"/{CONFIG_NAME}", config)
        app.router.add_get("/", index)
        app.router.add_static("/", root)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        tls = ensure_tls(Path(dep.state_dir)) if dep.ca_cert and dep.state_dir else None
        site = web.TCPSite(runner, host, port, ssl_context=tls.server_context() if tls else None)
        await site.start()
        bound = runner.addresses[0][1]
        url = f"https://localhost:{bound}/" if tls else f"http://{host}:{bound}/"
        ep = dep.endpoints
        lines = [
            f"web page    {url}   (web/; open it in two windows and post a comment; no browser is opened for you)",
            f"config      {url}{CONFIG_NAME}: python -m eventapi.deploy export --stage {dep.stage} --format json, "
            "from SSM (holds the API key; a private temporary file, deleted on exit)",
            f"API         {ep.http}  {ep.realtime}   (the endpoints in SSM)",
        ]
        lines.append(
            trust_hint(dep.ca_cert)
            if tls and dep.ca_cert
            else "TLS         off: plain http/ws on "
            "127.0.0.1, nothing to trust (--tls-port 8443 for https/wss with the local CA)"
        )
        if (warning := api_key_warning(dep)) is not None:
            lines.append(warning)
        lines.append("Ctrl-C stops everything.")
        return lines

    return attach


def main(args: argparse.Namespace) -> int:
    try:
        options = cli_up.options_from_args(args)
        if args.web_port < 0:
            raise ValueError("--web-port: expected a port or 0 (a free one)")
    except ValueError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return ExitCode.USAGE

    def precheck() -> None:  # fail now, not after synth and moto
        check_port_free(options.host, args.web_port, "the web page's", "--web-port")
        web_root(options.project_root)

    attach = attach_page(options.project_root.resolve(), options.host, args.web_port)
    return cli_up.run(options, args.ready_file, prog=PROG, attach=attach, precheck=precheck)


if __name__ == "__main__":  # pragma: no cover - run through `python -m eventapi.local web`
    parser = argparse.ArgumentParser(prog=PROG)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
