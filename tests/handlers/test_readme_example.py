"""The README's handler test kit example runs as written."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from eventapi.testing import HandlerKit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node runs APPSYNC_JS handlers"),
    pytest.mark.clock,
]


def test_readme_example(handler_kit: Callable[[str], HandlerKit]) -> None:
    """The ten-line example under "Namespace handlers" in README.md passes against the shipped prod stage."""
    section = (ROOT / "README.md").read_text().split("## Namespace handlers", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None and len(code.group(1).strip().splitlines()) <= 11
    scope: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    scope["test_users_only_own_channel"](handler_kit)  # type: ignore[operator]
