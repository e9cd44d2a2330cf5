"""Run a handler's data source request locally: Lambda through the app's workers, DynamoDB against moto.

The request is what an APPSYNC_JS `request(ctx)` returned; the result is what AppSync puts in `ctx.result`:
- Lambda: `{operation: "Invoke", payload, invocationType?}` -> the function's return value (`Event`: null);
- DynamoDB (the built-in module's operations): GetItem -> the item or null; PutItem -> the item written;
  DeleteItem -> the deleted item; Query/Scan -> `{items, nextToken, scannedCount}`; BatchPutItem / BatchGetItem /
  BatchDeleteItem -> `{data: {<table>: [...]}, unprocessedItems|unprocessedKeys: {<table>: []}}`.
Items go to DynamoDB typed (as `util.dynamodb.toMapValues` makes them) and come back as plain JSON.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from eventapi.local.lambda_worker import LambdaError, LambdaWorkers
from eventapi.local.template_sources import DataSourceSpec


class DataSourceError(Exception):
    """A data source call that failed; AppSync hands it to `response(ctx)` as `ctx.error` {message, type}."""

    def __init__(self, message: str, error_type: str) -> None:
        self.message = message
        self.error_type = error_type
        super().__init__(f"{error_type}: {message}")


def _plain(value: Any) -> Any:
    """A boto3-deserialized value as JSON (numbers stay numbers, binary becomes base64)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return base64.b64encode(value.value).decode()
    return value


_CONDITIONS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _key_condition(query: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

    ser = TypeSerializer()
    parts: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for i, (attr, cond) in enumerate(query.items()):
        names[f"#k{i}"] = attr
        (op, operand), *_ = cond.items()
        if op in _CONDITIONS:
            values[f":v{i}"] = ser.serialize(operand)
            parts.append(f"#k{i} {_CONDITIONS[op]} :v{i}")
        elif op == "beginsWith":
            values[f":v{i}"] = ser.serialize(operand)
            parts.append(f"begins_with(#k{i}, :v{i})")
        elif op == "between":
            values[f":v{i}a"], values[f":v{i}b"] = ser.serialize(operand[0]), ser.serialize(operand[1])
            parts.append(f"#k{i} BETWEEN :v{i}a AND :v{i}b")
        else:
            raise DataSourceError(f"query condition {op!r} is not emulated locally", "NotEmulated")
    return " AND ".join(parts), names, values


class DynamoDbRunner:
    """DynamoDB operations of one data source (its table) on a boto3 client pointed at moto."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _out(self, item: Mapping[str, Any] | None) -> Any:
        from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

        des = TypeDeserializer()
        return None if not item else _plain({k: des.deserialize(v) for k, v in item.items()})

    def run(self, request: Mapping[str, Any]) -> Any:
        op = request.get("operation")
        client, table = self.client, self.table
        if op == "GetItem":
            got = client.get_item(
                TableName=table, Key=request["key"], ConsistentRead=bool(request.get("consistentRead"))
            )
            return self._out(got.get("Item"))
        if op == "PutItem":
            item = {**request.get("attributeValues", {}), **request["key"]}
            client.put_item(TableName=table, Item=item)
            return self._out(item)
        if op == "DeleteItem":
            return self._out(
                client.delete_item(TableName=table, Key=request["key"], ReturnValues="ALL_OLD").get("Attributes")
            )
        if op in ("Scan", "Query"):
            return self._page(op, request)
        if op == "BatchPutItem":
            return self._batch_put(request.get("tables", {}))
        if op == "BatchDeleteItem":
            return self._batch_delete(request.get("tables", {}))
        if op == "BatchGetItem":
            return self._batch_get(request.get("tables", {}))
        raise DataSourceError(f"DynamoDB operation {op!r} is not emulated locally", "NotEmulated")

    def _page(self, op: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """One page of a Scan or Query (AppSync's `nextToken` is not emulated: always null)."""
        kwargs: dict[str, Any] = {"TableName": self.table}
        if request.get("limit"):
            kwargs["Limit"] = int(request["limit"])
        if op == "Query":
            expr, names, values = _key_condition(request.get("query") or {})
            kwargs |= {
                "KeyConditionExpression": expr,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": bool(request.get("scanIndexForward", True)),
            }
            page = self.client.query(**kwargs)
        else:
            page = self.client.scan(**kwargs)
        return {
            "items": [self._out(i) for i in page.get("Items", [])],
            "nextToken": None,
            "scannedCount": page.get("ScannedCount", 0),
        }

    def _batch_put(self, tables: Mapping[str, Any]) -> dict[str, Any]:
        for name, items in tables.items():
            for start in range(0, len(items), 25):  # BatchWriteItem takes at most 25 requests
                batch = [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
                self.client.batch_write_item(RequestItems={name: batch})
        return {
            "data": {name: [self._out(i) for i in items] for name, items in tables.items()},
            "unprocessedItems": {name: [] for name in tables},
        }

    def _batch_delete(self, tables: Mapping[str, Any]) -> dict[str, Any]:
        for name, keys in tables.items():
            batch = [{"DeleteRequest": {"Key": k}} for k in keys]
            if batch:
                self.client.batch_write_item(RequestItems={name: batch})
        return {
            "data": {name: [self._out(k) for k in keys] for name, keys in tables.items()},
            "unprocessedKeys": {name: [] for name in tables},
        }

    def _batch_get(self, tables: Mapping[str, Any]) -> dict[str, Any]:
        got = self.client.batch_get_item(RequestItems={n: {"Keys": v["keys"]} for n, v in tables.items()})
        return {
            "data": {n: [self._out(i) for i in got["Responses"].get(n, [])] for n in tables},
            "unprocessedKeys": {n: [] for n in tables},
        }


class LocalDataSources:
    """The data sources a local Event API can run, by name."""

    def __init__(
        self, specs: Mapping[str, DataSourceSpec], *, workers: LambdaWorkers, dynamodb: Any | None = None
    ) -> None:
        self.specs = dict(specs)
        self.workers = workers
        self._dynamodb = {
            name: DynamoDbRunner(dynamodb, spec.table.table_name or name)
            for name, spec in specs.items()
            if spec.table is not None and dynamodb is not None
        }

    async def invoke(self, name: str, request: Any) -> Any:
        """Run `request` on data source `name`; raises `DataSourceError` as AppSync would report it."""
        spec = self.specs[name]
        if not isinstance(request, dict):
            raise DataSourceError("the request function must return an object", "BadRequest")
        if spec.type == "AWS_LAMBDA":
            if request.get("operation") not in ("Invoke", "BatchInvoke"):
                raise DataSourceError(f"unsupported Lambda operation {request.get('operation')!r}", "BadRequest")
            if request.get("invocationType") == "Event":
                self.workers.invoke_async(name, request.get("payload"))
                return None
            try:
                return await self.workers.invoke(name, request.get("payload"))
            except LambdaError as err:
                raise DataSourceError(err.message, f"Lambda:{err.error_type}") from None
        runner = self._dynamodb.get(name)
        if runner is None:
            raise DataSourceError(f"data source {name!r} ({spec.type}) is not emulated locally", "NotEmulated")
        try:
            return await asyncio.to_thread(runner.run, request)
        except DataSourceError:
            raise
        except Exception as err:  # botocore ClientError and friends: AppSync reports them as the data source's error
            code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
            raise DataSourceError(str(err), f"DynamoDB:{code}") from None
