"""One table of exit codes (`eventapi.exits`): the README shows it, the docs name only its codes, and no command
keeps a table (or a bare number) of its own."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from eventapi.exits import COMMANDS, MAX_LINE, MEANINGS, ExitCode, markdown_table, unexpected_line

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# "exit 4", "exits 3", "exit code 0", "(exit 14)": a number a doc says a command exits with.
EXIT_MENTION = re.compile(r"\bexits? (?:code |with )?(\d+)\b", re.IGNORECASE)
# An internal child process, not a command: its parent reads its JSON lines, never its exit status.
NOT_COMMANDS = {"eventapi/local/lambda_runtime.py"}


def readme_table() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- exit-codes:start -->\n", 1)[1].split("<!-- exit-codes:end -->", 1)[0]


def test_readme_table_is_the_enum() -> None:
    """The README's table is `markdown_table()` to the byte (regenerate it from `eventapi.exits` when it differs)."""
    assert readme_table() == markdown_table()


def test_every_code_has_one_meaning_and_its_commands() -> None:
    """Each code is one number (no alias), has a meaning, and names only known commands."""
    assert list(MEANINGS) == list(ExitCode)
    assert len({code.value for code in ExitCode}) == len(ExitCode)
    for code, meaning in MEANINGS.items():
        assert meaning.text and meaning.commands, code
        assert set(meaning.commands) <= set(COMMANDS), code
    assert MEANINGS[ExitCode.OK].commands == MEANINGS[ExitCode.UNEXPECTED].commands == COMMANDS


def test_the_fixed_codes() -> None:
    """0 ok, 1 unexpected, 2 usage as argparse exits on a bad command line, 3 config; Ctrl-C as a shell reports it."""
    with pytest.raises(SystemExit) as bad_usage:
        argparse.ArgumentParser().parse_args(["--no-such-option"])
    assert bad_usage.value.code == ExitCode.USAGE
    assert (ExitCode.OK, ExitCode.UNEXPECTED, ExitCode.CONFIG, ExitCode.INTERRUPTED) == (0, 1, 3, 128 + 2)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_name_only_codes_of_the_table(doc: Path) -> None:
    """Every "exit N" in the README and docs/ is a code of the table (`make`'s own 2 is USAGE's number too)."""
    unknown = [m for m in EXIT_MENTION.findall(doc.read_text(encoding="utf-8")) if int(m) not in set(ExitCode)]
    assert unknown == []


def command_files() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "eventapi").rglob("*.py"))]
    return [
        f
        for f in files
        if str(f.relative_to(ROOT)) not in NOT_COMMANDS
        and (
            f.name.startswith("cli")
            or "__main__" in (text := f.read_text(encoding="utf-8"))
            or "eventapi.exits" in text
        )
    ]


def test_no_other_table_and_no_bare_exit_numbers() -> None:
    """No module defines exit codes of its own (`EXIT_…` constants, another exit-code enum) or returns a bare
    number from a command: each code is `ExitCode.<NAME>`."""
    assert len(command_files()) > 20
    breaches = []
    for file in command_files():
        text = file.read_text(encoding="utf-8")
        where = file.relative_to(ROOT)
        breaches += [f"{where}: {m}" for m in re.findall(r"^\s*EXIT_[A-Z_]+\s*(?::[^=\n]+)?=", text, re.M)]
        if file.name != "exits.py":
            breaches += [f"{where}: {m}" for m in re.findall(r"class \w+\((?:enum\.)?IntEnum\)", text)]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and type(node.value.value) is int:
                breaches.append(f"{where}:{node.lineno}: return {node.value.value}")
    assert breaches == []


def test_unexpected_line() -> None:
    """One line, the message redacted by the caller's function, at most MAX_LINE characters."""
    err = RuntimeError("failed for da2-secret\n\n  at  step\t2")
    assert unexpected_line("error: show", err, lambda s: s.replace("da2-secret", "****")) == (
        "error: show: unexpected RuntimeError: failed for **** at step 2"
    )
    assert (
        unexpected_line("eventapi-local up", KeyboardInterrupt(), str)
        == "eventapi-local up: unexpected KeyboardInterrupt"
    )
    long = unexpected_line("error", ValueError("x" * 2000), str)
    assert (len(long), long[-1], long.count("\n")) == (MAX_LINE, "…", 0)
