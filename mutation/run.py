"""Mutation testing: does a test fail when the code that guards security and correctness is changed?

`make mutation` (or `python mutation/run.py [target ...]`) runs mutmut on each target below, each against the
tests that exercise it, and prints the score per module. A mutant that survives is a change no test notices:
a missing test, or an equivalent mutant (one that cannot change behaviour), listed in mutation/equivalents.txt
with the reason. Exits BELOW_THRESHOLD (26, the project's exit-code table) when a module scores below THRESHOLD
with its equivalents excluded, or when the list names a mutant that is gone or that a test kills.

Each target runs in its own directory, mutants/<target>/ (git ignores it, and a run starts it afresh so a result
never comes from stale tests); mutmut's own commands work there afterwards:
`cd mutants/protocol && ../../.venv/bin/python -m mutmut show <mutant>`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code  # mutmut's own reading of its exit codes

from eventapi.exits import ExitCode, unexpected_line

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
EQUIVALENTS = Path(__file__).resolve().parent / "equivalents.txt"
THRESHOLD = 95.0


@dataclass(frozen=True)
class Target:
    """Modules to mutate and the tests that exercise them (narrow: every mutant reruns the tests that reach it)."""

    modules: tuple[str, ...]
    tests: tuple[str, ...]


# The one list of what is mutated and by which tests.
TARGETS: dict[str, Target] = {
    # The fuzz tests' 200 examples each would cost minutes per mutant; the example tests pin the behaviour.
    "protocol": Target(
        modules=("eventapi/protocol/*.py",),
        tests=("tests/unit/protocol", "--ignore=tests/unit/protocol/test_protocol_fuzz.py"),
    ),
    "config": Target(modules=("eventapi/config/*.py",), tests=("tests/unit/test_config*.py",)),
    # The whole of tests/deploy takes minutes per run (moto, CLI subprocesses): the tests of these two modules.
    "deploy": Target(
        modules=("eventapi/deploy/keys.py", "eventapi/deploy/params.py"),
        tests=("tests/deploy/test_key_rules.py", "tests/deploy/test_ssm_params.py"),
    ),
    # The local server's auth, its one subscribe/publish path (which authorizes both), and its subscription index;
    # test_pipeline.py drives the handler contract with a stand-in runner (test_handlers.py needs Node per mutant).
    "local": Target(
        modules=("eventapi/local/auth.py", "eventapi/local/pipeline.py", "eventapi/local/subscriptions.py"),
        tests=(
            "tests/local/test_auth.py",
            "tests/local/test_ws_protocol.py",
            "tests/local/test_http.py",
            "tests/local/test_subscriptions.py",
            "tests/local/test_pipeline.py",
        ),
    ),
    # The client's auth objects and the session that refuses every redirect.
    "client": Target(
        modules=("eventapi/client/auth.py", "eventapi/client/session.py"),
        tests=("tests/client",),
    ),
}

# Top-level entries never linked into a run's directory: git's, the run directories themselves, caches.
NOT_LINKED = {".git", "mutants", ".stamps", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
# What mutmut copies into mutants/<target>/mutants/ itself (the package it mutates, the tests, pytest's config).
COPIED_BY_MUTMUT = ("eventapi", "tests", "pyproject.toml")

# Every test run: no cache in the copy, and hypothesis's `mutation` profile (tests/conftest.py): few, fixed examples.
PYTEST_ARGS = ("-p", "no:cacheprovider", "--hypothesis-profile=mutation")

# mutmut's exit-code classes that count as caught: a failing test, a test run that never ends.
CAUGHT = {"killed", "timeout"}


@dataclass(frozen=True)
class Score:
    """One mutated module's results, equivalents set apart."""

    module: str
    statuses: dict[str, str]  # mutant name -> mutmut's status
    equivalent: frozenset[str]

    @property
    def killed(self) -> int:
        return sum(status in CAUGHT for status in self.statuses.values())

    @property
    def survivors(self) -> list[str]:
        return sorted(m for m, s in self.statuses.items() if s not in CAUGHT and m not in self.equivalent)

    @property
    def score(self) -> float:
        counted = len(self.statuses) - len(self.equivalent)
        return 100.0 if counted == 0 else 100.0 * self.killed / counted


def read_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """mutant name -> why it cannot change behaviour. One per line: `<mutant> <reason>`; `#` starts a comment."""
    equivalents: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise ConfigError(f"{path.name}:{number}: {name} has no reason; say why it cannot change behaviour")
        equivalents[name] = reason.strip()
    return equivalents


def prepare(name: str, target: Target) -> Path:
    """A fresh directory for one target: links to the project, and mutmut's config naming what to mutate."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    (work / "mutants").mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in NOT_LINKED:
            continue
        # mutmut copies (and mutates) these itself; everything else the tests read is linked where they run.
        link = work / entry.name if entry.name in COPIED_BY_MUTMUT else work / "mutants" / entry.name
        link.symlink_to(entry)
    lines = ["[mutmut]", "source_paths = eventapi", "only_mutate ="]
    lines += [f"    {module}" for module in target.modules]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {tests}" for tests in test_selection(target)]
    lines += ["pytest_add_cli_args ="] + [f"    {arg}" for arg in PYTEST_ARGS]
    lines += ["use_git_change_detection = false"]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")
    return work


def test_selection(target: Target) -> list[str]:
    """The pytest arguments selecting a target's tests, file patterns expanded (pytest does not expand them)."""
    args = []
    for arg in target.tests:
        matches = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(arg)) if "*" in arg and arg[0] != "-" else [arg]
        args += matches
    return args


