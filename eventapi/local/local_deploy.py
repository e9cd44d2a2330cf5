"""A local deploy of one stage: the same steps as in AWS, against local stand-ins on 127.0.0.1.

    async with LocalDeployment(DeployOptions(stage="dev")) as dep:
        dep.endpoints          # Endpoints: the URLs written to SSM (https/wss) and the plain http/ws ones
        dep.moto_url           # AWS_ENDPOINT_URL for boto3 (SSM, AppSync control plane)
        dep.client_env         # the AWS_* variables a client app sets to read SSM here

The steps, in order (each in its own module, so tests and the demo can reuse them):
1. the template (`synth`): `synthesize()` runs the CDK app in a subprocess (`python app.py` with `CDK_OUTDIR` and
   the stage in `CDK_CONTEXT_JSON`, as `cdk synth --context stage=<s>` would) into a private directory, or reads a
   given template (`--template`, or `cdk.out/` with `--no-synth`);
2. the control plane: a moto server (`control_plane.MotoServer`) and `register_api()` (AppSync `create_api`,
   `create_channel_namespace`, `create_api_key`);
3. the data plane: `LocalServer` with exactly the keys the control plane made (their ids are their values);
4. the post-deploy step, unchanged (`post_deploy`): `python -m eventapi.deploy publish --stage <s> --outputs-file
   <f>` in a subprocess with `AWS_ENDPOINT_URL` set to moto and dummy credentials (`aws_env`), reading an outputs
   file written in the shape of `cdk deploy --outputs-file`. Clients then read SSM exactly as they would in AWS.

Which endpoints go to SSM: the TLS ones (`https://localhost:<tls port>/event`, `wss://localhost:<tls
port>/event/realtime`): they have AWS's shape (scheme, `/event`, `/event/realtime`, one host and port), and they
are the only ones the aws-amplify client can use (it always opens `wss://`). Plain `http://` / `ws://` on
`--port` serve the same API for tools that don't want a CA; `up` prints them too.

The key value never leaves this process except into the local server and moto: output relayed from the
post-deploy step is redacted, and nothing here prints it. No imports of `eventapi.client` (the doors rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from eventapi.config import StageConfig
from eventapi.contract import SsmParam, ssm_name
from eventapi.exits import ExitCode
from eventapi.local.aws_env import client_env, local_aws_env
from eventapi.local.control_plane import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_HOST,
    LOCAL_SECRET_ACCESS_KEY,
    MotoServer,
    RegisteredApi,
    local_client,
    register_api,
)
from eventapi.local.deploy_step import LocalDeployError
from eventapi.local.deployed import Deployed, Endpoints
from eventapi.local.integrations import create_tables
from eventapi.local.ports import check_port_free
from eventapi.local.post_deploy import PUBLISH_TIMEOUT, outputs_for, run_publish
from eventapi.local.server import LocalServer
from eventapi.local.settings import DEFAULT_REGION, IamCredential, LocalSettings, default_state_dir
from eventapi.local.synth import SYNTH_TIMEOUT, load_stage_config, local_skips, read_spec, synthesize
from eventapi.local.template import LocalApiSpec
from eventapi.local.template_sources import not_emulated

# What callers import from here (the CLIs, the demo, tests): the deployment and what it takes and reports.
__all__ = [
    "DeployOptions",
    "Deployed",
    "Endpoints",
    "LocalDeployError",
    "LocalDeployment",
    "check_port_free",
    "client_env",
]

log = logging.getLogger(__name__)
KEY_SYNC_SECONDS: Final = 1.0  # how often the local Event API re-reads the API keys from the control plane


@dataclass(frozen=True)
class DeployOptions:
    """What to deploy locally and where. Ports: 0 = a free one; `port`/`tls_port` None = that transport off."""

    stage: str
    project_root: Path = Path()
    template: Path | None = None  # use this template instead of synthesizing
    synth: bool = True  # False: read <project_root>/cdk.out/<Stack>.template.json
    host: str = LOCAL_HOST
    port: int | None = 0
    tls_port: int | None = 0
    moto_port: int = 0
    state_dir: Path | None = None  # TLS CA, issuer key (default ~/.cache/eventapi-local)
    lambda_authorizer: str | None = None  # `module:function` standing in for an AWS_LAMBDA authorizer
    synth_timeout: float = SYNTH_TIMEOUT
    publish_timeout: float = PUBLISH_TIMEOUT


def endpoints_of(server: LocalServer) -> Endpoints:
    """A started server's endpoints: SSM gets the TLS ones when TLS is on, else the plain ones."""
    ports = server.ports
    host = f"localhost:{ports.tls_port}" if ports.tls_port is not None else f"{ports.host}:{ports.http_port}"
    return Endpoints(
        http=ports.https_url or ports.http_url or "",
        realtime=ports.wss_url or ports.ws_url or "",
        http_host=host,
        plain_http=ports.http_url,
        plain_ws=ports.ws_url,
        https=ports.https_url,
        wss=ports.wss_url,
    )


