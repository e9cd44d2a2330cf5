"""The doors of ARCHITECTURE.md, checked on the source: which package may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "eventapi"

# package -> module prefixes it must never import
FORBIDDEN = {
    "protocol": ("aiohttp", "boto3", "aws_cdk", "eventapi.client", "eventapi.local", "eventapi.deploy"),
    "deploy": ("aws_cdk", "cdk_nag", "constructs", "eventapi.local", "eventapi.infra"),
    "client": ("aws_cdk", "eventapi.local", "eventapi.deploy", "eventapi.infra"),
    "local": ("aws_cdk", "eventapi.client", "eventapi.infra"),
    "review": ("aws_cdk", "boto3", "botocore", "aiohttp", "eventapi.client", "eventapi.deploy", "eventapi.local"),
    "config.py": ("aws_cdk", "boto3", "botocore", "aiohttp"),
    "outputs.py": ("aws_cdk", "boto3", "botocore", "aiohttp"),
    "trust.py": ("aws_cdk", "boto3", "botocore", "aiohttp", "eventapi.client", "eventapi.local"),
}


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
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[part])
    ]
    assert breaches == []
