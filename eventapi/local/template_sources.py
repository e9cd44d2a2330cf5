"""The data sources of one Event API in a synthesized template, and what each namespace side integrates.

Reads `AWS::AppSync::DataSource` resources (name, type) and what they point at in the same template: a
`AWS::Lambda::Function` (its source directory from the `eventapi:source` metadata, the staged asset, handler,
timeout, memory, environment) or a `AWS::DynamoDB::Table` (name, keys, TTL). A literal ARN or table name (an
existing function or table) is kept as such: the local Event API cannot run those and says so.

Pure Python: no aiohttp, no boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventapi.config import FUNCTION_ENTRY
from eventapi.outputs import SOURCE_METADATA

DATA_SOURCE_TYPE = "AWS::AppSync::DataSource"
FUNCTION_TYPE = "AWS::Lambda::Function"
TABLE_TYPE = "AWS::DynamoDB::Table"
ASSET_METADATA = "aws:asset:path"
# Data source types the local Event API runs; anything else is refused at start when a namespace uses it.
EMULATED_TYPES = ("AWS_LAMBDA", "AMAZON_DYNAMODB")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    source: str | None  # the function's directory relative to the project root (eventapi:source)
    asset_path: str | None  # the staged asset, relative to the cloud assembly directory
    handler: str = FUNCTION_ENTRY
    timeout_seconds: int = 3
    memory_mb: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    table_name: str | None
    key_schema: tuple[Mapping[str, str], ...]
    attribute_definitions: tuple[Mapping[str, str], ...]
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class DataSourceSpec:
    """One data source. `function`/`table` are None when it points at an existing one (a literal ARN/name)."""

    name: str
    type: str
    function: FunctionSpec | None = None
    function_arn: str | None = None
    table: TableSpec | None = None
    table_name: str | None = None

    @property
    def emulated(self) -> bool:
        if self.type == "AWS_LAMBDA":
            return self.function is not None
        if self.type == "AMAZON_DYNAMODB":
            return self.table is not None
        return False

    def describe(self) -> str:
        """What it is, for one-line messages."""
        if self.type == "AWS_LAMBDA" and self.function is None:
            return f"an existing Lambda function ({self.function_arn})"
        if self.type == "AMAZON_DYNAMODB" and self.table is None:
            return f"an existing DynamoDB table ({self.table_name}) whose keys the template does not hold"
        return self.type


@dataclass(frozen=True)
class SideConfig:
    """One side (OnPublish/OnSubscribe) of a namespace's HandlerConfigs."""

    behavior: str  # CODE | DIRECT
    data_source: str | None = None
    invoke_type: str = "REQUEST_RESPONSE"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _getatt_target(value: Any) -> str | None:
    getatt = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(getatt, list) and getatt:
        return str(getatt[0])
    if isinstance(getatt, str):
        return getatt.split(".", 1)[0]
    return None


def _ref_target(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, dict) and isinstance(value.get("Ref"), str) else None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _function(resources: Mapping[str, Any], logical_id: str) -> FunctionSpec | None:
    res = _dict(resources.get(logical_id))
    if res.get("Type") != FUNCTION_TYPE:
        return None
    props, meta = _dict(res.get("Properties")), _dict(res.get("Metadata"))
    env = _dict(_dict(props.get("Environment")).get("Variables"))
    return FunctionSpec(
        logical_id=logical_id,
        source=meta.get(SOURCE_METADATA) if isinstance(meta.get(SOURCE_METADATA), str) else None,
        asset_path=meta.get(ASSET_METADATA) if isinstance(meta.get(ASSET_METADATA), str) else None,
        handler=str(props.get("Handler", FUNCTION_ENTRY)),
        timeout_seconds=_int(props.get("Timeout"), 3),
        memory_mb=_int(props.get("MemorySize"), 128),
        environment={k: v for k, v in env.items() if isinstance(v, str)},
    )


def _table(resources: Mapping[str, Any], logical_id: str) -> TableSpec | None:
    res = _dict(resources.get(logical_id))
    if res.get("Type") != TABLE_TYPE:
        return None
    props = _dict(res.get("Properties"))
    ttl = _dict(props.get("TimeToLiveSpecification"))
    return TableSpec(
        logical_id=logical_id,
        table_name=props.get("TableName") if isinstance(props.get("TableName"), str) else None,
        key_schema=tuple(k for k in props.get("KeySchema", []) if isinstance(k, dict)),
        attribute_definitions=tuple(a for a in props.get("AttributeDefinitions", []) if isinstance(a, dict)),
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
    )


def read_data_sources(template: Mapping[str, Any], api_logical_id: str) -> dict[str, DataSourceSpec]:
    """The API's data sources by name."""
    resources = _dict(template.get("Resources"))
    out: dict[str, DataSourceSpec] = {}
    for res in resources.values():
        if not isinstance(res, dict) or res.get("Type") != DATA_SOURCE_TYPE:
            continue
        props = _dict(res.get("Properties"))
        api = props.get("ApiId")
        if _getatt_target(api) != api_logical_id and _ref_target(api) != api_logical_id:
            continue
        name, kind = str(props.get("Name")), str(props.get("Type"))
        spec = DataSourceSpec(name=name, type=kind)
        if kind == "AWS_LAMBDA":
            arn = _dict(props.get("LambdaConfig")).get("LambdaFunctionArn")
            target = _getatt_target(arn)
            spec = DataSourceSpec(
                name,
                kind,
                function=_function(resources, target) if target else None,
                function_arn=arn if isinstance(arn, str) else None,
            )
        elif kind == "AMAZON_DYNAMODB":
            table_name = _dict(props.get("DynamoDBConfig")).get("TableName")
            target = _ref_target(table_name)
            spec = DataSourceSpec(
                name,
                kind,
                table=_table(resources, target) if target else None,
                table_name=table_name if isinstance(table_name, str) else None,
            )
        out[name] = spec
    return out


def side_configs(handler_configs: Mapping[str, Any]) -> dict[str, SideConfig]:
    """`{"onPublish": SideConfig, ...}` from a namespace's HandlerConfigs (sides it does not set are absent)."""
    out: dict[str, SideConfig] = {}
    for key, side in (("OnPublish", "onPublish"), ("OnSubscribe", "onSubscribe")):
        raw = _dict(handler_configs.get(key))
        if not raw:
            continue
        integration = _dict(raw.get("Integration"))
        name = integration.get("DataSourceName")
        out[side] = SideConfig(
            behavior=str(raw.get("Behavior", "CODE")),
            data_source=name if isinstance(name, str) else None,
            invoke_type=str(_dict(integration.get("LambdaConfig")).get("InvokeType", "REQUEST_RESPONSE")),
        )
    return out


def not_emulated(namespaces: Mapping[str, Mapping[str, Any]], sources: Mapping[str, DataSourceSpec]) -> str | None:
    """One line naming the first namespace side whose data source the local Event API cannot run, or None."""
    for ns, configs in namespaces.items():
        for side, config in side_configs(configs).items():
            if config.data_source is None:
                continue
            source = sources.get(config.data_source)
            if source is None:
                return f"namespace {ns!r} {side}: data source {config.data_source!r} is not in the template"
            if not source.emulated:
                return (
                    f"namespace {ns!r} {side} uses data source {source.name!r}, {source.describe()}, which the local "
                    f"Event API does not emulate (it runs Lambda functions of this app and DynamoDB tables the stack "
                    "makes); deploy to AWS to use it"
                )
    return None
