"""Reading the `eventapi` context: a JSON object at a field path, and the one-line `ConfigError`.

Every getter checks the type, the range or the pattern of one value and, when it is wrong, raises
`ConfigError("<field path>", "<value> is not allowed; expected <what>")`, so each section's parser states only what
it allows.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, TypeVar

CONTEXT_KEY = "eventapi"  # the cdk.json context key; every field path starts with it

T = TypeVar("T")
D = TypeVar("D", str, None)  # a string setting's default: a string, or None for "not given"


class ConfigError(ValueError):
    """A bad stage config value; `str(err)` is one line: `<field path>: <problem>`."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def unreadable(err: OSError | UnicodeDecodeError) -> str:
    """Why a file the config names could not be read, for a one-line error: the system's reason, or the decoding's."""
    return f"cannot be read ({getattr(err, 'strerror', None) or err})"


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """` (did you mean 'x'?)` for the choice closest to `word` (any case), or `""` when none is close."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower))  # the closest first
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def show(value: Any) -> str:
    """A bad value as an error message quotes it: JSON (a string as a Python literal), cut at 60 characters."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Obj:
    """A JSON object at a field path: typed getters that fail with the path, and an unknown-key check."""

    def __init__(self, path: str, value: Any, allowed: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected an object, got {show(value)}")
        for key in value:
            if key not in allowed:
                raise ConfigError(
                    f"{path}.{key}", f"unknown setting{did_you_mean(key, allowed)}; allowed here: {', '.join(allowed)}"
                )
        self.path = path
        self.value: dict[str, Any] = value

    def has(self, key: str) -> bool:
        return key in self.value

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, kind: type[T], default: T, what: str) -> T:
        if key not in self.value:
            return default
        raw = self.value[key]
        # bool is an int in Python; a count given as true is still wrong.
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            raise ConfigError(self.at(key), f"{show(raw)} is not allowed; expected {what}")
        return raw

    def string(self, key: str, default: D, pattern: re.Pattern[str], what: str) -> str | D:
        """A string matching `pattern`, or `default` when the key is not given."""
        return self._matching(key, pattern, what) if key in self.value else default

    def required(self, key: str, pattern: re.Pattern[str], what: str, missing: str) -> str:
        """A string matching `pattern` that must be given; `missing` says what to give."""
        if key not in self.value:
            raise ConfigError(self.at(key), f"missing; {missing}")
        return self._matching(key, pattern, what)

    def _matching(self, key: str, pattern: re.Pattern[str], what: str) -> str:
        raw = self.value[key]
        if not isinstance(raw, str) or not pattern.fullmatch(raw):
            raise ConfigError(self.at(key), f"{show(raw)} is not allowed; expected {what}")
        return raw

    def integer(self, key: str, default: int, low: int, high: int, what: str) -> int:
        raw = self.get(key, int, default, what)
        if not low <= raw <= high:
            raise ConfigError(self.at(key), f"{show(raw)} is not allowed; expected {what}")
        return raw

    def obj(self, key: str, allowed: tuple[str, ...]) -> Obj:
        return Obj(self.at(key), self.value.get(key, {}), allowed)

    def regex(self, key: str) -> str | None:
        """A string that must be a valid regular expression (Python's `re` stands in for AppSync's engine)."""
        value = self.get(key, str, None, "a regular expression")
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ConfigError(self.at(key), f"{show(value)} is not a valid regular expression: {err}") from None
        return value
