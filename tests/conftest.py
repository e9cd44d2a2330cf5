"""Shared test settings: offline, no credentials, no Node end-of-life banner; which tests share a worker under
`make test`'s pytest-xdist (--dist loadgroup), and hypothesis without wall-clock checks."""

import os
from collections.abc import Generator

import pytest
from _pytest.nodeid import coerce_node_id
from hypothesis import HealthCheck, Phase, settings

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

# Parallel workers share the cores: a property must not fail because generating its input, or one example, took
# longer than hypothesis's wall-clock budget on a busy machine. (A test's own @settings still wins for what it sets.)
settings.register_profile("eventapi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("eventapi")

# xdist groups: the tests of a group run one after another on one worker. Said here, in one place, by what they share.
# A session-scoped synth: its tests on one worker synthesize the app once, not once per worker (~30 s of CPU each).
SYNTH_GROUPS = {
    "templates": "synth-e2e",
    "shipped_out": "synth-infra",
    "full_out": "synth-infra",
    "variants_out": "synth-review",
}
# Sub-second budgets on child processes (a Lambda worker, a handler helper) and the soak: never beside each other.
TIMING_GROUP = (
    "tests/local/test_soak.py",
    "tests/handlers/test_kit.py",
    "tests/local/test_handlers.py::test_handler_timeout_then_recovers",
)


def pytest_configure(config: pytest.Config) -> None:
    if problem := clock_problem():
        raise pytest.UsageError(problem)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    """Mark the groups before xdist's hook reads them; after it, make sure the node ids carry them."""
    for item in items:
        groups = {SYNTH_GROUPS[name] for name in item.fixturenames if name in SYNTH_GROUPS}  # type: ignore[attr-defined]
        if any(item.nodeid == path or item.nodeid.startswith(f"{path}::") for path in TIMING_GROUP):
            groups.add("timing")
            item.add_marker(pytest.mark.timing)
        for group in sorted(groups):
            item.add_marker(pytest.mark.xdist_group(group))
    yield
    if getattr(config.option, "loadgroup", False):  # an xdist worker of --dist loadgroup
        for item in items:
            group_node_id(item)


def group_node_id(item: pytest.Item) -> None:
    """What --dist loadgroup schedules by: the group as a `@<group>` suffix of the node id. pytest-xdist 3.8.0 writes
    it to item._nodeid, which pytest 9.2 no longer reads (pytest-xdist issue 1386): without this every group would be
    spread over the workers, silently. Does nothing where xdist's own suffix took."""
    marks = item.iter_markers("xdist_group")
    groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})
    suffix = "@" + "_".join(groups)
    if groups and not item.nodeid.endswith(suffix):
        item._id = coerce_node_id(item.nodeid + suffix)  # type: ignore[attr-defined]
