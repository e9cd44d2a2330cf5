"""Handlers and data sources in the stage config: the shapes that parse, and every bad value's one-line message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventapi.config import (
    DataSourceKind,
    DynamoDbSource,
    HandlerSide,
    InvokeType,
    LambdaSource,
    load_config,
    parse_config,
)
from tests.unit.test_config import error_of

ROOT = Path(__file__).resolve().parents[2]
NS = "eventapi.stages.dev.namespaces"
DS = "eventapi.stages.dev.dataSources"
SOURCES = {
    "table": {"type": "dynamodb", "partitionKey": "pk"},
    "fn": {"type": "lambda", "function": "users"},
    "hook": {"type": "http", "endpoint": "https://example.com/hook"},
}


def stage(namespaces: dict[str, Any], sources: dict[str, Any] | None = None, **auth: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"namespaces": namespaces, "dataSources": SOURCES if sources is None else sources}
    if auth:
        body["auth"] = auth
    return {"app": "social", "stages": {"dev": body}}


def test_prod_examples_parse() -> None:
    """cdk.json's prod: comments saves through the comments table, users runs a direct Lambda onSubscribe."""
    prod = load_config(ROOT).stage("prod")
    by_name = {ns.name: ns for ns in prod.namespaces}
    assert by_name["comments"].on_publish == HandlerSide(code="handlers/comments.js", data_source="comments")
    assert by_name["comments"].handler == "handlers/comments.js" and by_name["comments"].handler_code
    assert by_name["users"].on_subscribe == HandlerSide(lambda_="users", invoke_type=InvokeType.REQUEST_RESPONSE)
    assert by_name["users"].handler_code is None
    sources = {s.name: s for s in prod.data_sources}
    assert sources["comments"].kind is DataSourceKind.DYNAMODB and sources["comments"].dynamodb is not None
    assert sources["comments"].dynamodb.table_name == "social-prod-comments"
    assert sources["users"].lambda_ is not None and sources["users"].lambda_.function == "users"


def test_legacy_handler_key_is_code_on_both_sides() -> None:
    """The older `handler` key still works: the same file on both sides, no data source."""
    config = parse_config(stage({"default": {"handler": "handlers/comments.js"}}), ROOT)
    ns = config.stages[0].namespaces[0]
    assert ns.on_publish == ns.on_subscribe == HandlerSide(code="handlers/comments.js")


def test_data_sources_are_read_whole() -> None:
    """Each data source kind keeps every setting given, and a function of this app or a made table gets defaults:
    10 s and 256 MB, point-in-time recovery on, and the fixed name `<app>-<stage>-<source>`."""
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:x"
    bus = "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    sources = {
        "fn": {"type": "lambda", "function": "users"},
        "sized": {"type": "lambda", "function": "users", "timeoutSeconds": 1, "memoryMb": 10_240},
        "existing": {"type": "lambda", "functionArn": arn},
        "made": {"type": "dynamodb", "partitionKey": "pk"},
        "full": {
            "type": "dynamodb",
            "partitionKey": "pk",
            "sortKey": "sk",
            "ttlAttribute": "expires",
            "pointInTimeRecovery": False,
        },
        "imported": {"type": "dynamodb", "tableName": "legacy-table"},
        "hook": {"type": "http", "endpoint": "https://example.com/hook"},
        "bus": {"type": "eventbridge", "eventBusArn": bus},
    }
    by_name = {s.name: s for s in parse_config(stage({"default": {}}, sources), ROOT).stages[0].data_sources}
    assert by_name["fn"].lambda_ == LambdaSource(function="users", timeout_seconds=10, memory_mb=256)
    assert by_name["sized"].lambda_ == LambdaSource(function="users", timeout_seconds=1, memory_mb=10_240)
    assert by_name["existing"].lambda_ == LambdaSource(function_arn=arn)
    assert by_name["made"].dynamodb == DynamoDbSource(table_name="social-dev-made", partition_key="pk")
    assert by_name["full"].dynamodb == DynamoDbSource("social-dev-full", "pk", "sk", "expires", False)
    assert by_name["imported"].dynamodb == DynamoDbSource(table_name="legacy-table")
    assert (by_name["hook"].kind, by_name["hook"].http_endpoint) == (DataSourceKind.HTTP, "https://example.com/hook")
    assert (by_name["bus"].kind, by_name["bus"].event_bus_arn) == (DataSourceKind.EVENTBRIDGE, bus)


