"""The import rules of docs/architecture.md, checked on the source: which room may import which."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "eventapi"

RULES = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
STDLIB_ONLY = "anything but the standard library"  # a rule that bans every import outside the stdlib


def read_rules() -> dict[str, tuple[str, ...]]:
    """The import rules table of docs/architecture.md: room -> module prefixes it must never import."""
    text = RULES.read_text(encoding="utf-8")
    table = text.split("<!-- import-rules:start -->")[1].split("<!-- import-rules:end -->")[0]
    rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()[2:]]
    return {room.strip().strip("`"): tuple(n.strip().strip("`") for n in banned.split(",")) for room, banned in rows}


FORBIDDEN = read_rules()


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
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
        if banned_import(name, FORBIDDEN[part])
    ]
    assert breaches == []


def banned_import(name: str, banned: tuple[str, ...]) -> bool:
    if banned == (STDLIB_ONLY,):
        top = name.partition(".")[0]
        return top != "__future__" and top not in sys.stdlib_module_names
    return any(name == b or name.startswith(b + ".") for b in banned)


def test_stdlib_only_rule_bans_the_project_and_libraries() -> None:
    """The `anything but the standard library` rule lets `enum` and `typing` through, and nothing else."""
    assert [n for n in ("enum", "typing", "collections.abc", "__future__") if banned_import(n, (STDLIB_ONLY,))] == []
    assert all(banned_import(n, (STDLIB_ONLY,)) for n in ("eventapi.config", "boto3", "aws_cdk.aws_iam", "aiohttp"))


def test_rules_table_is_read() -> None:
    """The table parses into every room it names, each with at least one banned import."""
    assert {"protocol", "deploy", "client", "local", "config.py", "exits.py"} <= set(FORBIDDEN)
    assert all(banned and all(banned) for banned in FORBIDDEN.values())
