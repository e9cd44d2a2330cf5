"""Key rotation: `rotate-key` publishes a new API key and keeps the old one valid for a grace period;
`rotate-key --finish` then deletes the old one. Every step is safe to repeat: a rerun goes on where a run died."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from eventapi.config import ApiKeyProvider, StageConfig
from eventapi.contract import SsmParam, iso, ssm_name
from eventapi.deploy.context import Context
from eventapi.deploy.errors import DeployError, Redactor, mask_key
from eventapi.deploy.keys import KEY_ROW_TYPE, AppSyncKey, list_keys, to_epoch
from eventapi.deploy.params import SECURE, Change, Param, delete_params
from eventapi.deploy.published import Published, Rotation, published_key, read_published, require_api_key
from eventapi.deploy.renewal import renewal_target, retire
from eventapi.deploy.report import FinishReport, KeySummary, RotateReport
from eventapi.exits import ExitCode

DEFAULT_GRACE_HOURS: Final = 24
NEW_KEY: Final = "<new key>"  # stands for the key a dry run would create


def rotate_key(
    session: Any,
    stage: StageConfig,
    *,
    grace_hours: int = DEFAULT_GRACE_HOURS,
    region: str | None = None,
    kms_key_id: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> RotateReport:
    """Create a new key and publish it; the old one stays valid for the grace period (`--finish` deletes it).

    Steps, each safe to repeat: (1) record the old key in `api-key-previous`, (2) create the new key (its
    description names the rotation, so a rerun finds it instead of making another), (3) publish the new key,
    (4) cut the old key's AppSync expiry to the end of the grace period (at least 25 h: AppSync's minimum).
    """
    require_api_key(stage)
    if grace_hours < 0:
        raise DeployError(ExitCode.CONFIG, f"--grace-hours {grace_hours} is not allowed; give 0 or more hours")
    ctx = Context.open(
        session, stage, region=region, redactor=redactor, now=now, dry_run=dry_run, kms_key_id=kms_key_id
    )
    pub = read_published(ctx.aws, stage)
    if pub.rotation is not None and pub.api_key != pub.rotation.key_id:
        return _resume_cut(ctx, pub, pub.rotation)
    keys, old = published_key(ctx, pub)

    rotation, changes = _record(ctx, pub, old, grace_hours)  # (1)
    report = RotateReport(
        stage=stage.name, prefix=pub.prefix, dry_run=dry_run, changes=changes, finish_after=rotation.finish_after
    )
    if pub.rotation is not None:
        report.notes.append(f"resuming the rotation started {iso(rotation.rotated_at)}")
    new, changes = _new_key(ctx, pub, keys, old, rotation)  # (2)
    report.changes += changes
    report.changes += ctx.write(pub.with_key(new.id, new.expires), pub.params)  # (3)
    report.changes += retire(ctx, pub.api_id, rotation, keys)  # (4)

    report.api_key = KeySummary(NEW_KEY if dry_run else mask_key(new.id), new.expires)
    if not dry_run:
        report.notes.append(f"new key {mask_key(new.id)} published; it expires {iso(new.expires)}")
    report.notes.append(
        f"the old key stays valid until {iso(min(rotation.cut(ctx.now), old.expires))}; clients that re-read SSM "
        f"when they reconnect switch to the new key. After {iso(rotation.finish_after)} run: {_finish(stage)}"
    )
    return report


def _record(ctx: Context, pub: Published, old: AppSyncKey, grace_hours: int) -> tuple[Rotation, list[Change]]:
    """Step 1: the record of the rotation (the key it retires, when), or the one an earlier run wrote."""
    if pub.rotation is not None:
        return pub.rotation, []
    rotation = Rotation(old.id, ctx.now, ctx.now + timedelta(hours=grace_hours))
    record = [Param(ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS), SECURE, rotation.to_value())]
    return rotation, ctx.write(record, pub.params)


def _new_key(
    ctx: Context, pub: Published, keys: list[AppSyncKey], old: AppSyncKey, rotation: Rotation
) -> tuple[AppSyncKey, list[Change]]:
    """Step 2: the rotation's new key, found by its description or created (expiring where a deploy would set it)."""
    base = ctx.stage.auth.api_key.description if ctx.stage.auth.api_key else ""
    description = f"{base[:200]} (rotated {iso(rotation.rotated_at)})"
    found = next((k for k in keys if k.description == description and k.id != old.id), None)
    if found is not None:
        return found, []
    expires = renewal_target(ctx.stage, ctx.now)
    created = [Change("API key (new)", KEY_ROW_TYPE, "created", f"expires {iso(expires)}")]
    if ctx.dry_run:
        return AppSyncKey(NEW_KEY, expires, description), created
    value = ctx.aws.call(
        "appsync",
        "CreateApiKey",
        f"API {pub.api_id} (a new API key)",
        apiId=pub.api_id,
        description=description,
        expires=to_epoch(expires),
    )["apiKey"]["id"]
    ctx.aws.redact.add(value)
    return AppSyncKey(value, expires, description), created


