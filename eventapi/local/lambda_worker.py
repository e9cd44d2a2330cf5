"""Local stand-ins for the app's Python Lambda functions: one long-lived worker process per function.

A worker imports the function once and serves invocations over JSON lines (`eventapi.local.lambda_runtime`), so an
invocation costs a pipe round trip, not a Python start-up. Like Lambda:
- the function's timeout is enforced: an invocation that runs longer kills the worker ("Task timed out after
  N seconds") and the next invocation starts a fresh one (a cold start);
- an exception is the invocation's error, with its type (`UnauthorizedException` ...) and message;
- an `EVENT` invocation returns at once; its result and errors are only logged.
Editing a file of the function's directory takes effect on the next invocation: the worker is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventapi.config import FUNCTION_ENTRY

log = logging.getLogger("eventapi.local.lambda")

MAX_LINE_BYTES = 16 * 1024 * 1024
RELOAD_CHECK_SECONDS = 0.25  # how often a function's files are checked for edits (a stat per file)


class LambdaError(Exception):
    """An invocation that failed: the function raised (its type and message), timed out, or its worker died."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


@dataclass(frozen=True)
class LocalFunction:
    """What it takes to run one function locally."""

    name: str
    directory: Path
    handler: str = FUNCTION_ENTRY
    timeout_seconds: float = 3.0
    memory_mb: int = 128
    arn: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)


def _fingerprint(directory: Path) -> tuple[tuple[str, int], ...]:
    out = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    out.append((path, os.stat(path).st_mtime_ns))
    return tuple(sorted(out))


class LambdaWorker:
    """One function's worker process, started lazily and replaced after a timeout, a crash or an edit."""

    def __init__(self, function: LocalFunction, *, env: Mapping[str, str] | None = None) -> None:
        self.function = function
        self._env = dict(env or {})
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._fingerprint = _fingerprint(function.directory)
        self._checked = time.monotonic()
        self.starts = 0  # how many processes this worker started (cold starts)

    async def _ensure(self) -> asyncio.subprocess.Process:
        async with self._lock:
            now = time.monotonic()
            if now - self._checked >= RELOAD_CHECK_SECONDS:
                self._checked = now
                fingerprint = _fingerprint(self.function.directory)
                if fingerprint != self._fingerprint:
                    self._fingerprint = fingerprint
                    if self._proc is not None:
                        log.info("function %s changed on disk: reloading it", self.function.name)
                        await self._kill("the function was reloaded")
            if self._proc is not None and self._proc.returncode is None:
                return self._proc
            fn = self.function
            env = {
                **os.environ,
                **self._env,
                **fn.environment,
                "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "EVENTAPI_FUNCTION_ARN": fn.arn,
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "eventapi.local.lambda_runtime",
                str(fn.directory),
                fn.handler,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                limit=MAX_LINE_BYTES,
            )
            self.starts += 1
            self._tasks = [
                asyncio.create_task(self._read(self._proc)),
                asyncio.create_task(self._log_stderr(self._proc)),
            ]
            return self._proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                with contextlib.suppress(ValueError):
                    reply = json.loads(line)
                    future = self._pending.pop(reply.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(reply)
        except (asyncio.LimitOverrunError, ValueError, ConnectionError):
            log.warning("function %s sent an unreadable reply; restarting it", self.function.name)
        finally:
            if proc is self._proc:
                self._fail_pending(f"the worker of {self.function.name} exited (code {proc.returncode})")

    async def _log_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(ValueError, ConnectionError, asyncio.LimitOverrunError):
            while line := await proc.stderr.readline():
                log.info("lambda %s: %s", self.function.name, line.decode("utf-8", "replace").rstrip()[:2000])

    def _fail_pending(self, message: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LambdaError("Unhandled", message))
        self._pending.clear()

    async def invoke(self, event: Any) -> Any:
        """Invoke synchronously (RequestResponse): the function's result, or `LambdaError`."""
        proc = await self._ensure()
        assert proc.stdin is not None
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        timeout = self.function.timeout_seconds
        line = json.dumps({"id": call_id, "event": event, "timeoutMs": int(timeout * 1000)}, separators=(",", ":"))
        try:
            proc.stdin.write(line.encode("utf-8") + b"\n")
            await proc.stdin.drain()
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            await self._kill("the invocation timed out")
            raise LambdaError("Sandbox.Timedout", f"Task timed out after {timeout:g} seconds") from None
        except (ConnectionError, RuntimeError) as err:
            await self._kill("the worker failed")
            raise LambdaError("Unhandled", f"the worker of {self.function.name} failed: {err}") from None
        finally:
            self._pending.pop(call_id, None)
        error = reply.get("error")
        if isinstance(error, dict):
            raise LambdaError(str(error.get("errorType", "Error")), str(error.get("errorMessage", "")))
        return reply.get("result")

    async def _kill(self, reason: str) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._fail_pending(f"{self.function.name}: {reason}")
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 2)
        for task in self._tasks:
            task.cancel()

    async def close(self) -> None:
        await self._kill("stopped")


class LambdaWorkers:
    """The app's functions by name, each with its worker; `EVENT` invocations run in the background."""

    def __init__(self, functions: Mapping[str, LocalFunction], *, env: Mapping[str, str] | None = None) -> None:
        self.workers = {name: LambdaWorker(fn, env=env) for name, fn in functions.items()}
        self._background: set[asyncio.Task[None]] = set()

    async def invoke(self, name: str, event: Any) -> Any:
        return await self.workers[name].invoke(event)

    def invoke_async(self, name: str, event: Any) -> None:
        """An `EVENT` invocation: queued and answered at once; the outcome is only logged."""

        async def run() -> None:
            try:
                await self.workers[name].invoke(event)
            except LambdaError as err:
                log.warning("EVENT invocation of %s failed: %s", name, err)

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._background:
            await asyncio.wait(list(self._background), timeout=2)
        for worker in self.workers.values():
            await worker.close()
