"""Template pairs for the review: one synth of a base stage and its config variations, shared by the session."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app import TODAY_KEY
from tests.infra.conftest import CLI_CONTEXT, TODAY, synth

HANDLER = {"code": "handlers/comments.js", "dataSource": "comments"}  # saves comments to DynamoDB, then broadcasts
BASE: dict[str, Any] = {
    "region": "eu-west-1",
    "auth": {
        "providers": {"apiKey": {"validDays": 365}, "iam": {}},
        "connect": ["API_KEY", "AWS_IAM"],
        "publish": ["AWS_IAM"],
        "subscribe": ["API_KEY", "AWS_IAM"],
    },
    "namespaces": {"default": {}, "comments": {"onPublish": HANDLER}},
    # An existing table: a table the stack made would be named after each variant stage, and so replaced.
    "dataSources": {"comments": {"type": "dynamodb", "tableName": "social-comments"}},
    "logging": {"level": "ERROR", "retentionDays": 14},
}


def _variant(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    stage = copy.deepcopy(BASE)
    change(stage)
    return stage


def _rename(stage: dict[str, Any]) -> None:
    stage["namespaces"] = {"default": {}, "chat": {"onPublish": HANDLER}}


def _oidc(stage: dict[str, Any]) -> None:
    stage["auth"]["providers"]["oidc"] = {"issuer": "https://issuer.example.com", "clientId": "web"}  # EventApi-AUTH2
    stage["auth"]["connect"].append("OPENID_CONNECT")


def _iam(stage: dict[str, Any]) -> None:
    stage["auth"]["providers"]["iam"] = {"publisherPrincipal": "arn:aws:iam::123456789012:role/backend"}
    stage["namespaces"]["alerts"] = {}


# Each variation of BASE, as a stage of one app (one synth): stage name -> the stage's config.
VARIANTS: dict[str, dict[str, Any]] = {
    "base": copy.deepcopy(BASE),
    "rename": _variant(_rename),
    "keygen": _variant(lambda s: s["auth"]["providers"]["apiKey"].update(generation=2)),
    "shortkey": _variant(lambda s: s["auth"]["providers"]["apiKey"].update(validDays=30)),
    "broaden": _variant(lambda s: s["auth"].update(publish=["AWS_IAM", "API_KEY"])),
    "narrow": _variant(lambda s: s["auth"].update(subscribe=["AWS_IAM"])),
    "oidc": _variant(_oidc),
    "nohandler": _variant(lambda s: s["namespaces"].update(comments={})),
    "logs": _variant(lambda s: s.update(logging={"level": "ALL", "retentionDays": 7})),
    "iam": _variant(_iam),
}


@pytest.fixture(scope="session")
def variants_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of every variation (one synth for the session)."""
    outdir = tmp_path_factory.mktemp("review-variants")
    synth({"eventapi": {"app": "social", "stages": VARIANTS}, TODAY_KEY: TODAY, **CLI_CONTEXT}, outdir)
    return outdir


@pytest.fixture(scope="session")
def variants(variants_out: Path) -> dict[str, dict[str, Any]]:
    """Variation name -> its synthesized template."""
    from tests.infra.conftest import templates

    return {name.removeprefix("Social-"): template for name, template in templates(variants_out).items()}
