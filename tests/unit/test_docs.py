"""Docs that state facts the code defines: docs/protocol.md's tables against the constants, section pointers in
code comments against its headings, and `from eventapi… import …` lines in docs and docstrings against the modules.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from eventapi.protocol import limits

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_DOC = ROOT / "docs" / "protocol.md"
LIMITS_SECTION = "Limits"
CODE_SPAN = re.compile(r"`([^`]*)`")


def headings(text: str) -> list[str]:
    """The `##` and `###` headings of a markdown text, in order."""
    return [line.lstrip("#").strip() for line in text.splitlines() if re.match(r"#{2,3} ", line)]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def table_rows(text: str) -> list[tuple[str, str, str]]:
    """(`##` section, first cell, second cell) of every table row whose first cell is one code span."""
    rows: list[tuple[str, str, str]] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 2 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows.append((section, cells[0].strip("`"), cells[1]))
    return rows


def documented_value(cell: str) -> str:
    """The first code span of a value cell: the value exactly as the code writes it."""
    match = CODE_SPAN.search(cell)
    assert match is not None, f"no `value` in the cell {cell!r}"
    return match.group(1)


def as_written(value: Any) -> str:
    return value.pattern if isinstance(value, re.Pattern) else str(value)


PROTOCOL_TEXT = PROTOCOL_DOC.read_text(encoding="utf-8")
ROWS = {name: (section, cell) for section, name, cell in table_rows(PROTOCOL_TEXT)}
CONSTANTS = {name: value for name, value in vars(limits).items() if name.isupper() and not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_every_protocol_constant_is_documented_with_its_value(name: str) -> None:
    """Each constant of eventapi/protocol/limits.py has a row in docs/protocol.md holding its exact value; every
    number is in the Limits table."""
    assert name in ROWS, f"docs/protocol.md has no table row for `{name}`"
    section, cell = ROWS[name]
    assert documented_value(cell) == as_written(CONSTANTS[name])
    if isinstance(CONSTANTS[name], int):
        assert section == LIMITS_SECTION


def resolve(dotted: str) -> Any:
    """`eventapi.local.LocalSettings.max_queued_bytes` -> the object (a dataclass field gives its default)."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            target = getattr(target, attr)
        return target
    raise AssertionError(f"{dotted} names no module")


def test_limits_section_names_only_what_the_code_defines() -> None:
    """Every row of the Limits section is a constant of limits.py, or a dotted name of the code whose value is the
    one written: the table cannot keep a limit the code dropped or changed."""
    limit_rows = [(name, cell) for section, name, cell in table_rows(PROTOCOL_TEXT) if section == LIMITS_SECTION]
    assert len(limit_rows) > len([v for v in CONSTANTS.values() if isinstance(v, int)])
    for name, cell in limit_rows:
        value = CONSTANTS[name] if "." not in name else resolve(name)
        assert documented_value(cell) == as_written(value), name


def test_protocol_doc_links_resolve() -> None:
    """Every `](#anchor)` of docs/protocol.md names one of its headings."""
    anchors = {anchor(h) for h in headings(PROTOCOL_TEXT)}
    links = set(re.findall(r"\]\(#([^)]+)\)", PROTOCOL_TEXT))
    assert links and links <= anchors, sorted(links - anchors)


SECTION_POINTER = re.compile(r"docs/protocol\.md, ([^\n]*)")
ANCHOR_LINK = re.compile(r"(?:docs/)?protocol\.md#([\w-]+)")


def pointers() -> list[tuple[str, str, str]]:
    """(file, "section" or "anchor", what follows) of every `docs/protocol.md, <Section>` and `protocol.md#<anchor>`
    in the package, the docs and the README."""
    found = []
    for path in sorted(
        [*ROOT.joinpath("eventapi").rglob("*.py"), *ROOT.joinpath("docs").glob("*.md"), ROOT / "README.md"]
    ):
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        found += [(where, "section", m.group(1)) for m in SECTION_POINTER.finditer(text)]
        found += [(where, "anchor", m.group(1)) for m in ANCHOR_LINK.finditer(text)]
    return found


def test_section_pointers_name_real_sections() -> None:
    """A comment saying "docs/protocol.md, Limits" starts with a heading that exists, and a link to
    `protocol.md#limits` names an anchor that exists: a renamed section cannot leave pointers behind."""
    names = headings(PROTOCOL_TEXT)
    anchors = {anchor(h) for h in names}
    dangling = [
        f"{where}: docs/protocol.md {kind} {rest!r}"
        for where, kind, rest in pointers()
        if not (rest in anchors if kind == "anchor" else any(rest.startswith(n) for n in names))
    ]
    assert dangling == []


IMPORT_LINE = re.compile(r"^\s*(?:>>> )?from (eventapi(?:\.\w+)*) import ([\w, ]+?)\s*(?:#.*)?$")


def module_names(module: str) -> set[str] | None:
    """Names a module of this repository defines at its top level (and its submodules), read from its source;
    None when there is no such module."""
    base = ROOT.joinpath(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not path.exists():
        return None
    names = {p.stem for p in base.iterdir()} if base.is_dir() else set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            names.update(ast.literal_eval(node.value))  # a package's lazy exports (PEP 562 __getattr__)
    return names


def documented_imports() -> list[tuple[str, str, str]]:
    """(where, module, name) of every `from eventapi… import …` line in the docs and in docstrings."""
    markdown = [ROOT / "README.md", *sorted(ROOT.joinpath("docs").glob("*.md"))]
    texts = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in markdown]
    for path in sorted(ROOT.joinpath("eventapi").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append((str(path.relative_to(ROOT)), doc))
    found = []
    for where, text in texts:
        for line in text.splitlines():
            match = IMPORT_LINE.match(line)
            if match:
                found.extend((where, match.group(1), n.strip()) for n in match.group(2).split(",") if n.strip())
    return found


def test_documented_imports_exist() -> None:
    """Every `from eventapi.x import y` shown to users names a module and a name that exist (a copied example
    must not raise ImportError)."""
    found = documented_imports()
    missing = [
        f"{where}: from {module} import {name}"
        for where, module, name in found
        if name not in (module_names(module) or set())
    ]
    assert len(found) > 5
    assert missing == []