def test_handler_sides_are_read() -> None:
    """A side left out is None; a direct Lambda keeps its invoke type; the code file is traced to the field that
    named it (the legacy `handler`, or the first side's `code`), so a later error about the code names that field."""
    namespaces = {
        "legacy": {"handler": "handlers/comments.js"},
        "coded": {"onSubscribe": {"code": "handlers/comments.js"}},
        "direct": {"onPublish": {"lambda": "fn", "invokeType": "EVENT"}},
    }
    by_name = {ns.name: ns for ns in parse_config(stage(namespaces), ROOT).stages[0].namespaces}
    assert by_name["legacy"].handler_field == f"{NS}.legacy.handler"
    assert (by_name["coded"].on_publish, by_name["coded"].handler_field) == (None, f"{NS}.coded.onSubscribe.code")
    direct = by_name["direct"]
    assert (direct.on_publish, direct.on_subscribe, direct.handler_field) == (
        HandlerSide(lambda_="fn", invoke_type=InvokeType.EVENT),
        None,
        None,
    )


BAD: list[tuple[dict[str, Any], str]] = [
    (
        stage({"default": {"handler": 5}}),
        f"{NS}.default.handler: 5 is not allowed; expected a path to a .js file under handlers/",
    ),
    (
        stage({"default": {"handler": "handlers/comments.js", "onSubscribe": {"code": "handlers/comments.js"}}}),
        f"{NS}.default.handler: give either handler or onPublish/onSubscribe; write "
        '{"onPublish": {"code": "handlers/comments.js"}, "onSubscribe": {"code": "handlers/comments.js"}} instead',
    ),
    (
        stage({"default": {"onPublish": {"code": 5}}}),
        f"{NS}.default.onPublish.code: 5 is not allowed; expected a path to a .js file under handlers/",
    ),
    (
        stage({"default": {"onPublish": {"code": "handlers/comments.js", "dataSource": 5}}}),
        f"{NS}.default.onPublish.dataSource: 5 is not allowed; expected the name of a data source of this stage",
    ),
    (
        stage({"default": {"onPublish": {"code": "handlers/comments.js", "dataSource": "nope"}}}, {}),
        f"{NS}.default.onPublish.dataSource: 'nope' is not a data source of this stage; defined: none (add "
        "dataSources)",
    ),
    (
        stage({"default": {"onPublish": {"lambda": 5}}}),
        f"{NS}.default.onPublish.lambda: 5 is not allowed; expected the name of a lambda data source of this stage",
    ),
    (
        stage({"default": {"onPublish": {"lambda": "fn", "invokeType": 5}}}),
        f"{NS}.default.onPublish.invokeType: 5 is not allowed; expected REQUEST_RESPONSE or EVENT",
    ),
    (
        stage({"default": {"publish": ["AWS_IAM"]}}),
        f"{NS}.default.publish: AWS_IAM has no provider; add auth.providers.iam or remove AWS_IAM (configured: "
        "API_KEY)",
    ),
    (
        stage({"default": {}}, []),  # type: ignore[arg-type]
        "eventapi.stages.dev.dataSources: [] is not allowed; expected an object of data source name -> settings",
    ),
    (stage({"default": {}}, {"t": "dynamodb"}), f"{DS}.t: expected an object, got 'dynamodb'"),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "function": "Users"}}),
        f"{DS}.f.function: 'Users' is not allowed; expected a directory name under functions/, e.g. 'users'",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "functionArn": "x"}}),
        f"{DS}.f.functionArn: 'x' is not allowed; expected a Lambda function ARN",
    ),
    (
        stage(
            {"default": {}},
            {
                "f": {
                    "type": "lambda",
                    "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:x",
                    "timeoutSeconds": 5,
                }
            },
        ),
        f"{DS}.f: timeoutSeconds and memoryMb apply to a function of this app, not to functionArn",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "function": "users", "timeoutSeconds": 0}}),
        f"{DS}.f.timeoutSeconds: 0 is not allowed; expected seconds from 1 to 900",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "function": "users", "memoryMb": 127}}),
        f"{DS}.f.memoryMb: 127 is not allowed; expected MB from 128 to 10240",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "partitionKey": "1pk"}}),
        f"{DS}.t.partitionKey: '1pk' is not allowed; expected an attribute name (letters, digits, '_', '.', '-')",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "partitionKey": "pk", "sortKey": "1sk"}}),
        f"{DS}.t.sortKey: '1sk' is not allowed; expected an attribute name (letters, digits, '_', '.', '-')",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "partitionKey": "pk", "ttlAttribute": "1ttl"}}),
        f"{DS}.t.ttlAttribute: '1ttl' is not allowed; expected an attribute name (letters, digits, '_', '.', '-')",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "partitionKey": "pk", "pointInTimeRecovery": "no"}}),
        f"{DS}.t.pointInTimeRecovery: 'no' is not allowed; expected true or false",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "tableName": "ab"}}),
        f"{DS}.t.tableName: 'ab' is not allowed; expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "tableName": "existing", "sortKey": "sk"}}),
        f"{DS}.t.sortKey: applies to a table made by the stack; add partitionKey or remove it",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "tableName": "existing", "pointInTimeRecovery": False}}),
        f"{DS}.t.pointInTimeRecovery: applies to a table made by the stack; add partitionKey or remove it",
    ),
    (stage({"default": {}}, {"h": {"type": "http"}}), f"{DS}.h.endpoint: missing; give the https:// endpoint"),
    (
        stage({"default": {}}, {"b": {"type": "eventbridge", "eventBusArn": "default"}}),
        f"{DS}.b.eventBusArn: 'default' is not allowed; expected an event bus ARN like "
        "'arn:aws:events:eu-west-1:123456789012:event-bus/default'",
    ),
    (
        stage({"default": {"handler": "handlers/comments.js", "onPublish": {"code": "handlers/comments.js"}}}),
        f"{NS}.default.handler: give either handler or onPublish/onSubscribe; write "
        '{"onPublish": {"code": "handlers/comments.js"}, "onSubscribe": {"code": "handlers/comments.js"}} instead',
    ),
    (
        stage({"default": {"onPublish": {"lambda": "fn", "code": "handlers/comments.js"}}}),
        f"{NS}.default.onPublish: give either lambda (a direct Lambda integration, no code) or code "
        "(with an optional dataSource)",
    ),
    (
        stage({"default": {"onPublish": {}}}),
        f'{NS}.default.onPublish: give code ("handlers/x.js"), code and dataSource, or lambda (a lambda data source '
        "name)",
    ),
    (
        stage({"default": {"onPublish": {"lambda": "fnn"}}}),
        f"{NS}.default.onPublish.lambda: 'fnn' is not a data source of this stage (did you mean 'fn'?); "
        "defined: fn, hook, table",
    ),
    (
        stage({"default": {"onSubscribe": {"lambda": "table"}}}),
        f"{NS}.default.onSubscribe.lambda: 'table' is a dynamodb data source; a direct integration needs lambda",
    ),
    (
        stage({"default": {"onPublish": {"lambda": "fn", "invokeType": "ASYNC"}}}),
        f"{NS}.default.onPublish.invokeType: 'ASYNC' is not allowed; expected REQUEST_RESPONSE or EVENT",
    ),
    (
        stage({"default": {"onPublish": {"code": "handlers/comments.js", "invokeType": "EVENT"}}}),
        f"{NS}.default.onPublish.invokeType: applies to a direct Lambda integration only (with lambda)",
    ),
    (
        stage({"default": {"onPublish": {"code": "handlers/comments.js"}, "onSubscribe": {"code": "handlers/x.js"}}}),
        f"{NS}.default.onSubscribe.code: 'handlers/x.js' differs from {NS}.default.onPublish.code "
        "'handlers/comments.js'; a namespace has one code file: export onPublish and onSubscribe from it",
    ),
    (
        stage({"default": {"onPublish": {"lambda": "fn", "dataSourc": "x"}}}),
        f"{NS}.default.onPublish.dataSourc: unknown setting (did you mean 'dataSource'?); allowed here: code, "
        "dataSource, lambda, invokeType",
    ),
    (
        stage({"default": {}}, {"my-table": {"type": "dynamodb", "partitionKey": "pk"}}),
        f"{DS}.my-table: 'my-table' is not a valid data source name; expected letters, digits and '_', starting "
        "with a letter or '_' (at most 65)",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamo"}}),
        f"{DS}.t.type: 'dynamo' is not allowed (did you mean 'dynamodb'?); expected one of lambda, dynamodb, http, "
        "eventbridge",
    ),
    (
        stage({"default": {}}, {"t": {"type": "rds"}}),
        f"{DS}.t.type: 'rds' is not allowed; expected one of lambda, dynamodb, http, eventbridge",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda"}}),
        f"{DS}.f: set exactly one of function (a directory under functions/) or functionArn (an existing one)",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "function": "nope"}}),
        f"{DS}.f.function: functions/nope/handler.py does not exist (looked in {ROOT}); create it with "
        "def handler(event, context)",
    ),
    (
        stage({"default": {}}, {"f": {"type": "lambda", "function": "users", "timeoutSeconds": 901}}),
        f"{DS}.f.timeoutSeconds: 901 is not allowed; expected seconds from 1 to 900",
    ),
    (
        stage(
            {"default": {}},
            {
                "f": {
                    "type": "lambda",
                    "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:x",
                    "memoryMb": 512,
                }
            },
        ),
        f"{DS}.f: timeoutSeconds and memoryMb apply to a function of this app, not to functionArn",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb"}}),
        f"{DS}.t: give partitionKey (a table made by the stack) or tableName alone (an existing table)",
    ),
    (
        stage({"default": {}}, {"t": {"type": "dynamodb", "tableName": "existing", "ttlAttribute": "ttl"}}),
        f"{DS}.t.ttlAttribute: applies to a table made by the stack; add partitionKey or remove it",
    ),
    (
        stage({"default": {}}, {"h": {"type": "http", "endpoint": "http://plain.example.com"}}),
        f"{DS}.h.endpoint: 'http://plain.example.com' is not allowed; expected an https:// URL",
    ),
    (
        stage({"default": {}}, {"b": {"type": "eventbridge"}}),
        f"{DS}.b.eventBusArn: missing; give the event bus ARN",
    ),
    (
        stage(
            {"default": {}},
            {},
            providers={"cognito": {"newUserPool": True, "appIdClientRegex": "web-[a-"}},
        ),
        "eventapi.stages.dev.auth.providers.cognito.appIdClientRegex: 'web-[a-' is not a valid regular expression: "
        "unterminated character set at position 4",
    ),
    (
        stage(
            {"default": {}},
            {},
            providers={
                "lambda": {
                    "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:auth",
                    "identityValidationRegex": "(Bearer",
                }
            },
        ),
        "eventapi.stages.dev.auth.providers.lambda.identityValidationRegex: '(Bearer' is not a valid regular "
        "expression: missing ), unterminated subpattern at position 0",
    ),
]


@pytest.mark.parametrize(
    ("context", "message"), BAD, ids=[m.split(":")[0].rsplit(".", 2)[-2] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_handler_and_data_source_config(context: dict[str, Any], message: str) -> None:
    """Each bad handler/data source/regex value fails with one line naming the field, the value and the fix."""
    assert error_of(context) == message
