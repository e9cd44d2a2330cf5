"""The browser demo (web/) in headless Chromium against a local Event API: subscribe, post, receive, reconnect; and
`eventapi-local web` (make web): the page it serves, in two windows, over plain http/ws and over https/wss.

The browser is one already installed (tests/e2e/browser.py): without one these tests skip, saying so in one line,
unless EVENTAPI_REQUIRE_BROWSER=1 (.ci/run), which makes that an error."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from eventapi.client import EventsConfig
from eventapi.local import LocalApiKey, LocalApiSpec, LocalSettings, new_api_key
from eventapi.local.server import LocalServer
from tests.e2e.browser import browser_or_skip, find_browser
from tests.e2e.conftest import ARTICLE_ID, NODE_DIR, ROOT, read_api_key, start_up

pytestmark = [pytest.mark.slow, pytest.mark.clock]  # `web` runs a local deploy (moto, the local CA)

WEB = ROOT / "web"
DEV_TEMPLATE = ROOT / "tests" / "infra" / "snapshots" / "Social-dev.template.json"
STEP_TIMEOUT = 20.0
CHILD_CHANNEL = f"/default/comments/{ARTICLE_ID}/new"
SEED_COMMENT = {"date": "just now", "author": "jesse millman"}  # the seed post's test event, a fresh id each


@pytest.fixture(scope="session")
def chromium() -> str:
    """The installed browser's path (first of the fixtures: a skip comes before any server or synth starts)."""
    return browser_or_skip(find_browser())


def browser_command(script: str = "web_demo.mjs") -> list[str]:
    """`node tests/e2e/node/<script>`; fails (never skips) when Node or playwright-core is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; install Node 20+ (make test needs it)")
    if not (ROOT / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.fail("node_modules/playwright-core is missing; run `make install` (npm ci) first")
    return [node, str(NODE_DIR / script)]


def browser_env(chromium: str) -> dict[str, str]:
    """The driver's environment: CHROMIUM names the browser tests/e2e/node/chromium.mjs launches."""
    return {**os.environ, "CHROMIUM": chromium}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[LocalServer, EventsConfig]]:
    """The dev stage's Event API served in-process on plain http/ws, with a fresh key, and its client config."""
    key = new_api_key()
    settings = LocalSettings(port=0, tls_port=None, state_dir=tmp_path / "state", api_keys=(LocalApiKey(key),))
    async with LocalServer(LocalApiSpec.from_file(DEV_TEMPLATE), settings) as server:
        assert server.ports.http_url is not None
        yield server, EventsConfig.create(server.ports.http_url, "eu-west-1", api_key=key)


@pytest.fixture
async def site(tmp_path: Path, api: tuple[LocalServer, EventsConfig]) -> AsyncIterator[str]:
    """A copy of web/ with events.json (as `eventapi.deploy export --format json` writes it) served on 127.0.0.1."""
    root = tmp_path / "site"
    shutil.copytree(WEB, root, ignore=shutil.ignore_patterns("events.json"))
    config_file = root / "events.json"
    config_file.touch(mode=0o600)
    config_file.write_text(json.dumps(api[1].to_json(include_api_key=True)))
    app = web.Application()
    app.router.add_static("/", root)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/index.html"
    finally:
        await runner.cleanup()


async def publish_from_python(config: EventsConfig, content: str) -> None:
    """POST one seed-post-shaped comment to the child channel, as a backend would."""
    assert config.api_key is not None
    event = json.dumps({"id": str(uuid.uuid4()), **SEED_COMMENT, "content": content})
    headers = {"x-api-key": config.api_key, "content-type": "application/json"}
    async with aiohttp.ClientSession() as http:
        body = {"channel": CHILD_CHANNEL, "events": [event]}
        async with http.post(config.http_endpoint, json=body, headers=headers) as resp:
            assert resp.status == 200
            result = await resp.json()
    assert result["failed"] == [] and len(result["successful"]) == 1


