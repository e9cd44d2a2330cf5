"""A local deploy of one stage: the same steps as in AWS, against local stand-ins on 127.0.0.1.

    async with LocalDeployment(DeployOptions(stage="dev")) as dep:
        dep.endpoints          # Endpoints: the URLs written to SSM (https/wss) and the plain http/ws ones
        dep.moto_url           # AWS_ENDPOINT_URL for boto3 (SSM, AppSync control plane)
        dep.client_env         # the AWS_* variables a client app sets to read SSM here

The steps, in order (each a plain function below, so tests and the demo can reuse them):
1. the template: `synthesize()` runs the CDK app in a subprocess (`python app.py` with `CDK_OUTDIR` and the
   stage in `CDK_CONTEXT_JSON`, as `cdk synth --context stage=<s>` would) into a private directory, or reads a
   given template (`--template`, or `cdk.out/` with `--no-synth`);
2. the control plane: a moto server (`control_plane.MotoServer`) and `register_api()` (AppSync `create_api`,
   `create_channel_namespace`, `create_api_key`);
3. the data plane: `LocalServer` with exactly the keys the control plane made (their ids are their values);
4. the post-deploy step, unchanged: `python -m eventapi.deploy publish --stage <s> --outputs-file <f>` in a
   subprocess with `AWS_ENDPOINT_URL` set to moto and dummy credentials, reading an outputs file written in the
   shape of `cdk deploy --outputs-file`. Clients then read SSM exactly as they would in AWS.

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
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from eventapi.config import ConfigError, StageConfig, load_config, read_cdk_context
from eventapi.contract import SsmParam, ssm_name
from eventapi.local.control_plane import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_CREDENTIALS,
    LOCAL_HOST,
    LOCAL_SECRET_ACCESS_KEY,
    MotoServer,
    PortInUseError,
    RegisteredApi,
    local_client,
    register_api,
)
from eventapi.local.integrations import create_tables
from eventapi.local.server import LocalServer, bind_socket
from eventapi.local.settings import DEFAULT_REGION, IamCredential, LocalSettings, default_state_dir
from eventapi.local.template import LocalApiSpec, TemplateError
from eventapi.local.template_sources import not_emulated
from eventapi.outputs import Output

log = logging.getLogger(__name__)
KEY_SYNC_SECONDS: Final = 1.0  # how often the local Event API re-reads the API keys from the control plane
SYNTH_TIMEOUT: Final = 180.0
PUBLISH_TIMEOUT: Final = 60.0
REDACTED: Final = "<redacted>"


class LocalDeployError(Exception):
    """A step of the local deploy failed; `str(err)` is one line, `code` the exit code to use."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# Exit codes of `up` and the demo (one per failure kind).
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # unexpected
EXIT_USAGE: Final = 2  # bad arguments (argparse's own code)
EXIT_CONFIG: Final = 3  # cdk.json / stage / template / synth
EXIT_PORT_IN_USE: Final = 4  # a port given on the command line is taken
EXIT_PUBLISH: Final = 5  # the post-deploy step (python -m eventapi.deploy publish) failed
EXIT_SCENARIO: Final = 6  # the demo's scenario failed (nothing received, timeout, client error)


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


@dataclass(frozen=True)
class Endpoints:
    """The endpoints of a local deploy. `http`/`realtime` are what SSM holds (TLS when on)."""

    http: str
    realtime: str
    http_host: str
    plain_http: str | None
    plain_ws: str | None
    https: str | None
    wss: str | None


