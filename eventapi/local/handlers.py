"""APPSYNC_JS namespace handlers (`onPublish` / `onSubscribe`), run by one long-lived Node helper process.

The helper has no npm dependencies: the handler code is written to a private temp dir next to a shim of
`@aws-appsync/utils` (`util.error`, `util.unauthorized`, `util.time.nowISO8601/nowEpochSeconds/
nowEpochMilliSeconds`, `util.autoId`) and imported as an ES module. Python talks to it with JSON lines over stdin
and stdout (`console.log` of a handler goes to stderr, which is logged).

Bounded and robust: every call has a timeout (`LocalSettings.handler_timeout_seconds`); a call that times out
(say, an endless loop) kills the helper, fails the calls in flight with a processing error and the next call
starts a fresh helper. When Node is missing or emulation is off, handlers are not run: events are forwarded
unchanged and "handler not emulated" is logged once per namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("eventapi.local.handlers")

MAX_LINE_BYTES = 16 * 1024 * 1024

UTILS_SHIM = r"""
import { randomUUID } from 'node:crypto';
class AppSyncError extends Error {
  constructor(kind, message, errorType, data, info) {
    super(message || kind);
    this.__appsync = kind; this.errorType = errorType; this.data = data; this.info = info;
  }
}
function toValue(v) {
  if (v === null || v === undefined) return { NULL: true };
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map(toValue) };
  if (typeof v === 'object') return { M: toMapValues(v) };
  return { S: String(v) };
}
function toMapValues(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) if (v !== undefined) out[k] = toValue(v);
  return out;
}
export const util = {
  error(message, errorType, data, info) { throw new AppSyncError('error', message, errorType, data, info); },
  dynamodb: { toDynamoDB: toValue, toMapValues },
  unauthorized() { throw new AppSyncError('unauthorized', 'Unauthorized'); },
  autoId() { return randomUUID(); },
  time: {
    nowISO8601() { return new Date().toISOString(); },
    nowEpochSeconds() { return Math.floor(Date.now() / 1000); },
    nowEpochMilliSeconds() { return Date.now(); },
  },
  log(...args) { console.error(...args); },
};
export { toMapValues };
export const runtime = { earlyReturn(value) { throw Object.assign(new Error('earlyReturn'), { __early: value }); } };
export default { util, runtime };
"""

# `@aws-appsync/utils/dynamodb`: the request builders of the built-in DynamoDB module (the shapes of the AppSync
# Events "Built-in modules" page); the local data source (eventapi.local.data_sources) runs what they build.
DYNAMODB_SHIM = r"""
import { toMapValues } from './index.js';
const keyed = (op, p, extra = {}) => ({ operation: op, key: toMapValues(p.key), ...extra });
export function get(p) { return keyed('GetItem', p, { consistentRead: !!p.consistentRead }); }
export function put(p) { return keyed('PutItem', p, { attributeValues: toMapValues(p.item) }); }
export function remove(p) { return keyed('DeleteItem', p); }
export function scan(p = {}) { return { operation: 'Scan', limit: p.limit, nextToken: p.nextToken }; }
export function query(p) { return { operation: 'Query', query: p.query, limit: p.limit, nextToken: p.nextToken,
  scanIndexForward: p.scanIndexForward !== false }; }
const tables = (p, f) => Object.fromEntries(Object.entries(p.tables).map(([t, v]) => [t, f(v)]));
export function batchPut(p) {
  return { operation: 'BatchPutItem', tables: tables(p, (items) => items.map(toMapValues)) };
}
export function batchGet(p) { return { operation: 'BatchGetItem',
  tables: tables(p, (v) => ({ keys: (v.keys || v).map(toMapValues) })) }; }
