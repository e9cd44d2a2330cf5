"""The import rules of docs/architecture.md, checked on the source: which room may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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
