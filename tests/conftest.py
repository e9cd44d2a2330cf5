"""Shared test settings: offline, no credentials, no Node end-of-life banner."""

import os

import pytest
from hypothesis import Phase, settings

from tests.clock import clock_problem

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

pytest_plugins = ["eventapi.testing.pytest_plugin"]  # the handler test kit's fixtures (handler_kit)

# `make mutation` (mutation/run.py) reruns the tests once per mutant: there, fewer examples, the same ones every run
# (a mutant's verdict must not depend on luck), and no shrinking (a failure is all it needs to know).
settings.register_profile(
    "mutation", max_examples=20, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate]
)


def pytest_configure(config: pytest.Config) -> None:
    if problem := clock_problem():
        raise pytest.UsageError(problem)
