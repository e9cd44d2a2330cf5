"""Local settings of the local Event API: what the template cannot say (ports, keys, credentials, state dir).

`LocalSettings` is frozen; the API keys it lists are only the *initial* set: keys can be added and removed at
runtime through `LocalServer.keys` (an `ApiKeyStore`) for rotation.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventapi.protocol.limits import CONNECTION_TIMEOUT_MS, KEEP_ALIVE_INTERVAL_SECONDS, MAX_CONNECTION_LIFETIME_SECONDS

STATE_DIR_ENV = "EVENTAPI_LOCAL_STATE_DIR"
DEFAULT_STATE_DIR = Path("~/.cache/eventapi-local")
DEFAULT_PORT = 8080  # plain http/ws of `serve` and `up`
DEFAULT_TLS_PORT = 8443  # https/wss
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"
API_KEY_PREFIX = "da2-"
API_KEY_RE = re.compile(r"^da2-[a-z0-9]{26}$")

# A Lambda authorizer: receives the AppSync request (docs/protocol.md, Lambda),
# returns {isAuthorized, handlerContext, ttlOverride}.
LambdaAuthorizer = Callable[[dict[str, Any]], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]


def default_state_dir() -> Path:
    """`$EVENTAPI_LOCAL_STATE_DIR`, else `~/.cache/eventapi-local` (TLS CA, server cert, token issuer key)."""
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env).expanduser() if env else DEFAULT_STATE_DIR.expanduser()


def new_api_key() -> str:
    """A fresh key shaped like AppSync's: `da2-` + 26 lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return API_KEY_PREFIX + "".join(secrets.choice(alphabet) for _ in range(26))


@dataclass(frozen=True)
class LocalApiKey:
    """A valid API key and its expiry (epoch seconds; None = never). The value never appears in the repr."""

    value: str = field(repr=False)
    expires: float | None = None

    def valid_at(self, now: float) -> bool:
        return self.expires is None or now < self.expires


@dataclass(frozen=True)
class IamCredential:
    """Local AWS credentials the server accepts for AWS_IAM (any fixed pair; the secret never leaves here)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


class ApiKeyStore:
    """The set of valid API keys, mutable at runtime (rotation): `add`, `remove`, `is_valid`."""

    def __init__(self, keys: Iterable[LocalApiKey] = ()) -> None:
        self._keys: dict[str, LocalApiKey] = {key.value: key for key in keys}

    def add(self, value: str, expires: float | None = None) -> LocalApiKey:
        key = LocalApiKey(value, expires)
        self._keys[value] = key
        return key

    def remove(self, value: str) -> bool:
        return self._keys.pop(value, None) is not None

    def is_valid(self, value: str, now: float | None = None) -> bool:
        key = self._keys.get(value)
        return key is not None and key.valid_at(time.time() if now is None else now)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"ApiKeyStore({len(self._keys)} keys)"


@dataclass(frozen=True)
class LocalSettings:
    """How to serve one Event API locally. Ports: None = don't serve that transport, 0 = an ephemeral port."""

    host: str = "127.0.0.1"
    port: int | None = 0  # plain http:// and ws://
    tls_port: int | None = None  # https:// and wss:// (a local CA in state_dir); None = no TLS
    state_dir: Path = field(default_factory=default_state_dir)
    api_keys: tuple[LocalApiKey, ...] = ()
    iam_credentials: tuple[IamCredential, ...] = ()
    region: str | None = None  # SigV4 region; None = the template's, else us-east-1
    account_id: str = DEFAULT_ACCOUNT_ID
    api_id: str = "local"  # the apiId in Lambda authorizer requests and IAM resource names
    # Cognito: the pool id tokens name in `iss`; None = the template's literal id, else "<region>_local".
    cognito_user_pool_id: str | None = None
    # Lambda authorizer: a callable or "module:function"; None = AWS_LAMBDA requests are rejected ("not emulated").
    lambda_authorizer: LambdaAuthorizer | str | None = None
    # The service's values (docs/protocol.md, Limits); tests shorten them.
    keepalive_seconds: float = KEEP_ALIVE_INTERVAL_SECONDS
    connection_timeout_ms: int = CONNECTION_TIMEOUT_MS
    max_connection_seconds: float = MAX_CONNECTION_LIFETIME_SECONDS
    # Slow-subscriber policy: a connection whose outgoing queue would hold more than this many frames, or more than
    # this many bytes, is closed (code 1013). Bytes bound the memory; frames bound the count of tiny ones.
    max_queued_frames: int = 10_000
    max_queued_bytes: int = 16 * 1024 * 1024
    # Plain HTTP and TLS: a connection must send a complete request head within this many seconds of connecting
    # (or of its previous response), and an idle keep-alive connection is closed after it. Not WebSockets.
    http_idle_timeout_seconds: float = 15.0
    # Publish requests per second per connection (AppSync's quota is 25); None = not enforced.
    publish_rate_limit: float | None = None
    # Namespace handlers: run APPSYNC_JS onPublish/onSubscribe in a Node helper; False = forward unchanged.
    emulate_handlers: bool = True
    handler_timeout_seconds: float = 5.0
    node_binary: str = "node"
    # Data sources and direct Lambda: where the app's functions and code files are (edits apply at once), the cloud
    # assembly holding the staged function assets, and the moto endpoint DynamoDB tables live on (None = none).
    project_root: Path | None = None
    assembly_dir: Path | None = None
    aws_endpoint_url: str | None = None
    iam_clock_skew_seconds: int = 300
    shutdown_timeout_seconds: float = 5.0

    def effective_region(self, template_region: str | None) -> str:
        return self.region or template_region or DEFAULT_REGION
