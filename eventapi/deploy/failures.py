"""How a run of the post-deploy step fails: one line on stderr (`error: …`) that holds no key, and the exit code
of its kind. `python -m eventapi.deploy` and `python -m eventapi.deploy.renewer` end the same way."""

from __future__ import annotations

import sys
from typing import TextIO

from eventapi.config import ConfigError
from eventapi.deploy.errors import DeployError, ExitCode, Redactor


def report_failure(err: Exception, redactor: Redactor, stream: TextIO | None = None) -> ExitCode:
    """Print `err` as one redacted line and return its exit code. Any exception: a traceback could quote a key."""
    if isinstance(err, ConfigError):
        code, message = ExitCode.CONFIG, redactor(str(err))
    elif isinstance(err, DeployError):
        code, message = err.code, redactor(err.message)
    else:
        code, message = ExitCode.UNEXPECTED, f"unexpected {type(err).__name__}: {redactor(' '.join(str(err).split()))}"
    print(f"error: {message}", file=stream or sys.stderr)
    return code
