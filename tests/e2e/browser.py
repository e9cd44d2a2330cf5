"""Which Chromium the browser tests drive: one already installed, never one installed for them.

`$CHROME_PATH` if set, else `chromium` or `google-chrome` on PATH. Without one the browser tests skip with one line
saying so, unless `EVENTAPI_REQUIRE_BROWSER=1` (set by .ci/run, which installs Debian's chromium): then it is an error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

CHROME_PATH_ENV = "CHROME_PATH"
REQUIRE_ENV = "EVENTAPI_REQUIRE_BROWSER"
ON_PATH = ("chromium", "google-chrome")
INSTALL_HINT = "apt-get install chromium (as root), or set CHROME_PATH"


@dataclass(frozen=True)
class BrowserLookup:
    """The browser found (`path`), or why there is none (`problem`) and whether that fails the run (`required`)."""

    path: str | None
    problem: str | None
    required: bool


def find_browser(
    environ: Mapping[str, str] = os.environ, which: Callable[[str], str | None] = shutil.which
) -> BrowserLookup:
    """$CHROME_PATH (it must be an executable: a set but wrong one is always an error), else the first on PATH."""
    required = environ.get(REQUIRE_ENV, "") not in ("", "0")
    if chrome := environ.get(CHROME_PATH_ENV):
        if os.path.isfile(chrome) and os.access(chrome, os.X_OK):
            return BrowserLookup(chrome, None, required)
        return BrowserLookup(None, f"{CHROME_PATH_ENV}={chrome} is not an executable file", True)
    for name in ON_PATH:
        if path := which(name):
            return BrowserLookup(path, None, required)
    names = " and ".join(ON_PATH)
    why = f"no browser for the browser tests: {names} are not on PATH and {CHROME_PATH_ENV} is not set; {INSTALL_HINT}"
    return BrowserLookup(None, why + (f" ({REQUIRE_ENV}=1: required here)" if required else ""), required)


def browser_or_skip(lookup: BrowserLookup) -> str:
    """The browser's path; else skip the test with the one-line reason, or fail it when a browser is required."""
    if lookup.path is not None:
        return lookup.path
    assert lookup.problem is not None
    if lookup.required:
        pytest.fail(lookup.problem, pytrace=False)
    pytest.skip(lookup.problem)
