"""What every step of a local deploy shares: its failure (`LocalDeployError`, with an exit code) and a child
process run to a deadline (the synth and the post-deploy step run as a user would run them)."""

from __future__ import annotations

import asyncio
import contextlib

from eventapi.exits import ExitCode


class LocalDeployError(Exception):
    """A step of the local deploy failed; `str(err)` is one line, `code` the exit code to use."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


async def communicate(proc: asyncio.subprocess.Process, timeout: float) -> tuple[bytes, bytes] | None:
    """The child's (stdout, stderr), or None on timeout; the child is killed on timeout or cancellation."""
    try:
        return await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        return None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
