"""Checks on a stage's namespace code at synth, and the bundled code the stack inlines.

One Node process per synth bundles every code file with esbuild (relative imports are inlined; `@aws-appsync/*`
stays external, as the APPSYNC_JS runtime provides it), imports the bundle next to a stand-in for
`@aws-appsync/utils` and reports what each file exports. A problem fails synth with one line, in the format of
config errors (`ConfigError`):
- the file does not parse: `<field>: handlers/x.js:<line>:<column>: <esbuild's message>`;
- it is over AppSync's 32,768 characters once bundled;
- it exports neither onPublish nor onSubscribe, or a side's export has the wrong shape for its data source
  (a data source needs `{request(ctx), response(ctx)}`, no data source needs a function);
- a side is a direct Lambda integration and the file also exports that side's handler.
APPSYNC_JS language restrictions are linted by @aws-appsync/eslint-plugin in `make lint` (it costs ~1 s of
start-up, too much for every synth).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventapi.config import (
    CONTEXT_KEY,
    MAX_HANDLER_CHARS,
    SIDES,
    ConfigError,
    HandlerSide,
    NamespaceConfig,
    StageConfig,
)
from eventapi.local.handlers import DYNAMODB_SHIM, UTILS_SHIM

CHECK_TIMEOUT_SECONDS = 60

CHECKER = r"""
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
const [root, work, specJson] = process.argv.slice(2);
const require = createRequire(join(root, 'package.json'));
let esbuild;
try { esbuild = require('esbuild'); } catch { console.log(JSON.stringify({ missing: 'esbuild' })); process.exit(0); }
const shape = (v) => v === undefined ? 'none' : typeof v === 'function' ? 'function'
  : (v && typeof v.request === 'function' && typeof v.response === 'function') ? 'object' : 'other';
const out = {};
for (const { name, file } of JSON.parse(specJson)) {
  let code;
  try {
    const built = esbuild.buildSync({ entryPoints: [join(root, file)], bundle: true, write: false, format: 'esm',
      platform: 'neutral', external: ['@aws-appsync/*'], logLevel: 'silent', charset: 'utf8', absWorkingDir: root });
    code = built.outputFiles[0].text;
  } catch (err) {
    const e = (err.errors || [])[0] || { text: String(err) };
    const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : '';
    out[name] = { error: at + e.text };
    continue;
  }
  const path = join(work, 'ns', name + '.mjs');
  writeFileSync(path, code);
  try {
    const mod = await import(pathToFileURL(path).href);
    out[name] = { code, onPublish: shape(mod.onPublish), onSubscribe: shape(mod.onSubscribe) };
  } catch (err) {
    out[name] = { error: `${file}: fails when loaded: ${String(err && err.message || err)}` };
  }
}
console.log(JSON.stringify(out));
"""


@dataclass(frozen=True)
class CheckedCode:
    """A namespace's code as the stack inlines it (bundled) and the shape of each export."""

    code: str
    exports: dict[str, str]  # onPublish/onSubscribe -> function | object | none | other


def _run_checker(root: Path, files: list[dict[str, str]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise ConfigError(CONTEXT_KEY, "Node.js is needed to check namespace code at synth (the CDK needs it too)")
    with tempfile.TemporaryDirectory(prefix="eventapi-checks-") as work:
        utils = Path(work) / "node_modules" / "@aws-appsync" / "utils"
        utils.mkdir(parents=True)
        (Path(work) / "ns").mkdir()
        exports = {".": "./index.js", "./dynamodb": "./dynamodb.js"}
        (utils / "package.json").write_text(
            json.dumps({"name": "@aws-appsync/utils", "type": "module", "exports": exports})
        )
        (utils / "index.js").write_text(UTILS_SHIM)
        (utils / "dynamodb.js").write_text(DYNAMODB_SHIM)
        (Path(work) / "check.mjs").write_text(CHECKER)
        done = subprocess.run(
            [node, str(Path(work) / "check.mjs"), str(root), work, json.dumps(files)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=False,
        )
    if done.returncode != 0 or not done.stdout.strip():
        raise ConfigError(CONTEXT_KEY, f"the namespace code check failed: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("missing"):
        raise ConfigError(CONTEXT_KEY, f"{result['missing']} is missing from node_modules; run `make install`")
    return result


def _code_field(base: str, ns: NamespaceConfig) -> str:
    return ns.handler_field or f"{base}.handler"


def _check_side(base: str, ns: NamespaceConfig, side: str, config: HandlerSide | None, shape: str) -> None:
    path = ns.handler
    if config is not None and config.direct:
        if shape != "none":
            raise ConfigError(
                f"{base}.{side}",
                f"a direct Lambda integration (lambda {config.lambda_!r}), but {path} also exports {side}; "
                f"remove the export or the lambda",
            )
        return
    if config is not None and config.data_source is not None and shape != "object":
        found = {"none": "nothing", "function": "a function"}.get(shape, shape)
        raise ConfigError(
            f"{base}.{side}.dataSource",
            f"{config.data_source!r} needs {path} to export {side} as {{ request(ctx) {{...}}, response(ctx) "
            f"{{...}} }}; it exports {found}",
        )
    if (config is None or config.data_source is None) and shape == "object":
        raise ConfigError(
            f"{base}.{side}",
            f"{path} exports {side} with request/response, which needs a data source; add dataSource to "
            f"{base}.{side} or export a function",
        )
    if shape == "other":
        raise ConfigError(
            f"{base}.{side}", f"{path} exports {side} as neither a function nor {{ request(ctx), response(ctx) }}"
        )


def check_stage_code(stage: StageConfig, root: Path) -> dict[str, CheckedCode]:
    """Bundle and check the stage's namespace code; namespace name -> `CheckedCode`. Raises `ConfigError`."""
    coded = [ns for ns in stage.namespaces if ns.handler is not None]
    if not coded:
        return {}
    results = _run_checker(root, [{"name": ns.name, "file": ns.handler or ""} for ns in coded])
    out: dict[str, CheckedCode] = {}
    for ns in coded:
        base = f"{CONTEXT_KEY}.stages.{stage.name}.namespaces.{ns.name}"
        result = results[ns.name]
        if "error" in result:
            raise ConfigError(_code_field(base, ns), str(result["error"]))
        code = str(result["code"])
        if len(code) > MAX_HANDLER_CHARS:
            raise ConfigError(
                _code_field(base, ns),
                f"{ns.handler!r} is {len(code)} characters after bundling; AppSync allows at most {MAX_HANDLER_CHARS}",
            )
        exports = {side: str(result[side]) for side in SIDES}
        if set(exports.values()) == {"none"}:
            raise ConfigError(
                _code_field(base, ns),
                f"{ns.handler} exports neither onPublish nor onSubscribe; export at least one "
                "(export function onPublish(ctx) { ... })",
            )
        for side, config in zip(SIDES, (ns.on_publish, ns.on_subscribe), strict=True):
            _check_side(base, ns, side, config, exports[side])
        out[ns.name] = CheckedCode(code=code, exports=exports)
    return out
