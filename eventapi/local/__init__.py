"""The local Event API: one AppSync Event API, served on localhost from a synthesized CloudFormation template.

`POST /event` (HTTP publish) and the WebSocket at `/event/realtime` on one host and port, over plain HTTP and,
with a locally generated CA, over TLS (`https://` / `wss://`, which the aws-amplify client needs).

Public API (stable; the local deploy, `make demo` and the Node tests build on it):

    from eventapi.protocol.modes import AuthMode
    from eventapi.local import IamCredential, LocalApiKey, LocalApiSpec, LocalSettings
    from eventapi.local.issuer import token_rules
    from eventapi.local.server import LocalServer, run

    spec = LocalApiSpec.from_file("cdk.out/Social-dev.template.json")     # or .from_template(dict)
    settings = LocalSettings(port=0, tls_port=0, api_keys=(LocalApiKey("da2-" + 26 chars, expires=None),),
                             iam_credentials=(IamCredential("AKIDLOCAL", "secret"),))
    async with LocalServer(spec, settings) as server:                     # or: ports = await server.start()
        server.ports          # BoundPorts(host, http_port, tls_port) + .http_url/.https_url/.ws_url/.wss_url
        server.keys.add("da2-...", expires=...)  /  server.keys.remove("da2-...")   # runtime key rotation
        rules = token_rules(spec, settings, AuthMode.AMAZON_COGNITO_USER_POOLS)   # None without that provider
        server.issuer.mint(rules, user="alice", groups=("admins",))              # a token the server accepts
        server.tls.ca_cert    # Path of the local CA (NODE_EXTRA_CA_CERTS=...), when TLS is on
        server.health()       # {"api", "connections", "subscriptions", ...}
    # leaving the block stops it: sockets close with 1001 after in-flight publishes finish

    await run(spec, settings, on_started=...)  # serve until SIGINT/SIGTERM; on_started gets the started server

`LocalServer` lives in `eventapi.local.server` so that importing this package (the template parser, the
settings) does not import aiohttp.

- `template`: `LocalApiSpec.from_template(template)` (auth providers, modes, namespaces, handler code).
- `settings`: `LocalSettings` (ports, state dir, keys, IAM credentials, Lambda authorizer, limits), `ApiKeyStore`.
- `server`: `LocalServer` (binds the plain and TLS sockets, starts and stops), `run` (until a signal), the banner.
- `app`: the aiohttp application: routes, CORS, lifecycle hooks.
- `broker`: the state of one API: connection registry, subscription index, in-flight publishes, keep-alive, shutdown.
- `pipeline`: connect, publish and subscribe (namespace, authorization, handlers, fan-out), shared by both transports.
- `http_publish`, `websocket`: `POST /event`, and `/event/realtime` (its reader loop and frame dispatch).
- `connection`: one WebSocket's outgoing queue and writer (the slow-subscriber policy).
- `subscriptions`: the subscription index and fan-out.
- `auth`: per-operation authorization for every mode.
- `issuer`: the local JWT issuer (Cognito / OIDC stand-in), its key persisted in the state dir.
- `tls`: the local CA and server certificate (persisted in the state dir, reused).
- `handlers`: APPSYNC_JS namespace handlers run by one long-lived Node helper.

Never imports `eventapi.client`.
"""

from eventapi.local.settings import (
    ApiKeyStore,
    IamCredential,
    LocalApiKey,
    LocalSettings,
    default_state_dir,
    new_api_key,
)
from eventapi.local.template import (
    AuthProviders,
    CognitoSpec,
    LambdaSpec,
    LocalApiSpec,
    NamespaceSpec,
    OidcSpec,
    TemplateError,
    load_template,
)

__all__ = [
    "ApiKeyStore",
    "AuthProviders",
    "CognitoSpec",
    "IamCredential",
    "LambdaSpec",
    "LocalApiKey",
    "LocalApiSpec",
    "LocalSettings",
    "NamespaceSpec",
    "OidcSpec",
    "TemplateError",
    "default_state_dir",
    "load_template",
    "new_api_key",
]
