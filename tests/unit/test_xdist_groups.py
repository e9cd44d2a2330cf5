"""The xdist groups of tests/conftest.py name what exists: a renamed test or fixture would silently lose its group."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SYNTH_GROUPS, TIMING_GROUP

ROOT = Path(__file__).resolve().parents[2]


def test_every_timing_entry_is_a_test_file_or_function() -> None:
    for entry in TIMING_GROUP:
        path, _, name = entry.partition("::")
        assert (ROOT / path).is_file(), entry
        if name:
            assert re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M), entry


def test_every_synth_fixture_is_a_session_fixture_of_a_conftest() -> None:
    conftests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("*/conftest.py"))
    for name in SYNTH_GROUPS:
        assert re.search(rf'@pytest\.fixture\(scope="session"\)\ndef {name}\(', conftests), name


GROUPED = """
import os, time
import pytest

@pytest.mark.xdist_group("g")
@pytest.mark.parametrize("n", range(4))
def test_grouped(n):
    time.sleep(0.2)

@pytest.mark.parametrize("n", range(4))
def test_free(n):
    time.sleep(0.2)
"""


@pytest.mark.slow
def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    """With this conftest's hooks, `-n 2 --dist loadgroup` (as make test runs) keeps a group on one worker; the other
    worker takes the rest. (pytest-xdist 3.8.0 alone spreads a group on pytest 9.2: the suffix it writes is unread.)"""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    argv = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "tests.conftest"]
    argv += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path / "test_grouped.py")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    ran = re.findall(r"^\[(gw\d)\] \[ *\d+%\] PASSED \S+::(test_\w+)\[(\d)\](@g)?", done.stdout, re.M)
    grouped = {(worker, suffix) for worker, name, _, suffix in ran if name == "test_grouped"}
    assert len(ran) == 8 and len(grouped) == 1, done.stdout
    assert grouped.pop()[1] == "@g"
