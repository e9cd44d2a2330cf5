"""JSON text from the network: standard JSON only, the compact form IAM signs, and the shape checks every
parser shares (docs/protocol.md, Messages)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def compact_json(value: Any) -> str:
    """JSON as JavaScript's `JSON.stringify` writes it (no spaces, non-ASCII kept): the bytes IAM signs."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class MessageFormatError(ValueError):
    """A frame or body that does not have the documented shape."""


class JsonTextError(ValueError):
    """Text that is not standard JSON (`NaN`/`Infinity`, or nested deeper than Python's parser goes)."""


def _no_constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not standard JSON")


def strict_loads(text: str | bytes) -> Any:
    """`json.loads` for text from the network: standard JSON only (what `JSON.parse` reads), and a nesting too deep
    to parse is a `ValueError` like any other bad JSON, never a `RecursionError`."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise JsonTextError("JSON nested too deeply") from None


def load_object(text: str | bytes) -> dict[str, Any]:
    try:
        obj = strict_loads(text)
    except JsonTextError as err:
        raise MessageFormatError(f"not valid JSON ({err})") from None
    except ValueError:
        raise MessageFormatError("not valid JSON") from None
    if not isinstance(obj, dict):
        raise MessageFormatError(f"expected a JSON object, got {show(obj)}")
    return obj


def object_field(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise MessageFormatError(f"{what} must be an object, got {show(raw)}")
    return raw


def string_field(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MessageFormatError(f"{key} must be a string, got {show(value)}")
    return value


def int_field(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageFormatError(f"{key} must be an integer, got {show(value)}")
    return value


def show(value: Any) -> str:
    try:
        text = json.dumps(value) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
