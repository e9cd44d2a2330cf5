"""Failures of the post-deploy step: one exception type, one exit code per kind (`eventapi.exits`), one line of text.

`DeployError.message` is what the CLI prints on stderr (prefixed `error: `); it says what failed and what to do.
No message ever holds an API key: AWS error text is passed through `Redactor` before it is quoted.
"""

from __future__ import annotations

import re
from typing import Final

from eventapi.exits import ExitCode


class DeployError(Exception):
    """A failure with an exit code and a one-line message (no secrets in it)."""

    def __init__(self, code: ExitCode, message: str) -> None:
        self.code = code
        self.message = " ".join(message.split())  # always one line
        super().__init__(self.message)


# AppSync API key values: `da2-` and 26 lowercase letters/digits (moto uses short hex ids instead).
API_KEY_RE: Final = re.compile(r"da2-[A-Za-z0-9]{8,}")
MASK: Final = "****"


def mask_key(key: str) -> str:
    """`****` and the key's last 4 characters (all masked if the key is short)."""
    return MASK + key[-4:] if len(key) > 4 else MASK


class Redactor:
    """Replaces known secrets, and anything shaped like an AppSync API key, with a mask."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, mask_key(secret))
        return API_KEY_RE.sub(lambda m: mask_key(m.group(0)), text)
