"""Namespace handlers and data sources in the stage config: parsed and validated, frozen.

A namespace's `onPublish` / `onSubscribe` each take one of:
- `{"code": "handlers/x.js"}`: an APPSYNC_JS handler (a function export);
- `{"code": "handlers/x.js", "dataSource": "<name>"}`: a handler object with `request(ctx)` / `response(ctx)`;
- `{"lambda": "<lambda data source>", "invokeType": "REQUEST_RESPONSE" | "EVENT"}`: a direct Lambda integration.
The older `"handler": "handlers/x.js"` stays valid: the same as `code` on both sides with no data source.

A stage's `dataSources` are named `lambda` (a Python function of this app from `functions/<name>/`, or an existing
function by ARN), `dynamodb` (a table the stack makes, or an existing one by name), `http` or `eventbridge`.
Every bad value raises `ConfigError` (one line naming the field, the value and what is allowed). Pure Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eventapi.config import LAMBDA_ARN_RE, ConfigError
from eventapi.config import _did_you_mean as did_you_mean
from eventapi.config import _Obj as Obj
from eventapi.config import _show as show

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
SIDES = ("onPublish", "onSubscribe")


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


class InvokeType(StrEnum):
    REQUEST_RESPONSE = "REQUEST_RESPONSE"
    EVENT = "EVENT"


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


@dataclass(frozen=True)
class HandlerSide:
    """How one side (onPublish or onSubscribe) of a namespace runs."""

    code: str | None = None  # path of the namespace's code file (one file per namespace, as in AppSync)
    data_source: str | None = None  # for code: the data source its request/response talk to
    lambda_: str | None = None  # a direct Lambda integration: the lambda data source's name
    invoke_type: InvokeType = InvokeType.REQUEST_RESPONSE

    @property
    def direct(self) -> bool:
        return self.lambda_ is not None


# --- data sources ------------------------------------------------------------------------------------------------


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
        kinds = [k.value for k in DataSourceKind]
        kind_raw = settings.get("type") if isinstance(settings, dict) else None
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
            table_name=table_name or (f"{prefix}-{name}" if partition else None),
            partition_key=partition,
            sort_key=obj.string("sortKey", None, ATTRIBUTE_NAME_RE, attr),
            ttl_attribute=obj.string("ttlAttribute", None, ATTRIBUTE_NAME_RE, attr),
            point_in_time_recovery=obj.get("pointInTimeRecovery", bool, True, "true or false"),
        ),
    )


def _http(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "endpoint"))
    if not obj.has("endpoint"):
        raise ConfigError(obj.at("endpoint"), "missing; give the https:// endpoint")
    endpoint = obj.string("endpoint", None, HTTP_ENDPOINT_RE, "an https:// URL")
    return DataSourceConfig(name, DataSourceKind.HTTP, http_endpoint=endpoint)


def _eventbridge(path: str, raw: Any, name: str, prefix: str, root: Path) -> DataSourceConfig:
    obj = Obj(path, raw, ("type", "eventBusArn"))
    if not obj.has("eventBusArn"):
        raise ConfigError(obj.at("eventBusArn"), "missing; give the event bus ARN")
    arn = obj.string(
        "eventBusArn",
        None,
        EVENT_BUS_ARN_RE,
        "an event bus ARN like 'arn:aws:events:eu-west-1:123456789012:event-bus/default'",
    )
    return DataSourceConfig(name, DataSourceKind.EVENTBRIDGE, event_bus_arn=arn)


_PARSERS = {
    DataSourceKind.LAMBDA: _lambda,
    DataSourceKind.DYNAMODB: _dynamodb,
    DataSourceKind.HTTP: _http,
    DataSourceKind.EVENTBRIDGE: _eventbridge,
}


# --- namespace handlers -------------------------------------------------------------------------------------------


def parse_handler_sides(
    ns: Obj, sources: tuple[DataSourceConfig, ...]
) -> tuple[HandlerSide | None, HandlerSide | None, tuple[str, str] | None]:
    """(onPublish, onSubscribe, (field path, code path) of the namespace's one code file or None)."""
    by_name = {s.name: s for s in sources}
    legacy = ns.get("handler", str, None, "a path to a .js file under handlers/")
    sides: dict[str, HandlerSide | None] = {}
    code: tuple[str, str] | None = None
    if legacy is not None:
        if ns.has("onPublish") or ns.has("onSubscribe"):
            raise ConfigError(
                ns.at("handler"),
                'give either handler or onPublish/onSubscribe; write {"onPublish": {"code": '
                f'"{legacy}"}}, "onSubscribe": {{"code": "{legacy}"}}}} instead',
            )
        return HandlerSide(code=legacy), HandlerSide(code=legacy), (ns.at("handler"), legacy)
    for side in SIDES:
        if not ns.has(side):
            sides[side] = None
            continue
        obj = ns.obj(side, ("code", "dataSource", "lambda", "invokeType"))
        parsed = _side(obj, by_name)
        if parsed.code is not None:
            if code is not None and code[1] != parsed.code:
                raise ConfigError(
                    obj.at("code"),
                    f"{parsed.code!r} differs from {code[0]} {code[1]!r}; a namespace has one code file: "
                    "export onPublish and onSubscribe from it",
                )
            code = code or (obj.at("code"), parsed.code)
        sides[side] = parsed
    return sides["onPublish"], sides["onSubscribe"], code


def _side(obj: Obj, by_name: dict[str, DataSourceConfig]) -> HandlerSide:
    code = obj.get("code", str, None, "a path to a .js file under handlers/")
    data_source = obj.get("dataSource", str, None, "the name of a data source of this stage")
    lam = obj.get("lambda", str, None, "the name of a lambda data source of this stage")
    invoke = obj.get("invokeType", str, None, "REQUEST_RESPONSE or EVENT")
    if lam is not None and (code is not None or data_source is not None):
        raise ConfigError(
            obj.path, "give either lambda (a direct Lambda integration, no code) or code (with an optional dataSource)"
        )
    if lam is None and code is None:
        raise ConfigError(
            obj.path, 'give code ("handlers/x.js"), code and dataSource, or lambda (a lambda data source name)'
        )
    if invoke is not None and lam is None:
        raise ConfigError(obj.at("invokeType"), "applies to a direct Lambda integration only (with lambda)")
    if invoke is not None and invoke not in InvokeType.__members__:
        raise ConfigError(obj.at("invokeType"), f"{show(invoke)} is not allowed; expected REQUEST_RESPONSE or EVENT")
    for key, name, kinds in (("dataSource", data_source, None), ("lambda", lam, (DataSourceKind.LAMBDA,))):
        if name is None:
            continue
        source = by_name.get(name)
        if source is None:
            known = sorted(by_name)
            raise ConfigError(
                obj.at(key),
                f"{name!r} is not a data source of this stage{did_you_mean(name, known)}; "
                f"defined: {', '.join(known) or 'none (add dataSources)'}",
            )
        if kinds is not None and source.kind not in kinds:
            raise ConfigError(
                obj.at(key), f"{name!r} is a {source.kind} data source; a direct integration needs lambda"
            )
    return HandlerSide(
        code=code, data_source=data_source, lambda_=lam, invoke_type=InvokeType(invoke or "REQUEST_RESPONSE")
    )


# --- regular expressions in config -------------------------------------------------------------------------------


def regex(obj: Obj, key: str) -> str | None:
    """A config string that must be a valid regular expression (Python's `re` stands in for AppSync's engine)."""
    value = obj.get(key, str, None, "a regular expression")
    if value is not None:
        try:
            re.compile(value)
        except re.error as err:
            raise ConfigError(obj.at(key), f"{show(value)} is not a valid regular expression: {err}") from None
    return value
