"""Key renewal: move a key's expiry with AppSync's one write (`UpdateApiKey`), out to the stage's scheme for the
published key (`renew-key`, the scheduled renewer, `publish` with autoRenew), in to its end for the key a
rotation retires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventapi.config import StageConfig, api_key_expiry
from eventapi.contract import iso
from eventapi.deploy.context import Context
from eventapi.deploy.errors import Redactor, mask_key
from eventapi.deploy.keys import KEY_ROW_TYPE, AppSyncKey, clamp_expiry, expiry_warning, to_epoch
from eventapi.deploy.params import Change
from eventapi.deploy.published import Rotation, published_key, read_published, require_api_key
from eventapi.deploy.report import KeySummary, RenewReport


def renew_key(
    session: Any,
    stage: StageConfig,
    *,
    days: int | None = None,
    region: str | None = None,
    kms_key_id: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> RenewReport:
    """Push the published key's expiry forward (never back) within AppSync's 1-365 day window; update SSM."""
    require_api_key(stage)
    ctx = Context.open(
        session, stage, region=region, redactor=redactor, now=now, dry_run=dry_run, kms_key_id=kms_key_id
    )
    now = ctx.now
    pub = read_published(ctx.aws, stage)
    keys, key = published_key(ctx, pub)
    target = clamp_expiry(now + timedelta(days=days), now) if days is not None else renewal_target(stage, now)
    change, expires = extend_key(ctx, pub.api_id, key, target)
    summary = KeySummary(mask_key(key.id), expires)
    report = RenewReport(stage=stage.name, prefix=pub.prefix, dry_run=dry_run, changes=[change], api_key=summary)
    if change.action == "unchanged":
        report.notes.append(
            f"the key already expires {iso(key.expires)}, not before the renewal target {iso(target)}; "
            "renew-key never shortens a key"
        )
    if pub.rotation is not None:
        report.changes += retire(ctx, pub.api_id, pub.rotation, keys)
    report.changes += ctx.write(pub.with_key(None, expires), pub.params)
    if warning := expiry_warning(expires, now, stage.name):
        report.warnings.append(warning)
    return report


def renewal_target(stage: StageConfig, now: datetime) -> datetime:
    """The far end of the stage's expiry scheme today: what a deploy synthesized today sets, within AppSync's
    window. The renewer, `renew-key` and `publish` (with autoRenew) all aim here, so none of them fights the
    template: CloudFormation's `Expires` for a synth this month is the same date."""
    return clamp_expiry(api_key_expiry(require_api_key(stage), now.date()), now)


def extend_key(ctx: Context, api_id: str, key: AppSyncKey, target: datetime) -> tuple[Change, datetime]:
    """Move `key`'s expiry out to `target` (already within AppSync's window), never in; (the change, the expiry)."""
    row = f"API key {mask_key(key.id)}"
    if target <= key.expires:
        return Change(row, KEY_ROW_TYPE, "unchanged", f"expires {iso(key.expires)}"), key.expires
    return _set_expiry(ctx, api_id, key, target, row), target


def retire(ctx: Context, api_id: str, rotation: Rotation, keys: list[AppSyncKey]) -> list[Change]:
    """Hold the key a rotation retires to its end (`Rotation.cut`): cut it if anything made it live longer.

    `rotate-key` cuts it once; a deploy before `--finish` whose template carries a new `Expires` sets it back to
    the template's date. `publish` (run by every `make deploy`) and `renew-key` (and the scheduled renewer) call
    this, so the retired key never outlives its rotation by more than AppSync's one-day minimum.
    """
    retired = next((k for k in keys if k.id == rotation.key_id), None)
    if retired is None:
        return []
    cut = rotation.cut(ctx.now)
    row = f"API key {mask_key(retired.id)} (retired)"
    if retired.expires <= cut:
        return [Change(row, KEY_ROW_TYPE, "unchanged", f"expires {iso(retired.expires)}")]
    return [_set_expiry(ctx, api_id, retired, cut, row)]


def _set_expiry(ctx: Context, api_id: str, key: AppSyncKey, expires: datetime, row: str) -> Change:
    """The one UpdateApiKey: move `key`'s expiry to `expires` (already within AppSync's window)."""
    if not ctx.dry_run:
        ctx.aws.call(
            "appsync",
            "UpdateApiKey",
            f"API key {mask_key(key.id)} of API {api_id}",
            apiId=api_id,
            id=key.id,
            expires=to_epoch(expires),
        )
    return Change(row, KEY_ROW_TYPE, "updated", f"expires {iso(key.expires)} -> {iso(expires)}")
