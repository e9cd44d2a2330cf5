"""The SSM parameters this tool owns under a stage's prefix: read, plan (diff), apply, delete.

Names come from `eventapi.contract.SsmParam` / `ssm_name` only. Writes are idempotent: `plan` compares with what
is stored and `apply` writes only what differs, so a rerun with nothing changed makes no write call. Every
parameter the tool creates is tagged `eventapi:managed-by=eventapi-deploy`; an overwrite is followed by
`AddTagsToResource` (SSM refuses `Tags` together with `Overwrite`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from eventapi.config import DEFAULT_SSM_KMS_KEY
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy.aws import Aws

OWNER_TAG_KEY: Final = "eventapi:managed-by"
OWNER_TAG_VALUE: Final = "eventapi-deploy"
STAGE_TAG_KEY: Final = "eventapi:stage"
# Standard tier when the value fits (4 KB), Advanced only when it must (a config JSON of many namespaces).
TIER: Final = "Intelligent-Tiering"
DELETE_BATCH: Final = 10  # DeleteParameters takes at most 10 names

ParamType = Literal["String", "SecureString"]
Action = Literal["created", "updated", "unchanged", "deleted", "kept"]


@dataclass(frozen=True)
class Param:
    """A parameter as stored or as wanted; `value` stays out of repr (it may be the key)."""

    name: str
    type: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class Change:
    """One line of a plan: what happens (or happened) to a parameter."""

    name: str
    type: str
    action: Action
    note: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"name": self.name, "type": self.type, "action": self.action}
        if self.note:
            out["note"] = self.note
        return out


def layout_names(prefix: str) -> dict[str, SsmParam]:
    """Every parameter name of the layout under `prefix` -> its `SsmParam`."""
    return {ssm_name(prefix, p): p for p in SsmParam}


def read_params(aws: Aws, prefix: str, *, recursive: bool = False, decrypt: bool = True) -> dict[str, Param]:
    """Every parameter under `prefix` (`GetParametersByPath`, every page), decrypted unless told otherwise."""
    params: dict[str, Param] = {}
    for item in aws.paginate(
        "ssm",
        "GetParametersByPath",
        f"parameters under {prefix}",
        "Parameters",
        Path=prefix.rstrip("/") or "/",
        Recursive=recursive,
        WithDecryption=decrypt,
    ):
        if item.get("Type") == "SecureString" and decrypt:
            aws.redact.add(item.get("Value"))
        params[item["Name"]] = Param(item["Name"], item.get("Type", "String"), item.get("Value", ""))
    return params


def plan(desired: Sequence[Param], current: Mapping[str, Param], delete: Iterable[str] = ()) -> list[Change]:
    """What to do so that SSM holds `desired` and not the names in `delete`."""
    changes = []
    for want in desired:
        have = current.get(want.name)
        if have is None:
            changes.append(Change(want.name, want.type, "created"))
        elif have.type != want.type or have.value != want.value:
            changes.append(Change(want.name, want.type, "updated"))
        else:
            changes.append(Change(want.name, want.type, "unchanged"))
    wanted = {p.name for p in desired}
    for name in delete:
        if name in current and name not in wanted:
            changes.append(Change(name, current[name].type, "deleted"))
    return changes


def tags_for(stage: str, extra: Iterable[tuple[str, str]] = ()) -> list[dict[str, str]]:
    tags = {key: value for key, value in extra}
    tags.update({OWNER_TAG_KEY: OWNER_TAG_VALUE, STAGE_TAG_KEY: stage})
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def apply(
    aws: Aws,
    changes: Sequence[Change],
    desired: Sequence[Param],
    current: Mapping[str, Param],
    *,
    tags: list[dict[str, str]],
    kms_key_id: str,
) -> None:
    """Carry out a plan: create (with tags), update (overwrite, then tag), delete. Unchanged: no call."""
    by_name = {p.name: p for p in desired}
    for change in changes:
        if change.action == "created":
            _put(aws, by_name[change.name], kms_key_id, tags=tags)
        elif change.action == "updated":
            want = by_name[change.name]
            have = current.get(change.name)
            if have is not None and have.type != want.type:
                # SSM cannot change a String into a SecureString in place: replace it.
                delete_params(aws, [change.name])
                _put(aws, want, kms_key_id, tags=tags)
            else:
                _put(aws, want, kms_key_id, overwrite=True)
                aws.call(
                    "ssm",
                    "AddTagsToResource",
                    f"parameter {change.name}",
                    ResourceType="Parameter",
                    ResourceId=change.name,
                    Tags=tags,
                )
    delete_params(aws, [c.name for c in changes if c.action == "deleted"])


def _put(
    aws: Aws, param: Param, kms_key_id: str, *, overwrite: bool = False, tags: list[dict[str, str]] | None = None
) -> None:
    kwargs: dict[str, Any] = {"Name": param.name, "Value": param.value, "Type": param.type, "Tier": TIER}
    # The AWS managed key is SSM's default: name it and a fresh account or region, where SSM has not created
    # `alias/aws/ssm` yet, fails (an alias given as KeyId must exist); omitted, SSM creates and uses it.
    if param.type == "SecureString" and kms_key_id != DEFAULT_SSM_KMS_KEY:
        kwargs["KeyId"] = kms_key_id
    if overwrite:
        kwargs["Overwrite"] = True
    if tags:
        kwargs["Tags"] = tags
    aws.call("ssm", "PutParameter", f"parameter {param.name}", **kwargs)


def delete_params(aws: Aws, names: Sequence[str]) -> None:
    for start in range(0, len(names), DELETE_BATCH):
        batch = list(names[start : start + DELETE_BATCH])
        aws.call("ssm", "DeleteParameters", f"parameter {batch[0]}", Names=batch)


def owned(aws: Aws, name: str) -> bool:
    """Whether the parameter carries this tool's owner tag (`ListTagsForResource`)."""
    response = aws.call("ssm", "ListTagsForResource", f"parameter {name}", ResourceType="Parameter", ResourceId=name)
    return any(t.get("Key") == OWNER_TAG_KEY and t.get("Value") == OWNER_TAG_VALUE for t in response.get("TagList", []))
