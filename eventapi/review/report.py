"""Reviewing two sides stack by stack, and the Markdown a reviewer (or a PR's job summary) reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from eventapi.review.findings import Finding, Severity, review_stack
from eventapi.review.templates import StackTemplate

MARKS = {Severity.DANGER: "🔴 danger", Severity.WARN: "🟠 warn", Severity.INFO: "⚪ info"}


@dataclass
class Review:
    findings: dict[str, list[Finding]]  # stack -> findings, most severe first
    notes: list[str] = field(default_factory=list)  # stacks on one side only
    accepted: frozenset[str] = frozenset()

    @property
    def blocking(self) -> list[Finding]:
        """Dangerous findings nobody accepted."""
        return [
            f
            for found in self.findings.values()
            for f in found
            if f.severity is Severity.DANGER and f.id not in self.accepted
        ]

    @property
    def unknown_accepts(self) -> list[str]:
        ids = {f.id for found in self.findings.values() for f in found}
        return sorted(self.accepted - ids)

    def markdown(self, old: str, new: str) -> str:
        lines = [f"# Template review: `{old}` -> `{new}`", ""]
        blocking = self.blocking
        if blocking:
            lines.append(
                f"**{len(blocking)} dangerous finding(s) not accepted.** Accept each after review with "
                "`--accept <id>` (`make review ACCEPT='<id> ...'`)."
            )
        else:
            lines.append("No dangerous finding" + (" left unaccepted." if self.accepted else "."))
        lines += ["", *(f"- {note}" for note in self.notes)] if self.notes else []
        for stack, found in self.findings.items():
            lines += ["", f"## {stack}", ""]
            if not found:
                lines.append("No change that matters to clients or to security.")
                continue
            counts = ", ".join(f"{sum(f.severity is s for f in found)} {s.value}" for s in Severity)
            lines += [counts, "", "| | finding | id |", "|---|---|---|"]
            for f in found:
                mark = MARKS[f.severity] + (" (accepted)" if f.id in self.accepted else "")
                lines.append(f"| {mark} | {_cell(f.summary)} | `{_cell(f.id)}` |")
            details = [f for f in found if f.detail]
            for f in details:
                lines += ["", f"<details><summary><code>{f.id}</code></summary>", "", f.detail, "", "</details>"]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def review(old: dict[str, StackTemplate], new: dict[str, StackTemplate], accepted: Iterable[str] = ()) -> Review:
    """Findings for every stack of NEW against the same stack in OLD (a stack new in NEW is compared to nothing)."""
    result = Review(findings={}, accepted=frozenset(accepted))
    for name, stack in new.items():
        before = old[name].template if name in old else {}
        if name not in old:
            result.notes.append(f"`{name}` is new: every resource is added")
        result.findings[name] = review_stack(name, stack.region, before, stack.template)
    for name in sorted(old.keys() - new.keys()):
        result.notes.append(f"`{name}` is only in OLD (not in NEW's app): not reviewed")
    return result