export function batchDelete(p) {
  return { operation: 'BatchDeleteItem', tables: tables(p, (keys) => keys.map(toMapValues)) };
}
"""

HELPER = r"""
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
console.log = (...args) => console.error(...args);
console.info = console.log; console.debug = console.log; console.warn = console.log;
const dir = process.argv[2];
const modules = new Map();
async function load(file) {
  if (!modules.has(file)) modules.set(file, import(pathToFileURL(join(dir, 'ns', file)).href));
  return modules.get(file);
}
function reply(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', async (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  try {
    const mod = await load(req.file);
    const exported = mod[req.fn];
    if (exported === undefined || exported === null) { reply({ id: req.id, missing: true }); return; }
    const fn = req.phase ? exported[req.phase] : exported;
    if (typeof fn !== 'function') {
      const what = req.phase ? `${req.fn}.${req.phase}` : req.fn;
      const want = req.phase ? 'an object with request(ctx) and response(ctx) (the side has a data source)'
        : 'a function (the side has no data source)';
      const message = `${what} is not a function; export ${req.fn} as ${want}`;
      reply({ id: req.id, error: { kind: 'crash', message } });
      return;
    }
    let result, early = false;
    try { result = await fn(req.ctx); }
    catch (err) { if (err && err.__early !== undefined) { result = err.__early; early = true; } else throw err; }
    reply({ id: req.id, ok: true, early, stash: req.ctx.stash ?? {}, result: result === undefined ? null : result });
  } catch (err) {
    if (err && err.__appsync) {
      reply({ id: req.id, error: { kind: err.__appsync, message: err.message, errorType: err.errorType ?? null } });
    } else {
      reply({ id: req.id, error: { kind: 'crash', message: String(err && err.stack || err) } });
    }
  }
});
rl.on('close', () => process.exit(0));
"""


class HandlerError(Exception):
    """A handler that rejected (`util.error` / `util.unauthorized`) or failed (crash, timeout, Node gone)."""

    def __init__(self, kind: str, message: str, error_type: str | None = None) -> None:
        self.kind = kind  # "error" | "unauthorized" | "crash" | "timeout"
        self.message = message
        self.error_type = error_type
        super().__init__(f"{kind}: {message}")


@dataclass(frozen=True)
class HandlerResult:
    """A handler's return value, or `missing` when the module does not export that function."""

    missing: bool
    value: Any = None
    early: bool = False  # runtime.earlyReturn(): the request function ended the handler
    stash: Mapping[str, Any] | None = None


