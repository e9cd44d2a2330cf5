"""The post-deploy commands as functions: each takes a `boto3.Session` and a `StageConfig`, returns a `Report`.

Nothing here prints; `eventapi.deploy.__main__` renders reports. Times come in as `now` so tests can fix them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from eventapi.client.config import AuthModes, CognitoInfo, EventsConfig, NamespaceInfo
from eventapi.client.errors import EventsConfigError
from eventapi.config import ApiKeyProvider, StageConfig, api_key_expiry
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy.aws import Aws
from eventapi.deploy.errors import DeployError, ExitCode, Redactor, mask_key
from eventapi.deploy.keys import (
    ApiKey,
    ceil_hour,
    clamp_expiry,
    expiry_warning,
    iso,
    list_keys,
    pick_current,
    to_epoch,
)
from eventapi.deploy.params import (
    Change,
    Param,
    apply,
    delete_params,
    layout_names,
    owned,
    plan,
    read_params,
    tags_for,
)
from eventapi.deploy.stack import StackOutputs, describe_stack, read_outputs_file

STRING: Final = "String"
SECURE: Final = "SecureString"
KEY_ROW_TYPE: Final = "AppSync key"
DEFAULT_GRACE_HOURS: Final = 24
RETIRE_MIN: Final = timedelta(hours=25)  # a retired key's shortest life: AppSync's 1-day minimum, plus an hour
Format = Literal["env", "json", "amplify"]
STDOUT: Final = "-"  # `export -o -`
EXPORT_DEFAULT_PATHS: Final[dict[str, str]] = {
    "env": "eventapi.env",
    "json": "eventapi-config.json",
    "amplify": "amplify_outputs.json",
}


@dataclass
class Report:
    """What a command did (or, with dry_run, would do)."""

    command: str
    stage: str
    prefix: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "stage": self.stage,
            "prefix": self.prefix,
            "dryRun": self.dry_run,
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
            "notes": self.notes,
            **self.data,
        }


@dataclass(frozen=True)
class Rotation:
    """The `api-key-previous` record of a rotation under way (its `key_id` is a key value: kept out of repr)."""

    key_id: str = field(repr=False)
    rotated_at: datetime
    finish_after: datetime

    def to_value(self) -> str:
        return _dumps({"keyId": self.key_id, "rotatedAt": iso(self.rotated_at), "finishAfter": iso(self.finish_after)})

    @property
    def retire_at(self) -> datetime:
        """When the retired key is to expire: the end of the grace period, at least 25 h after the rotation
        (AppSync's minimum validity is one day), on the hour."""
        return ceil_hour(max(self.finish_after, self.rotated_at + RETIRE_MIN))

    @classmethod
    def parse(cls, param: Param | None) -> Rotation | None:
        if param is None:
            return None
        try:
            raw = json.loads(param.value)
            return cls(
                raw["keyId"],
                datetime.fromisoformat(raw["rotatedAt"]).astimezone(UTC),
                datetime.fromisoformat(raw["finishAfter"]).astimezone(UTC),
            )
        except (ValueError, KeyError, TypeError):
            raise DeployError(
                ExitCode.ROTATION,
                f"{param.name} is not a rotation record this tool wrote; delete it (aws ssm delete-parameter "
                f"--name {param.name}) and run again",
            ) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def make_aws(session: Any, stage: StageConfig, region: str | None, redactor: Redactor | None) -> Aws:
    return Aws(
        session,
        region=region or stage.region,
        redactor=redactor,
        policy_hint=f"python -m eventapi.deploy policy --stage {stage.name}",
    )


# --- the client config (the SSM `config` JSON, built in one place) --------------------------------------------


def client_config(stage: StageConfig, outputs: StackOutputs, key_expires: datetime | None) -> EventsConfig:
    """The config clients read, from the stage (auth modes, namespaces) and the stack outputs (endpoints)."""
    cognito = (
        CognitoInfo(outputs.user_pool_id, outputs.user_pool_client_id)
        if outputs.user_pool_id and outputs.user_pool_client_id
        else None
    )
    return EventsConfig(
        http_endpoint=outputs.http_endpoint,
        realtime_endpoint=outputs.realtime_endpoint,
        region=outputs.region,
        http_host=outputs.http_host,
        realtime_host=outputs.realtime_host,
        api_id=outputs.api_id,
        auth_modes=AuthModes(stage.auth.connect, stage.auth.publish, stage.auth.subscribe),
        namespaces=tuple(NamespaceInfo(ns.name, *stage.namespace_modes(ns)) for ns in stage.namespaces),
        cognito=cognito,
        api_key_expires=key_expires,
    )


def desired_params(prefix: str, cfg: EventsConfig, key: ApiKey | None) -> list[Param]:
    """Every parameter `publish` writes, in write order (`config` last)."""

    def p(name: SsmParam, value: str, kind: str = STRING) -> Param:
        return Param(ssm_name(prefix, name), kind, value)

    params = [
        p(SsmParam.HTTP_ENDPOINT, cfg.http_endpoint),
        p(SsmParam.REALTIME_ENDPOINT, cfg.realtime_endpoint),
        p(SsmParam.HTTP_HOST, cfg.http_host),
        p(SsmParam.REALTIME_HOST, cfg.realtime_host),
        p(SsmParam.API_ID, cfg.api_id or ""),
        p(SsmParam.REGION, cfg.region),
        p(SsmParam.AUTH_MODES, _dumps(cfg.auth_modes.to_json())),
        p(SsmParam.NAMESPACES, _dumps([ns.to_json() for ns in cfg.namespaces])),
    ]
    if cfg.cognito is not None:
        params += [
            p(SsmParam.USER_POOL_ID, cfg.cognito.user_pool_id),
            p(SsmParam.USER_POOL_CLIENT_ID, cfg.cognito.client_id),
        ]
    return params + _key_and_config_params(prefix, cfg, key.id if key else None, key.expires if key else None)


def _key_and_config_params(
    prefix: str, cfg: EventsConfig, key_value: str | None, expires: datetime | None
) -> list[Param]:
    """The key, its expiry and `config` (last: a client that sees the new config finds the new key written)."""
    params = []
    if key_value is not None:
        params.append(Param(ssm_name(prefix, SsmParam.API_KEY), SECURE, key_value))
    if expires is not None:
        params.append(Param(ssm_name(prefix, SsmParam.API_KEY_EXPIRES), STRING, iso(expires)))
    params.append(Param(ssm_name(prefix, SsmParam.CONFIG), STRING, _dumps(cfg.to_json())))
    return params


# --- publish ---------------------------------------------------------------------------------------------------


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
) -> Report:
    """Stack outputs + the current API key -> SSM under the stage's prefix; writes only what changed."""
    now = _now(now)
    aws = make_aws(session, stage, region, redactor)
    name = stack_name or stage.stack_name
    outputs = read_outputs_file(outputs_file, name) if outputs_file else describe_stack(aws, name)
    aws.region = outputs.region  # the API's region: its keys, and the parameters its clients read
    prefix = stage.ssm.prefix
    report = Report("publish", stage.name, prefix, dry_run=dry_run)
    current = read_params(aws, prefix, recursive=prune)

    key = None
    if stage.auth.api_key is not None:
        keys = list_keys(aws, outputs.api_id)
        stored = current.get(ssm_name(prefix, SsmParam.API_KEY))
        rotation = Rotation.parse(current.get(ssm_name(prefix, SsmParam.API_KEY_PREVIOUS)))
        key = pick_current(keys, stored.value if stored else None, now, exclude=rotation.key_id if rotation else None)
        if key is None:
            raise _no_valid_key(stage, outputs.api_id, keys)
        report.data["apiKey"] = {"masked": mask_key(key.id), "expires": iso(key.expires)}
        if rotation is not None:
            report.changes += retire(aws, outputs.api_id, rotation, keys, now, dry_run=dry_run)
        if stage.auth.api_key.auto_renew is not None:
            # A deploy of an assembly synthesized in an earlier month sets an earlier `Expires` than the
            # renewer had reached: take the key back to the far end at once rather than at the next run.
            change, expires = extend_key(aws, outputs.api_id, key, renewal_target(stage, now), dry_run=dry_run)
            report.changes.append(change)
            key = replace(key, expires=expires)
        if warning := expiry_warning(key.expires, now, stage.name):
            report.warnings.append(warning)

    cfg = client_config(stage, outputs, key.expires if key else None)
    desired = desired_params(prefix, cfg, key)
    layout = layout_names(prefix)
    stale = [n for n, p in layout.items() if p is not SsmParam.API_KEY_PREVIOUS]
    report.changes = plan(desired, current, delete=stale)
    if prune:
        report.changes += _prune_plan(aws, current, set(layout))
    if not dry_run:
        apply(
            aws,
            report.changes,
            desired,
            current,
            tags=tags_for(stage.name, stage.tags),
            kms_key_id=kms_key_id or stage.ssm.kms_key_id,
        )
    return report


