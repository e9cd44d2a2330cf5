"""The Makefile's test targets: a run that ran no test fails and says so, and apt-get runs only for root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_TEST_RAN = "error: pytest ran no test (exit 5); check PYTEST_ARGS"
FAKETIME_HINT = "make test-at needs faketime: sudo apt-get install faketime"
MAKE = shutil.which("make") or "make"


def clean_env(**extra: str) -> dict[str, str]:
    """No MAKE* (the outer make's jobserver and flags) nor PYTEST_* (the outer run's) in the child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PYTEST_"))}
    return {**env, **extra}


def makefile_line(recipe_text: str) -> int:
    return next(i for i, line in enumerate((ROOT / "Makefile").read_text().splitlines(), 1) if recipe_text in line)


@pytest.mark.slow
def test_make_test_that_runs_no_test_fails_with_one_line() -> None:
    """pytest's exit 5 (the selection is empty), in parallel as make test runs it: make fails, naming the cause."""
    # -o install: no reinstall from inside the suite (make test has just installed)
    argv = [MAKE, "--no-print-directory", "-o", "install", "test", "PYTEST_ARGS=tests/unit/test_rules.py -k no_such"]
    done = subprocess.run(argv, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    line = makefile_line('$(PY) -m pytest $(PYTEST_PARALLEL) -m "not timing" $(PYTEST_ARGS)')
    assert done.stderr.splitlines() == [NO_TEST_RAN, f"make: *** [Makefile:{line}: test] Error 5"]
    assert re.search(r"^created: (\d+)/\1 workers$", done.stdout, re.M), done.stdout  # it ran in parallel
    assert re.search(r"^=+ no tests ran in ", done.stdout, re.M), done.stdout


def stub_path(tmp_path: Path, uid: int) -> Path:
    """A PATH with the recipe's tools, `id -u` printing `uid`, an apt-get that only records its call, no faketime."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "touch", "cat"):
        (bin_dir / tool).symlink_to(f"/usr/bin/{tool}" if Path(f"/usr/bin/{tool}").exists() else f"/bin/{tool}")
    stubs = {"id": f"echo {uid}\n", "apt-get": f'echo "$@" >> {tmp_path}/apt-get.calls\n'}
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def make_faketime_stamp(tmp_path: Path, uid: int) -> subprocess.CompletedProcess[str]:
    stamps = tmp_path / "stamps"
    argv = [MAKE, "--no-print-directory", "-f", str(ROOT / "Makefile"), f"STAMPS={stamps}", f"{stamps}/faketime"]
    env = clean_env(PATH=str(stub_path(tmp_path, uid)))
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_faketime_is_never_installed_by_a_user_who_is_not_root(tmp_path: Path) -> None:
    done = make_faketime_stamp(tmp_path, uid=1000)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == FAKETIME_HINT
    assert not (tmp_path / "apt-get.calls").exists()
    assert not (tmp_path / "stamps" / "faketime").exists()


def test_faketime_is_installed_by_root(tmp_path: Path) -> None:
    done = make_faketime_stamp(tmp_path, uid=0)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "installing Debian faketime (for make test-at)\n"
    assert (tmp_path / "apt-get.calls").read_text().splitlines() == ["update -qq", "install -y -qq faketime"]
    assert (tmp_path / "stamps" / "faketime").exists()


def test_no_recipe_runs_apt_get_unless_root() -> None:
    """Every apt-get in the Makefile sits behind the root check (chromium is .ci/run's, which runs as root)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    commands = [line for line in text.splitlines() if line.startswith("\t") and "apt-get install" in line]
    assert commands, "the faketime recipe is gone: update this test"
    for command in commands:
        guard = command.find('[ "$$(id -u)" = 0 ] &&')
        assert 0 <= guard < command.find("apt-get update"), command