def run_mutmut(work: Path, max_children: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the mutated copy, never the project's
    log = work / "mutmut.log"
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        print(log.read_text()[-4000:], file=sys.stderr)
        raise MutmutFailed(f"mutmut failed in {work} (exit {done.returncode}); full log: {log}")


def mutated_modules(target: Target) -> list[str]:
    return sorted({str(p.relative_to(ROOT)) for pattern in target.modules for p in ROOT.glob(pattern)})


def scores(work: Path, target: Target, equivalents: dict[str, str]) -> list[Score]:
    result = []
    for module in mutated_modules(target):
        meta = work / "mutants" / f"{module}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        statuses = {name: status_by_exit_code[code] for name, code in codes.items()}
        result.append(Score(module, statuses, frozenset(m for m in statuses if m in equivalents)))
    return result


def stale_equivalents(results: list[Score], equivalents: dict[str, str], target: Target) -> list[str]:
    """Listed equivalents a test now kills, or that no longer exist: the list must be reviewed, not trusted."""
    problems = []
    prefixes = {m.removesuffix(".py").replace("/", ".") + "." for m in mutated_modules(target)}
    statuses = {name: status for score in results for name, status in score.statuses.items()}
    for name in equivalents:
        if not any(name.startswith(prefix) for prefix in prefixes):
            continue
        if name not in statuses:
            problems.append(f"{name}: listed as equivalent but no such mutant (the code changed: review the list)")
        elif statuses[name] in CAUGHT:
            problems.append(f"{name}: listed as equivalent but a test kills it (remove it from the list)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", metavar="target", help="default: all of " + ", ".join(TARGETS))
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; choose from {', '.join(TARGETS)}")
    equivalents = read_equivalents(EQUIVALENTS)
    rows: list[tuple[str, Score]] = []
    problems: list[str] = []
    for name in args.targets or list(TARGETS):
        target = TARGETS[name]
        if not mutated_modules(target):
            raise ConfigError(
                f"target {name}: {', '.join(target.modules)} matches no file; update TARGETS in {__file__}"
            )
        print(f"== {name}: {', '.join(target.modules)} against {' '.join(target.tests)}", flush=True)
        started = time.monotonic()
        work = prepare(name, target)
        run_mutmut(work, args.max_children)
        results = scores(work, target, equivalents)
        minutes, seconds = divmod(round(time.monotonic() - started), 60)
        print(f"   {name}: {minutes}m{seconds:02}s", flush=True)
        rows += [(name, score) for score in results]
        problems += stale_equivalents(results, equivalents, target)
    print_table(rows)
    for problem in problems:
        print(f"equivalents.txt: {problem}")
    low = [score.module for _, score in rows if score.score < THRESHOLD]
    if low:
        print(f"below {THRESHOLD:.0f}%: {', '.join(low)}")
    return ExitCode.BELOW_THRESHOLD if low or problems else ExitCode.OK


def print_table(rows: list[tuple[str, Score]]) -> None:
    header = ("module", "mutants", "killed", "equivalent", "survived", "score")
    width = max([len(header[0])] + [len(score.module) for _, score in rows])
    print(f"\n{header[0]:<{width}} " + " ".join(f"{h:>10}" for h in header[1:]))
    for _, s in rows:
        score = f"{s.score:.1f}%" if s.statuses else "-"  # no function, nothing to mutate (constants only)
        cells = (len(s.statuses), s.killed, len(s.equivalent), len(s.survivors), score)
        print(f"{s.module:<{width}} " + " ".join(f"{c:>10}" for c in cells))
    survivors = [(name, s.statuses[m], m) for name, s in rows for m in s.survivors]
    for name, status, mutant in survivors:
        print(f"  {status}: {mutant}  [{name}]")
    if survivors:
        print("each one's change: cd mutants/<target> && ../../.venv/bin/mutmut show <mutant>")


class ConfigError(Exception):
    """The targets or the equivalents list are wrong: one line, exit CONFIG."""


class MutmutFailed(Exception):
    """mutmut itself failed (not a mutant: its set-up, e.g. the tests fail unmutated): exit UNEXPECTED."""


def run(argv: list[str] | None = None) -> int:
    """`main` with every failure as one line on stderr and its code from the exit-code table."""
    try:
        return main(argv)
    except ConfigError as err:
        print(f"mutation: {err}", file=sys.stderr)
        return ExitCode.CONFIG
    except MutmutFailed as err:
        print(f"mutation: {err}", file=sys.stderr)
        return ExitCode.UNEXPECTED
    except Exception as err:  # one line, never a traceback
        print(unexpected_line("mutation", err, str), file=sys.stderr)
        return ExitCode.UNEXPECTED


if __name__ == "__main__":
    sys.exit(run())