def namespace_modes(spec: LocalApiSpec) -> dict[str, dict[str, tuple[str, ...]]]:
    """namespace -> {"publish": modes, "subscribe": modes}, as `Deployed.namespace_modes` holds them."""
    return {
        ns.name: {
            "publish": tuple(m.value for m in ns.publish_modes),
            "subscribe": tuple(m.value for m in ns.subscribe_modes),
        }
        for ns in spec.namespaces
    }


class LocalDeployment:
    """Synthesize (or read) a stage's template, stand up moto and the local Event API, run the post-deploy step.

    An async context manager; everything it started is stopped on exit, in reverse order. `log` receives
    progress lines (no secrets). Raises `LocalDeployError` (with an exit code) or `PortInUseError`.
    """

    def __init__(self, options: DeployOptions, *, log: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.log = log or (lambda _line: None)
        self.stage: StageConfig | None = None
        self.spec: LocalApiSpec | None = None
        self.api: RegisteredApi | None = None
        self.server: LocalServer | None = None
        self.moto: MotoServer | None = None
        self.deployed: Deployed | None = None
        self.publish_output: list[str] = []
        self._workdir: Path | None = None
        self._key_sync: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="eventapi-local-"))
        return self._workdir

    async def start(self) -> Deployed:
        """The four steps of the module's docstring; on failure the caller (`__aenter__`) stops what started."""
        opts = self.options
        root = opts.project_root.resolve()
        stage = self.stage = load_stage_config(opts.stage, root)
        for line in local_skips(stage):
            self.log(f"skipped     {line}")
        self._check_ports()
        template = await self._template(stage, root)
        spec = self.spec = self._spec(template)
        region = stage.region or spec.region or DEFAULT_REGION
        moto, appsync, api = await self._control_plane(spec, region)
        state_dir = self.options.state_dir or default_state_dir()
        server = await self._data_plane(
            spec, api, region=region, moto=moto, root=root, template=template, state_dir=state_dir
        )
        endpoints = endpoints_of(server)
        if spec.providers.api_key:
            self._key_sync = asyncio.create_task(self._sync_keys(appsync, api), name="key-sync")
        await self._post_deploy(stage, api, endpoints, region=region, moto_url=moto.endpoint_url, root=root)
        self.deployed = Deployed(
            stage=stage.name,
            stack=stage.stack_name,
            region=region,
            api_id=api.api_id,
            api_name=spec.name,
            namespaces=api.namespaces,
            ssm_prefix=stage.ssm.prefix,
            api_key_parameter=ssm_name(stage.ssm.prefix, SsmParam.API_KEY) if api.keys else None,
            config_parameter=ssm_name(stage.ssm.prefix, SsmParam.CONFIG),
            moto_url=moto.endpoint_url,
            endpoints=endpoints,
            ca_cert=str(server.tls.ca_cert) if server.tls is not None else None,
            ports={"http": server.ports.http_port, "tls": server.ports.tls_port, "moto": moto.port},
            namespace_modes=namespace_modes(spec),
            user_pool_id=api.user_pool_id,
            user_pool_client_id=api.user_pool_client_id,
            state_dir=str(state_dir),
        )
        return self.deployed

    def _check_ports(self) -> None:
        """Every fixed port, before anything starts: a taken one fails in a second, not after synth."""
        opts = self.options
        for what, port, option in (
            ("the local Event API's http", opts.port, "--port"),
            ("the local Event API's https", opts.tls_port, "--tls-port"),
            ("the moto (local AWS) server's", opts.moto_port, "--moto-port"),
        ):
            check_port_free(opts.host, port, what, option)

    async def _template(self, stage: StageConfig, root: Path) -> Path:
        """Step 1: the given template, `cdk.out/`'s (`--no-synth`), or a fresh synth into the work directory."""
        template = self.options.template
        if template is None and not self.options.synth:
            template = root / "cdk.out" / f"{stage.stack_name}.template.json"
        if template is None:
            self.log(
                f"synth       stage {stage.name!r}: python app.py, as `cdk synth --context stage={stage.name}` runs it"
            )
            template = await synthesize(stage, root, self.workdir / "cdk.out", timeout=self.options.synth_timeout)
        return template

    @staticmethod
    def _spec(template: Path) -> LocalApiSpec:
        """The template read, refused when it needs something the local Event API does not emulate."""
        spec = read_spec(template)
        refused = not_emulated({ns.name: ns.handler_configs for ns in spec.namespaces}, spec.data_sources)
        if refused is not None:
            raise LocalDeployError(refused, ExitCode.CONFIG)
        return spec

    async def _control_plane(self, spec: LocalApiSpec, region: str) -> tuple[MotoServer, Any, RegisteredApi]:
        """Step 2: moto, the API registered in it (and the data sources' tables); moto, its AppSync client, the API."""
        moto = self.moto = MotoServer(self.options.host, self.options.moto_port).start()
        appsync = local_client("appsync", moto.endpoint_url, region=region)
        cognito_idp = local_client("cognito-idp", moto.endpoint_url, region=region) if spec.providers.cognito else None
        api = self.api = await asyncio.to_thread(register_api, appsync, spec, cognito_idp=cognito_idp)
        dynamodb = local_client("dynamodb", moto.endpoint_url, region=region)
        tables = await asyncio.to_thread(create_tables, dynamodb, spec)
        if tables:
            self.log(f"moto        DynamoDB tables of the template's data sources: {', '.join(tables)}")
        self.log(
            f"moto        {moto.endpoint_url} stands in for AppSync and SSM: created Event API {spec.name!r} "
            f"({api.api_id}), namespaces {', '.join(api.namespaces) or '-'}, {len(api.keys)} API key(s)"
        )
        return moto, appsync, api

    async def _data_plane(
        self,
        spec: LocalApiSpec,
        api: RegisteredApi,
        *,
        region: str,
        moto: MotoServer,
        root: Path,
        template: Path,
        state_dir: Path,
    ) -> LocalServer:
        """Step 3: the local Event API, started, with exactly the control plane's keys."""
        opts = self.options
        settings = LocalSettings(
            host=opts.host,
            port=opts.port,
            tls_port=opts.tls_port,
            state_dir=state_dir,
            api_keys=api.keys,
            iam_credentials=(IamCredential(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY),),
            region=region,
            account_id=api.account_id,
            api_id=api.api_id,
            cognito_user_pool_id=api.user_pool_id,
            lambda_authorizer=opts.lambda_authorizer,
            project_root=root,
            assembly_dir=template.parent,
            aws_endpoint_url=moto.endpoint_url,
        )
        server = self.server = LocalServer(spec, settings)
        try:
            await server.start()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise LocalDeployError(
                    f"the local Event API cannot listen ({err.strerror}); pass other --port/--tls-port values",
                    ExitCode.PORT_IN_USE,
                ) from None
            raise
        if server.tls is not None and server.tls.note:
            self.log(f"tls         {server.tls.note}")
        return server

    async def _post_deploy(
        self, stage: StageConfig, api: RegisteredApi, endpoints: Endpoints, *, region: str, moto_url: str, root: Path
    ) -> None:
        """Step 4: the unchanged post-deploy step against moto, from an outputs file as `cdk deploy` writes it."""
        outputs_file = self.workdir / f"outputs-{stage.name}.json"
        outputs_file.write_text(json.dumps(outputs_for(stage, api, endpoints, region), indent=2), encoding="utf-8")
        self.publish_output = await run_publish(
            stage.name,
            outputs_file,
            project_root=root,
            env=local_aws_env(moto_url, region),
            secrets=[key.value for key in api.keys],
            timeout=self.options.publish_timeout,
        )
        result = self.publish_output[-1] if self.publish_output else "done"
        self.log(f"post-deploy python -m eventapi.deploy publish --stage {stage.name} with AWS_ENDPOINT_URL: {result}")
        if stage.auth.api_key is not None and stage.auth.api_key.auto_renew is not None:
            self.log(
                "renewer     apiKey.autoRenew is scheduled in AWS only; run it here on demand: "
                f"python -m eventapi.local renew --stage {stage.name} --moto-url {moto_url}"
            )

    async def _sync_keys(self, appsync: Any, api: RegisteredApi) -> None:
        """Keep the local Event API's keys equal to the control plane's, as AppSync does: a key created, renewed
        or deleted through the AppSync API (e.g. `python -m eventapi.deploy rotate-key` against moto) takes effect
        within `KEY_SYNC_SECONDS`."""
        known = {key.value: key.expires for key in api.keys}
        while True:
            await asyncio.sleep(KEY_SYNC_SECONDS)
            server = self.server
            if server is None:
                return
            try:
                items = await asyncio.to_thread(lambda: appsync.list_api_keys(apiId=api.api_id)["apiKeys"])
            except Exception as err:  # moto stopping, or a transient error: try again next round
                log.debug("key sync skipped a round (%s)", type(err).__name__)
                continue
            current = {str(item["id"]): float(item["expires"]) if item.get("expires") else None for item in items}
            for value, expires in current.items():
                if known.get(value, -1.0) != expires:
                    server.keys.add(value, expires)
            for value in set(known) - set(current):
                server.keys.remove(value)
            known = current

    async def stop(self) -> None:
        sync, self._key_sync = self._key_sync, None
        if sync is not None:
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sync
        server, self.server = self.server, None
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()
        moto, self.moto = self.moto, None
        if moto is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(moto.stop)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
