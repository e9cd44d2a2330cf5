"""Synth-time checks on namespace code (eventapi.handler_checks): each problem's exact one-line message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import ConfigError, parse_config
from eventapi.handler_checks import check_stage_code

ROOT = Path(__file__).resolve().parents[2]
NS = "eventapi.stages.dev.namespaces.ns"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "esbuild").is_dir(), reason="needs Node and esbuild"
)
FN = "export function onPublish(ctx) { return ctx.events; }\n"
OBJ = "export const onPublish = { request(ctx) { return {}; }, response(ctx) { return ctx.events; } };\n"


def check(tmp_path: Path, code: str, ns: dict[str, Any], sources: dict[str, Any] | None = None) -> str:
    (tmp_path / "handlers").mkdir(exist_ok=True)
    (tmp_path / "handlers" / "x.js").write_text(code)
    (tmp_path / "functions" / "fn").mkdir(parents=True, exist_ok=True)
    (tmp_path / "functions" / "fn" / "handler.py").write_text("def handler(event, context):\n    return None\n")
    if not (tmp_path / "node_modules").exists():
        (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    stage = {"namespaces": {"ns": ns}, "dataSources": sources or {}}
    config = parse_config({"app": "social", "stages": {"dev": stage}}, tmp_path)
    with pytest.raises(ConfigError) as info:
        check_stage_code(config.stages[0], tmp_path)
    message = str(info.value)
    assert "\n" not in message
    return message


TABLE = {"t": {"type": "dynamodb", "partitionKey": "pk"}}
LAMBDA = {"fn": {"type": "lambda", "function": "fn"}}


def test_parse_error_names_file_line_column(tmp_path: Path) -> None:
    """Code that does not parse fails synth at its file:line:column."""
    message = check(
        tmp_path, "export function onPublish(ctx) {\n  return ctx.events.map(e => e\n}\n", {"handler": "handlers/x.js"}
    )
    assert message == f'{NS}.handler: handlers/x.js:3:0: Expected ")" but found "}}"'


def test_no_exports(tmp_path: Path) -> None:
    """A file exporting neither handler is refused."""
    assert check(tmp_path, "export const other = 1;\n", {"onPublish": {"code": "handlers/x.js"}}) == (
        f"{NS}.onPublish.code: handlers/x.js exports neither onPublish nor onSubscribe; export at least one "
        "(export function onPublish(ctx) { ... })"
    )


def test_function_where_a_data_source_needs_request_response(tmp_path: Path) -> None:
    """With a dataSource, the side must export {request, response}."""
    assert check(tmp_path, FN, {"onPublish": {"code": "handlers/x.js", "dataSource": "t"}}, TABLE) == (
        f"{NS}.onPublish.dataSource: 't' needs handlers/x.js to export onPublish as {{ request(ctx) {{...}}, "
        "response(ctx) {...} }; it exports a function"
    )


def test_request_response_without_data_source(tmp_path: Path) -> None:
    """{request, response} without a dataSource is refused."""
    assert check(tmp_path, OBJ, {"onPublish": {"code": "handlers/x.js"}}) == (
        f"{NS}.onPublish: handlers/x.js exports onPublish with request/response, which needs a data source; add "
        f"dataSource to {NS}.onPublish or export a function"
    )


def test_direct_lambda_side_with_code(tmp_path: Path) -> None:
    """A direct Lambda side whose namespace code also exports that side's handler is refused."""
    code = FN + "export function onSubscribe(ctx) {}\n"
    ns = {"onPublish": {"code": "handlers/x.js"}, "onSubscribe": {"lambda": "fn"}}
    assert check(tmp_path, code, ns, LAMBDA) == (
        f"{NS}.onSubscribe: a direct Lambda integration (lambda 'fn'), but handlers/x.js also exports onSubscribe; "
        "remove the export or the lambda"
    )


def test_over_limit_after_bundling(tmp_path: Path) -> None:
    """The 32,768-character limit applies to the bundle: a small file importing a big module is refused."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "big.js").write_text("export const BIG = " + json.dumps("x" * 33_000) + ";\n")
    code = "import { BIG } from './big.js';\nexport function onPublish(ctx) { return BIG ? ctx.events : []; }\n"
    message = check(tmp_path, code, {"handler": "handlers/x.js"})
    assert message.startswith(f"{NS}.handler: 'handlers/x.js' is 33")
    assert message.endswith(" characters after bundling; AppSync allows at most 32768")


def test_shipped_code_passes_and_is_bundled() -> None:
    """cdk.json's handlers pass; relative imports would be inlined, @aws-appsync/* stays external."""
    config = parse_config(json.loads((ROOT / "cdk.json").read_text())["context"]["eventapi"], ROOT)
    checked = check_stage_code(config.stage("prod"), ROOT)
    assert checked["comments"].exports == {"onPublish": "object", "onSubscribe": "none"}
    assert 'from "@aws-appsync/utils/dynamodb"' in checked["comments"].code