@dataclass(frozen=True)
class Deployed:
    """Facts about a running local deploy (no secrets): what `up --ready-file` writes as JSON."""

    stage: str
    stack: str
    region: str
    api_id: str
    api_name: str
    namespaces: tuple[str, ...]
    ssm_prefix: str
    api_key_parameter: str | None
    config_parameter: str
    moto_url: str
    endpoints: Endpoints
    ca_cert: str | None
    ports: Mapping[str, int | None] = field(default_factory=dict)
    # namespace -> {"publish": [modes], "subscribe": [modes]}
    namespace_modes: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    user_pool_id: str | None = None
    user_pool_client_id: str | None = None
    state_dir: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "stack": self.stack,
            "region": self.region,
            "apiId": self.api_id,
            "apiName": self.api_name,
            "namespaces": list(self.namespaces),
            "ssmPrefix": self.ssm_prefix,
            "apiKeyParameter": self.api_key_parameter,
            "configParameter": self.config_parameter,
            "awsEndpointUrl": self.moto_url,
            "httpEndpoint": self.endpoints.http,
            "realtimeEndpoint": self.endpoints.realtime,
            "plainHttpEndpoint": self.endpoints.plain_http,
            "plainRealtimeEndpoint": self.endpoints.plain_ws,
            "caCert": self.ca_cert,
            "ports": dict(self.ports),
            "namespaceModes": {
                name: {op: list(m) for op, m in ops.items()} for name, ops in self.namespace_modes.items()
            },
            "userPoolId": self.user_pool_id,
            "userPoolClientId": self.user_pool_client_id,
            "stateDir": self.state_dir,
            "clientEnv": client_env(self.moto_url, self.region),
            "pid": os.getpid(),
        }


# --- step 1: the template -------------------------------------------------------------------------------------


def load_stage_config(stage: str, project_root: Path) -> StageConfig:
    try:
        return load_config(project_root).stage(stage)
    except ConfigError as err:
        where = "" if err.path.startswith("cdk.json") else "cdk.json: "
        raise LocalDeployError(f"{where}{err}", EXIT_CONFIG) from None


def local_skips(stage: StageConfig) -> list[str]:
    """One line per configured part of the stage that has no local meaning, saying what happens instead."""
    lines = []
    if stage.monitoring is not None:
        lines.append("monitoring: the alarms, their topic and the dashboard exist only in CloudWatch and SNS in AWS")
    if stage.waf is not None:
        lines.append("waf: AWS WAF runs only in AWS; the local Event API lets through what the web ACL would block")
    if stage.domain is not None:
        lines.append(
            f"domain: {stage.domain.name} is served by AppSync in AWS; locally the endpoints stay on localhost"
        )
    return lines


def synth_env(stage: str | None, project_root: Path, outdir: Path) -> dict[str, str]:
    """The environment for `python app.py` to synthesize one stage (None: every stage) into `outdir`, offline and
    credential-free."""
    try:
        context = read_cdk_context(project_root)
    except ConfigError as err:
        raise LocalDeployError(str(err), EXIT_CONFIG) from None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        CDK_OUTDIR=str(outdir),
        CDK_CONTEXT_JSON=json.dumps({**context, "stage": stage} if stage else context),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


async def synthesize(stage: StageConfig, project_root: Path, outdir: Path, *, timeout: float = SYNTH_TIMEOUT) -> Path:
    """Run the CDK app for one stage into `outdir` (a subprocess); return the stack's template path."""
    app = project_root / "app.py"
    if not app.is_file():
        raise LocalDeployError(f"{app}: not found; run from the project root or pass --project-root", EXIT_CONFIG)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(app),
        cwd=project_root,
        env=synth_env(stage.name, project_root, outdir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    finished = await _communicate(proc, timeout)
    if finished is None:
        raise LocalDeployError(f"synth of stage {stage.name!r} took more than {timeout:.0f} s; gave up", EXIT_CONFIG)
    out, err = finished
    template = outdir / f"{stage.stack_name}.template.json"
    if proc.returncode != 0 or not template.is_file():
        lines = [ln for ln in (err or out).decode(errors="replace").splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        raise LocalDeployError(f"synth of stage {stage.name!r} failed: {last}", EXIT_CONFIG)
    return template


async def _communicate(proc: asyncio.subprocess.Process, timeout: float) -> tuple[bytes, bytes] | None:
    """The child's (stdout, stderr), or None on timeout; the child is killed on timeout or cancellation."""
    try:
        return await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        return None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())


def read_spec(template: Path) -> LocalApiSpec:
    try:
        return LocalApiSpec.from_file(template)
    except TemplateError as err:
        raise LocalDeployError(str(err), EXIT_CONFIG) from None


# --- step 2/3 helpers -----------------------------------------------------------------------------------------


def check_port_free(host: str, port: int | None, what: str, option: str) -> None:
    """Fail with a one-line `PortInUseError` when a fixed port is taken (0 and None are always fine)."""
    if not port:
        return
    try:
        bind_socket(host, port).close()
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(what, host, port, option) from None
        raise


def client_env(moto_url: str, region: str) -> dict[str, str]:
    """The AWS_* settings that point an app at the local stand-in (dummy, public credentials).

    Both region variables: boto3 reads AWS_DEFAULT_REGION, the AWS SDK for JavaScript v3 reads AWS_REGION.
    """
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, **LOCAL_CREDENTIALS}


