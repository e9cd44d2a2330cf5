"""A stage's `namespaces`: each one's name, auth modes, and how its handlers run.

A namespace's `onPublish` / `onSubscribe` each take one of:
- `{"code": "handlers/x.js"}`: an APPSYNC_JS handler (a function export);
- `{"code": "handlers/x.js", "dataSource": "<name>"}`: a handler object with `request(ctx)` / `response(ctx)`;
- `{"lambda": "<lambda data source>", "invokeType": "REQUEST_RESPONSE" | "EVENT"}`: a direct Lambda integration.
The older `"handler": "handlers/x.js"` stays valid: the same as `code` on both sides with no data source.
Namespace names and the namespace limits are in docs/protocol.md (Channels and namespaces, Limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from eventapi.config.auth import parse_modes
from eventapi.config.data_sources import DataSourceConfig, DataSourceKind
from eventapi.config.fields import ConfigError, Obj, did_you_mean, show, unreadable
from eventapi.config.model import AuthConfig, NamespaceConfig
from eventapi.protocol.limits import SEGMENT_RE

HANDLER_DIR = "handlers"
# AppSync's limits (docs/protocol.md, Limits).
MAX_NAMESPACES = 50
MAX_HANDLER_CHARS = 32_768
NAMESPACE_NAME_RE = SEGMENT_RE  # a namespace is a channel's first segment, and follows its rule
NAMESPACE_SETTINGS = ("publish", "subscribe", "handler", "onPublish", "onSubscribe")
SIDES = ("onPublish", "onSubscribe")


class InvokeType(StrEnum):
    REQUEST_RESPONSE = "REQUEST_RESPONSE"
    EVENT = "EVENT"


@dataclass(frozen=True)
class HandlerSide:
    """How one side (onPublish or onSubscribe) of a namespace runs."""

    code: str | None = None  # path of the namespace's code file (one file per namespace, as in AppSync)
    data_source: str | None = None  # for code: the data source its request/response talk to
    lambda_: str | None = None  # a direct Lambda integration: the lambda data source's name
    invoke_type: InvokeType = InvokeType.REQUEST_RESPONSE

    @property
    def direct(self) -> bool:
        return self.lambda_ is not None


def parse_namespaces(
    node: Obj, auth: AuthConfig, root: Path, sources: tuple[DataSourceConfig, ...] = ()
) -> tuple[NamespaceConfig, ...]:
    """The stage's `namespaces` (default: one called `default`), each with its modes, handler sides and code."""
    raw = node.value.get("namespaces", {"default": {}})
    path = node.at("namespaces")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            path,
            f'{show(raw)} is not allowed; expected an object of namespace name -> settings, e.g. {{"default": {{}}}}',
        )
    if len(raw) > MAX_NAMESPACES:
        raise ConfigError(path, f"{len(raw)} namespaces; an Event API holds at most {MAX_NAMESPACES}")
    seen: dict[str, str] = {}
    result = []
    configured = auth.provider_modes
    for name, settings in raw.items():
        ns_path = f"{path}.{name}"
        if not NAMESPACE_NAME_RE.fullmatch(name):
            raise ConfigError(
                ns_path,
                f"{name!r} is not a valid namespace name; expected 1-50 letters, digits "
                "and '-', starting and ending with a letter or digit",
            )
        # Channel paths are case-sensitive, but AppSync rejects two namespaces differing only by case.
        if name.lower() in seen:
            raise ConfigError(ns_path, f"duplicate namespace: {name!r} clashes with {seen[name.lower()]!r}")
        seen[name.lower()] = name
        ns = Obj(ns_path, settings, NAMESPACE_SETTINGS)
        on_publish, on_subscribe, code_at = parse_handler_sides(ns, sources)
        handler = code_at[1] if code_at else None
        code = read_handler(code_at[0], code_at[1], root) if code_at else None
        result.append(
            NamespaceConfig(
                name=name,
                publish=parse_modes(ns.at("publish"), ns.value.get("publish"), configured, None),
                subscribe=parse_modes(ns.at("subscribe"), ns.value.get("subscribe"), configured, None),
                handler=handler,
                handler_code=code,
                handler_field=code_at[0] if code_at else None,
                on_publish=on_publish,
                on_subscribe=on_subscribe,
            )
        )
    return tuple(result)


