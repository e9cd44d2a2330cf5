"""What a template change means for clients and for security: one stack's old and new template in, findings out.

Pure functions over template JSON (no CDK, no AWS). A finding's id is stable across runs, so a reviewer can
accept a dangerous one by id (`--accept`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from eventapi.review.schemas import replacing_changes
from eventapi.review.templates import render

API = "AWS::AppSync::Api"
NAMESPACE = "AWS::AppSync::ChannelNamespace"
API_KEY = "AWS::AppSync::ApiKey"
ROLE = "AWS::IAM::Role"
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
LOG_GROUP = "AWS::Logs::LogGroup"
VERBOSE_LOG_LEVELS = ("DEBUG", "ALL")  # log event payloads and handler details


class Severity(StrEnum):
    DANGER = "danger"  # fails the review unless accepted by id
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    id: str  # `<stack>:<kind>:<subject>`, stable across runs
    severity: Severity
    summary: str  # one line: what changes and what it means for clients
    detail: str = ""  # Markdown shown under the table (a code diff, a list of grants)


# --- resources: added, removed, replaced ----------------------------------------------------------------------


def _resources(template: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = (template or {}).get("Resources", {})
    return resources


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resource.get("Properties", {})
    return props


def _replacement_meaning(kind: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[Severity, str]:
    if kind == API:
        return Severity.DANGER, (
            "the Event API itself is replaced: a new API id and new endpoints, open connections drop and its keys "
            "go; run `eventapi.deploy publish` and every client must re-read its config from SSM"
        )
    if kind == NAMESPACE:
        before, after = _props(old).get("Name"), _props(new).get("Name")
        if before != after:
            return Severity.DANGER, (
                f"namespace /{before} is renamed /{after}: subscribers of /{before} are cut off and publishes to "
                f"/{before} fail until every client moves to /{after}"
            )
        return Severity.DANGER, f"namespace /{after} is recreated: its subscriptions end and clients must resubscribe"
    if kind == API_KEY:
        return Severity.WARN, (
            "a new API key generation makes a new key and deletes the old one: run `eventapi.deploy publish` so SSM "
            "holds the new key (or `rotate-key` first, so clients holding the old key keep working meanwhile)"
        )
    if kind == ROLE:
        return Severity.WARN, "the role gets a new ARN: whoever assumes it by ARN (a stack output) must update"
    if kind == LOG_GROUP:
        return Severity.WARN, "a new log group: the old group's logs are deleted with it unless it is retained"
    if kind.startswith("AWS::Cognito::UserPool"):
        return Severity.WARN, "a new user pool or client: users and app clients of the old one cannot sign in to it"
    return Severity.WARN, f"CloudFormation creates a new {kind} and deletes the old one"


def _removal_meaning(kind: str, resource: dict[str, Any]) -> tuple[Severity, str]:
    if kind == API:
        return Severity.DANGER, "the Event API is deleted: every client of this stage stops working"
    if kind == NAMESPACE:
        name = _props(resource).get("Name")
        return Severity.DANGER, f"namespace /{name} is deleted: its subscribers are cut off and publishes to it fail"
    if kind == API_KEY:
        return Severity.WARN, "the stack's API key is deleted: clients using it fail unless SSM holds another key"
    return Severity.WARN, f"{kind} is deleted"


def resource_findings(stack: str, region: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Finding]:
    before, after = _resources(old), _resources(new)
    for lid in sorted(before.keys() & after.keys()):
        o, n = before[lid], after[lid]
        if o["Type"] != n["Type"]:
            yield Finding(f"{stack}:replace:{lid}", Severity.WARN, f"`{lid}` changes type {o['Type']} -> {n['Type']}")
            continue
        changes = replacing_changes(region, n["Type"], _props(o), _props(n))
        if changes:
            severity, meaning = _replacement_meaning(n["Type"], o, n)
            what = ", ".join(f"{path} {render(a)} -> {render(b)}" for path, a, b in changes)
            yield Finding(f"{stack}:replace:{lid}", severity, f"`{lid}` ({n['Type']}) is replaced ({what}): {meaning}")
    removed = {lid: before[lid] for lid in sorted(before.keys() - after.keys())}
    added = {lid: after[lid] for lid in sorted(after.keys() - before.keys())}
    # A logical id that changes replaces the resource: pair what left and what came, type by type.
    for kind in sorted({r["Type"] for r in removed.values()} & {r["Type"] for r in added.values()}):
        gone = [lid for lid, r in removed.items() if r["Type"] == kind]
        came = [lid for lid, r in added.items() if r["Type"] == kind]
        for old_id, new_id in zip(gone, came, strict=False):
            severity, meaning = _replacement_meaning(kind, removed.pop(old_id), added.pop(new_id))
            yield Finding(
                f"{stack}:replace:{old_id}",
                severity,
                f"`{old_id}` -> `{new_id}` ({kind}): the logical id changes, so it is replaced: {meaning}",
            )
    for lid, resource in removed.items():
        severity, meaning = _removal_meaning(resource["Type"], resource)
        yield Finding(f"{stack}:remove:{lid}", severity, f"`{lid}` ({resource['Type']}) is removed: {meaning}")
    for lid, resource in added.items():
        yield Finding(f"{stack}:add:{lid}", Severity.INFO, f"`{lid}` ({resource['Type']}) is added")


# --- auth per operation and namespace -------------------------------------------------------------------------


def _modes(entries: Any) -> list[str]:
    return [entry["AuthType"] for entry in entries or [] if isinstance(entry, dict) and "AuthType" in entry]


def _first(template: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((_props(r) for r in _resources(template).values() if r["Type"] == kind), None)


def _handler(props: dict[str, Any]) -> str | None:
    """A namespace's handler as text to compare: its code, an S3 location, or its handler configs."""
    if "CodeHandlers" in props:
        return str(props["CodeHandlers"])
    for key in ("CodeS3Location", "HandlerConfigs"):
        if props.get(key):  # the L2 writes an empty HandlerConfigs for a namespace without handlers
            return json.dumps(props[key], indent=1, sort_keys=True)
    return None


