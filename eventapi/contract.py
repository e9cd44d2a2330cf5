"""The contract between the writer of a stage's published settings (`eventapi.deploy`) and their readers (the
client, the local tools, the web export): the SSM Parameter Store layout. Pure Python, standard library only."""

from __future__ import annotations

from enum import StrEnum


class SsmParam(StrEnum):
    """Parameter names under a stage's SSM prefix (`<prefix>/<name>`)."""

    HTTP_ENDPOINT = "http-endpoint"  # String: https://<http host>/event
    REALTIME_ENDPOINT = "realtime-endpoint"  # String: wss://<realtime host>/event/realtime
    HTTP_HOST = "http-host"  # String: the host every auth object names
    REALTIME_HOST = "realtime-host"  # String
    API_ID = "api-id"  # String
    REGION = "region"  # String
    AUTH_MODES = "auth-modes"  # String (JSON): {"connect": [...], "publish": [...], "subscribe": [...]}
    NAMESPACES = "namespaces"  # String (JSON): [{"name", "publish": [...], "subscribe": [...]}]
    USER_POOL_ID = "cognito-user-pool-id"  # String, only with Cognito
    USER_POOL_CLIENT_ID = "cognito-client-id"  # String, only with Cognito
    API_KEY = "api-key"  # SecureString: the key value (da2-...)
    API_KEY_EXPIRES = "api-key-expires"  # String: ISO 8601 UTC
    CONFIG = "config"  # String (JSON): everything above except the key, for clients that read one parameter
    # SecureString (JSON): {"keyId", "rotatedAt", "finishAfter"} while a key rotation is under way; written by
    # `eventapi.deploy rotate-key`, deleted by `rotate-key --finish`. Clients never read it.
    API_KEY_PREVIOUS = "api-key-previous"


def ssm_name(prefix: str, param: SsmParam) -> str:
    """Full parameter name of `param` under `prefix`."""
    return f"{prefix.rstrip('/')}/{param.value}"
