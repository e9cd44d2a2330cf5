"""The auth modes: protocol vocabulary shared by the stage config, the client, the local Event API and deploy."""

from __future__ import annotations

from enum import StrEnum


class AuthMode(StrEnum):
    """Auth mode names as AppSync (and cdk.json) spell them."""

    API_KEY = "API_KEY"
    AWS_IAM = "AWS_IAM"
    AMAZON_COGNITO_USER_POOLS = "AMAZON_COGNITO_USER_POOLS"
    OPENID_CONNECT = "OPENID_CONNECT"
    AWS_LAMBDA = "AWS_LAMBDA"