def outputs_for(stage: StageConfig, api: RegisteredApi, endpoints: Endpoints, region: str) -> dict[str, Any]:
    """The `cdk deploy --outputs-file` JSON the post-deploy step reads: `{"<Stack>": {"<Output>": value}}`."""
    host = endpoints.http_host
    return {
        stage.stack_name: {
            Output.API_ID.value: api.api_id,
            Output.API_ARN.value: api.api_arn,
            Output.HTTP_ENDPOINT.value: endpoints.http,
            Output.REALTIME_ENDPOINT.value: endpoints.realtime,
            Output.HTTP_HOST.value: host,
            Output.REALTIME_HOST.value: host,
            Output.REGION.value: region,
            **({Output.USER_POOL_ID.value: api.user_pool_id} if api.user_pool_id else {}),
            **({Output.USER_POOL_CLIENT_ID.value: api.user_pool_client_id} if api.user_pool_client_id else {}),
        }
    }


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


async def run_publish(
    stage: str,
    outputs_file: Path,
    *,
    project_root: Path,
    env: Mapping[str, str],
    secrets: Sequence[str],
    timeout: float = PUBLISH_TIMEOUT,
) -> list[str]:
    """Run the unchanged post-deploy step against the local stand-in; return its output lines (redacted)."""
    argv = ("publish", "--stage", stage, "--outputs-file", str(outputs_file))
    return await run_deploy_step(argv, project_root=project_root, env=env, secrets=secrets, timeout=timeout)


async def run_deploy_step(
    argv: Sequence[str],
    *,
    project_root: Path,
    env: Mapping[str, str],
    secrets: Sequence[str],
    timeout: float = PUBLISH_TIMEOUT,
) -> list[str]:
    """Run `python -m eventapi.deploy <argv>` as a user would; its output lines (redacted), or `LocalDeployError`."""
    what = f"post-deploy step (python -m eventapi.deploy {argv[0]})"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventapi.deploy",
        *argv,
        cwd=project_root,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    finished = await _communicate(proc, timeout)
    if finished is None:
        raise LocalDeployError(f"{what} took more than {timeout:.0f} s", EXIT_PUBLISH)
    out, err = finished
    text_out = redact(out.decode(errors="replace"), secrets)
    text_err = redact(err.decode(errors="replace"), secrets)
    if proc.returncode != 0:
        lines = [ln for ln in text_err.splitlines() if ln.strip()] or [f"exit code {proc.returncode}"]
        raise LocalDeployError(f"{what} failed: {lines[-1].strip()}", EXIT_PUBLISH)
    return [ln for ln in (text_out + text_err).splitlines() if ln.strip()]


