"""The pins have one home: the requirements-*.txt files. pyproject.toml's extras read them, requirements.txt and
requirements-dev.txt include them with -r, and the build backend's pin is the one the dev environment installs."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS: dict[str, list[str]] = {
    extra: spec["file"] for extra, spec in PYPROJECT["tool"]["setuptools"]["dynamic"]["optional-dependencies"].items()
}
INCLUDE_FILES = ("requirements.txt", "requirements-dev.txt")  # -r lines only, for `pip install -r`
PIN_FILES = sorted(p for p in ROOT.glob("requirements-*.txt") if p.name not in INCLUDE_FILES)


def lines(name: str) -> list[str]:
    """The lines of a requirements file that are neither blank nor comments."""
    text = (ROOT / name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def included(name: str) -> set[str]:
    """The pin files a requirements file brings in through -r, transitively."""
    found: set[str] = set()
    for line in lines(name):
        match = re.fullmatch(r"-r\s+(\S+)", line)
        assert match, f"{name}: {line!r} is not an -r line; pins belong in requirements-*.txt"
        target = match.group(1)
        found |= included(target) if target in INCLUDE_FILES else {target}
    return found


def pins(name: str) -> list[Requirement]:
    return [Requirement(line) for line in lines(name)]


def test_extras_and_their_files() -> None:
    assert set(EXTRAS) == {"client", "cdk", "local", "dev"}
    assert PYPROJECT["project"]["dynamic"] == ["optional-dependencies"]
    assert "optional-dependencies" not in PYPROJECT["project"]  # no second list of pins


def test_every_pin_file_is_in_an_extra_and_in_requirements_dev() -> None:
    """pip install -r requirements-dev.txt and pip install ".[dev]" install the same pins; requirements.txt is the
    runtime: every extra but the tools."""
    names = {p.name for p in PIN_FILES}
    assert set(EXTRAS["dev"]) == names == included("requirements-dev.txt")
    assert included("requirements.txt") == set(EXTRAS["client"]) | set(EXTRAS["cdk"]) | set(EXTRAS["local"])
    assert "requirements-tools.txt" not in included("requirements.txt")


def test_each_distribution_is_pinned_exactly_once() -> None:
    """One pin per distribution (==, one version), in one file: an extra reuses a file rather than repeating a pin."""
    every = [req for file in PIN_FILES for req in pins(file.name)]
    assert all(len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==" for req in every), every
    counts = Counter(canonicalize_name(req.name) for req in every)
    assert [name for name, n in counts.items() if n > 1] == []


def test_build_backend_pin_is_the_dev_pin() -> None:
    """The wheel is built (offline, no build isolation) with the setuptools requirements-tools.txt installs."""
    (setuptools,) = [req for req in pins("requirements-tools.txt") if req.name == "setuptools"]
    assert PYPROJECT["build-system"]["requires"] == [str(setuptools)]
