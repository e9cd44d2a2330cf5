"""`HandlerKit`: run a stage's namespace handlers the way the local Event API runs them, one call at a time.

The kit reads the stage from cdk.json (no synth), starts moto (for DynamoDB data sources, and as the AWS endpoint
of the app's functions) and runs handlers with the local Event API's own machinery (`eventapi.local.integrations`):
APPSYNC_JS code in the Node helper, data sources, direct Lambda in a persistent Python worker. Results are applied
as AppSync applies them: filtered/transformed events, per-event errors, a refused request.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from eventapi.config import (
    FUNCTION_ENTRY,
    FUNCTIONS_DIR,
    DataSourceConfig,
    DataSourceKind,
    HandlerSide,
    StageConfig,
    load_stage,
)
from eventapi.local.control_plane import MotoServer, local_client
from eventapi.local.data_sources import DynamoDbRunner
from eventapi.local.handlers import HandlerError
from eventapi.local.integrations import LocalHandlers, build_handlers, create_tables
from eventapi.local.settings import LocalSettings
from eventapi.local.template import AuthProviders, LocalApiSpec, NamespaceSpec
from eventapi.local.template_sources import DataSourceSpec, FunctionSpec, TableSpec
from eventapi.protocol.channels import parse_publish_channel, parse_subscribe_channel

DEFAULT_REGION = "eu-west-1"


@dataclass(frozen=True)
class Event:
    id: str
    payload: Any


@dataclass(frozen=True)
class PublishResult:
    """What AppSync would do with a publish: broadcast these, fail those, or refuse it all (`error`)."""

    broadcast: tuple[Event, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()  # (index of the published event, error message)
    error: str | None = None  # the whole request failed (util.error, {"error": ...}, a crash)
    unauthorized: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.unauthorized


@dataclass(frozen=True)
class SubscribeResult:
    allowed: bool
    error: str | None = None
    unauthorized: bool = False


@dataclass(frozen=True)
class _Request:
    channel: str
    identity: Mapping[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)


def _side_config(side: HandlerSide | None) -> dict[str, Any] | None:
    if side is None:
        return None
    if side.lambda_ is not None:
        lambda_config = {"InvokeType": side.invoke_type.value}
        return {"Behavior": "DIRECT", "Integration": {"DataSourceName": side.lambda_, "LambdaConfig": lambda_config}}
    if side.data_source is not None:
        return {"Behavior": "CODE", "Integration": {"DataSourceName": side.data_source}}
    return None


def _data_source(stage: StageConfig, ds: DataSourceConfig) -> DataSourceSpec:
    kind = ds.kind.appsync_type
    if ds.kind is DataSourceKind.LAMBDA and ds.lambda_ is not None:
        fn = ds.lambda_
        if fn.function is None:
            return DataSourceSpec(ds.name, kind, function_arn=fn.function_arn)
        spec = FunctionSpec(
            logical_id=ds.name,
            source=f"{FUNCTIONS_DIR}/{fn.function}",
            asset_path=None,
            handler=FUNCTION_ENTRY,
            timeout_seconds=fn.timeout_seconds,
            memory_mb=fn.memory_mb,
            environment={"POWERTOOLS_SERVICE_NAME": f"{stage.api_name}-{fn.function}"},
        )
        return DataSourceSpec(ds.name, kind, function=spec)
    if ds.kind is DataSourceKind.DYNAMODB and ds.dynamodb is not None:
        table = ds.dynamodb
        if table.imported:
            return DataSourceSpec(ds.name, kind, table_name=table.table_name)
        keys = [(table.partition_key, "HASH"), (table.sort_key, "RANGE")]
        return DataSourceSpec(
            ds.name,
            kind,
            table=TableSpec(
                logical_id=ds.name,
                table_name=table.table_name,
                key_schema=tuple({"AttributeName": k, "KeyType": t} for k, t in keys if k),
                attribute_definitions=tuple({"AttributeName": k, "AttributeType": "S"} for k, _ in keys if k),
                ttl_attribute=table.ttl_attribute,
            ),
        )
    return DataSourceSpec(ds.name, kind)


def spec_for_stage(stage: StageConfig) -> LocalApiSpec:
    """The handler-relevant part of what the stage synthesizes to: namespaces (effective modes, code, handler
    configs) and data sources. Auth providers are reduced to their modes: the kit takes the identity as given."""
    namespaces = []
    for ns in stage.namespaces:
        configs = {
            key: config
            for key, config in (
                ("OnPublish", _side_config(ns.on_publish)),
                ("OnSubscribe", _side_config(ns.on_subscribe)),
            )
            if config is not None
        }
        publish, subscribe = stage.namespace_modes(ns)
        namespaces.append(
            NamespaceSpec(
                name=ns.name,
                publish_modes=publish,
                subscribe_modes=subscribe,
                handler_code=ns.handler_code,
                handler_configs=configs,
                code_path=ns.handler,
            )
        )
    return LocalApiSpec(
        name=stage.api_name,
        logical_id="Api",
        region=stage.region,
        providers=AuthProviders(api_key=stage.auth.api_key is not None, iam=stage.auth.iam is not None),
        connection_modes=stage.auth.connect,
        default_publish_modes=stage.auth.publish,
        default_subscribe_modes=stage.auth.subscribe,
        namespaces=tuple(namespaces),
        data_sources={ds.name: _data_source(stage, ds) for ds in stage.data_sources},
    )


class HandlerKit:
    """Evaluate namespace handlers; a context manager (it owns a moto server and worker processes)."""

    def __init__(self, spec: LocalApiSpec, *, project_root: Path = Path(), region: str | None = None) -> None:
        self.spec = spec
        self.region = region or spec.region or DEFAULT_REGION
        self._runner = asyncio.Runner()
        self._moto = MotoServer(port=0).start()
        self._dynamodb = local_client("dynamodb", self._moto.endpoint_url, region=self.region)
        create_tables(self._dynamodb, spec)
        settings = LocalSettings(
            region=self.region, project_root=project_root.resolve(), aws_endpoint_url=self._moto.endpoint_url
        )
        self._handlers: LocalHandlers | None = self._runner.run(self._build(spec, settings))

    @staticmethod
    async def _build(spec: LocalApiSpec, settings: LocalSettings) -> LocalHandlers | None:
        return build_handlers(spec, settings)

    @classmethod
    def for_stage(cls, stage: str, project_root: Path = Path()) -> HandlerKit:
        """The kit for a stage of `project_root`'s cdk.json."""
        return cls(spec_for_stage(load_stage(stage, project_root)), project_root=project_root)

    def _ctx(self, request: _Request, operation: str, *, wildcard: bool) -> tuple[str, dict[str, Any]]:
        channel = (parse_subscribe_channel if wildcard else parse_publish_channel)(request.channel)
        return channel.namespace, {
            "identity": dict(request.identity) if request.identity is not None else None,
            "request": {"headers": dict(request.headers), "domainName": None},
            "info": {
                "channel": {"path": channel.path, "segments": list(channel.segments)},
                "channelNamespace": {"name": channel.namespace},
                "operation": operation,
            },
            "stash": {},
        }

    def _call(self, namespace: str, function: str, ctx: dict[str, Any]) -> Any:
        if self._handlers is None or namespace not in self._handlers.namespaces:
            return None
        return self._runner.run(self._handlers.call(namespace, function, ctx))

    def publish(
        self,
        channel: str,
        events: Sequence[Any],
        *,
        identity: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> PublishResult:
        """Run onPublish for `events` (JSON values) published to `channel` by `identity`."""
        namespace, ctx = self._ctx(_Request(channel, identity, headers or {}), "PUBLISH", wildcard=False)
        ids = [str(uuid.uuid4()) for _ in events]
        ctx["events"] = [{"id": i, "payload": json.loads(json.dumps(e))} for i, e in zip(ids, events, strict=True)]
        try:
            result = self._call(namespace, "onPublish", ctx)
        except HandlerError as err:
            if err.kind == "unauthorized":
                return PublishResult(unauthorized=True, error=err.message or "Unauthorized")
            return PublishResult(error=err.message)
        if result is None or result.missing:
            return PublishResult(
                broadcast=tuple(Event(i, e["payload"]) for i, e in zip(ids, ctx["events"], strict=True))
            )
        position = {event_id: n for n, event_id in enumerate(ids)}
        broadcast: list[Event] = []
        failed: list[tuple[int, str]] = []
        for item in result.value if isinstance(result.value, list) else []:
            index = position.get(str(item.get("id")), -1) if isinstance(item, dict) else -1
            if index < 0:
                continue
            if item.get("error") is not None:
                failed.append((index, str(item["error"])))
            else:
                broadcast.append(Event(ids[index], item.get("payload")))
        return PublishResult(broadcast=tuple(broadcast), failed=tuple(failed))

    def subscribe(
        self, channel: str, *, identity: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> SubscribeResult:
        """Run onSubscribe for `identity` subscribing to `channel` (wildcards allowed)."""
        namespace, ctx = self._ctx(_Request(channel, identity, headers or {}), "SUBSCRIBE", wildcard=True)
        try:
            self._call(namespace, "onSubscribe", ctx)
        except HandlerError as err:
            return SubscribeResult(allowed=False, error=err.message or None, unauthorized=err.kind == "unauthorized")
        return SubscribeResult(allowed=True)

    def items(self, data_source: str) -> list[dict[str, Any]]:
        """Every item of a DynamoDB data source's table, as plain JSON."""
        table = self.spec.data_sources[data_source].table
        if table is None:
            raise KeyError(f"{data_source!r} is not a DynamoDB table made by the stage")
        scanned: dict[str, Any] = DynamoDbRunner(self._dynamodb, table.table_name or data_source).run(
            {"operation": "Scan"}
        )
        items: list[dict[str, Any]] = scanned["items"]
        return items

    def close(self) -> None:
        if self._handlers is not None:
            self._runner.run(self._handlers.close())
        self._runner.close()
        self._moto.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
