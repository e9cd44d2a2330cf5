"""`python -m eventapi.review OLD NEW`: Markdown per stack, exit 25 on unaccepted danger, 14 on unreadable
input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventapi.exits import ExitCode
from eventapi.review.__main__ import main

BROADENED = ["Social-dev:auth:/comments:publish:+API_KEY", "Social-dev:auth:/default:publish:+API_KEY"]


def side(tmp_path: Path, name: str, template: dict[str, Any]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "Social-dev.template.json").write_text(json.dumps(template))
    return folder


def test_dangerous_change_fails_with_its_ids(
    variants: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auth broadened: exit 25 (`DANGEROUS`), the Markdown names each finding, stderr lists the ids to accept."""
    old, new = side(tmp_path, "old", variants["base"]), side(tmp_path, "new", variants["broaden"])
    assert main([str(old), str(new)]) == ExitCode.DANGEROUS
    out, err = capsys.readouterr()
    assert out.startswith(f"# Template review: `{old}` -> `{new}`\n\n**2 dangerous finding(s) not accepted.**")
    assert "## Social-dev\n\n2 danger, 0 warn, 0 info\n" in out
    assert (
        "| 🔴 danger | auth broadened: API_KEY may now publish on /default (was AWS_IAM) | "
        "`Social-dev:auth:/default:publish:+API_KEY` |" in out
    )
    assert err == f"error: 2 dangerous finding(s): {' '.join(BROADENED)}; review them, then --accept each id\n"


def test_accepted_findings_pass(
    variants: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every dangerous finding accepted by id: exit 0, each marked accepted; an id that matches nothing is warned."""
    old, new = side(tmp_path, "old", variants["base"]), side(tmp_path, "new", variants["broaden"])
    argv = [str(old), str(new), *(a for fid in [*BROADENED, "Social-dev:typo"] for a in ("--accept", fid))]
    assert main(argv) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "No dangerous finding left unaccepted." in out
    assert out.count("🔴 danger (accepted)") == 2
    assert err == "warning: --accept Social-dev:typo matches no finding (a typo, or the change is gone)\n"


def test_cloud_assemblies_and_new_stacks(
    variants_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two cloud assemblies: stacks are read from manifest.json; a stack new in NEW and one only in OLD are noted."""
    old = side(tmp_path, "old", {"Resources": {}})
    assert main([str(variants_out), str(variants_out)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "## Social-base\n\nNo change that matters to clients or to security.\n" in out
    assert main([str(old), str(variants_out)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "- `Social-base` is new: every resource is added" in out
    assert "- `Social-dev` is only in OLD (not in NEW's app): not reviewed" in out


def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A side that is no directory, or holds no template: exit 14 (`FILE`) with one line saying what to give."""
    assert main([str(tmp_path / "missing"), str(tmp_path)]) == ExitCode.FILE
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'missing'}: not a directory; give a cloud assembly (cdk.out) or a directory of templates\n"
    )
    assert main([str(tmp_path), str(tmp_path)]) == ExitCode.FILE
    assert capsys.readouterr().err == (
        f"error: {tmp_path}: no manifest.json and no *.template.json; run `make synth` first\n"
    )


def test_accept_file(variants: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ids accepted in a file (one per line, '#' comments give the reason) count like --accept; a missing file is 2."""
    old, new = side(tmp_path, "old", variants["base"]), side(tmp_path, "new", variants["broaden"])
    accept = tmp_path / "accepted.txt"
    accept.write_text("# web clients publish with the key from now on\n" + "\n".join(f"{i}  # ok" for i in BROADENED))
    assert main([str(old), str(new), "--accept-file", str(accept)]) == ExitCode.OK
    capsys.readouterr()
    assert main([str(old), str(new), "--accept-file", str(tmp_path / "none.txt")]) == ExitCode.FILE
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'none.txt'}: cannot read the accept file (No such file or directory)\n"
    )


def test_unexpected_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception the review does not expect: one line naming it, no Markdown, no traceback, exit 1."""

    def broken(path: Path) -> None:
        raise ValueError("boom\n  and a second line")

    monkeypatch.setattr("eventapi.review.__main__.load_side", broken)
    assert main([str(tmp_path), str(tmp_path)]) == ExitCode.UNEXPECTED == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "error: review: unexpected ValueError: boom and a second line\n")
