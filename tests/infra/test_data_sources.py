"""Data sources, handler configs and the app's Python functions in the synthesized templates."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from .conftest import resources


def _by_name(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["Name"]: r for r in resources(template, kind).values()}


def _role_statements(template: dict[str, Any], role_arn: Any) -> list[dict[str, Any]]:
    role_id = role_arn["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_handler_configs(full: dict[str, Any]) -> None:
    """code+dataSource is CODE with an integration; lambda is DIRECT with its invoke type; plain code has none."""
    ns = {name: r["Properties"] for name, r in _by_name(full, "AWS::AppSync::ChannelNamespace").items()}
    assert ns["comments"]["HandlerConfigs"] == {
        "OnPublish": {"Behavior": "CODE", "Integration": {"DataSourceName": "comments"}}
    }
    assert ns["telemetry"]["HandlerConfigs"] == {
        "OnPublish": {
            "Behavior": "DIRECT",
            "Integration": {"DataSourceName": "audit", "LambdaConfig": {"InvokeType": "EVENT"}},
        }
    }
    assert ns["users"]["HandlerConfigs"] == {
        "OnSubscribe": {
            "Behavior": "DIRECT",
            "Integration": {"DataSourceName": "users", "LambdaConfig": {"InvokeType": "REQUEST_RESPONSE"}},
        }
    }
    assert not ns["default"].get("HandlerConfigs") and "CodeHandlers" not in ns["users"]


def test_data_source_roles_least_privilege(full: dict[str, Any]) -> None:
    """Each data source's role allows one thing on one resource; the HTTP one's role may do nothing."""
    sources = {name: r["Properties"] for name, r in _by_name(full, "AWS::AppSync::DataSource").items()}
    assert {name: p["Type"] for name, p in sources.items()} == {
        "comments": "AMAZON_DYNAMODB",
        "archive": "AMAZON_DYNAMODB",
        "users": "AWS_LAMBDA",
        "audit": "AWS_LAMBDA",
        "hook": "HTTP",
        "bus": "AMAZON_EVENTBRIDGE",
    }
    users_fn = sources["users"]["LambdaConfig"]["LambdaFunctionArn"]
    assert _role_statements(full, sources["users"]["ServiceRoleArn"]) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": users_fn}
    ]
    audit_arn = "arn:aws:lambda:us-east-1:123456789012:function:audit"
    assert sources["audit"]["LambdaConfig"]["LambdaFunctionArn"] == audit_arn
    assert _role_statements(full, sources["audit"]["ServiceRoleArn"]) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": audit_arn}
    ]
    (table_id,) = resources(full, "AWS::DynamoDB::Table")
    for name, table_arn in (
        ("comments", {"Fn::GetAtt": [table_id, "Arn"]}),
        (
            "archive",
            {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":dynamodb:us-east-1:123456789012:table/existing-archive"],
                ]
            },
        ),
    ):
        statements = _role_statements(full, sources[name]["ServiceRoleArn"])
        assert statements and all(s["Resource"] in (table_arn, [table_arn]) for s in statements), name
        assert all(a.startswith("dynamodb:") and "*" not in a for s in statements for a in s["Action"])
    (bus,) = _role_statements(full, sources["bus"]["ServiceRoleArn"])
    assert (bus["Action"], bus["Resource"]) == (
        "events:PutEvents",
        "arn:aws:events:us-east-1:123456789012:event-bus/default",
    )
    assert sources["hook"]["HttpConfig"] == {"Endpoint": "https://hooks.example.com/events"}
    assert _role_statements(full, sources["hook"]["ServiceRoleArn"]) == []  # the L2's role, with no permission


def test_made_table(full: dict[str, Any]) -> None:
    """A made table: fixed name <app>-<stage>-<source>, the configured keys, on-demand, PITR, kept on delete."""
    (table,) = resources(full, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["TableName"] == "social-full-comments"
    assert props["KeySchema"] == [
        {"AttributeName": "channel", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_python_function(full: dict[str, Any], full_out: Path) -> None:
    """functions/users: JSON logs into its own group with the stage's retention, config timeout/memory, a role that
    writes only that group, and an asset holding the handler and the pinned Powertools."""
    (fn,) = [f for n, f in resources(full, "AWS::Lambda::Function").items() if not n.startswith("KeyRenewal")]
    props = fn["Properties"]
    assert (props["Handler"], props["Runtime"], props["Timeout"], props["MemorySize"]) == (
        "handler.handler",
        "python3.14",
        3,
        512,
    )
    group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert full["Resources"][group_id]["Properties"]["RetentionInDays"] == 7
    assert _role_statements(full, props["Role"]) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]
    asset = full_out / fn["Metadata"]["aws:asset:path"]
    assert (asset / "handler.py").read_text() == Path("functions/users/handler.py").read_text()
    version = metadata.version("aws-lambda-powertools")
    assert (asset / f"aws_lambda_powertools-{version}.dist-info" / "METADATA").is_file()
    assert (asset / "aws_lambda_powertools" / "event_handler" / "events_appsync" / "appsync_events.py").is_file()
    assert not list(asset.rglob("__pycache__"))
