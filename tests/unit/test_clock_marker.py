"""The `clock` marker is on every test module that reads or moves the wall clock, or starts an AWS stand-in, so
`make test-at` runs it at other instants."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLOCK_USE = re.compile(
    r"time\.time\(\)|datetime\.now\(|time_machine|mock_aws|api_key_expiry|LocalDeployment|ensure_tls|start_up\("
    r"|tls_port=0|\bsynth\("
)


def test_clock_readers_are_marked() -> None:
    """A test module matching CLOCK_USE sets `pytestmark` with `pytest.mark.clock`."""
    unmarked = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        if CLOCK_USE.search(text := path.read_text(encoding="utf-8")) and "pytest.mark.clock" not in text
    ]
    assert unmarked == []
