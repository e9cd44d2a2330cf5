"""Which browser the browser tests use (tests/e2e/browser.py): an installed one, a skip saying why, or an error in CI."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.browser import BrowserLookup, browser_or_skip, find_browser

MISSING = (
    "no browser for the browser tests: chromium and google-chrome are not on PATH and CHROME_PATH is not set; "
    "apt-get install chromium (as root), or set CHROME_PATH"
)


def on_path(*installed: str):
    return lambda name: f"/usr/bin/{name}" if name in installed else None


@pytest.fixture
def chrome(tmp_path: Path) -> Path:
    exe = tmp_path / "chrome"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_chromium_on_path_first_then_google_chrome() -> None:
    assert find_browser({}, on_path("chromium", "google-chrome")) == BrowserLookup("/usr/bin/chromium", None, False)
    assert find_browser({}, on_path("google-chrome")) == BrowserLookup("/usr/bin/google-chrome", None, False)


def test_chrome_path_wins_over_path(chrome: Path) -> None:
    environ = {"CHROME_PATH": str(chrome), "EVENTAPI_REQUIRE_BROWSER": "1"}
    assert find_browser(environ, on_path("chromium")) == BrowserLookup(str(chrome), None, True)
    assert browser_or_skip(find_browser(environ, on_path())) == str(chrome)


def test_no_browser_skips_with_one_line() -> None:
    lookup = find_browser({"EVENTAPI_REQUIRE_BROWSER": "0"}, on_path())
    assert lookup == BrowserLookup(None, MISSING, False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser_or_skip(lookup)
    assert skipped.value.msg == MISSING


def test_no_browser_is_an_error_when_required() -> None:
    lookup = find_browser({"EVENTAPI_REQUIRE_BROWSER": "1"}, on_path())
    assert lookup == BrowserLookup(None, f"{MISSING} (EVENTAPI_REQUIRE_BROWSER=1: required here)", True)
    with pytest.raises(pytest.fail.Exception) as failed:
        browser_or_skip(lookup)
    assert failed.value.msg == f"{MISSING} (EVENTAPI_REQUIRE_BROWSER=1: required here)"


def test_a_wrong_chrome_path_is_always_an_error(tmp_path: Path) -> None:
    """Set but not an executable (a typo, a directory): never a silent skip or a fallback to another browser."""
    for wrong in (tmp_path / "nope", tmp_path):
        lookup = find_browser({"CHROME_PATH": str(wrong)}, on_path("chromium"))
        assert lookup == BrowserLookup(None, f"CHROME_PATH={wrong} is not an executable file", True)
        with pytest.raises(pytest.fail.Exception) as failed:
            browser_or_skip(lookup)
        assert failed.value.msg == f"CHROME_PATH={wrong} is not an executable file"
