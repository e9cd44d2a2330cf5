"""A smoke test of a deployed (or local) stage: `python -m eventapi.client smoke --stage dev`.

For each auth mode it has credentials for (the API key from SSM, IAM from the ambient AWS credentials, a
Cognito/OIDC/Lambda token from $EVENTAPI_AUTH_TOKEN), it connects, subscribes to a unique child channel, publishes
over HTTP and over the socket, and checks that every subscriber receives both. Where the stage refuses a mode
(for connect, publish or subscribe on the namespace), it checks the refusal; with no such mode, a forged API key
must be refused. One line per check, with its latency.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from eventapi.client.auth import ApiKey, AuthProvider, Iam, Token
from eventapi.client.client import EventsClient
from eventapi.client.config import EventsConfig
from eventapi.client.errors import ServiceError, UnauthorizedError
from eventapi.client.subscription import Subscription
from eventapi.contract import NamespaceInfo
from eventapi.exits import ExitCode
from eventapi.protocol.modes import AuthMode

RECEIVE_TIMEOUT = 10.0
FORGED_API_KEY = "da2-" + "0" * 26  # well-formed, never issued
TOKEN_MODES = (AuthMode.AMAZON_COGNITO_USER_POOLS, AuthMode.OPENID_CONNECT, AuthMode.AWS_LAMBDA)
# A channel segment per mode (letters, digits and '-' only).
SLUGS = {
    AuthMode.API_KEY: "api-key",
    AuthMode.AWS_IAM: "iam",
    AuthMode.AMAZON_COGNITO_USER_POOLS: "cognito",
    AuthMode.OPENID_CONNECT: "oidc",
    AuthMode.AWS_LAMBDA: "lambda",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float
    detail: str = ""
    refusal: bool = False  # a check that something is refused

    def line(self) -> str:
        status = "ok" if self.ok else "FAIL"
        return f"{status:<5}{self.name:<60}{self.ms:>7.0f} ms" + (f"  {self.detail}" if self.detail else "")


@dataclass
class SmokeReport:
    checks: list[Check] = field(default_factory=list)
    modes: tuple[AuthMode, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        if not self.modes:
            return ExitCode.UNAUTHORIZED  # no credentials for any auth mode the stage allows
        if any(not c.ok and c.refusal for c in self.checks):
            return ExitCode.NOT_REFUSED
        if any(not c.ok for c in self.checks):
            return ExitCode.SMOKE_FAILED
        return ExitCode.OK


def credential_modes(
    config: EventsConfig, *, iam: Iam | None, token: str | None, token_mode: AuthMode | None
) -> dict[AuthMode, AuthProvider]:
    """The auth modes we can try, each with its provider, in the stage's connect order."""
    available: dict[AuthMode, AuthProvider] = {}
    if config.api_key:
        available[AuthMode.API_KEY] = ApiKey()
    if iam is not None:
        available[AuthMode.AWS_IAM] = iam
    if token:
        listed = [*config.auth_modes.connect, *config.auth_modes.publish, *config.auth_modes.subscribe]
        mode = token_mode or next((m for m in TOKEN_MODES if m in listed), None)
        if mode is not None:
            available[mode] = Token(token, mode=mode)
    order = [*config.auth_modes.connect, *AuthMode]
    return {mode: available[mode] for mode in dict.fromkeys(order) if mode in available}


def pick_namespace(config: EventsConfig, name: str | None) -> NamespaceInfo:
    if not config.namespaces:
        return NamespaceInfo(name or "default", config.auth_modes.publish, config.auth_modes.subscribe)
    if name is not None:
        found = next((ns for ns in config.namespaces if ns.name == name), None)
        if found is None:
            known = ", ".join(ns.name for ns in config.namespaces)
            raise ValueError(f"--namespace {name}: not a namespace of this stage; choose one of {known}")
        return found
    return next((ns for ns in config.namespaces if ns.name == "default"), config.namespaces[0])


async def _timed(check: Callable[[], Awaitable[Any]]) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        await check()
    except (ServiceError, OSError, TimeoutError, RuntimeError) as err:
        return (time.perf_counter() - start) * 1000, err
    return (time.perf_counter() - start) * 1000, None


def _why(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:200]


