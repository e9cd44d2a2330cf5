"""Which property changes make CloudFormation replace a resource: the resource schemas' `createOnlyProperties`.

The schemas are the ones cfn-lint ships (the CloudFormation registry's, per region), read through cfn-lint's own
schema manager, so this review and `cfn-lint` agree on what a resource type is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER


@cache
def create_only_paths(region: str, resource_type: str) -> tuple[tuple[str, ...], ...]:
    """Property paths (e.g. `("Name",)`) whose change replaces a `resource_type`; () for an unknown type."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:
        return ()
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = tuple(pointer.split("/")[2:])  # "/properties/Name" -> ("Name",)
        if parts:
            paths.append(parts)
    return tuple(paths)


def _at(properties: Any, path: tuple[str, ...]) -> Any:
    value = properties
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def replacing_changes(
    region: str, resource_type: str, old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """The create-only properties that differ between two versions of a resource: (path, old, new)."""
    changes = []
    for path in create_only_paths(region, resource_type):
        before, after = _at(old, path), _at(new, path)
        if before != after:
            changes.append(("/".join(path), before, after))
    return changes
