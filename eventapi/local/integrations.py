"""A namespace's onPublish/onSubscribe as AppSync runs them, locally: code, code with a data source, direct Lambda.

- **code** (no data source): the exported function runs in the Node helper (`handlers.NodeHandlers`);
- **code + data source**: `request(ctx)` runs, its result goes to the data source (`data_sources`), the outcome
  lands in `ctx.result` (or `ctx.error`) and `response(ctx)` decides what is broadcast; `runtime.earlyReturn` in
  `request` skips the data source; the stash lives across both;
- **direct Lambda**: the function gets AppSync's event (info, identity, request, events, stash ...) and its result
  is applied as AppSync applies it: `{"events": [...]}` filters/transforms (an item with `error` fails that event),
  `{"error": "..."}` fails the whole request, an `UnauthorizedException` refuses it; `EVENT` invocations run in the
  background and never change the outcome.

`call` returns a `HandlerResult` and raises `HandlerError` exactly like `NodeHandlers.call`, so the server's publish
and subscribe pipelines stay the same. Edited code files take effect on the next call.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventapi.local.data_sources import DataSourceError, LocalDataSources
from eventapi.local.handlers import HandlerError, HandlerResult, NodeHandlers
from eventapi.local.lambda_worker import LambdaError, LambdaWorkers, LocalFunction
from eventapi.local.settings import LocalSettings
from eventapi.local.template import LocalApiSpec
from eventapi.local.template_sources import SideConfig, side_configs

log = logging.getLogger("eventapi.local.handlers")

UNAUTHORIZED_ERROR_TYPE = "UnauthorizedException"  # what Powertools raises, and AppSync reads, to refuse
RELOAD_CHECK_SECONDS = 0.25


def local_functions(
    spec: LocalApiSpec, *, project_root: Path | None, assembly_dir: Path | None
) -> dict[str, LocalFunction]:
    """The Lambda data sources' functions that can run here: from their source directory (so edits apply), else
    from the staged asset in the cloud assembly."""
    out: dict[str, LocalFunction] = {}
    for name, source in spec.data_sources.items():
        fn = source.function
        if fn is None:
            continue
        directory = None
        if project_root is not None and fn.source and (project_root / fn.source).is_dir():
            directory = project_root / fn.source
        elif assembly_dir is not None and fn.asset_path and (assembly_dir / fn.asset_path).is_dir():
            directory = assembly_dir / fn.asset_path
        if directory is None:
            continue
        out[name] = LocalFunction(
            name=name,
            directory=directory,
            handler=fn.handler,
            timeout_seconds=float(fn.timeout_seconds),
            memory_mb=fn.memory_mb,
            environment=fn.environment,
        )
    return out


def build_handlers(spec: LocalApiSpec, settings: LocalSettings) -> LocalHandlers | None:
    """The handlers of `spec` as `settings` allow (None: no namespace has one, or emulation is off)."""
    if not settings.emulate_handlers or not any(ns.has_handler for ns in spec.namespaces):
        return None
    code = {ns.name: ns.handler_code for ns in spec.namespaces if ns.handler_code is not None}
    node = None
    if code:
        node = NodeHandlers(code, node=settings.node_binary, timeout=settings.handler_timeout_seconds)
        if not node.available:
            log.warning("Node (%s) not found: APPSYNC_JS handlers are not emulated", settings.node_binary)
            node = None
    region = settings.effective_region(spec.region)
    env: dict[str, str] = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    dynamodb = None
    if settings.aws_endpoint_url is not None:
        from eventapi.local.control_plane import LOCAL_CREDENTIALS, local_client  # noqa: PLC0415

        env |= {"AWS_ENDPOINT_URL": settings.aws_endpoint_url, **LOCAL_CREDENTIALS}
        dynamodb = local_client("dynamodb", settings.aws_endpoint_url, region=region)
    workers = LambdaWorkers(
        local_functions(spec, project_root=settings.project_root, assembly_dir=settings.assembly_dir), env=env
    )
    return LocalHandlers(
        spec,
        node=node,
        workers=workers,
        data_sources=LocalDataSources(spec.data_sources, workers=workers, dynamodb=dynamodb),
        project_root=settings.project_root,
    )


def create_tables(dynamodb: Any, spec: LocalApiSpec) -> list[str]:
    """Create the template's DynamoDB tables (those its data sources use) in moto; returns their names."""
    made = []
    for name, source in spec.data_sources.items():
        table = source.table
        if table is None:
            continue
        table_name = table.table_name or name
        dynamodb.create_table(
            TableName=table_name,
            KeySchema=[dict(k) for k in table.key_schema],
            AttributeDefinitions=[dict(a) for a in table.attribute_definitions],
            BillingMode="PAY_PER_REQUEST",
        )
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )
        made.append(table_name)
    return made


