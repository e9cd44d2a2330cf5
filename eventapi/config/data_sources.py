"""A stage's `dataSources`: what a namespace's handlers may talk to, parsed and validated, frozen.

A data source is named and is one of `lambda` (a Python function of this app from `functions/<name>/`, or an
existing function by ARN), `dynamodb` (a table the stack makes, or an existing one by name), `http` or
`eventbridge`; see docs/handlers.md. Every bad value raises `ConfigError` (one line naming the field, the value and
what is allowed). Pure Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eventapi.config.auth import LAMBDA_ARN_RE
from eventapi.config.fields import ConfigError, Obj, did_you_mean, show

FUNCTIONS_DIR = "functions"
FUNCTION_ENTRY = "handler.handler"  # functions/<name>/handler.py, def handler(event, context)
# AppSync's DataSource name rule (CloudFormation: [_A-Za-z][_0-9A-Za-z]*, at most 65 characters).
DATA_SOURCE_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,64}$")
FUNCTION_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
ATTRIBUTE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$")
HTTP_ENDPOINT_RE = re.compile(r"^https://[^\s/]+(/\S*)?$")
EVENT_BUS_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:events:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:event-bus/[A-Za-z0-9._/-]{1,256}$"
)
LAMBDA_TIMEOUT_MAX = 900
LAMBDA_MEMORY_MIN, LAMBDA_MEMORY_MAX = 128, 10_240


class DataSourceKind(StrEnum):
    """Data source kinds of the config, with the AppSync `Type` each becomes."""

    LAMBDA = "lambda"
    DYNAMODB = "dynamodb"
    HTTP = "http"
    EVENTBRIDGE = "eventbridge"

    @property
    def appsync_type(self) -> str:
        return {
            "lambda": "AWS_LAMBDA",
            "dynamodb": "AMAZON_DYNAMODB",
            "http": "HTTP",
            "eventbridge": "AMAZON_EVENTBRIDGE",
        }[self.value]


@dataclass(frozen=True)
class LambdaSource:
    """A Python function of this app (`function`: the directory under functions/) or an existing one (ARN)."""

    function: str | None = None
    function_arn: str | None = None
    timeout_seconds: int = 10
    memory_mb: int = 256


@dataclass(frozen=True)
class DynamoDbSource:
    """A table the stack makes (`partition_key` set) or an existing one (`table_name` without keys)."""

    table_name: str | None = None
    partition_key: str | None = None
    sort_key: str | None = None
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = True

    @property
    def imported(self) -> bool:
        return self.partition_key is None


@dataclass(frozen=True)
class DataSourceConfig:
    name: str
    kind: DataSourceKind
    lambda_: LambdaSource | None = None
    dynamodb: DynamoDbSource | None = None
    http_endpoint: str | None = None
    event_bus_arn: str | None = None


# --- parsing -----------------------------------------------------------------------------------------------------


def parse_data_sources(node: Obj, app: str, stage: str, root: Path) -> tuple[DataSourceConfig, ...]:
    """The stage's `dataSources` object (name -> `{"type": ..., ...}`)."""
    raw = node.get("dataSources", dict, {}, "an object of data source name -> settings")
    result = []
    for name, settings in raw.items():
        path = f"{node.at('dataSources')}.{name}"
        if not DATA_SOURCE_NAME_RE.fullmatch(name):
            raise ConfigError(
                path,
                f"{name!r} is not a valid data source name; expected letters, digits and '_', "
                "starting with a letter or '_' (at most 65)",
            )
        if not isinstance(settings, dict):
            raise ConfigError(path, f"expected an object, got {show(settings)}")
        kinds = [k.value for k in DataSourceKind]
        kind_raw = settings.get("type")
        if kind_raw not in kinds:
            raise ConfigError(
                f"{path}.type",
                f"{show(kind_raw)} is not allowed{did_you_mean(str(kind_raw), kinds)}; "
                f"expected one of {', '.join(kinds)}",
            )
        kind = DataSourceKind(kind_raw)
        result.append(_PARSERS[kind](path, settings, name, f"{app}-{stage}", root))
    return tuple(result)


