"""The import rules of docs/architecture.md, checked on the source: which room may import which."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
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


def test_rules_table_is_read() -> None:
    """The table parses into every room it names, each with at least one banned import."""
    assert {"protocol", "deploy", "client", "local", "config.py"} <= set(FORBIDDEN)
    assert all(banned and all(banned) for banned in FORBIDDEN.values())


# --- what an import loads, seen from a fresh interpreter --------------------------------------------------------

ROOT = PACKAGE.parent
# Libraries that do I/O: the AWS SDK and CDK, aiohttp and its parts, and the standard library's sockets.
IO_LIBRARIES = ("aiohttp", "yarl", "multidict", "boto3", "botocore", "urllib3", "s3transfer", "aws_cdk", "jsii",
                "socket", "ssl", "selectors", "asyncio", "http.client", "urllib.request")  # fmt: skip


def loaded_by(code: str) -> set[str]:
    """The modules a fresh interpreter loads running `code` (those of its start-up left out), from this checkout."""
    script = f"import sys\nbefore = set(sys.modules)\n{code}\nnew = set(sys.modules) - before\n"
    script += "import eventapi, json\nprint(json.dumps([eventapi.__file__, sorted(new)]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    origin, modules = json.loads(done.stdout.splitlines()[-1])
    assert origin == str(PACKAGE / "__init__.py")
    return set(modules)


def named(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def outside_stdlib(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] not in sys.stdlib_module_names)


def test_deploy_loads_neither_aiohttp_nor_the_cdk() -> None:
    """`import eventapi.deploy` (what the pipeline and the renewer's Lambda load) brings no aiohttp, no CDK, not
    the client, and no AWS SDK until a command makes its first client."""
    modules = loaded_by("import eventapi.deploy")
    assert "eventapi.deploy" in modules
    assert named(modules, "aiohttp", "aws_cdk", "jsii", "constructs", "eventapi.client", "boto3", "botocore") == []


def test_protocol_loads_no_io_library() -> None:
    """`import eventapi.protocol` loads the standard library only, none of its sockets, and not the stage config."""
    modules = loaded_by("import eventapi.protocol")
    assert "eventapi.protocol.messages" in modules
    assert named(modules, *IO_LIBRARIES, "eventapi.config") == []
    assert [m for m in outside_stdlib(modules) if not m.startswith("eventapi.protocol")] == ["eventapi"]


def test_contract_loads_only_the_standard_library() -> None:
    """`import eventapi.contract` loads the standard library, plus the protocol vocabulary it names (auth modes,
    endpoint paths: itself standard library only, above); no other room of the package."""
    modules = loaded_by("import eventapi.contract")
    assert "eventapi.contract" in modules
    assert named(modules, *IO_LIBRARIES) == []
    assert named(set(outside_stdlib(modules)), "eventapi.config", "eventapi.client", "eventapi.local",
                 "eventapi.deploy", "eventapi.infra", "eventapi.outputs") == []  # fmt: skip
    assert all(
        m in ("eventapi", "eventapi.contract") or m.startswith("eventapi.protocol") for m in outside_stdlib(modules)
    )


def test_deploy_help_and_policy_need_no_aws_sdk() -> None:
    """`python -m eventapi.deploy --help` and `policy` run without boto3 or botocore being imported."""
    code = f"""
import contextlib, io
from eventapi.deploy.__main__ import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(["--help"])
    except SystemExit as exit:
        assert exit.code == 0, exit.code
    assert main(["policy", "--stage", "dev", "--project-root", {str(ROOT)!r}]) == 0
assert "usage: python -m eventapi.deploy" in out.getvalue() and '"Version": "2012-10-17"' in out.getvalue()
"""
    modules = loaded_by(code)
    assert "eventapi.deploy.policy" in modules
    assert named(modules, "boto3", "botocore") == []
