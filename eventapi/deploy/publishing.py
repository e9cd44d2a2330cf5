"""`publish`: stack outputs and the current API key to SSM under the stage's prefix, writing only what changed;
`unpublish`: delete what `publish` wrote (only parameters tagged as this tool's)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from eventapi.config import ApiKeyProvider, StageConfig
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy.aws import Aws
from eventapi.deploy.context import Context
from eventapi.deploy.errors import DeployError, Redactor, mask_key
from eventapi.deploy.keys import AppSyncKey, expiry_warning, list_keys, pick_current
from eventapi.deploy.params import Change, Param, delete_params, layout_names, owned, plan, read_params
from eventapi.deploy.published import Rotation, client_config, desired_params
from eventapi.deploy.renewal import extend_key, renewal_target, retire
from eventapi.deploy.report import KeySummary, PublishReport, UnpublishReport
from eventapi.deploy.stack import StackOutputs, describe_stack, read_outputs_file
from eventapi.exits import ExitCode


def publish(
    session: Any,
    stage: StageConfig,
    *,
    stack_name: str | None = None,
    outputs_file: Path | None = None,
    region: str | None = None,
    kms_key_id: str | None = None,
    dry_run: bool = False,
    prune: bool = False,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> PublishReport:
    """Stack outputs + the current API key -> SSM under the stage's prefix; writes only what changed."""
    ctx = Context.open(
        session, stage, region=region, redactor=redactor, now=now, dry_run=dry_run, kms_key_id=kms_key_id
    )
    name = stack_name or stage.stack_name
    outputs = read_outputs_file(outputs_file, name) if outputs_file else describe_stack(ctx.aws, name)
    ctx.aws.region = outputs.region  # the API's region: its keys, and the parameters its clients read
    report = PublishReport(stage=stage.name, prefix=ctx.prefix, dry_run=dry_run)
    current = read_params(ctx.aws, ctx.prefix, recursive=prune)
    key = _current_key(ctx, outputs, current, report) if stage.auth.api_key is not None else None

    desired = desired_params(ctx.prefix, client_config(stage, outputs, key.expires if key else None), key)
    layout = layout_names(ctx.prefix)
    stale = [n for n, p in layout.items() if p is not SsmParam.API_KEY_PREVIOUS]
    report.changes = plan(desired, current, delete=stale)
    if prune:
        report.changes += _prune_plan(ctx.aws, current, set(layout))
    ctx.apply(report.changes, desired, current)
    return report


def _current_key(ctx: Context, outputs: StackOutputs, current: dict[str, Param], report: PublishReport) -> AppSyncKey:
    """The key to publish (the one already published while valid), its expiry taken to the scheme's far end
    with autoRenew, and a rotation's retired key held to its end."""
    stage, prefix = ctx.stage, ctx.prefix
    keys = list_keys(ctx.aws, outputs.api_id)
    stored = current.get(ssm_name(prefix, SsmParam.API_KEY))
    rotation = Rotation.parse(current.get(ssm_name(prefix, SsmParam.API_KEY_PREVIOUS)))
    key = pick_current(keys, stored.value if stored else None, ctx.now, exclude=rotation.key_id if rotation else None)
    if key is None:
        raise _no_valid_key(stage, outputs.api_id, keys)
    report.api_key = KeySummary(mask_key(key.id), key.expires)
    if rotation is not None:
        report.changes += retire(ctx, outputs.api_id, rotation, keys)
    if stage.auth.api_key is not None and stage.auth.api_key.auto_renew is not None:
        # A deploy of an assembly synthesized in an earlier month sets an earlier `Expires` than the
        # renewer had reached: take the key back to the far end at once rather than at the next run.
        change, expires = extend_key(ctx, outputs.api_id, key, renewal_target(stage, ctx.now))
        report.changes.append(change)
        key = replace(key, expires=expires)
    if warning := expiry_warning(key.expires, ctx.now, stage.name):
        report.warnings.append(warning)
    return key


def _no_valid_key(stage: StageConfig, api_id: str, keys: list[AppSyncKey]) -> DeployError:
    """What to do when the API has no valid key: deploy again, or, when the stack's own key is gone, a new
    generation (a deploy cannot renew a deleted key: CloudFormation's UpdateApiKey would fail)."""
    provider = stage.auth.api_key or ApiKeyProvider()
    if any(k.description == provider.stack_key_description for k in keys):
        return DeployError(
            ExitCode.NO_API_KEY,
            f"API {api_id} has no valid API key ({len(keys)} listed, none unexpired); deploy the stack again "
            f"(make deploy STAGE={stage.name}) so it renews its key, then run publish again",
        )
    return DeployError(
        ExitCode.NO_API_KEY,
        f"API {api_id} has no valid API key and no key of generation {provider.generation} (AppSync deletes a key "
        "60 days after it expires, and rotate-key --finish deletes a retired one), so a deploy cannot renew it: set "
        f"auth.providers.apiKey.generation to {provider.generation + 1} in cdk.json (stage {stage.name}) and deploy "
        f"(make deploy STAGE={stage.name}); CloudFormation then creates a new key",
    )


def _prune_plan(aws: Aws, current: dict[str, Param], layout: set[str]) -> list[Change]:
    """Strays under the prefix: parameters this tool tagged as its own but no longer writes."""
    changes = []
    for name in sorted(set(current) - layout):
        if owned(aws, name):
            changes.append(Change(name, current[name].type, "deleted", "stray"))
    return changes


def unpublish(
    session: Any,
    stage: StageConfig,
    *,
    prune: bool = False,
    region: str | None = None,
    dry_run: bool = False,
    redactor: Redactor | None = None,
) -> UnpublishReport:
    """Delete the layout's parameters that carry this tool's tag (with --prune: every tagged one under the prefix)."""
    ctx = Context.open(session, stage, region=region, redactor=redactor, dry_run=dry_run)
    current = read_params(ctx.aws, ctx.prefix, recursive=prune, decrypt=False)
    layout = layout_names(ctx.prefix)
    report = UnpublishReport(stage=stage.name, prefix=ctx.prefix, dry_run=dry_run)
    order = list(layout)
    candidates = sorted((n for n in current if n in layout), key=order.index)
    if prune:
        candidates += sorted(n for n in current if n not in layout)
    for name in candidates:
        if owned(ctx.aws, name):
            report.changes.append(Change(name, current[name].type, "deleted", "" if name in layout else "stray"))
        else:
            report.changes.append(Change(name, current[name].type, "kept", "not tagged as managed by eventapi-deploy"))
    if ssm_name(ctx.prefix, SsmParam.API_KEY_PREVIOUS) in current:
        report.notes.append("a key rotation was under way: the retired AppSync key stays valid until its expiry")
    if not dry_run:
        delete_params(ctx.aws, [c.name for c in report.changes if c.action == "deleted"])
    return report