def _lambda(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "function", "functionArn", "timeoutSeconds", "memoryMb"))
    function = obj.string("function", None, FUNCTION_NAME_RE, f"a directory name under {FUNCTIONS_DIR}/, e.g. 'users'")
    arn = obj.string("functionArn", None, LAMBDA_ARN_RE, "a Lambda function ARN")
    if (function is None) == (arn is None):
        raise ConfigError(
            path, f"set exactly one of function (a directory under {FUNCTIONS_DIR}/) or functionArn (an existing one)"
        )
    if function is not None:
        entry = root / FUNCTIONS_DIR / function / "handler.py"
        if not entry.is_file():
            raise ConfigError(
                obj.at("function"),
                f"{FUNCTIONS_DIR}/{function}/handler.py does not exist (looked in {root}); create it with "
                "def handler(event, context)",
            )
    elif obj.has("timeoutSeconds") or obj.has("memoryMb"):
        raise ConfigError(path, "timeoutSeconds and memoryMb apply to a function of this app, not to functionArn")
    return DataSourceConfig(
        name,
        DataSourceKind.LAMBDA,
        lambda_=LambdaSource(
            function=function,
            function_arn=arn,
            timeout_seconds=obj.integer(
                "timeoutSeconds", 10, 1, LAMBDA_TIMEOUT_MAX, f"seconds from 1 to {LAMBDA_TIMEOUT_MAX}"
            ),
            memory_mb=obj.integer(
                "memoryMb",
                256,
                LAMBDA_MEMORY_MIN,
                LAMBDA_MEMORY_MAX,
                f"MB from {LAMBDA_MEMORY_MIN} to {LAMBDA_MEMORY_MAX}",
            ),
        ),
    )


def _dynamodb(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "tableName", "partitionKey", "sortKey", "ttlAttribute", "pointInTimeRecovery"))
    attr = "an attribute name (letters, digits, '_', '.', '-')"
    partition = obj.string("partitionKey", None, ATTRIBUTE_NAME_RE, attr)
    table_name = obj.string("tableName", None, TABLE_NAME_RE, "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    if partition is None:
        if table_name is None:
            raise ConfigError(
                path, "give partitionKey (a table made by the stack) or tableName alone (an existing table)"
            )
        for key in ("sortKey", "ttlAttribute", "pointInTimeRecovery"):
            if obj.has(key):
                raise ConfigError(obj.at(key), "applies to a table made by the stack; add partitionKey or remove it")
    return DataSourceConfig(
        name,
        DataSourceKind.DYNAMODB,
        dynamodb=DynamoDbSource(
            # A made table gets a fixed name, so that handler code (batchPut names its tables) can name it.
            table_name=table_name or f"{prefix}-{name}",
            partition_key=partition,
            sort_key=obj.string("sortKey", None, ATTRIBUTE_NAME_RE, attr),
            ttl_attribute=obj.string("ttlAttribute", None, ATTRIBUTE_NAME_RE, attr),
            point_in_time_recovery=obj.get("pointInTimeRecovery", bool, True, "true or false"),
        ),
    )


def _http(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "endpoint"))
    endpoint = obj.required("endpoint", HTTP_ENDPOINT_RE, "an https:// URL", "give the https:// endpoint")
    return DataSourceConfig(name, DataSourceKind.HTTP, http_endpoint=endpoint)


def _eventbridge(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "eventBusArn"))
    arn = obj.required(
        "eventBusArn",
        EVENT_BUS_ARN_RE,
        "an event bus ARN like 'arn:aws:events:eu-west-1:123456789012:event-bus/default'",
        "give the event bus ARN",
    )
    return DataSourceConfig(name, DataSourceKind.EVENTBRIDGE, event_bus_arn=arn)


_PARSERS = {
    DataSourceKind.LAMBDA: _lambda,
    DataSourceKind.DYNAMODB: _dynamodb,
    DataSourceKind.HTTP: _http,
    DataSourceKind.EVENTBRIDGE: _eventbridge,
}