class NodeHandlers:
    """Runs the handler code of some namespaces in one Node helper (started lazily, restarted when needed)."""

    def __init__(self, code: Mapping[str, str], *, node: str = "node", timeout: float = 5.0) -> None:
        self._code = dict(code)
        self._files = {name: f"{name}.mjs" for name in self._code}
        self._versions: dict[str, int] = {}
        self._node = node
        self._timeout = timeout
        self._dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self.available = shutil.which(node) is not None

    @property
    def namespaces(self) -> frozenset[str]:
        return frozenset(self._code)

    def _write_files(self) -> Path:
        root = Path(tempfile.mkdtemp(prefix="eventapi-local-handlers-"))
        utils = root / "node_modules" / "@aws-appsync" / "utils"
        utils.mkdir(parents=True)
        (utils / "package.json").write_text(
            json.dumps(
                {
                    "name": "@aws-appsync/utils",
                    "type": "module",
                    "exports": {".": "./index.js", "./dynamodb": "./dynamodb.js"},
                }
            ),
            encoding="utf-8",
        )
        (utils / "index.js").write_text(UTILS_SHIM, encoding="utf-8")
        (utils / "dynamodb.js").write_text(DYNAMODB_SHIM, encoding="utf-8")
        (root / "ns").mkdir()
        for name, code in self._code.items():
            (root / "ns" / self._files[name]).write_text(code, encoding="utf-8")
        (root / "helper.mjs").write_text(HELPER, encoding="utf-8")
        return root

    async def _ensure(self) -> asyncio.subprocess.Process:
        async with self._start_lock:
            if self._proc is not None and self._proc.returncode is None:
                return self._proc
            if self._dir is None:
                self._dir = self._write_files()
            self._proc = await asyncio.create_subprocess_exec(
                self._node,
                str(self._dir / "helper.mjs"),
                str(self._dir),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=MAX_LINE_BYTES,
            )
            self._reader = asyncio.create_task(self._read(self._proc))
            self._stderr = asyncio.create_task(self._log_stderr(self._proc))
            return self._proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                try:
                    reply = json.loads(line)
                except ValueError:
                    continue
                call_id = reply.get("id") if isinstance(reply, dict) else None
                future = self._pending.pop(call_id, None) if isinstance(call_id, int) else None
                if future is not None and not future.done():
                    future.set_result(reply)
        except (asyncio.LimitOverrunError, ValueError, ConnectionError):
            log.warning("the Node handler helper sent an unreadable reply; restarting it")
        finally:
            self._fail_pending(proc, "the Node handler helper exited")

    async def _log_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(ValueError, ConnectionError, asyncio.LimitOverrunError):
            while line := await proc.stderr.readline():
                log.info("handler: %s", line.decode("utf-8", "replace").rstrip()[:2000])

    def _fail_pending(self, proc: asyncio.subprocess.Process, message: str) -> None:
        if proc is self._proc:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(HandlerError("crash", message))
            self._pending.clear()

    def update(self, namespace: str, code: str) -> None:
        """New code for `namespace` (an edited file): a new module file, so the helper imports it afresh."""
        self._code[namespace] = code
        version = self._versions[namespace] = self._versions.get(namespace, 0) + 1
        self._files[namespace] = f"{namespace}.{version}.mjs"
        if self._dir is not None:
            (self._dir / "ns" / self._files[namespace]).write_text(code, encoding="utf-8")

    async def call(
        self, namespace: str, function: str, ctx: Mapping[str, Any], *, phase: str | None = None
    ) -> HandlerResult:
        """Run `function` (onPublish/onSubscribe) of `namespace`'s code with `ctx` (its `request` or `response`
        when `phase` says which); raises `HandlerError`."""
        proc = await self._ensure()
        assert proc.stdin is not None
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        request = {"id": call_id, "file": self._files[namespace], "fn": function, "phase": phase, "ctx": ctx}
        line = json.dumps(request, separators=(",", ":"))
        try:
            proc.stdin.write(line.encode("utf-8") + b"\n")
            await proc.stdin.drain()
            reply = await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            log.warning(
                "%s.%s ran longer than %.1fs; restarting the Node handler helper", namespace, function, self._timeout
            )
            await self._kill()
            raise HandlerError("timeout", f"{function} timed out after {self._timeout:g}s") from None
        except (ConnectionError, RuntimeError) as err:
            await self._kill()
            raise HandlerError("crash", f"the Node handler helper failed: {err}") from None
        finally:
            self._pending.pop(call_id, None)
        if reply.get("missing"):
            return HandlerResult(missing=True)
        error = reply.get("error")
        if isinstance(error, dict):
            kind = str(error.get("kind", "crash"))
            message = str(error.get("message") or "")
            if kind == "crash":
                log.warning("%s.%s failed: %s", namespace, function, message[:2000])
            error_type = error.get("errorType")
            raise HandlerError(kind, message, error_type if isinstance(error_type, str) else None)
        stash = reply.get("stash")
        return HandlerResult(
            missing=False,
            value=reply.get("result"),
            early=bool(reply.get("early")),
            stash=stash if isinstance(stash, dict) else None,
        )

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HandlerError("crash", "the Node handler helper was restarted"))
        self._pending.clear()
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 2)
        for task in (self._reader, self._stderr):
            if task is not None:
                task.cancel()

    async def close(self) -> None:
        """Stop the helper and remove its temp dir."""
        await self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
