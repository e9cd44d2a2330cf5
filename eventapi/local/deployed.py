"""What a running local deploy is: its endpoints and the facts `up --ready-file` writes as JSON (no secrets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventapi.local.aws_env import client_env


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
