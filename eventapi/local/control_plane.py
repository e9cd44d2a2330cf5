"""The local AWS stand-in for a local deploy: a moto server (AppSync control plane + SSM) on 127.0.0.1.

    with MotoServer(port=0) as moto:                     # raises PortInUseError with one line if taken
        appsync = local_client("appsync", moto.endpoint_url, region="eu-west-1")
        api = register_api(appsync, spec)                # create_api, create_channel_namespace, create_api_key
        api.api_id, api.api_arn, api.keys                # the keys' ids ARE their values, as in AppSync

Everything here talks to the moto endpoint only, with fixed dummy credentials (`LOCAL_CREDENTIALS`): never AWS.

Two deliberate differences from a bare `moto.server.ThreadedMotoServer`:
- the socket is bound in the calling thread, so a taken port fails fast with `PortInUseError` (moto's own
  `start()` waits forever when its thread cannot bind);
- Event API keys are shaped like AppSync's (`da2-` + 26 lowercase letters and digits) instead of moto's
  6 hex characters: clients and tests see the same key shape as in AWS, and key hygiene checks (a `da2-` value
  must never reach a log) mean something locally too. moto's request log is silenced: a key id can appear in a
  control-plane URL (`DELETE /v1/apis/<api>/apikeys/<key id>`).
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

from eventapi.local.settings import LocalApiKey, new_api_key
from eventapi.local.template import AuthProviders, LocalApiSpec
from eventapi.protocol.modes import AuthMode

LOCAL_HOST: Final = "127.0.0.1"
# Dummy credentials for the moto endpoint (and the AWS_IAM identity the local Event API accepts). Not secrets:
# they are printed so that a client app can use them, like moto's own documented "testing" values.
LOCAL_ACCESS_KEY_ID: Final = "AKIDLOCALEVENTAPI"
LOCAL_SECRET_ACCESS_KEY: Final = "local-secret-not-for-aws"  # noqa: S105 - a fixed, public dummy
LOCAL_CREDENTIALS: Final[Mapping[str, str]] = {
    "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
}
DEFAULT_KEY_DESCRIPTION: Final = "local Event API key"
DEFAULT_KEY_DAYS: Final = 7  # AppSync's default when a template sets no Expires


class PortInUseError(OSError):
    """A port the local deploy needs is taken; `str(err)` is one line that says which and what to do."""

    def __init__(self, what: str, host: str, port: int, option: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"{what} port {port} on {host} is already in use; stop what holds it or pass {option} <free port> "
            f"({option} 0 picks a free one)",
        )
        self.what, self.host, self.port, self.option = what, host, port, option

    def __str__(self) -> str:
        return str(self.strerror)


class MotoServer:
    """moto's HTTP server (every AWS service it emulates) in a daemon thread on `host:port` (0 = a free port)."""

    def __init__(self, host: str = LOCAL_HOST, port: int = 0, *, option: str = "--moto-port") -> None:
        self.host, self._port, self._option = host, port, option
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._restore_key_class: Any = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("MotoServer is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """`http://127.0.0.1:<port>`: the AWS_ENDPOINT_URL for boto3 clients."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        # Imported here: moto takes a moment to import and only the local deploy needs it.
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server  # noqa: PLC0415

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log (key ids can be in URLs)
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(self.host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError("the moto (local AWS) server's", self.host, self._port, self._option) from None
            raise
        self._restore_key_class = _use_appsync_shaped_keys()
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._restore_key_class is not None:
            self._restore_key_class()
            self._restore_key_class = None
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _use_appsync_shaped_keys() -> Any:
    """Make moto's Event API keys look like AppSync's (`da2-…`); returns a function that undoes it."""
    from moto.appsync import models  # noqa: PLC0415

    original = models.EventsAPIKey
    if getattr(original, "_eventapi_shaped", False):
        return lambda: None

    class AppSyncShapedKey(original):  # type: ignore[misc, valid-type]
        _eventapi_shaped = True

        def __init__(self, description: str, expires: datetime | None) -> None:
            super().__init__(description, expires)
            self.key_id = new_api_key()

    models.EventsAPIKey = AppSyncShapedKey  # type: ignore[misc]

    def restore() -> None:
        models.EventsAPIKey = original  # type: ignore[misc]

    return restore


def local_client(service: str, endpoint_url: str, *, region: str) -> Any:
    """A boto3 client for `service` at the moto endpoint, with the dummy credentials (never the caller's)."""
    import boto3  # noqa: PLC0415

    session = boto3.Session(
        aws_access_key_id=LOCAL_ACCESS_KEY_ID, aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY, region_name=region
    )
    return session.client(service, endpoint_url=endpoint_url)


@dataclass(frozen=True)
class RegisteredApi:
    """What the control plane answered: ids, ARN, the AWS-shaped DNS names, and the keys (values hidden)."""

    api_id: str
    api_arn: str
    dns: Mapping[str, str]
    keys: tuple[LocalApiKey, ...] = field(repr=False)
    namespaces: tuple[str, ...] = ()
    user_pool_id: str | None = None  # the Cognito pool (made in moto when the stack makes one)
    user_pool_client_id: str | None = None

    @property
    def account_id(self) -> str:
        return self.api_arn.split(":")[4]


def _auth_modes(modes: tuple[AuthMode, ...]) -> list[dict[str, str]]:
    return [{"authType": mode.value} for mode in modes]


def _auth_providers(providers: AuthProviders, region: str, user_pool_id: str | None) -> list[dict[str, Any]]:
    """The `eventConfig.authProviders` of create_api; values CloudFormation resolves at deploy get local stand-ins."""
    out: list[dict[str, Any]] = []
    if providers.api_key:
        out.append({"authType": AuthMode.API_KEY.value})
    if providers.iam:
        out.append({"authType": AuthMode.AWS_IAM.value})
    if providers.cognito is not None:
        cognito: dict[str, Any] = {
            "userPoolId": user_pool_id or f"{region}_local",
            "awsRegion": providers.cognito.aws_region or region,
        }
        if providers.cognito.app_id_client_regex:
            cognito["appIdClientRegex"] = providers.cognito.app_id_client_regex
        out.append({"authType": AuthMode.AMAZON_COGNITO_USER_POOLS.value, "cognitoConfig": cognito})
    if providers.oidc is not None:
        oidc: dict[str, Any] = {"issuer": providers.oidc.issuer}
        if providers.oidc.client_id:
            oidc["clientId"] = providers.oidc.client_id
        out.append({"authType": AuthMode.OPENID_CONNECT.value, "openIDConnectConfig": oidc})
    if providers.lambda_ is not None:
        lam: dict[str, Any] = {
            "authorizerUri": providers.lambda_.function_arn
            or f"arn:aws:lambda:{region}:000000000000:function:local-authorizer",
            "authorizerResultTtlInSeconds": providers.lambda_.result_ttl_seconds,
        }
        out.append({"authType": AuthMode.AWS_LAMBDA.value, "lambdaAuthorizerConfig": lam})
    return out


def register_user_pool(cognito_idp: Any, spec: LocalApiSpec) -> tuple[str | None, str | None]:
    """The Cognito pool of a Cognito-enabled API: the template's literal (imported) pool id, or, when the stack makes
    the pool (`Ref`), a pool and a web client created in moto. Returns (pool id, client id); (None, None) without
    Cognito."""
    cognito = spec.providers.cognito
    if cognito is None:
        return None, None
    if cognito.user_pool_id is not None:
        return cognito.user_pool_id, None
    pool = cognito_idp.create_user_pool(PoolName=f"{spec.name}-users")["UserPool"]
    client = cognito_idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName=f"{spec.name}-web")
    return str(pool["Id"]), str(client["UserPoolClient"]["ClientId"])


def register_api(
    appsync: Any, spec: LocalApiSpec, *, cognito_idp: Any = None, now: datetime | None = None
) -> RegisteredApi:
    """Create the Event API of `spec`, its namespaces and its API keys through the AppSync control plane.

    `appsync` (and `cognito_idp`, needed when the stack makes a Cognito pool) are boto3 clients pointed at moto by
    `local_client`. Keys get the template's expiry (or AppSync's 7-day default when it has none); their ids are
    their values, as in AppSync.
    """
    region = appsync.meta.region_name
    pool_id = client_id = None
    if spec.providers.cognito is not None:
        if cognito_idp is None and spec.providers.cognito.user_pool_id is None:
            raise ValueError("the API uses a Cognito pool made by the stack: pass a cognito-idp client")
        pool_id, client_id = register_user_pool(cognito_idp, spec)
    api = appsync.create_api(
        name=spec.name,
        eventConfig={
            "authProviders": _auth_providers(spec.providers, region, pool_id),
            "connectionAuthModes": _auth_modes(spec.connection_modes),
            "defaultPublishAuthModes": _auth_modes(spec.default_publish_modes),
            "defaultSubscribeAuthModes": _auth_modes(spec.default_subscribe_modes),
        },
    )["api"]
    api_id = api["apiId"]
    for ns in spec.namespaces:
        kwargs: dict[str, Any] = {
            "apiId": api_id,
            "name": ns.name,
            "publishAuthModes": _auth_modes(ns.publish_modes),
            "subscribeAuthModes": _auth_modes(ns.subscribe_modes),
        }
        if ns.handler_code is not None:
            kwargs["codeHandlers"] = ns.handler_code
        appsync.create_channel_namespace(**kwargs)
    keys: list[LocalApiKey] = []
    if spec.providers.api_key:
        start = (now or datetime.now(UTC)).timestamp()
        specs = spec.api_keys or ()
        for key_spec in specs or (None,):
            expires = key_spec.expires if key_spec is not None and key_spec.expires else None
            if expires is None:
                expires = int(start // 3600 * 3600) + DEFAULT_KEY_DAYS * 86_400
            description = (key_spec.description if key_spec is not None else None) or DEFAULT_KEY_DESCRIPTION
            created = appsync.create_api_key(apiId=api_id, description=description, expires=expires)["apiKey"]
            keys.append(LocalApiKey(created["id"], expires=float(created["expires"])))
    return RegisteredApi(
        api_id=api_id,
        api_arn=api["apiArn"],
        dns=dict(api.get("dns", {})),
        keys=tuple(keys),
        namespaces=tuple(ns.name for ns in spec.namespaces),
        user_pool_id=pool_id,
        user_pool_client_id=client_id,
    )