def publish_env(moto_url: str, region: str) -> dict[str, str]:
    """The post-deploy step's environment: no AWS_* or profile of the caller, only the local stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_env(moto_url, region))
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,  # no profile settings (endpoints, credential processes) of the caller
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


# --- the deployment -------------------------------------------------------------------------------------------


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
        opts = self.options
        root = opts.project_root.resolve()
        stage = self.stage = load_stage_config(opts.stage, root)
        for line in local_skips(stage):
            self.log(f"skipped     {line}")
        for what, port, option in (
            ("the local Event API's http", opts.port, "--port"),
            ("the local Event API's https", opts.tls_port, "--tls-port"),
            ("the moto (local AWS) server's", opts.moto_port, "--moto-port"),
        ):
            check_port_free(opts.host, port, what, option)

        template = opts.template
        if template is None and not opts.synth:
            template = root / "cdk.out" / f"{stage.stack_name}.template.json"
        if template is None:
            self.log(
                f"synth       stage {stage.name!r}: python app.py, as `cdk synth --context stage={stage.name}` runs it"
            )
            template = await synthesize(stage, root, self.workdir / "cdk.out", timeout=opts.synth_timeout)
        spec = self.spec = read_spec(template)
        refused = not_emulated({ns.name: ns.handler_configs for ns in spec.namespaces}, spec.data_sources)
        if refused is not None:
            raise LocalDeployError(refused, EXIT_CONFIG)
        region = stage.region or spec.region or DEFAULT_REGION

        self.moto = MotoServer(opts.host, opts.moto_port).start()
        moto_url = self.moto.endpoint_url
        appsync = local_client("appsync", moto_url, region=region)
        cognito_idp = local_client("cognito-idp", moto_url, region=region) if spec.providers.cognito else None
        api = self.api = await asyncio.to_thread(register_api, appsync, spec, cognito_idp=cognito_idp)
        tables = await asyncio.to_thread(create_tables, local_client("dynamodb", moto_url, region=region), spec)
        if tables:
            self.log(f"moto        DynamoDB tables of the template's data sources: {', '.join(tables)}")
        self.log(
            f"moto        {moto_url} stands in for AppSync and SSM: created Event API {spec.name!r} "
            f"({api.api_id}), namespaces {', '.join(api.namespaces) or '-'}, {len(api.keys)} API key(s)"
        )

        state_dir = opts.state_dir or default_state_dir()
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
            aws_endpoint_url=moto_url,
        )
        self.server = LocalServer(spec, settings)
        try:
            ports = await self.server.start()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise LocalDeployError(
                    f"the local Event API cannot listen ({err.strerror}); pass other --port/--tls-port values",
                    EXIT_PORT_IN_USE,
                ) from None
            raise
        if self.server.tls is not None and self.server.tls.note:
            self.log(f"tls         {self.server.tls.note}")
        endpoints = Endpoints(
            http=ports.https_url or ports.http_url or "",
            realtime=ports.wss_url or ports.ws_url or "",
            http_host=f"localhost:{ports.tls_port}"
            if ports.tls_port is not None
            else f"{ports.host}:{ports.http_port}",
            plain_http=ports.http_url,
            plain_ws=ports.ws_url,
            https=ports.https_url,
            wss=ports.wss_url,
        )

        if spec.providers.api_key:
            self._key_sync = asyncio.create_task(self._sync_keys(appsync, api), name="key-sync")

        outputs_file = self.workdir / f"outputs-{stage.name}.json"
        outputs_file.write_text(json.dumps(outputs_for(stage, api, endpoints, region), indent=2), encoding="utf-8")
        self.publish_output = await run_publish(
            stage.name,
            outputs_file,
            project_root=root,
            env=publish_env(moto_url, region),
            secrets=[key.value for key in api.keys],
            timeout=opts.publish_timeout,
        )
        result = self.publish_output[-1] if self.publish_output else "done"
        self.log(f"post-deploy python -m eventapi.deploy publish --stage {stage.name} with AWS_ENDPOINT_URL: {result}")
        if stage.auth.api_key is not None and stage.auth.api_key.auto_renew is not None:
            self.log(
                "renewer     apiKey.autoRenew is scheduled in AWS only; run it here on demand: "
                f"python -m eventapi.local renew --stage {stage.name} --moto-url {moto_url}"
            )
        prefix = stage.ssm.prefix
        self.deployed = Deployed(
            stage=stage.name,
            stack=stage.stack_name,
            region=region,
            api_id=api.api_id,
            api_name=spec.name,
            namespaces=api.namespaces,
            ssm_prefix=prefix,
            api_key_parameter=ssm_name(prefix, SsmParam.API_KEY) if api.keys else None,
            config_parameter=ssm_name(prefix, SsmParam.CONFIG),
            moto_url=moto_url,
            endpoints=endpoints,
            ca_cert=str(self.server.tls.ca_cert) if self.server.tls is not None else None,
            ports={"http": ports.http_port, "tls": ports.tls_port, "moto": self.moto.port},
            namespace_modes={
                ns.name: {
                    "publish": tuple(m.value for m in ns.publish_modes),
                    "subscribe": tuple(m.value for m in ns.subscribe_modes),
                }
                for ns in spec.namespaces
            },
            user_pool_id=api.user_pool_id,
            user_pool_client_id=api.user_pool_client_id,
            state_dir=str(state_dir),
        )
        return self.deployed

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