def _no_valid_key(stage: StageConfig, api_id: str, keys: list[ApiKey]) -> DeployError:
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


def retire(
    aws: Aws, api_id: str, rotation: Rotation, keys: list[ApiKey], now: datetime, *, dry_run: bool
) -> list[Change]:
    """Hold the key a rotation retires to its end (`Rotation.retire_at`): cut it if anything made it live longer.

    `rotate-key` cuts it once; a deploy before `--finish` whose template carries a new `Expires` sets it back to
    the template's date. `publish` (run by every `make deploy`) and `renew-key` (and the scheduled renewer) call
    this, so the retired key never outlives its rotation by more than AppSync's one-day minimum.
    """
    retired = next((k for k in keys if k.id == rotation.key_id), None)
    if retired is None:
        return []
    cut = max(rotation.retire_at, ceil_hour(now + RETIRE_MIN))
    row = f"API key {mask_key(retired.id)} (retired)"
    if retired.expires <= cut:
        return [Change(row, KEY_ROW_TYPE, "unchanged", f"expires {iso(retired.expires)}")]
    return [_set_expiry(aws, api_id, retired, cut, row, dry_run=dry_run)]


def _set_expiry(aws: Aws, api_id: str, key: ApiKey, expires: datetime, row: str, *, dry_run: bool) -> Change:
    """The one UpdateApiKey: move `key`'s expiry to `expires` (already within AppSync's window)."""
    if not dry_run:
        aws.call(
            "appsync",
            "UpdateApiKey",
            f"API key {mask_key(key.id)} of API {api_id}",
            apiId=api_id,
            id=key.id,
            expires=to_epoch(expires),
        )
    return Change(row, KEY_ROW_TYPE, "updated", f"expires {iso(key.expires)} -> {iso(expires)}")


