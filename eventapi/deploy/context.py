"""The set-up every command shares: the clock read once, the AWS clients, and how the stage's parameters are
written (its tags, its KMS key, dry run or not)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventapi.config import StageConfig
from eventapi.deploy.aws import Aws
from eventapi.deploy.errors import Redactor
from eventapi.deploy.params import Change, Param, apply, plan, tags_for


def wall_clock(now: datetime | None) -> datetime:
    """`now` (tests fix it), else the wall clock: UTC, whole seconds. The one place a command reads the time."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


@dataclass
class Context:
    """One command's run against one stage."""

    stage: StageConfig
    aws: Aws
    now: datetime
    dry_run: bool
    kms_key_id: str  # for the API key's SecureString

    @classmethod
    def open(
        cls,
        session: Any,
        stage: StageConfig,
        *,
        region: str | None = None,
        redactor: Redactor | None = None,
        now: datetime | None = None,
        dry_run: bool = False,
        kms_key_id: str | None = None,
    ) -> Context:
        """`session` is a `boto3.Session`; `region` overrides the stage's; `kms_key_id` the stage's ssm.kmsKeyId."""
        aws = Aws(
            session,
            region=region or stage.region,
            redactor=redactor,
            policy_hint=f"python -m eventapi.deploy policy --stage {stage.name}",
        )
        return cls(stage, aws, wall_clock(now), dry_run, kms_key_id or stage.ssm.kms_key_id)

    @property
    def prefix(self) -> str:
        return self.stage.ssm.prefix

    def apply(self, changes: Sequence[Change], desired: Sequence[Param], current: Mapping[str, Param]) -> None:
        """Carry out a plan (`params.plan`), tagged as the stage's; nothing on a dry run."""
        if not self.dry_run:
            apply(
                self.aws,
                changes,
                desired,
                current,
                tags=tags_for(self.stage.name, self.stage.tags),
                kms_key_id=self.kms_key_id,
            )

    def write(self, desired: Sequence[Param], current: Mapping[str, Param], delete: Iterable[str] = ()) -> list[Change]:
        """Plan and apply: SSM holds `desired` and not the names in `delete`; the changes made (or planned)."""
        changes = plan(desired, current, delete)
        self.apply(changes, desired, current)
        return changes