def _resume_cut(ctx: Context, pub: Published, rotation: Rotation) -> RotateReport:
    """The rotation's new key is published. If the retired key still outlives the cut (the run died before step
    4), shorten it now; otherwise a rotation is under way and a new one is refused."""
    ctx.aws.redact.add(rotation.key_id)
    keys = list_keys(ctx.aws, pub.api_id)
    old = next((k for k in keys if k.id == rotation.key_id), None)
    cut = rotation.cut(ctx.now)
    if old is None or old.expires <= cut:
        raise DeployError(
            ExitCode.ROTATION,
            f"a key rotation is already under way (started {iso(rotation.rotated_at)}); finish it after "
            f"{iso(rotation.finish_after)} with: {_finish(ctx.stage)}",
        )
    report = RotateReport(
        stage=ctx.stage.name, prefix=pub.prefix, dry_run=ctx.dry_run, finish_after=rotation.finish_after
    )
    report.notes.append(f"resuming the rotation started {iso(rotation.rotated_at)}: the old key was not cut yet")
    report.changes += retire(ctx, pub.api_id, rotation, keys)
    report.notes.append(
        f"the old key stays valid until {iso(cut)}. After {iso(rotation.finish_after)} run: {_finish(ctx.stage)}"
    )
    return report


def _finish(stage: StageConfig) -> str:
    return f"python -m eventapi.deploy rotate-key --stage {stage.name} --finish"


def finish_rotation(
    session: Any,
    stage: StageConfig,
    *,
    force: bool = False,
    region: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> FinishReport:
    """Delete the key a rotation retired, then the rotation record. Refuses before the grace period ends."""
    require_api_key(stage)
    ctx = Context.open(session, stage, region=region, redactor=redactor, now=now, dry_run=dry_run)
    pub = read_published(ctx.aws, stage)
    rotation = _finishable(ctx, pub, force=force)
    report = FinishReport(stage=stage.name, prefix=pub.prefix, dry_run=dry_run)
    keys = list_keys(ctx.aws, pub.api_id)
    retired = next((k for k in keys if k.id == rotation.key_id), None)
    if retired is not None and ApiKeyProvider.is_stack_key(retired.description):
        # CloudFormation still tracks this key: a deploy that renews it would fail on a key that is gone.
        # A new generation gives the stack a new key resource, and CloudFormation drops the old one.
        generation = stage.auth.api_key.generation if stage.auth.api_key else 1
        report.warnings.append(
            f"WARNING: the retired key was the stack's own; before the next deploy set "
            f"auth.providers.apiKey.generation to {generation + 1} in cdk.json (stage {stage.name}), so "
            "CloudFormation replaces the key resource instead of failing to renew a deleted key"
        )
    if retired is not None:
        if not dry_run:
            ctx.aws.call(
                "appsync",
                "DeleteApiKey",
                f"API key {mask_key(rotation.key_id)} of API {pub.api_id}",
                apiId=pub.api_id,
                id=rotation.key_id,
            )
        report.changes.append(Change(f"API key {mask_key(rotation.key_id)} (old)", KEY_ROW_TYPE, "deleted"))
    else:
        report.notes.append("the old key was already gone")
    record = ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS)
    report.changes.append(Change(record, SECURE, "deleted"))
    if not dry_run:
        delete_params(ctx.aws, [record])
    return report


def _finishable(ctx: Context, pub: Published, *, force: bool) -> Rotation:
    """The rotation `--finish` may end: one is under way, its new key is published, its grace period is over
    (or `--force`)."""
    rotation, stage = pub.rotation, ctx.stage.name
    if rotation is None:
        raise DeployError(
            ExitCode.ROTATION,
            f"no key rotation under way for stage {stage} (no {ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS)}); "
            f"start one with: python -m eventapi.deploy rotate-key --stage {stage}",
        )
    ctx.aws.redact.add(rotation.key_id)
    if rotation.key_id == pub.api_key:
        raise DeployError(
            ExitCode.ROTATION,
            "the rotation did not finish publishing its new key (the old key is still the published one); run "
            f"python -m eventapi.deploy rotate-key --stage {stage} again to complete it",
        )
    if ctx.now < rotation.finish_after and not force:
        raise DeployError(
            ExitCode.ROTATION,
            f"the grace period runs until {iso(rotation.finish_after)}: clients may still use the old key; run "
            "--finish after then, or add --force to delete it now",
        )
    return rotation