class _Receiver:
    """Records when each channel's smoke event arrives on one subscription."""

    def __init__(self, mode: AuthMode, subscription: Subscription) -> None:
        self.mode = mode
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._collect(subscription))

    async def _collect(self, subscription: Subscription) -> None:
        async for event in subscription:
            data = event.data
            if isinstance(data, dict) and "smoke" in data:
                self.arrived.setdefault(str(data["smoke"]), time.perf_counter())
                self.changed.set()

    async def wait_for(self, marker: str, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while marker not in self.arrived:
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return None
        return self.arrived[marker]


async def run_smoke(
    config: EventsConfig,
    providers: dict[AuthMode, AuthProvider],
    *,
    namespace: str | None = None,
    client_options: dict[str, Any] | None = None,
    receive_timeout: float = RECEIVE_TIMEOUT,
    emit: Callable[[Check], None] = lambda check: None,
) -> SmokeReport:
    """Run every check; `emit` sees each as it completes (the CLI prints it)."""
    report = SmokeReport(modes=tuple(providers))
    if not providers:
        return report
    smoke = _Smoke(config, pick_namespace(config, namespace), report, emit, receive_timeout)
    options = {"max_reconnect_attempts": 1, **(client_options or {})}
    async with AsyncExitStack() as stack:
        clients: dict[AuthMode, EventsClient] = {}
        for mode, provider in providers.items():
            client = await stack.enter_async_context(EventsClient(config, auth=provider, **options))
            if await smoke.connect(mode, client):
                clients[mode] = client
        for mode, client in clients.items():
            await smoke.subscribe(mode, client, stack)
        for mode, client in clients.items():
            for via in ("http", "ws"):
                await smoke.publish(mode, client, via)
        if not any(c.refusal for c in report.checks) and AuthMode.API_KEY in config.auth_modes.connect:
            forged = await stack.enter_async_context(EventsClient(config, auth=ApiKey(FORGED_API_KEY), **options))
            await smoke.expect_refused("connect with a forged API key refused", forged.connect)
    return report


class _Smoke:
    """The checks of one run, on channels under a path of their own; each step records what it checked."""

    def __init__(
        self,
        config: EventsConfig,
        ns: NamespaceInfo,
        report: SmokeReport,
        emit: Callable[[Check], None],
        receive_timeout: float,
    ) -> None:
        self.config = config
        self.ns = ns
        self.report = report
        self.emit = emit
        self.receive_timeout = receive_timeout
        self.run = uuid.uuid4().hex[:12]
        self.base = f"/{ns.name}/smoke/{self.run}"
        self.receivers: list[_Receiver] = []

    def record(self, check: Check) -> None:
        self.report.checks.append(check)
        self.emit(check)

    async def expect_refused(self, name: str, action: Callable[[], Awaitable[Any]]) -> None:
        ms, err = await _timed(action)
        if isinstance(err, UnauthorizedError):
            self.record(Check(name, True, ms, "refused as configured", refusal=True))
        elif err is None:
            self.record(Check(name, False, ms, "ACCEPTED, but the stage should refuse it", refusal=True))
        else:
            self.record(Check(name, False, ms, f"expected Unauthorized, got {_why(err)}", refusal=True))

    async def connect(self, mode: AuthMode, client: EventsClient) -> bool:
        """Connect (or check the stage refuses it); whether the client is connected."""
        if mode not in self.config.auth_modes.connect:
            await self.expect_refused(f"connect {mode} refused", client.connect)
            return False
        ms, err = await _timed(client.connect)
        self.record(Check(f"connect {mode}", err is None, ms, _why(err) if err else ""))
        return err is None

    async def subscribe(self, mode: AuthMode, client: EventsClient, stack: AsyncExitStack) -> None:
        """Subscribe to the run's channels (or check the namespace refuses it); a subscriber's receiver stops
        with `stack`."""
        channel = f"{self.base}/*"
        if mode not in self.ns.subscribe:
            await self.expect_refused(f"subscribe {mode} /{self.ns.name} refused", partial(client.subscribe, channel))
            return
        subscription: list[Subscription] = []

        async def subscribe() -> None:
            subscription.append(await client.subscribe(channel))

        ms, err = await _timed(subscribe)
        self.record(Check(f"subscribe {mode} {channel}", err is None, ms, _why(err) if err else ""))
        if err is None:
            self.receivers.append(_Receiver(mode, subscription[0]))
            stack.push_async_callback(_stop, self.receivers[-1].task)

    async def publish(self, mode: AuthMode, client: EventsClient, via: Literal["http", "ws"]) -> None:
        """Publish one event (or check the namespace refuses it), then wait for it on every subscriber."""
        marker = f"{self.run}-{SLUGS[mode]}-{via}"
        target = f"{self.base}/{SLUGS[mode]}-{via}"
        publish = partial(client.publish, target, {"smoke": marker}, via=via)
        if mode not in self.ns.publish:
            await self.expect_refused(f"publish {mode} over {via} refused", publish)
            return
        start = time.perf_counter()
        ms, err = await _timed(publish)
        self.record(Check(f"publish {mode} over {via} {target}", err is None, ms, _why(err) if err else ""))
        if err is not None:
            return
        for receiver in self.receivers:
            arrived = await receiver.wait_for(marker, self.receive_timeout)
            name = f"receive {receiver.mode} <- {mode} over {via}"
            if arrived is None:
                self.record(Check(name, False, self.receive_timeout * 1000, "not received in time"))
            else:
                self.record(Check(name, True, (arrived - start) * 1000))
        if not self.receivers:
            self.record(Check(f"receive <- {mode} over {via}", True, 0, "skipped: no mode here may subscribe"))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError, ServiceError, OSError):
        await task