def _prune_plan(aws: Aws, current: dict[str, Param], layout: set[str]) -> list[Change]:
    """Strays under the prefix: parameters this tool tagged as its own but no longer writes."""
    changes = []
    for name in sorted(set(current) - layout):
        if owned(aws, name):
            changes.append(Change(name, current[name].type, "deleted", "stray"))
    return changes


# --- show / export ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    prefix: str
    params: dict[str, Param]
    config: EventsConfig
    api_key: str | None = field(repr=False)
    rotation: Rotation | None


def read_published(aws: Aws, stage: StageConfig) -> Published:
    """What `publish` wrote for the stage (decrypted); fails if nothing was published."""
    prefix = stage.ssm.prefix
    params = read_params(aws, prefix)
    name = ssm_name(prefix, SsmParam.CONFIG)
    if name not in params:
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"nothing published for stage {stage.name}: {name} does not exist in {aws.region}; run "
            f"python -m eventapi.deploy publish --stage {stage.name} first",
        )
    try:
        config = EventsConfig.from_json(json.loads(params[name].value), source=name)
    except (ValueError, EventsConfigError) as err:
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"{name} is not a config this tool wrote ({err}); run python -m eventapi.deploy publish --stage "
            f"{stage.name} to rewrite it",
        ) from None
    key = params.get(ssm_name(prefix, SsmParam.API_KEY))
    rotation = Rotation.parse(params.get(ssm_name(prefix, SsmParam.API_KEY_PREVIOUS)))
    return Published(prefix, params, config, key.value if key else None, rotation)


