"""Handlers and data sources in the stage config: the shapes that parse, and every bad value's one-line message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventapi.config import DataSourceKind, HandlerSide, InvokeType, load_config, parse_config
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


BAD: list[tuple[dict[str, Any], str]] = [
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
