"""`show`: what a client reads for a stage, the key masked; `export`: a client config file of it, in one of the
formats of `eventapi.contract` (the config JSON with the key, an env file, amplify_outputs.json)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

from eventapi.config import StageConfig
from eventapi.contract import ENV_DEFAULT_AUTH_MODE, EventsConfig, SsmParam, iso
from eventapi.deploy.context import Context
from eventapi.deploy.errors import DeployError, Redactor, mask_key
from eventapi.deploy.keys import expiry_warning
from eventapi.deploy.params import SECURE, layout_names
from eventapi.deploy.published import read_published
from eventapi.deploy.report import ExportReport, Format, ShownParameter, ShowReport
from eventapi.exits import ExitCode

EXPORT_DEFAULT_PATHS: Final[dict[str, str]] = {
    "env": "eventapi.env",
    "json": "eventapi-config.json",
    "amplify": "amplify_outputs.json",
}


def show(
    session: Any,
    stage: StageConfig,
    *,
    region: str | None = None,
    now: datetime | None = None,
    redactor: Redactor | None = None,
) -> ShowReport:
    """What a client reads for the stage; the key masked to its last 4 characters."""
    ctx = Context.open(session, stage, region=region, redactor=redactor, now=now)
    pub = read_published(ctx.aws, stage)
    report = ShowReport(stage=stage.name, prefix=pub.prefix)
    layout = layout_names(pub.prefix)
    for name in sorted(pub.params, key=lambda n: list(layout).index(n) if n in layout else len(layout)):
        param = pub.params[name]
        if layout.get(name) is SsmParam.API_KEY:
            value = mask_key(param.value)
        elif layout.get(name) is SsmParam.API_KEY_PREVIOUS and pub.rotation is not None:
            value = f"rotation under way: finish after {iso(pub.rotation.finish_after)}"
        elif param.type == SECURE:
            value = mask_key(param.value)
        else:
            value = param.value
        report.parameters.append(ShownParameter(name, param.type, value))
    expires = pub.config.api_key_expires
    if pub.api_key is not None and expires is not None and (warning := expiry_warning(expires, ctx.now, stage.name)):
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
) -> ExportReport:
    """Write a client config file (mode 0600, atomically) from what is published; it holds the key.

    With `stream` (the CLI's `-o -`), the text goes there instead of a file.
    """
    ctx = Context.open(session, stage, region=region, redactor=redactor)
    pub = read_published(ctx.aws, stage)
    text = render_export(pub.config.with_api_key(pub.api_key), fmt)
    if stream is not None:
        stream.write(text)
        stream.flush()
        report = ExportReport(stage=stage.name, prefix=pub.prefix, format=fmt, path=None)
        where = "the output"
    else:
        path = output or Path(EXPORT_DEFAULT_PATHS[fmt])
        write_private(path, text)
        report = ExportReport(stage=stage.name, prefix=pub.prefix, format=fmt, path=path)
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


def render_export(cfg: EventsConfig, fmt: Format) -> str:
    """The text of an exported client config file."""
    if fmt == "json":
        return json.dumps(cfg.to_json(include_api_key=True), indent=2) + "\n"
    if fmt == "env":
        return cfg.to_env() + f"{ENV_DEFAULT_AUTH_MODE}={cfg.default_auth_mode().value}\n"
    return json.dumps(cfg.to_amplify_outputs(), indent=2) + "\n"


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