def show(
    session: Any,
    stage: StageConfig,
    *,
    region: str | None = None,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> Report:
    """What a client reads for the stage; the key masked to its last 4 characters."""
    now = _now(now)
    aws = make_aws(session, stage, region, redactor)
    pub = read_published(aws, stage)
    report = Report("show", stage.name, pub.prefix)
    values: dict[str, str] = {}
    layout = layout_names(pub.prefix)
    for name in sorted(pub.params, key=lambda n: list(layout).index(n) if n in layout else len(layout)):
        param = pub.params[name]
        if layout.get(name) is SsmParam.API_KEY:
            values[name] = mask_key(param.value)
        elif layout.get(name) is SsmParam.API_KEY_PREVIOUS and pub.rotation is not None:
            values[name] = f"rotation under way: finish after {iso(pub.rotation.finish_after)}"
        elif param.type == SECURE:
            values[name] = mask_key(param.value)
        else:
            values[name] = param.value
    report.data["parameters"] = values
    report.data["types"] = {name: pub.params[name].type for name in values}
    expires = pub.config.api_key_expires
    if pub.api_key is not None and expires is not None and (warning := expiry_warning(expires, now, stage.name)):
        report.warnings.append(warning)
    return report


def export(
    session: Any,
    stage: StageConfig,
    fmt: Format,
    output: Path | None = None,
    *,
    stream: TextIO | None = None,
    region: str | None = None,
    redactor: Redactor | None = None,
) -> Report:
    """Write a client config file (mode 0600, atomically) from what is published; it holds the key.

    With `stream` (the CLI's `-o -`), the text goes there instead of a file.
    """
    aws = make_aws(session, stage, region, redactor)
    pub = read_published(aws, stage)
    cfg = pub.config.with_api_key(pub.api_key)
    text = render_export(cfg, fmt)
    report = Report("export", stage.name, pub.prefix)
    report.data["format"] = fmt
    if stream is not None:
        stream.write(text)
        stream.flush()
        report.data["file"] = STDOUT
        where = "the output"
    else:
        path = output or Path(EXPORT_DEFAULT_PATHS[fmt])
        write_private(path, text)
        report.data["file"] = str(path)
        where = str(path)
        if pub.api_key is not None and git_would_track(path):
            report.warnings.append(
                f"WARNING: {path} is inside a git work tree and not ignored: add it to .gitignore so the API key "
                "is never committed"
            )
    if pub.api_key is not None:
        report.warnings.insert(
            0, f"WARNING: {where} holds the API key in clear text; keep it out of version control and out of logs"
        )
    return report


def git_would_track(path: Path) -> bool:
    """Whether `path` is in a git work tree and not ignored (False when git is missing or it is no work tree)."""
    folder = path.parent if str(path.parent) else Path()
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "check-ignore", "-q", "--", path.name],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 1  # 0: ignored; 128: not a work tree (or another git failure)


