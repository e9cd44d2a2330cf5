"""A Lambda code asset of the package's own Python modules, bundled without Docker.

`module_files` follows the `eventapi` imports of an entry module (top-level and inside functions) and returns the
files they name, nothing else: the Lambda runs the very modules the CLI runs, and a package whose `__init__`
pulls in what the Lambda lacks (`eventapi.client` imports aiohttp) is left out, so its folder is a namespace
package there. Third-party imports are the runtime's (boto3/botocore are in the AWS Lambda Python runtime).
"""

from __future__ import annotations

import ast
import functools
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

PACKAGE = "eventapi"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_file(module: str) -> Path | None:
    base = PACKAGE_DIR.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except those under `if TYPE_CHECKING:` (imports for the type checker only)."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            todo += node.orelse
            continue
        nodes.append(node)
        todo += ast.iter_child_nodes(node)
    return nodes


@functools.cache  # one walk per synth, however many stages bundle the same entry
def module_files(entry: str) -> tuple[Path, ...]:
    """The files of `entry` and every `eventapi` module it imports, transitively, sorted."""
    seen: dict[str, Path] = {}
    todo = [entry]
    while todo:
        module = todo.pop()
        file = _module_file(module)
        if module in seen or file is None:
            continue
        seen[module] = file
        for node in _runtime_nodes(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names if alias.name.startswith(PACKAGE + ".")]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE + "."):
                todo.append(node.module)
                todo += [f"{node.module}.{alias.name}" for alias in node.names]  # `from pkg import module`
    return tuple(sorted(set(seen.values())))


@jsii.implements(ILocalBundling)
class _CopyModules:
    def __init__(self, entry: str) -> None:
        self.entry = entry

    def try_bundle(self, output_dir: str, *options: Any, **bundling: Any) -> bool:
        # jsii passes the BundlingOptions positionally, its typed stub spells them as keywords: neither is read.
        for file in module_files(self.entry):
            target = Path(output_dir) / file.relative_to(PACKAGE_DIR.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        return True


def package_code(entry: str) -> lambda_.Code:
    """Lambda code holding `entry` and the package modules it imports (hashed by content, bundled locally)."""
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        # Never used: the local bundling always succeeds. CDK wants an image to fall back on.
        bundling=BundlingOptions(image=DockerImage.from_registry("unused-local-bundling"), local=_CopyModules(entry)),
    )
