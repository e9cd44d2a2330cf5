"""What a command did (or, with dry_run, would do): one report type per command, each with its own typed fields.

Every report has the rows of parameters and keys it touched (`changes`), `warnings` (the CLI prints them on
stderr) and `notes`. `to_json()` is the `--json` output and the renewer's result: the shared keys, then the
command's own. No field holds an API key: keys appear masked (`KeySummary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from eventapi.contract import iso
from eventapi.deploy.params import Change

if TYPE_CHECKING:  # the renewer's Lambda bundle needs no preflight
    from eventapi.deploy.preflight import Ready

Format = Literal["env", "json", "amplify"]  # the file formats of `export`
STDOUT: Final = "-"  # `export -o -`


@dataclass(frozen=True)
class KeySummary:
    """The API key a command published or left published: masked (`****` and its last 4), and its expiry."""

    masked: str
    expires: datetime

    def to_json(self) -> dict[str, str]:
        return {"masked": self.masked, "expires": iso(self.expires)}


@dataclass(kw_only=True)
class Report:
    """The part every command's report shares; subclasses add their command's name and fields."""

    command: ClassVar[str]
    stage: str
    prefix: str
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "stage": self.stage,
            "prefix": self.prefix,
            "dryRun": self.dry_run,
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
            "notes": self.notes,
            **self.fields_json(),
        }

    def fields_json(self) -> dict[str, Any]:
        """The command's own keys of `to_json()`."""
        return {}


@dataclass(kw_only=True)
class PublishReport(Report):
    command: ClassVar[str] = "publish"
    api_key: KeySummary | None = None  # None: the stage has no API key provider

    def fields_json(self) -> dict[str, Any]:
        return {"apiKey": self.api_key.to_json()} if self.api_key else {}


@dataclass(kw_only=True)
class UnpublishReport(Report):
    command: ClassVar[str] = "unpublish"


@dataclass(frozen=True)
class ShownParameter:
    """A parameter as `show` lists it: the key (and any SecureString) masked, the rotation record summarized."""

    name: str
    type: str
    value: str


@dataclass(kw_only=True)
class ShowReport(Report):
    command: ClassVar[str] = "show"
    parameters: list[ShownParameter] = field(default_factory=list)  # in the layout's order, strays last

    def fields_json(self) -> dict[str, Any]:
        return {
            "parameters": {p.name: p.value for p in self.parameters},
            "types": {p.name: p.type for p in self.parameters},
        }


@dataclass(kw_only=True)
class ExportReport(Report):
    command: ClassVar[str] = "export"
    format: Format
    path: Path | None  # None: written to the stream it was given (the CLI's `-o -`)

    def fields_json(self) -> dict[str, Any]:
        return {"format": self.format, "file": STDOUT if self.path is None else str(self.path)}


@dataclass(kw_only=True)
class RenewReport(Report):
    command: ClassVar[str] = "renew-key"
    api_key: KeySummary

    def fields_json(self) -> dict[str, Any]:
        return {"apiKey": self.api_key.to_json()}


@dataclass(kw_only=True)
class RotateReport(Report):
    command: ClassVar[str] = "rotate-key"
    finish_after: datetime  # when `rotate-key --finish` may delete the retired key
    api_key: KeySummary | None = None  # the new key; None when the run only completed an earlier rotation's cut

    def fields_json(self) -> dict[str, Any]:
        key = {"apiKey": self.api_key.to_json()} if self.api_key else {}
        return {**key, "finishAfter": iso(self.finish_after)}


@dataclass(kw_only=True)
class FinishReport(Report):
    command: ClassVar[str] = "rotate-key --finish"


@dataclass(kw_only=True)
class PreflightReport(Report):
    command: ClassVar[str] = "preflight"
    target: str  # the cdk command checked for: deploy, diff or destroy
    ready: Ready

    def summary(self) -> str:
        return self.ready.line(self.target)

    def fields_json(self) -> dict[str, Any]:
        return self.ready.to_json(self.target)