def render_export(cfg: EventsConfig, fmt: Format) -> str:
    """The text of an exported client config file."""
    if fmt == "json":
        return json.dumps(cfg.to_json(include_api_key=True), indent=2) + "\n"
    if fmt == "env":
        return cfg.to_env() + f"EVENTAPI_AUTH_MODE={cfg.default_auth_mode().value}\n"
    return json.dumps(cfg.to_amplify_outputs(), indent=2) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, via a temporary file in the same folder (never half-written).

    `path` must be new or a regular file: a symlink (which `os.replace` would swap for a file, wherever it
    pointed), a FIFO, a device or a folder is refused, never replaced.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise DeployError(ExitCode.FILE, f"cannot write {path}: {err.strerror or err}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a symlink" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise DeployError(
            ExitCode.FILE,
            f"refusing to write {path}: it is {kind}; give a new path or a regular file (-o - writes to stdout)",
        )
    folder = path.parent if str(path.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as err:
        raise DeployError(ExitCode.FILE, f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise DeployError(ExitCode.FILE, f"cannot write {path}: {err.strerror or err}") from None


# --- renew / rotate / finish -----------------------------------------------------------------------------------


def _require_api_key(stage: StageConfig) -> int:
    if stage.auth.api_key is None:
        raise DeployError(
            ExitCode.CONFIG,
            f"stage {stage.name} has no API key provider (auth.providers.apiKey in cdk.json); "
            "nothing to renew or rotate",
        )
    return stage.auth.api_key.valid_days


def _key_state(aws: Aws, stage: StageConfig, pub: Published) -> tuple[list[ApiKey], ApiKey]:
    api_id = pub.config.api_id or ""
    if pub.api_key is None:
        raise DeployError(
            ExitCode.NOT_PUBLISHED,
            f"no API key published under {pub.prefix}; run python -m eventapi.deploy publish --stage {stage.name}",
        )
    keys = list_keys(aws, api_id)
    key = next((k for k in keys if k.id == pub.api_key), None)
    if key is None:
        raise DeployError(
            ExitCode.NO_API_KEY,
            f"the API key published under {pub.prefix} no longer exists on API {api_id}; run "
            f"python -m eventapi.deploy publish --stage {stage.name} to publish the current key",
        )
    return keys, key


def _key_params(pub: Published, key_value: str | None, expires: datetime) -> list[Param]:
    cfg = replace(pub.config, api_key_expires=expires)
    return _key_and_config_params(pub.prefix, cfg, key_value, expires)


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
) -> Report:
    """Push the published key's expiry forward (never back) within AppSync's 1-365 day window; update SSM."""
    now = _now(now)
    _require_api_key(stage)
    aws = make_aws(session, stage, region, redactor)
    pub = read_published(aws, stage)
    keys, key = _key_state(aws, stage, pub)
    target = clamp_expiry(now + timedelta(days=days), now) if days is not None else renewal_target(stage, now)
    report = Report("renew-key", stage.name, pub.prefix, dry_run=dry_run)
    change, expires = extend_key(aws, pub.config.api_id or "", key, target, dry_run=dry_run)
    report.changes.append(change)
    if change.action == "unchanged":
        report.notes.append(
            f"the key already expires {iso(key.expires)}, not before the renewal target {iso(target)}; "
            "renew-key never shortens a key"
        )
    if pub.rotation is not None:
        report.changes += retire(aws, pub.config.api_id or "", pub.rotation, keys, now, dry_run=dry_run)
    desired = _key_params(pub, None, expires)
    changes = plan(desired, pub.params)
    report.changes += changes
    if not dry_run:
        apply(
            aws,
            changes,
            desired,
            pub.params,
            tags=tags_for(stage.name, stage.tags),
            kms_key_id=kms_key_id or stage.ssm.kms_key_id,
        )
    report.data["apiKey"] = {"masked": mask_key(key.id), "expires": iso(expires)}
    if warning := expiry_warning(expires, now, stage.name):
        report.warnings.append(warning)
    return report


def extend_key(aws: Aws, api_id: str, key: ApiKey, target: datetime, *, dry_run: bool) -> tuple[Change, datetime]:
    """Move `key`'s expiry out to `target` (already within AppSync's window), never in; (the change, the expiry)."""
    row = f"API key {mask_key(key.id)}"
    if target <= key.expires:
        return Change(row, KEY_ROW_TYPE, "unchanged", f"expires {iso(key.expires)}"), key.expires
    return _set_expiry(aws, api_id, key, target, row, dry_run=dry_run), target


def renewal_target(stage: StageConfig, now: datetime) -> datetime:
    """The far end of the stage's expiry scheme today: what a deploy synthesized today sets, within AppSync's
    window. The renewer, `renew-key` and `publish` (with autoRenew) all aim here, so none of them fights the
    template: CloudFormation's `Expires` for a synth this month is the same date."""
    return clamp_expiry(api_key_expiry(_require_api_key(stage), now.date()), now)


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
) -> Report:
    """Create a new key and publish it; the old one stays valid for the grace period (`--finish` deletes it).

    Steps, each safe to repeat: (1) record the old key in `api-key-previous`, (2) create the new key (its
    description names the rotation, so a rerun finds it instead of making another), (3) publish the new key,
    (4) cut the old key's AppSync expiry to the end of the grace period (at least 25 h: AppSync's minimum).
    """
    now = _now(now)
    valid_days = _require_api_key(stage)
    if grace_hours < 0:
        raise DeployError(ExitCode.CONFIG, f"--grace-hours {grace_hours} is not allowed; give 0 or more hours")
    aws = make_aws(session, stage, region, redactor)
    pub = read_published(aws, stage)
    report = Report("rotate-key", stage.name, pub.prefix, dry_run=dry_run)
    if pub.rotation is not None and pub.api_key != pub.rotation.key_id:
        return _resume_cut(aws, stage, pub, report, now=now, dry_run=dry_run)
    keys, old = _key_state(aws, stage, pub)
    rotation = pub.rotation
    kms = kms_key_id or stage.ssm.kms_key_id
    tags = tags_for(stage.name, stage.tags)
    if rotation is None:
        rotation = Rotation(old.id, now, now + timedelta(hours=grace_hours))
        record = [Param(ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS), SECURE, rotation.to_value())]
        changes = plan(record, pub.params)
        report.changes += changes
        if not dry_run:
            apply(aws, changes, record, pub.params, tags=tags, kms_key_id=kms)
    else:
        report.notes.append(f"resuming the rotation started {iso(rotation.rotated_at)}")

    base = stage.auth.api_key.description if stage.auth.api_key else ""
    description = f"{base[:200]} (rotated {iso(rotation.rotated_at)})"
    expires = clamp_expiry(api_key_expiry(valid_days, now.date()), now)
    new = next((k for k in keys if k.description == description and k.id != old.id), None)
    if new is None:
        if dry_run:
            new = ApiKey("<new key>", expires, description)
        else:
            created = aws.call(
                "appsync",
                "CreateApiKey",
                f"API {pub.config.api_id} (a new API key)",
                apiId=pub.config.api_id,
                description=description,
                expires=to_epoch(expires),
            )["apiKey"]
            aws.redact.add(created["id"])
            new = ApiKey(created["id"], expires, description)
        report.changes.append(Change("API key (new)", KEY_ROW_TYPE, "created", f"expires {iso(expires)}"))
    desired = _key_params(pub, new.id, new.expires)
    changes = plan(desired, pub.params)
    report.changes += changes
    if not dry_run:
        apply(aws, changes, desired, pub.params, tags=tags, kms_key_id=kms)

    report.changes += retire(aws, pub.config.api_id or "", rotation, keys, now, dry_run=dry_run)
    cut = max(rotation.retire_at, ceil_hour(now + RETIRE_MIN))
    if not dry_run:
        report.notes.append(f"new key {mask_key(new.id)} published; it expires {iso(new.expires)}")
    report.notes.append(
        f"the old key stays valid until {iso(min(cut, old.expires))}; clients that re-read SSM when they reconnect "
        f"switch to the new key. After {iso(rotation.finish_after)} run: python -m eventapi.deploy rotate-key "
        f"--stage {stage.name} --finish"
    )
    report.data["apiKey"] = {"masked": mask_key(new.id) if not dry_run else "<new key>", "expires": iso(new.expires)}
    report.data["finishAfter"] = iso(rotation.finish_after)
    return report


