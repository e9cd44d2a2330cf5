"""`ctx.identity` as AppSync builds it for each auth mode (the handler context reference's Identity shapes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_local"


def api_key() -> None:
    """API_KEY requests carry no identity (`ctx.identity` is null)."""
    return


def cognito(
    sub: str,
    *,
    username: str | None = None,
    groups: Sequence[str] = (),
    claims: Mapping[str, Any] | None = None,
    issuer: str = DEFAULT_ISSUER,
) -> dict[str, Any]:
    """An AMAZON_COGNITO_USER_POOLS identity for the user `sub`."""
    all_claims = {"sub": sub, "iss": issuer, "cognito:username": username or sub, **(claims or {})}
    if groups:
        all_claims["cognito:groups"] = list(groups)
    return {
        "sub": sub,
        "issuer": issuer,
        "username": username or sub,
        "claims": all_claims,
        "groups": list(groups) or None,
        "sourceIp": ["127.0.0.1"],
        "defaultAuthStrategy": "ALLOW",
    }


def iam(username: str = "backend", *, account_id: str = DEFAULT_ACCOUNT, role: bool = False) -> dict[str, Any]:
    """An AWS_IAM identity: an IAM user (or an assumed role when `role`)."""
    arn = (
        f"arn:aws:sts::{account_id}:assumed-role/{username}/session"
        if role
        else f"arn:aws:iam::{account_id}:user/{username}"
    )
    return {"accountId": account_id, "userArn": arn, "username": username, "sourceIp": ["127.0.0.1"]}
