"""pytest fixtures of the handler test kit. Enable with `pytest_plugins = ["eventapi.testing.pytest_plugin"]`.

def test_own_channel_only(handler_kit):
    kit = handler_kit("prod")
    assert kit.subscribe("/users/u-1/inbox", identity=cognito(sub="u-1")).allowed
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventapi.testing.kit import HandlerKit


@pytest.fixture(scope="session")
def handler_kit(pytestconfig: pytest.Config) -> Iterator[Callable[[str], HandlerKit]]:
    """A factory: `handler_kit("prod")` is that stage's kit (cdk.json of the pytest root dir), made once per session
    and closed at its end."""
    kits: dict[str, HandlerKit] = {}
    root = Path(pytestconfig.rootpath)

    def make(stage: str) -> HandlerKit:
        if stage not in kits:
            kits[stage] = HandlerKit.for_stage(stage, root)
        return kits[stage]

    yield make
    for kit in kits.values():
        kit.close()