def _resume_cut(
    aws: Aws, stage: StageConfig, pub: Published, report: Report, *, now: datetime, dry_run: bool
) -> Report:
    """The rotation's new key is published. If the retired key still outlives the cut (the run died before step
    4), shorten it now; otherwise a rotation is under way and a new one is refused."""
    rotation = pub.rotation
    assert rotation is not None
    aws.redact.add(rotation.key_id)
    keys = list_keys(aws, pub.config.api_id or "")
    old = next((k for k in keys if k.id == rotation.key_id), None)
    cut = max(rotation.retire_at, ceil_hour(now + RETIRE_MIN))
    if old is None or old.expires <= cut:
        raise DeployError(
            ExitCode.ROTATION,
            f"a key rotation is already under way (started {iso(rotation.rotated_at)}); finish it after "
            f"{iso(rotation.finish_after)} with: python -m eventapi.deploy rotate-key --stage {stage.name} --finish",
        )
    report.notes.append(f"resuming the rotation started {iso(rotation.rotated_at)}: the old key was not cut yet")
    report.changes += retire(aws, pub.config.api_id or "", rotation, keys, now, dry_run=dry_run)
    report.notes.append(
        f"the old key stays valid until {iso(cut)}. After {iso(rotation.finish_after)} run: "
        f"python -m eventapi.deploy rotate-key --stage {stage.name} --finish"
    )
    report.data["finishAfter"] = iso(rotation.finish_after)
    return report