@dataclass(frozen=True)
class AuthView:
    providers: dict[str, str]  # mode -> its settings, rendered
    connect: list[str]
    namespaces: dict[str, dict[str, Any]]  # name -> {"publish": [...], "subscribe": [...], "handler": str | None}


def auth_view(template: dict[str, Any]) -> AuthView | None:
    api = _first(template, API)
    if api is None:
        return None
    config = api.get("EventConfig", {})
    providers = {
        p["AuthType"]: render({k: v for k, v in p.items() if k != "AuthType"}) for p in config.get("AuthProviders", [])
    }
    publish, subscribe = _modes(config.get("DefaultPublishAuthModes")), _modes(config.get("DefaultSubscribeAuthModes"))
    namespaces = {}
    for resource in _resources(template).values():
        if resource["Type"] == NAMESPACE:
            props = _props(resource)
            namespaces[str(props.get("Name"))] = {
                "publish": _modes(props.get("PublishAuthModes")) or publish,
                "subscribe": _modes(props.get("SubscribeAuthModes")) or subscribe,
                "handler": _handler(props),
            }
    return AuthView(providers, _modes(config.get("ConnectionAuthModes")), namespaces)


def _mode_changes(fid: str, where: str, old: list[str], new: list[str]) -> Iterator[Finding]:
    for mode in new:
        if mode not in old:
            yield Finding(
                f"{fid}:+{mode}", Severity.DANGER, f"auth broadened: {mode} may now {where} (was {', '.join(old)})"
            )
    for mode in old:
        if mode not in new:
            yield Finding(
                f"{fid}:-{mode}",
                Severity.WARN,
                f"{mode} may no longer {where}: clients using it are refused (now {', '.join(new) or 'none'})",
            )


