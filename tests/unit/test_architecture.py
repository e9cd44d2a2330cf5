"""The import rules of docs/architecture.md, checked on the source: which room may import which."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eventapi import client as client_package

PACKAGE = Path(__file__).resolve().parents[2] / "eventapi"

RULES = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def read_rules() -> dict[str, tuple[str, ...]]:
    """The import rules table of docs/architecture.md: room -> module prefixes it must never import."""
    text = RULES.read_text(encoding="utf-8")
    table = text.split("<!-- import-rules:start -->")[1].split("<!-- import-rules:end -->")[0]
    rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()[2:]]
    return {room.strip().strip("`"): tuple(n.strip().strip("`") for n in banned.split(",")) for room, banned in rows}


FORBIDDEN = read_rules()


def imported_modules(path: Path, module: str | None = None) -> set[str]:
    """Every module a file imports, relative imports resolved against `module` (default: the file's own name)."""
    parts = (module or ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)).split(".")
    package = parts if path.name == "__init__.py" else parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_doors(part: str) -> None:
    """No module of the package imports what its room forbids (top-level or lazily inside a function)."""
    files = [PACKAGE / part] if part.endswith(".py") else sorted((PACKAGE / part).rglob("*.py"))
    assert files and all(f.exists() for f in files)
    breaches = [
        f"{file.relative_to(PACKAGE.parent)} imports {name}"
        for file in files
        for name in sorted(imported_modules(file))
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[part])
    ]
    assert breaches == []


def test_rules_table_is_read() -> None:
    """The table parses into every room it names, each with at least one banned import."""
    assert {"protocol", "deploy", "client", "local", "config"} <= set(FORBIDDEN)
    assert all(banned and all(banned) for banned in FORBIDDEN.values())


def modules_loaded(statement: str, prefix: str) -> list[str]:
    """The modules named `prefix` (or under it) that a fresh interpreter holds after running `statement`."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in sys.modules if m == {prefix!r} "
    code += f"or m.startswith({prefix!r} + '.'))))"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent, timeout=60
    )
    loaded: list[str] = json.loads(run.stdout)
    return loaded


@pytest.mark.parametrize(
    ("statement", "unloaded"),
    [
        # The deploy step (and its Lambda bundle, which has no aiohttp) reads the client's config module.
        ("import eventapi.client.config", "aiohttp"),
        ("import eventapi.client.errors", "aiohttp"),
        ("import eventapi.client.auth", "aiohttp"),
        ("import eventapi.client.results", "aiohttp"),
        ("import eventapi.client", "aiohttp"),
        # The client and the local Event API share only the protocol: neither loads the other.
        ("import eventapi.client", "eventapi.local"),
        ("from eventapi.client import EventsClient, Subscription", "eventapi.local"),
        ("import eventapi.local", "eventapi.client"),
    ],
)
def test_imports_load_only_what_they_need(statement: str, unloaded: str) -> None:
    """Importing one module of a package loads neither the rest of it nor a room it does not use."""
    assert modules_loaded(statement, unloaded) == []


def test_the_import_check_sees_a_loaded_module() -> None:
    """The check above can fail: using the client does load aiohttp."""
    assert "aiohttp" in modules_loaded("from eventapi.client import EventsClient", "aiohttp")


def test_client_exports_each_public_name_from_its_home() -> None:
    """`eventapi.client`'s lazy names: `__all__`, the modules `__getattr__` imports them from, and the imports
    the type checker reads name the same objects."""
    tree = ast.parse((PACKAGE / "client" / "__init__.py").read_text(encoding="utf-8"))
    typed = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("eventapi.client.")
        for alias in node.names
    }
    assert typed == client_package._HOME_OF
    assert sorted(client_package.__all__) == sorted(typed)
    for name in client_package.__all__:
        assert getattr(client_package, name) is getattr(importlib.import_module(typed[name]), name)
    assert set(client_package.__all__) <= set(dir(client_package))
    with pytest.raises(AttributeError, match=r"^module 'eventapi\.client' has no attribute 'Nope'$"):
        getattr(client_package, "Nope")  # noqa: B009 - the name is the point


def test_relative_imports_are_seen(tmp_path: Path) -> None:
    """A relative import counts as the absolute one it stands for, so a package room cannot slip through a door."""
    file = tmp_path / "stage.py"
    file.write_text("from ..infra import rules\nfrom . import fields\nfrom .model import StageConfig\n")
    assert imported_modules(file, "eventapi.config.stage") == {
        "eventapi.infra.rules",
        "eventapi.config.fields",
        "eventapi.config.model.StageConfig",
    }
    init = tmp_path / "__init__.py"
    init.write_text("from .stage import parse_stage\n")
    assert imported_modules(init, "eventapi.config") == {"eventapi.config.stage.parse_stage"}