def finish_rotation(
    session: Any,
    stage: StageConfig,
    *,
    force: bool = False,
    region: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> Report:
    """Delete the key a rotation retired, then the rotation record. Refuses before the grace period ends."""
    now = _now(now)
    _require_api_key(stage)
    aws = make_aws(session, stage, region, redactor)
    pub = read_published(aws, stage)
    rotation = pub.rotation
    if rotation is None:
        raise DeployError(
            ExitCode.ROTATION,
            f"no key rotation under way for stage {stage.name} (no {ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS)}); "
            f"start one with: python -m eventapi.deploy rotate-key --stage {stage.name}",
        )
    aws.redact.add(rotation.key_id)
    if rotation.key_id == pub.api_key:
        raise DeployError(
            ExitCode.ROTATION,
            "the rotation did not finish publishing its new key (the old key is still the published one); run "
            f"python -m eventapi.deploy rotate-key --stage {stage.name} again to complete it",
        )
    if now < rotation.finish_after and not force:
        raise DeployError(
            ExitCode.ROTATION,
            f"the grace period runs until {iso(rotation.finish_after)}: clients may still use the old key; run "
            "--finish after then, or add --force to delete it now",
        )
    report = Report("rotate-key --finish", stage.name, pub.prefix, dry_run=dry_run)
    keys = list_keys(aws, pub.config.api_id or "")
    row = f"API key {mask_key(rotation.key_id)} (old)"
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
            aws.call(
                "appsync",
                "DeleteApiKey",
                f"API key {mask_key(rotation.key_id)} of API {pub.config.api_id}",
                apiId=pub.config.api_id,
                id=rotation.key_id,
            )
        report.changes.append(Change(row, KEY_ROW_TYPE, "deleted"))
    else:
        report.notes.append("the old key was already gone")
    record = ssm_name(pub.prefix, SsmParam.API_KEY_PREVIOUS)
    report.changes.append(Change(record, SECURE, "deleted"))
    if not dry_run:
        delete_params(aws, [record])
    return report


# --- unpublish -------------------------------------------------------------------------------------------------


def unpublish(
    session: Any,
    stage: StageConfig,
    *,
    prune: bool = False,
    region: str | None = None,
    dry_run: bool = False,
    redactor: Redactor | None = None,
) -> Report:
    """Delete the layout's parameters that carry this tool's tag (with --prune: every tagged one under the prefix)."""
    aws = make_aws(session, stage, region, redactor)
    prefix = stage.ssm.prefix
    current = read_params(aws, prefix, recursive=prune, decrypt=False)
    layout = layout_names(prefix)
    report = Report("unpublish", stage.name, prefix, dry_run=dry_run)
    order = list(layout)
    candidates = sorted((n for n in current if n in layout), key=order.index)
    if prune:
        candidates += sorted(n for n in current if n not in layout)
    for name in candidates:
        if owned(aws, name):
            report.changes.append(Change(name, current[name].type, "deleted", "" if name in layout else "stray"))
        else:
            report.changes.append(Change(name, current[name].type, "kept", "not tagged as managed by eventapi-deploy"))
    if ssm_name(prefix, SsmParam.API_KEY_PREVIOUS) in current:
        report.notes.append("a key rotation was under way: the retired AppSync key stays valid until its expiry")
    if not dry_run:
        delete_params(aws, [c.name for c in report.changes if c.action == "deleted"])
    return report