def auth_findings(stack: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Finding]:
    before, after = auth_view(old), auth_view(new)
    if before is None or after is None:
        return
    for mode, settings in after.providers.items():
        if mode not in before.providers:
            yield Finding(
                f"{stack}:auth-provider:+{mode}",
                Severity.DANGER,
                f"auth broadened: a new provider {mode} ({settings}); its callers are accepted wherever it is listed",
            )
        elif before.providers[mode] != settings:
            yield Finding(
                f"{stack}:auth-provider:{mode}",
                Severity.WARN,
                f"provider {mode} changes ({before.providers[mode]} -> {settings}): it accepts other callers now",
            )
    for mode in before.providers.keys() - after.providers.keys():
        yield Finding(f"{stack}:auth-provider:-{mode}", Severity.WARN, f"provider {mode} is removed")
    yield from _mode_changes(f"{stack}:auth:connect", "connect", before.connect, after.connect)
    for name in sorted(before.namespaces.keys() & after.namespaces.keys()):
        o, n = before.namespaces[name], after.namespaces[name]
        for op in ("publish", "subscribe"):
            yield from _mode_changes(f"{stack}:auth:/{name}:{op}", f"{op} on /{name}", o[op], n[op])
        yield from _handler_findings(stack, name, o["handler"], n["handler"])
    for name in sorted(after.namespaces.keys() - before.namespaces.keys()):
        ns = after.namespaces[name]
        yield Finding(
            f"{stack}:namespace:+/{name}",
            Severity.INFO,
            f"new namespace /{name}: publish {', '.join(ns['publish'])}; subscribe {', '.join(ns['subscribe'])}"
            + ("; with a handler" if ns["handler"] else ""),
            _code_diff(None, ns["handler"]) if ns["handler"] else "",
        )


def _code_diff(old: str | None, new: str | None) -> str:
    lines = difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), "old", "new", lineterm="", n=2)
    return "```diff\n" + "\n".join(lines) + "\n```"


def _handler_findings(stack: str, name: str, old: str | None, new: str | None) -> Iterator[Finding]:
    fid = f"{stack}:handler:/{name}"
    if old and not new:
        yield Finding(
            fid,
            Severity.DANGER,
            f"auth broadened: namespace /{name} loses its handler, so what its onPublish/onSubscribe checked or "
            "changed is no longer checked",
            _code_diff(old, None),
        )
    elif new and not old:
        yield Finding(fid, Severity.INFO, f"namespace /{name} gets a handler", _code_diff(None, new))
    elif old != new:
        yield Finding(fid, Severity.WARN, f"namespace /{name}: the handler code changes", _code_diff(old, new))


# --- IAM: grants and trust ------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(document: Any) -> set[str]:
    grants = set()
    for statement in (document or {}).get("Statement", []):
        condition = f" if {render(statement['Condition'])}" if "Condition" in statement else ""
        for action in _as_list(statement.get("Action", statement.get("NotAction", []))):
            for resource in _as_list(statement.get("Resource", statement.get("NotResource", "*"))):
                grants.add(f"{statement.get('Effect', 'Allow')} {action} on {render(resource)}{condition}")
    return grants


def _trust(document: Any) -> set[str]:
    trust = set()
    for statement in (document or {}).get("Statement", []):
        condition = f" if {render(statement['Condition'])}" if "Condition" in statement else ""
        principal = render(statement.get("Principal", {}))
        for action in _as_list(statement.get("Action", [])):
            trust.add(f"{statement.get('Effect', 'Allow')} {action} by {principal}{condition}")
    return trust


def _role_grants(template: dict[str, Any]) -> dict[str, set[str]]:
    """Role (or managed policy) logical id -> what it is allowed, from its inline and attached policies."""
    grants: dict[str, set[str]] = {}
    for lid, resource in _resources(template).items():
        props = _props(resource)
        if resource["Type"] == ROLE:
            mine = grants.setdefault(lid, set())
            for policy in props.get("Policies", []):
                mine |= _grants(policy.get("PolicyDocument"))
            mine |= {f"Allow (managed policy) {render(arn)}" for arn in props.get("ManagedPolicyArns", [])}
        elif resource["Type"] in POLICY_TYPES:
            owners = [
                ref["Ref"] if isinstance(ref, dict) and "Ref" in ref else render(ref) for ref in props.get("Roles", [])
            ]
            for owner in owners or [lid]:
                grants.setdefault(owner, set()).update(_grants(props.get("PolicyDocument")))
    return grants


