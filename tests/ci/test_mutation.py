"""`make mutation` (mutation/run.py): its targets name real files, its verdict and exit codes, the equivalents list."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from eventapi.exits import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run = load_run()


@pytest.mark.parametrize("name", sorted(run.TARGETS))
def test_every_target_names_files_and_tests_that_exist(name: str) -> None:
    """A target whose modules or tests were renamed away would mutate nothing, or test nothing, and score 100%."""
    target = run.TARGETS[name]
    assert run.mutated_modules(target), f"{name}: {target.modules} match no file"
    for pattern in target.modules:
        assert list(ROOT.glob(pattern)), f"{name}: {pattern} matches no file"
    for tests in run.test_selection(target):
        if not tests.startswith("-"):
            assert (ROOT / tests).exists(), f"{name}: {tests} does not exist"


def test_the_targets_cover_the_modules_that_guard_security() -> None:
    """The modules the project promises to mutation-test stay in the list."""
    modules = {m for target in run.TARGETS.values() for m in run.mutated_modules(target)}
    for expected in (
        "eventapi/protocol/auth.py",
        "eventapi/protocol/channels.py",
        "eventapi/protocol/validation.py",
        "eventapi/protocol/session.py",
        "eventapi/config/auth.py",
        "eventapi/deploy/keys.py",
        "eventapi/deploy/params.py",
        "eventapi/local/auth.py",
        "eventapi/local/pipeline.py",
        "eventapi/local/subscriptions.py",
        "eventapi/client/auth.py",
        "eventapi/client/session.py",
    ):
        assert expected in modules


def test_every_listed_equivalent_has_a_reason_and_names_a_target_module() -> None:
    """The checked-in list parses, and each entry belongs to a module some target mutates."""
    equivalents = run.read_equivalents()
    assert equivalents
    prefixes = tuple(
        m.removesuffix(".py").replace("/", ".") + "."
        for target in run.TARGETS.values()
        for m in run.mutated_modules(target)
    )
    assert [name for name in equivalents if not name.startswith(prefixes)] == []


def test_an_equivalent_without_a_reason_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unexplained exclusion is refused: one line naming the file, the line and the mutant; exit CONFIG."""
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# a comment\n\neventapi.protocol.channels.x_parse_channel__mutmut_1\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "EQUIVALENTS", listed)
        assert run.run(["protocol"]) == ExitCode.CONFIG
    assert capsys.readouterr().err == (
        "mutation: equivalents.txt:3: eventapi.protocol.channels.x_parse_channel__mutmut_1 has no reason; "
        "say why it cannot change behaviour\n"
    )


def test_an_unknown_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in TARGETS='...' names the choices and exits USAGE before any work."""
    with pytest.raises(SystemExit) as exit_info:
        run.run(["protocl"])
    assert exit_info.value.code == ExitCode.USAGE
    assert "unknown target 'protocl'; choose from protocol, config, deploy, local, client" in capsys.readouterr().err


def fake_run(tmp_path: Path, statuses: dict[str, int]) -> tuple[Path, run.Target]:
    """A finished mutmut run of one module: its .meta file with an exit code per mutant."""
    module = tmp_path / "pkg" / "mod.py"
    module.parent.mkdir()
    module.write_text("")
    meta = tmp_path / "work" / "mutants" / "pkg" / "mod.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": statuses}))
    return tmp_path / "work", run.Target(modules=("pkg/mod.py",), tests=("tests",))


def test_scores_exclude_equivalents_and_count_timeouts_as_caught(tmp_path: Path) -> None:
    """Killed (a test failed) and timeout count as caught; a listed equivalent leaves the denominator."""
    work, target = fake_run(
        tmp_path,
        {
            "pkg.mod.x_f__mutmut_1": 1,
            "pkg.mod.x_f__mutmut_2": 0,
            "pkg.mod.x_f__mutmut_3": 0,
            "pkg.mod.x_f__mutmut_4": 36,
        },
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "ROOT", tmp_path)
        (score,) = run.scores(work, target, {"pkg.mod.x_f__mutmut_3": "why"})
    assert score.module == "pkg/mod.py"
    assert score.killed == 2
    assert score.survivors == ["pkg.mod.x_f__mutmut_2"]
    assert score.score == pytest.approx(100 * 2 / 3)


def test_a_stale_equivalent_fails_the_run(tmp_path: Path) -> None:
    """A listed equivalent that a test now kills, or that no longer exists, is reported: the list is never trusted."""
    work, target = fake_run(tmp_path, {"pkg.mod.x_f__mutmut_1": 1})
    listed = {"pkg.mod.x_f__mutmut_1": "why", "pkg.mod.x_f__mutmut_9": "why", "other.x_g__mutmut_1": "why"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "ROOT", tmp_path)
        results = run.scores(work, target, listed)
        problems = run.stale_equivalents(results, listed, target)
    assert problems == [
        "pkg.mod.x_f__mutmut_1: listed as equivalent but a test kills it (remove it from the list)",
        "pkg.mod.x_f__mutmut_9: listed as equivalent but no such mutant (the code changed: review the list)",
    ]


@pytest.mark.parametrize(("exit_codes", "expected"), [({"1": 1, "2": 1}, ExitCode.OK), ({"1": 1, "2": 0}, 26)])
def test_below_the_threshold_exits_its_own_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exit_codes: dict[str, int], expected: int
) -> None:
    """A score under 95% exits BELOW_THRESHOLD (26), not 1, which the exit table keeps for the unexpected."""
    work, target = fake_run(tmp_path, {f"pkg.mod.x_f__mutmut_{k}": v for k, v in exit_codes.items()})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "ROOT", tmp_path)
        mp.setattr(run, "TARGETS", {"one": target})
        mp.setattr(run, "prepare", lambda name, target: work)
        mp.setattr(run, "run_mutmut", lambda work, max_children: None)
        mp.setattr(run, "read_equivalents", lambda path: {})
        assert run.run(["one"]) == expected
    out = capsys.readouterr().out
    assert ("below 95%: pkg/mod.py" in out) == (expected != ExitCode.OK)
