"""Loading the config: `cdk.json`'s `eventapi` context, parsed once into an `AppConfig` (its stages and CI).

The CDK app (app.py) reads the context through the CDK and calls `parse_config`; tools outside the CDK app call
`load_config` / `load_stage`, which read `cdk.json` themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventapi.config.ci import CI_KEYS, parse_ci
from eventapi.config.fields import CONTEXT_KEY, ConfigError, Obj, show, unreadable
from eventapi.config.model import AppConfig, StageConfig
from eventapi.config.stage import parse_stage

APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


def parse_config(context: Mapping[str, Any] | None, root: Path) -> AppConfig:
    """Parse and validate the `eventapi` context value; `root` is where `handlers/` lives."""
    if context is None:
        raise ConfigError(CONTEXT_KEY, 'missing from cdk.json "context"; add {"app": "...", "stages": {...}}')
    node = Obj(CONTEXT_KEY, context, ("app", "stages", "ci"))
    what = "1-30 lowercase letters, digits and '-', starting with a letter"
    app = node.required("app", APP_NAME_RE, what, "give the application name, e.g. 'social'")
    stages = node.get("stages", dict, {}, "an object of stage name -> settings")
    if not stages:
        raise ConfigError(node.at("stages"), 'no stage defined; add one, e.g. {"dev": {"namespaces": {"default": {}}}}')
    parsed = tuple(parse_stage(app, name, raw, root) for name, raw in stages.items())
    ci = parse_ci(node.obj("ci", CI_KEYS), parsed) if node.has("ci") else None
    return AppConfig(app=app, stages=parsed, ci=ci)


def parse_context_json(text: str, source: str) -> dict[str, Any]:
    """A JSON object of CDK context (a cdk.json, or `CDK_CONTEXT_JSON`); anything else is a one-line ConfigError."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ConfigError(source, f"is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise ConfigError(source, f"expected a JSON object, got {show(raw)}")
    return raw


def read_cdk_context(project_root: Path = Path()) -> dict[str, Any]:
    """The `context` object of `cdk.json` in `project_root` (empty when it has none)."""
    cdk_json = project_root / "cdk.json"
    try:
        text = cdk_json.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("cdk.json", f"not found in {project_root.resolve()}; run from the project root") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError("cdk.json", unreadable(err)) from None
    context = parse_context_json(text, "cdk.json").get("context", {})
    if not isinstance(context, dict):
        raise ConfigError("cdk.json: context", f"expected an object, got {show(context)}")
    return context


def load_config(project_root: Path = Path()) -> AppConfig:
    """Read `cdk.json` in `project_root` and parse its `eventapi` context (for tools outside the CDK app)."""
    return parse_config(read_cdk_context(project_root).get(CONTEXT_KEY), project_root)


def load_stage(stage: str, project_root: Path = Path()) -> StageConfig:
    """One validated stage from `cdk.json`."""
    return load_config(project_root).stage(stage)
