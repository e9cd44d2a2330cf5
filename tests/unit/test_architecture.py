"""The import rules of docs/architecture.md, checked on the source (which room may import which), and the length
rule: no function over 60 lines without a `# Long:` comment saying why."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventapi import client as client_package

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
    assert {"protocol", "deploy", "client", "local", "config", "exits.py"} <= set(FORBIDDEN)
    assert all(banned and all(banned) for banned in FORBIDDEN.values())


# --- what an import loads, seen from a fresh interpreter --------------------------------------------------------

ROOT = PACKAGE.parent
# Libraries that do I/O: the AWS SDK and CDK, aiohttp and its parts, and the standard library's sockets.
IO_LIBRARIES = (
    "aiohttp",
    "yarl",
    "multidict",
    "boto3",
    "botocore",
    "urllib3",
    "s3transfer",
    "aws_cdk",
    "jsii",
    "socket",
    "ssl",
    "selectors",
    "asyncio",
    "http.client",
    "urllib.request",
)


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
    assert (
        named(
            set(outside_stdlib(modules)),
            "eventapi.config",
            "eventapi.client",
            "eventapi.local",
            "eventapi.deploy",
            "eventapi.infra",
            "eventapi.outputs",
        )
        == []
    )
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


@pytest.mark.parametrize(
    ("statement", "unloaded"),
    [
        # Reading a config, or naming the client's errors, needs no socket machinery.
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
    assert named(loaded_by(statement), unloaded) == []


def test_the_import_check_sees_a_loaded_module() -> None:
    """The check above can fail: using the client does load aiohttp."""
    assert "aiohttp" in named(loaded_by("from eventapi.client import EventsClient"), "aiohttp")


def test_client_exports_each_public_name_from_its_home() -> None:
    """`eventapi.client`'s lazy names: `__all__`, the modules `__getattr__` imports them from, and the imports
    the type checker reads name the same objects."""
    tree = ast.parse((PACKAGE / "client" / "__init__.py").read_text(encoding="utf-8"))
    typed = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and (node.module.startswith("eventapi.client.") or node.module == "eventapi.contract")
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


def test_layout_is_ruff_formats() -> None:
    """No `# fmt: skip` or `# fmt: off` in the package: one formatter decides the layout, no hand-kept exceptions."""
    marked = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "# fmt: skip" in line or "# fmt: off" in line
    ]
    assert marked == []


MAX_FUNCTION_LINES = 60
LONG_MARKER = "# Long:"  # the comment right above a longer function's `def` (or decorators) says why it stays long


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    """`path:line name (N lines)` for each function of `path` over MAX_FUNCTION_LINES with no `# Long: <why>` above."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[str] = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first > 1 else ""
        explained = above.startswith(LONG_MARKER) and above.removeprefix(LONG_MARKER).strip() != ""
        if length > MAX_FUNCTION_LINES and not explained:
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_functions_are_short_or_say_why() -> None:
    """No function in the package runs over 60 lines unless a `# Long:` comment right above it says why."""
    assert [f for path in sorted(PACKAGE.rglob("*.py")) for f in long_functions(path)] == []


def test_long_function_check_sees_an_unexplained_one(tmp_path: Path) -> None:
    """The check above can fail: it names a long function (decorated or not) unless `# Long: <why>` is right above."""
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    file = tmp_path / "m.py"
    file.write_text(
        "def short():\n    return 1\n\n"
        f"def bare():\n{body}\n"
        f"@staticmethod\ndef decorated():\n{body}\n"
        f"# Long: one table, read top to bottom\n@staticmethod\ndef explained():\n{body}\n"
        f"# Long:\ndef no_reason():\n{body}\n"
        f"# Long: the marker must be right above\n\ndef too_far():\n{body}"
    )
    assert long_functions(file, tmp_path) == [
        "m.py:4 bare (61 lines)",
        "m.py:67 decorated (61 lines)",
        "m.py:194 no_reason (61 lines)",
        "m.py:258 too_far (61 lines)",
    ]
