"""How a run of the post-deploy step fails: one line on stderr (`error: …`) that holds no key, and the exit code
of its kind (`eventapi.exits`). `python -m eventapi.deploy` and `python -m eventapi.deploy.renewer` end the same
way."""

from __future__ import annotations

import sys
from typing import TextIO

from eventapi.config import ConfigError
from eventapi.deploy.errors import DeployError, Redactor
from eventapi.exits import ExitCode, unexpected_line


def report_failure(err: Exception, redactor: Redactor, command: str, stream: TextIO | None = None) -> ExitCode:
    """Print `err` as one redacted line and return its exit code; an exception no one expected is named with the
    `command` that raised it. Any exception: a traceback could quote a key."""
    if isinstance(err, ConfigError):
        code, line = ExitCode.CONFIG, f"error: {redactor(str(err))}"
    elif isinstance(err, DeployError):
        code, line = err.code, f"error: {redactor(err.message)}"
    else:
        code, line = ExitCode.UNEXPECTED, unexpected_line(f"error: {command}", err, redactor)
    print(line, file=stream or sys.stderr)
    return code