class LocalHandlers:
    """Every namespace side with a handler (code or direct Lambda) of one API."""

    def __init__(
        self,
        spec: LocalApiSpec,
        *,
        node: NodeHandlers | None,
        workers: LambdaWorkers,
        data_sources: LocalDataSources,
        project_root: Path | None = None,
    ) -> None:
        self.node = node
        self.workers = workers
        self.data_sources = data_sources
        self._sides: dict[tuple[str, str], SideConfig] = {}
        self._code_files: dict[str, Path] = {}
        self._mtimes: dict[str, int] = {}
        self._checked: dict[str, float] = {}
        names: set[str] = set(node.namespaces) if node is not None else set()
        for ns in spec.namespaces:
            for side, config in side_configs(ns.handler_configs).items():
                if config.behavior == "DIRECT" and config.data_source not in workers.workers:
                    log.warning(
                        "namespace %r %s: function %r is not runnable here (no source directory or staged asset)",
                        ns.name,
                        side,
                        config.data_source,
                    )
                    continue
                self._sides[(ns.name, side)] = config
                names.add(ns.name)
            if ns.code_path and project_root is not None and (project_root / ns.code_path).is_file():
                path = project_root / ns.code_path
                self._code_files[ns.name] = path
                self._mtimes[ns.name] = path.stat().st_mtime_ns
        self.namespaces = frozenset(names)

    def _reload(self, namespace: str) -> None:
        path = self._code_files.get(namespace)
        now = time.monotonic()
        if path is None or self.node is None or now - self._checked.get(namespace, 0.0) < RELOAD_CHECK_SECONDS:
            return
        self._checked[namespace] = now
        with contextlib.suppress(OSError):
            mtime = path.stat().st_mtime_ns
            if mtime != self._mtimes[namespace]:
                self._mtimes[namespace] = mtime
                self.node.update(namespace, path.read_text(encoding="utf-8"))
                log.info("namespace %r: %s changed on disk; reloaded", namespace, path.name)

    async def call(self, namespace: str, function: str, ctx: Mapping[str, Any]) -> HandlerResult:
        side = self._sides.get((namespace, function))
        if side is not None and side.behavior == "DIRECT" and side.data_source is not None:
            return await self._direct(side, function, ctx)
        if self.node is None or namespace not in self.node.namespaces:
            return HandlerResult(missing=True)
        self._reload(namespace)
        if side is None or side.data_source is None:
            return await self.node.call(namespace, function, ctx)
        request = await self.node.call(namespace, function, ctx, phase="request")
        if request.missing or request.early:
            return request
        context = {**ctx, "stash": dict(request.stash or {}), "result": None, "error": None}
        try:
            context["result"] = await self.data_sources.invoke(side.data_source, request.value)
        except DataSourceError as err:
            context["error"] = {"message": err.message, "type": err.error_type}
        return await self.node.call(namespace, function, context, phase="response")

    async def _direct(self, side: SideConfig, function: str, ctx: Mapping[str, Any]) -> HandlerResult:
        assert side.data_source is not None
        event: dict[str, Any] = {
            "identity": ctx.get("identity"),
            "result": None,
            "request": ctx.get("request"),
            "info": ctx.get("info"),
            "error": None,
            "prev": None,
            "stash": {},
            "outErrors": [],
            "events": ctx.get("events") if function == "onPublish" else None,
        }
        if side.invoke_type == "EVENT":
            self.workers.invoke_async(side.data_source, event)
            return HandlerResult(missing=True)  # the invocation does not affect the publish or subscribe
        try:
            result = await self.workers.invoke(side.data_source, event)
        except LambdaError as err:
            if err.error_type == UNAUTHORIZED_ERROR_TYPE:
                raise HandlerError("unauthorized", err.message) from None
            log.warning("direct Lambda %s (%s) failed: %s", side.data_source, function, err)
            raise HandlerError("crash", f"{err.error_type}: {err.message}") from None
        if isinstance(result, dict) and result.get("error"):
            raise HandlerError("error", str(result["error"]))
        if function == "onSubscribe":
            return HandlerResult(missing=False, value=None)
        events = result.get("events") if isinstance(result, dict) else None
        return HandlerResult(missing=False, value=events if isinstance(events, list) else [])

    async def close(self) -> None:
        if self.node is not None:
            await self.node.close()
        await self.workers.close()
