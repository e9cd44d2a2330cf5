"""Fixtures for the post-deploy step: a small project (cdk.json), moto in-process, a deployed-looking stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from botocore.stub import Stubber
from moto import mock_aws

from eventapi.config import ApiKeyProvider, StageConfig, load_stage
from eventapi.outputs import Output

REGION = "eu-west-1"
NOW = datetime(
    2026, 11, 28, 12, 0, tzinfo=UTC
)  # where the `clock` fixture starts; tests/deploy/test_instants.py runs elsewhere
KEY_DESCRIPTION = ApiKeyProvider().stack_key_description  # the key the stack made (generation 1)

STAGES: dict[str, Any] = {
    "dev": {
        "region": REGION,
        "auth": {
            "providers": {"apiKey": {"validDays": 365}, "iam": {}},
            "connect": ["API_KEY", "AWS_IAM"],
            "publish": ["API_KEY", "AWS_IAM"],
            "subscribe": ["API_KEY"],
        },
        "namespaces": {"default": {}, "chat": {"publish": ["AWS_IAM"]}},
    },
    "prod": {
        "region": REGION,
        "account": "123456789012",
        "auth": {
            "providers": {"apiKey": {}, "cognito": {"newUserPool": True}},
            "connect": ["API_KEY", "AMAZON_COGNITO_USER_POOLS"],
            "publish": ["AMAZON_COGNITO_USER_POOLS"],
            "subscribe": ["API_KEY", "AMAZON_COGNITO_USER_POOLS"],
        },
        "namespaces": {"default": {}},
        "ssm": {"prefix": "/social/prod/events", "kmsKeyId": "alias/social-prod"},
        "tags": {"team": "realtime"},
    },
    "iam": {
        "region": REGION,
        "auth": {"providers": {"iam": {}}},
        "namespaces": {"default": {}},
    },
}


def write_project(root: Path, stages: dict[str, Any] | None = None) -> Path:
    """A project root with its own small cdk.json."""
    root.mkdir(parents=True, exist_ok=True)
    context = {"eventapi": {"app": "social", "stages": stages or STAGES}}
    (root / "cdk.json").write_text(json.dumps({"app": "true", "context": context}), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and no shared config, as a CI job has."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """One clock for the code under test and moto: the process is frozen at NOW; tests move it with `move_to`.

    moto runs in-process, so time-machine (which patches the C-level clock calls) moves its expiry checks too.
    """
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mocked(aws_env: None, clock: time_machine.Coordinates) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def session(mocked: None) -> Any:
    return boto3.Session(region_name=REGION)


@dataclass
class Deployed:
    """A stage as `cdk deploy` leaves it: an Event API, its key, a stack with the outputs."""

    stage: StageConfig
    api_id: str
    key: str
    key_expires: datetime
    outputs: dict[str, str]


def create_api(session: Any, name: str) -> dict[str, Any]:
    mode = [{"authType": "API_KEY"}]
    api: dict[str, Any] = session.client("appsync").create_api(
        name=name,
        eventConfig={
            "authProviders": mode,
            "connectionAuthModes": mode,
            "defaultPublishAuthModes": mode,
            "defaultSubscribeAuthModes": mode,
        },
    )["api"]
    return api


def create_key(session: Any, api_id: str, expires: datetime, description: str = KEY_DESCRIPTION) -> str:
    key: str = session.client("appsync").create_api_key(
        apiId=api_id, description=description, expires=int(expires.timestamp())
    )["apiKey"]["id"]
    return key


def outputs_for(api: dict[str, Any], **extra: str) -> dict[str, str]:
    http, realtime = api["dns"]["HTTP"], api["dns"]["REALTIME"]
    return {
        Output.API_ID.value: api["apiId"],
        Output.API_ARN.value: api["apiArn"],
        Output.HTTP_ENDPOINT.value: f"https://{http}/event",
        Output.REALTIME_ENDPOINT.value: f"wss://{realtime}/event/realtime",
        Output.HTTP_HOST.value: http,
        Output.REALTIME_HOST.value: realtime,
        Output.REGION.value: REGION,
        **extra,
    }


def create_stack(session: Any, name: str, outputs: dict[str, str]) -> None:
    """moto's CloudFormation cannot create AWS::AppSync::*: a topic stands in, the outputs are literal."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def deploy(session: Any, project: Path, stage_name: str = "dev", *, key_days: int = 200, **extra: str) -> Deployed:
    stage = load_stage(stage_name, project)
    api = create_api(session, stage.api_name)
    expires = (datetime.now(UTC) + timedelta(days=key_days)).replace(minute=0, second=0, microsecond=0)
    key = create_key(session, api["apiId"], expires)
    outputs = outputs_for(api, **extra)
    create_stack(session, stage.stack_name, outputs)
    return Deployed(stage, api["apiId"], key, expires, outputs)


@pytest.fixture
def deployed(session: Any, project: Path) -> Deployed:
    return deploy(session, project)


def ssm_values(session: Any, prefix: str) -> dict[str, tuple[str, str]]:
    """Every parameter under `prefix`: name -> (type, decrypted value)."""
    pages = (
        session.client("ssm")
        .get_paginator("get_parameters_by_path")
        .paginate(Path=prefix, Recursive=True, WithDecryption=True)
    )
    return {p["Name"]: (p["Type"], p["Value"]) for page in pages for p in page["Parameters"]}


def tags_of(session: Any, name: str) -> dict[str, str]:
    tags = session.client("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return {t["Key"]: t["Value"] for t in tags}


class CallLog:
    """Counts AWS API calls made through a session (botocore `before-call` events)."""

    WRITES = ("Put", "Delete", "Create", "Update", "AddTags", "RemoveTags")

    def __init__(self, session: Any) -> None:
        self.calls: list[str] = []
        session.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c.startswith(self.WRITES)]


class StubbedSession:
    """A session whose clients for some services answer from a botocore Stubber (errors moto cannot make)."""

    def __init__(self, real: Any, stubs: dict[str, Any]) -> None:
        self.real = real
        self.region_name = real.region_name
        self.stubs = stubs
        self.stubbers: dict[str, Stubber] = {}

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self.real.client(service, **kwargs)
        if service in self.stubs:
            stubber = Stubber(client)
            self.stubs[service](stubber)
            stubber.activate()
            self.stubbers[service] = stubber
        return client