def iam_findings(stack: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Finding]:
    before, after = _role_grants(old), _role_grants(new)
    for owner in sorted(before.keys() | after.keys()):
        was, now = before.get(owner, set()), after.get(owner, set())
        gained, lost = now - was, was - now
        if not gained and not lost:
            continue
        severity = Severity.WARN if any(g.startswith("Allow") for g in gained) else Severity.INFO
        yield Finding(
            f"{stack}:iam:{owner}",
            severity,
            f"`{owner}` permissions: {len(gained)} added, {len(lost)} removed",
            _changes(gained, lost),
        )
    old_roles, new_roles = _resources(old), _resources(new)
    for lid in sorted(old_roles.keys() & new_roles.keys()):
        if new_roles[lid]["Type"] != ROLE or old_roles[lid]["Type"] != ROLE:
            continue
        was = _trust(_props(old_roles[lid]).get("AssumeRolePolicyDocument"))
        now = _trust(_props(new_roles[lid]).get("AssumeRolePolicyDocument"))
        if was != now:
            gained = now - was
            yield Finding(
                f"{stack}:trust:{lid}",
                Severity.WARN if gained else Severity.INFO,
                f"`{lid}` trust changes: {'who may assume it changes' if gained else 'fewer may assume it'}",
                _changes(gained, was - now),
            )


def _changes(gained: Iterable[str], lost: Iterable[str]) -> str:
    return "\n".join([*(f"- added: `{g}`" for g in sorted(gained)), *(f"- removed: `{g}`" for g in sorted(lost))])


# --- logging and the key's expiry -----------------------------------------------------------------------------


def logging_findings(stack: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Finding]:
    before, after = _first(old, API), _first(new, API)
    if before is not None and after is not None:
        level_was = before.get("EventConfig", {}).get("LogConfig", {}).get("LogLevel", "off")
        level = after.get("EventConfig", {}).get("LogConfig", {}).get("LogLevel", "off")
        if level_was != level:
            verbose = level in VERBOSE_LOG_LEVELS
            yield Finding(
                f"{stack}:log-level",
                Severity.WARN if verbose or level == "off" else Severity.INFO,
                f"log level {level_was} -> {level}"
                + (": event payloads and handler details go to CloudWatch Logs" if verbose else ""),
            )
    old_res, new_res = _resources(old), _resources(new)
    for lid in sorted(old_res.keys() & new_res.keys()):
        if new_res[lid]["Type"] != LOG_GROUP:
            continue
        was, now = _props(old_res[lid]).get("RetentionInDays"), _props(new_res[lid]).get("RetentionInDays")
        if was != now:
            shorter = now is not None and (was is None or now < was)
            yield Finding(
                f"{stack}:log-retention:{lid}",
                Severity.WARN if shorter else Severity.INFO,
                f"log retention {was or 'forever'} -> {now or 'forever'} days"
                + (": older logs are deleted" if shorter else ""),
            )
    for lid in sorted(old_res.keys() & new_res.keys()):
        if new_res[lid]["Type"] == API_KEY:
            was, now = _props(old_res[lid]).get("Expires"), _props(new_res[lid]).get("Expires")
            if was != now:
                yield Finding(
                    f"{stack}:key-expiry:{lid}",
                    Severity.INFO,
                    f"the API key's expiry moves {_day(was)} -> {_day(now)} (the deploy renews the key in place)",
                )


def _day(epoch: Any) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d") if isinstance(epoch, int) else str(epoch)


def review_stack(stack: str, region: str, old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    """Every finding for one stack, most severe first."""
    findings = [
        *resource_findings(stack, region, old, new),
        *auth_findings(stack, old, new),
        *iam_findings(stack, old, new),
        *logging_findings(stack, old, new),
    ]
    order = list(Severity)
    return sorted(findings, key=lambda f: order.index(f.severity))