def read_handler(path: str, handler: str, root: Path) -> str:
    """The text of a namespace's code file `handler` (named by the field `path`), a .js file under handlers/."""
    rel = Path(handler)
    if rel.is_absolute() or rel.parts[:1] != (HANDLER_DIR,) or ".." in rel.parts or rel.suffix not in (".js", ".mjs"):
        raise ConfigError(
            path,
            f"{handler!r} is not allowed; expected a .js file under {HANDLER_DIR}/, e.g. '{HANDLER_DIR}/comments.js'",
        )
    file = root / rel
    if not file.is_file():
        raise ConfigError(path, f"{handler!r} does not exist (looked in {root}); create it or fix the path")
    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, f"{handler!r} {unreadable(err)}") from None
    if len(code) > MAX_HANDLER_CHARS:
        raise ConfigError(path, f"{handler!r} has {len(code)} characters; AppSync allows at most {MAX_HANDLER_CHARS}")
    return code


# --- handler sides -----------------------------------------------------------------------------------------------


def parse_handler_sides(
    ns: Obj, sources: tuple[DataSourceConfig, ...]
) -> tuple[HandlerSide | None, HandlerSide | None, tuple[str, str] | None]:
    """(onPublish, onSubscribe, (field path, code path) of the namespace's one code file or None)."""
    by_name = {s.name: s for s in sources}
    legacy = ns.get("handler", str, None, "a path to a .js file under handlers/")
    sides: dict[str, HandlerSide | None] = {}
    code: tuple[str, str] | None = None
    if legacy is not None:
        if ns.has("onPublish") or ns.has("onSubscribe"):
            raise ConfigError(
                ns.at("handler"),
                'give either handler or onPublish/onSubscribe; write {"onPublish": {"code": '
                f'"{legacy}"}}, "onSubscribe": {{"code": "{legacy}"}}}} instead',
            )
        return HandlerSide(code=legacy), HandlerSide(code=legacy), (ns.at("handler"), legacy)
    for side in SIDES:
        if not ns.has(side):
            sides[side] = None
            continue
        obj = ns.obj(side, ("code", "dataSource", "lambda", "invokeType"))
        parsed = _side(obj, by_name)
        if parsed.code is not None:
            if code is not None and code[1] != parsed.code:
                raise ConfigError(
                    obj.at("code"),
                    f"{parsed.code!r} differs from {code[0]} {code[1]!r}; a namespace has one code file: "
                    "export onPublish and onSubscribe from it",
                )
            code = code or (obj.at("code"), parsed.code)
        sides[side] = parsed
    return sides["onPublish"], sides["onSubscribe"], code


def _side(obj: Obj, by_name: dict[str, DataSourceConfig]) -> HandlerSide:
    code = obj.get("code", str, None, "a path to a .js file under handlers/")
    data_source = obj.get("dataSource", str, None, "the name of a data source of this stage")
    lam = obj.get("lambda", str, None, "the name of a lambda data source of this stage")
    invoke = obj.get("invokeType", str, None, "REQUEST_RESPONSE or EVENT")
    if lam is not None and (code is not None or data_source is not None):
        raise ConfigError(
            obj.path, "give either lambda (a direct Lambda integration, no code) or code (with an optional dataSource)"
        )
    if lam is None and code is None:
        raise ConfigError(
            obj.path, 'give code ("handlers/x.js"), code and dataSource, or lambda (a lambda data source name)'
        )
    if invoke is not None and lam is None:
        raise ConfigError(obj.at("invokeType"), "applies to a direct Lambda integration only (with lambda)")
    if invoke is not None and invoke not in InvokeType.__members__:
        raise ConfigError(obj.at("invokeType"), f"{show(invoke)} is not allowed; expected REQUEST_RESPONSE or EVENT")
    for key, name, kinds in (("dataSource", data_source, None), ("lambda", lam, (DataSourceKind.LAMBDA,))):
        if name is None:
            continue
        source = by_name.get(name)
        if source is None:
            known = sorted(by_name)
            raise ConfigError(
                obj.at(key),
                f"{name!r} is not a data source of this stage{did_you_mean(name, known)}; "
                f"defined: {', '.join(known) or 'none (add dataSources)'}",
            )
        if kinds is not None and source.kind not in kinds:
            raise ConfigError(
                obj.at(key), f"{name!r} is a {source.kind} data source; a direct integration needs lambda"
            )
    return HandlerSide(
        code=code, data_source=data_source, lambda_=lam, invoke_type=InvokeType(invoke or "REQUEST_RESPONSE")
    )
