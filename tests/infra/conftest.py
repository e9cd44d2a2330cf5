"""One synth per app variant for the whole session: jsii start-up costs seconds, a stack ~0.1 s after that."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from app import TODAY_KEY, build_app, cdk_json_context

TODAY = "2026-11-15"  # the injected clock: no test depends on the real date
# What the CDK CLI adds to the context it passes app.py, so in-process templates equal `cdk synth`'s.
CLI_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}

# A stage exercising every config feature the shipped stages leave out.
FULL_STAGE: dict[str, Any] = {
    "account": "123456789012",
    "region": "us-east-1",
    "auth": {
        "providers": {
            "apiKey": {"validDays": 30, "description": "Key for the full test stage", "autoRenew": {"hourUtc": 5}},
            "iam": {
                "publisherPrincipal": "arn:aws:iam::123456789012:role/backend",
                "subscriberPrincipal": "arn:aws:iam::123456789012:role/analytics",
            },
            "cognito": {"userPoolId": "eu-west-1_AbCdEf123", "appIdClientRegex": "^web-.*$"},
            "oidc": {
                "issuer": "https://issuer.example.com",
                "clientId": "web",
                "authTtlSeconds": 3600,
                "iatTtlSeconds": 7200,
            },
            "lambda": {
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:authorizer",
                "resultTtlSeconds": 60,
                "identityValidationRegex": "^Bearer .+$",
            },
        },
        "connect": ["API_KEY", "AWS_IAM", "AMAZON_COGNITO_USER_POOLS", "OPENID_CONNECT", "AWS_LAMBDA"],
        "publish": ["AWS_IAM", "AWS_LAMBDA"],
        "subscribe": ["API_KEY", "OPENID_CONNECT"],
    },
    "namespaces": {
        "default": {},
        "comments": {
            "publish": ["AMAZON_COGNITO_USER_POOLS"],
            "onPublish": {"code": "handlers/comments.js", "dataSource": "comments"},
        },
        "telemetry": {"subscribe": ["AWS_IAM"], "onPublish": {"lambda": "audit", "invokeType": "EVENT"}},
        "users": {"onSubscribe": {"lambda": "users"}},
    },
    "dataSources": {
        "comments": {"type": "dynamodb", "partitionKey": "channel", "sortKey": "id", "pointInTimeRecovery": True},
        "archive": {"type": "dynamodb", "tableName": "existing-archive"},
        "users": {"type": "lambda", "function": "users", "timeoutSeconds": 3, "memoryMb": 512},
        "audit": {"type": "lambda", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:audit"},
        "hook": {"type": "http", "endpoint": "https://hooks.example.com/events"},
        "bus": {"type": "eventbridge", "eventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"},
    },
    "logging": {"level": "ALL", "retentionDays": 7, "retain": True},
    "ssm": {"prefix": "/full/events", "kmsKeyId": "alias/events"},
    "tags": {"team": "realtime", "cost-center": "42"},
    "monitoring": {
        "notify": {"topicArn": "arn:aws:sns:us-east-1:123456789012:ops"},
        "alarms": {"clientErrors": "anomaly", "delayedMessages": False, "serverErrors": 5},
        "periodMinutes": 1,
    },
    "domain": {"name": "events.example.com", "hostedZone": "Z0123456789ABCDEFGHIJ"},
    "waf": {
        "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shared/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    },
    "rules": {"acknowledge": {"EventApi-NS2": "the comments feed is public: the subscribe key ships in the web page"}},
}

# A stage outside us-east-1 whose custom domain gets a certificate made there (a second stack, cross-region), and a
# web ACL made by the stack with IP allow and deny sets.
EDGE_STAGE: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "auth": {"providers": {"iam": {}}},
    "namespaces": {"default": {}},
    "domain": {"name": "realtime.example.org", "hostedZone": "Z9876543210ZYXWVUTSRQ"},
    "waf": {
        "rateLimit": 500,
        "allowIps": ["198.51.100.7/32", "2001:db8::/32"],
        "denyIps": ["203.0.113.0/24"],
    },
    "monitoring": {"notify": {"emails": ["ops@example.org", "oncall@example.org"]}, "dashboard": False},
}


# A new user pool with every choice that relaxes the safe defaults, each relaxation with its reason.
OPEN_STAGE: dict[str, Any] = {
    "region": "eu-west-1",
    "auth": {
        "providers": {
            "cognito": {
                "newUserPool": True,
                "selfSignUp": True,
                "mfa": "optional",
                "featurePlan": "essentials",
                "signInAliases": ["email", "username", "preferredUsername"],
                "hostedUi": {
                    "domainPrefix": "social-open-test",
                    "callbackUrls": ["https://app.example.com/callback", "http://localhost:5173/"],
                    "logoutUrls": ["https://app.example.com/"],
                },
                "reasons": {
                    "mfa": "comment authors sign themselves up; MFA stays available to those who want it",
                    "featurePlan": "Essentials costs less per monthly active user; no threat protection needed here",
                },
            }
        }
    },
    "namespaces": {"default": {}},
}


def full_context() -> dict[str, Any]:
    stages = {"full": FULL_STAGE, "edge": EDGE_STAGE, "open": OPEN_STAGE}
    return {"eventapi": {"app": "social", "stages": stages}, TODAY_KEY: TODAY, **CLI_CONTEXT}


def synth(context: Mapping[str, Any], outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesize `context` into `outdir` and return each stack's template."""
    assembly = build_app(context, outdir=str(outdir)).synth()
    return {stack.stack_name: json.loads(Path(stack.template_full_path).read_text()) for stack in assembly.stacks}


def shipped_context() -> dict[str, Any]:
    return {**cdk_json_context(), TODAY_KEY: TODAY, **CLI_CONTEXT}


@pytest.fixture(scope="session")
def shipped_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of the stages that cdk.json ships (dev, prod): synthesized once per session."""
    outdir = tmp_path_factory.mktemp("shipped")
    synth(shipped_context(), outdir)
    return outdir


@pytest.fixture(scope="session")
def full_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of the every-feature stage: synthesized once per session."""
    outdir = tmp_path_factory.mktemp("full")
    synth(full_context(), outdir)
    return outdir


def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }


@pytest.fixture(scope="session")
def shipped(shipped_out: Path) -> dict[str, dict[str, Any]]:
    """Templates of the stages that cdk.json ships (dev, prod)."""
    return templates(shipped_out)


@pytest.fixture(scope="session")
def full_all(full_out: Path) -> dict[str, dict[str, Any]]:
    """Every template of the test stages' app: Social-full, Social-edge and Social-edge-certificate."""
    return templates(full_out)


@pytest.fixture(scope="session")
def full(full_out: Path) -> dict[str, Any]:
    """The template of the every-feature stage."""
    return templates(full_out)["Social-full"]


@pytest.fixture(scope="session")
def open_pool(full_out: Path) -> dict[str, Any]:
    """The template of the stage whose new user pool relaxes every default it can."""
    return templates(full_out)["Social-open"]


def resources(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def only(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    props: dict[str, Any] = found[0]["Properties"]
    return props