class Browser:
    """The Node driver's JSON-line conversation: read a step, answer `ok` after acting on a `waiting` step."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.transcript: list[str] = []

    async def step(self) -> dict[str, Any]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), STEP_TIMEOUT)
        if not line:
            err = (await self.proc.stderr.read()).decode()
            pytest.fail(f"web_demo.mjs ended early (exit {await self.proc.wait()}): {err.strip()[-2000:]}")
        self.transcript.append(line.decode())
        step: dict[str, Any] = json.loads(line)
        return step

    async def answer(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"ok\n")
        await self.proc.stdin.drain()


async def test_page_posts_and_receives_comments_and_reconnects(
    chromium: str, api: tuple[LocalServer, EventsConfig], site: str, tmp_path: Path
) -> None:
    """The page subscribes, renders its own and a Python-published comment as text, and resubscribes after a drop."""
    server, config = api
    assert config.api_key is not None
    screenshot = tmp_path / "web-demo.png"
    proc = await asyncio.create_subprocess_exec(
        *browser_command(),
        site,
        str(screenshot),
        cwd=ROOT,
        env=browser_env(chromium),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    browser = Browser(proc)
    try:
        # Given the page opened from a static server on another origin than the API, reading ./events.json
        assert await browser.step() == {"step": "subscribed"}
        # When a comment with markup is typed and posted (fetch to the child channel, CORS preflight included)
        typed = {"author": "jesse millman", "content": 'unreal blog post my guy, <b>sockets</b> are great! & "quoted"'}
        # Then it comes back over the socket and the form is cleared
        assert await browser.step() == {"step": "rendered", "comments": [typed], "formContent": ""}
        # When a backend publishes over HTTP from Python
        assert await browser.step() == {"step": "waiting", "for": "python-publish"}
        await publish_from_python(config, "published from Python")
        await browser.answer()
        from_python = {"author": "jesse millman", "content": "published from Python"}
        assert await browser.step() == {"step": "rendered", "comments": [typed, from_python]}
        # When the server drops the page's socket (as it does a slow subscriber)
        assert await browser.step() == {"step": "waiting", "for": "reconnect"}
        assert len(server.broker.connections) == 1
        for conn in list(server.broker.connections):
            conn.drop(1013, "test: dropped")
        await browser.answer()
        # Then the page reconnects with backoff, subscribes again and says what may have been missed
        notice = "Reconnected. Comments posted while the connection was down are not shown."
        assert await browser.step() == {"step": "resubscribed", "notice": notice}
        assert await browser.step() == {"step": "waiting", "for": "python-publish"}
        await publish_from_python(config, "after the reconnect")
        await browser.answer()
        after = {"author": "jesse millman", "content": "after the reconnect"}
        assert await browser.step() == {
            "step": "done",
            "comments": [typed, from_python, after],
            "states": ["connecting", "connected", "subscribed", "reconnecting", "connected", "subscribed"],
            "markupInComments": 0,
            "pageErrors": [],
            "consoleErrors": [],
        }
        assert await asyncio.wait_for(proc.wait(), STEP_TIMEOUT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # The screenshot is a PNG; the key appears nowhere in the driver's output
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert proc.stderr is not None
    output = "".join(browser.transcript) + (await proc.stderr.read()).decode()
    assert config.api_key not in output
    if keep := os.environ.get("EVENTAPI_WEB_SCREENSHOT"):  # a copy to look at: EVENTAPI_WEB_SCREENSHOT=/tmp/x.png
        shutil.copy(screenshot, keep)


def spki_sha256(cert_file: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of a certificate: what Chromium's --ignore-certificate-errors-spki-list takes."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_web_serves_the_page_and_two_windows_see_each_others_comments(
    chromium: str, tls: bool, dev_template: Path, state_dir: Path, tmp_path: Path
) -> None:
    """`eventapi-local web` prints the page URL; a comment posted in one window shows in another; SIGTERM stops all."""
    tls_port = "0" if tls else "-1"
    up = start_up(dev_template, state_dir, tmp_path, "--tls-port", tls_port, "--web-port", "0", command="web")
    try:
        out, _ = up.output()
        url = re.search(r"^web page    (\S+)   \(web/; open it in two windows", out, re.M)
        assert url is not None, out
        page = url.group(1)
        assert page.startswith("https://localhost:" if tls else "http://127.0.0.1:")
        ca = up.ready["caCert"]
        tls_line = f"TLS         the page and the API use the local CA {ca}; trust it in the browser first: "
        assert any(line.startswith(tls_line) for line in out.splitlines()) is tls
        assert (
            f"API         {up.ready['httpEndpoint']}  {up.ready['realtimeEndpoint']}   (the endpoints in SSM)"
            in out.splitlines()
        )
        # When two windows open the printed URL and the first posts a comment
        extra = [spki_sha256(state_dir / "server.pem")] if tls else []
        done = subprocess.run(
            [*browser_command("web_two_pages.mjs"), page, *extra],
            cwd=ROOT,
            env=browser_env(chromium),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        # Then both show it, subscribed, with no page or console error
        comment = {"author": "jesse millman", "content": "unreal blog post my guy, sockets are great!"}
        assert json.loads(done.stdout) == {
            "first": [comment],
            "second": [comment],
            "states": ["subscribed", "subscribed"],
            "pageErrors": [],
            "consoleErrors": [],
        }
        key = read_api_key(up.ready)
    finally:
        code = up.stop()
    out, err = up.output()
    assert code == 0, err
    assert out.splitlines()[-2:] == ["stopping: closing sockets, stopping the Event API and moto ...", "stopped"]
    assert key not in out + err + done.stdout + done.stderr
    with pytest.raises(aiohttp.ClientConnectionError):  # the page server is gone too
        asyncio.run(_get(page))


async def _get(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url, ssl=False) as resp:
        return resp.status
