"""Reading the two sides of a review: a cloud assembly (`manifest.json`) or a directory of `*.template.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATE_SUFFIX = ".template.json"
DEFAULT_REGION = "us-east-1"  # schemas of an environment-agnostic stack: cfn-lint's reference region


class ReviewInputError(ValueError):
    """A side of the review cannot be read; `str(err)` is one line saying what to do."""


@dataclass(frozen=True)
class StackTemplate:
    name: str
    region: str
    template: dict[str, Any]


def load_side(path: Path) -> dict[str, StackTemplate]:
    """Every stack of a cloud assembly or a template directory, by stack name."""
    if not path.is_dir():
        raise ReviewInputError(f"{path}: not a directory; give a cloud assembly (cdk.out) or a directory of templates")
    manifest = path / "manifest.json"
    if manifest.is_file():
        return _from_manifest(path, manifest)
    stacks = {
        file.name.removesuffix(TEMPLATE_SUFFIX): StackTemplate(
            file.name.removesuffix(TEMPLATE_SUFFIX), DEFAULT_REGION, _read(file)
        )
        for file in sorted(path.glob(f"*{TEMPLATE_SUFFIX}"))
    }
    if not stacks:
        raise ReviewInputError(f"{path}: no manifest.json and no *{TEMPLATE_SUFFIX}; run `make synth` first")
    return stacks


def _from_manifest(root: Path, manifest: Path) -> dict[str, StackTemplate]:
    artifacts = _read(manifest).get("artifacts", {})
    stacks = {}
    for name, artifact in sorted(artifacts.items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
        if region in ("", "unknown-region"):
            region = DEFAULT_REGION
        stacks[name] = StackTemplate(name, region, _read(root / artifact["properties"]["templateFile"]))
    return stacks


def _read(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReviewInputError(f"{file}: cannot read it as JSON ({err})") from None
    if not isinstance(value, dict):
        raise ReviewInputError(f"{file}: not a CloudFormation template (expected a JSON object)")
    return value


def render(value: Any) -> str:
    """An intrinsic-bearing value as one readable string: `{"Ref": "X"}` -> `${X}`, joins concatenated."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::GetAtt":
            return f"${{{'.'.join(arg) if isinstance(arg, list) else arg}}}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(render(part) for part in arg[1])
        if key == "Fn::Sub":
            return str(arg if isinstance(arg, str) else arg[0])
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
