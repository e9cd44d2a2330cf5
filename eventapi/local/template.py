"""Read one Event API out of a synthesized CloudFormation template: `LocalApiSpec.from_template(template)`.

The local Event API is configured from exactly what `cdk synth` wrote (`cdk.out/<Stack>.template.json`): the
`AWS::AppSync::Api` resource (name, auth providers, connection/default publish/default subscribe modes), its
`AWS::AppSync::ChannelNamespace` resources (effective publish/subscribe modes, handler code) and its
`AWS::AppSync::ApiKey` resources (description and expiry; key values are made at local deploy, never synthesized).

Values CloudFormation resolves at deploy time (`Ref`, `Fn::GetAtt` ...) are kept as None here (e.g. the id of a
user pool the same stack creates): the local deploy supplies them through `LocalSettings`.

The types here describe the template, not `cdk.json`: a namespace's modes are the effective ones (its own, else the
API's defaults), TTLs and expiries are in the template's units, and a template from any CDK app can be served.
Their configured counterparts, which the stacks turn into the template, are `eventapi.config`'s `NamespaceConfig`,
`OidcProvider` and `LambdaProvider`.

Pure Python: no aiohttp, no boto3, no I/O besides `load_template(path)`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventapi.local.template_sources import DataSourceSpec, read_data_sources
from eventapi.outputs import CODE_METADATA, Output
from eventapi.protocol.modes import AuthMode

API_TYPE = "AWS::AppSync::Api"
NAMESPACE_TYPE = "AWS::AppSync::ChannelNamespace"
API_KEY_TYPE = "AWS::AppSync::ApiKey"


class TemplateError(ValueError):
    """A template the local Event API cannot serve; `str(err)` is one line saying what to do."""


@dataclass(frozen=True)
class CognitoSpec:
    """AMAZON_COGNITO_USER_POOLS provider. `user_pool_id` is None when the stack creates the pool (a `Ref`)."""

    user_pool_id: str | None
    aws_region: str | None
    app_id_client_regex: str | None = None
    user_pool_logical_id: str | None = None  # the template resource the id refers to, when it is a Ref


@dataclass(frozen=True)
class OidcSpec:
    """OPENID_CONNECT provider. TTLs are in milliseconds as in the template (0 = no limit)."""

    issuer: str
    client_id: str | None = None
    auth_ttl_ms: int = 0
    iat_ttl_ms: int = 0


@dataclass(frozen=True)
class LambdaSpec:
    """AWS_LAMBDA provider: the authorizer function ARN, the result TTL and the token pre-check regex."""

    function_arn: str | None
    result_ttl_seconds: int = 300
    identity_validation_expression: str | None = None


@dataclass(frozen=True)
class AuthProviders:
    """Configured providers; None for a mode the API does not have."""

    api_key: bool = False
    iam: bool = False
    cognito: CognitoSpec | None = None
    oidc: OidcSpec | None = None
    lambda_: LambdaSpec | None = None

    @property
    def modes(self) -> tuple[AuthMode, ...]:
        pairs = (
            (self.api_key, AuthMode.API_KEY),
            (self.iam, AuthMode.AWS_IAM),
            (self.cognito is not None, AuthMode.AMAZON_COGNITO_USER_POOLS),
            (self.oidc is not None, AuthMode.OPENID_CONNECT),
            (self.lambda_ is not None, AuthMode.AWS_LAMBDA),
        )
        return tuple(mode for present, mode in pairs if present)


@dataclass(frozen=True)
class NamespaceSpec:
    """A channel namespace with its effective (own or the API's default) modes and its handler code."""

    name: str
    publish_modes: tuple[AuthMode, ...]
    subscribe_modes: tuple[AuthMode, ...]
    handler_code: str | None = field(default=None, repr=False)
    handler_configs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    code_path: str | None = None  # the code file the template's code came from (eventapi:code metadata)

    @property
    def has_handler(self) -> bool:
        return self.handler_code is not None or bool(self.handler_configs)


@dataclass(frozen=True)
class ApiKeySpec:
    """An `AWS::AppSync::ApiKey` of the template (its value is made at local deploy)."""

    logical_id: str
    description: str | None
    expires: int | None  # epoch seconds, None when unset or unresolved


@dataclass(frozen=True)
class LocalApiSpec:
    """Everything the local Event API needs to know about one API, read from its template."""

    name: str
    logical_id: str
    region: str | None
    providers: AuthProviders
    connection_modes: tuple[AuthMode, ...]
    default_publish_modes: tuple[AuthMode, ...]
    default_subscribe_modes: tuple[AuthMode, ...]
    namespaces: tuple[NamespaceSpec, ...]
    api_keys: tuple[ApiKeySpec, ...] = ()
    data_sources: Mapping[str, DataSourceSpec] = field(default_factory=dict)

    def namespace(self, name: str) -> NamespaceSpec | None:
        """The namespace called `name` (case-sensitive), or None."""
        for ns in self.namespaces:
            if ns.name == name:
                return ns
        return None

    @classmethod
    def from_template(cls, template: Mapping[str, Any], *, api_logical_id: str | None = None) -> LocalApiSpec:
        """Parse a synthesized template; raises `TemplateError` if it holds no (or several) Event APIs."""
        return _parse(template, api_logical_id)

    @classmethod
    def from_file(cls, path: str | Path, *, api_logical_id: str | None = None) -> LocalApiSpec:
        """`from_template(load_template(path))`."""
        return _parse(load_template(path), api_logical_id)


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a template file; raises `TemplateError` with what to do when missing or not JSON."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(
            f"{file}: not found; run `npx cdk synth` first (it writes cdk.out/<Stack>.template.json)"
        ) from None
    except (OSError, ValueError) as err:
        raise TemplateError(f"{file}: not a readable JSON template ({err})") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{file}: a CloudFormation template must be a JSON object")
    return data


# --- parsing --------------------------------------------------------------------------------------------------


def _parse(template: Mapping[str, Any], api_logical_id: str | None) -> LocalApiSpec:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError("the template has no Resources; pass a synthesized stack template (cdk.out/<Stack>...)")
    logical_id, api = _the_api(resources, api_logical_id)
    props = _dict(api.get("Properties"))
    name = props.get("Name")
    if not isinstance(name, str):
        raise TemplateError(f"{logical_id}: the Event API has no literal Name")
    event_config = _dict(props.get("EventConfig"))
    providers = _providers(logical_id, event_config.get("AuthProviders"))
    configured = providers.modes
    connection, default_publish, default_subscribe = _api_modes(logical_id, event_config, configured)

    namespaces: list[NamespaceSpec] = []
    keys: list[ApiKeySpec] = []
    for lid, res in resources.items():
        if not isinstance(res, dict) or not _refers_to(_dict(res.get("Properties")).get("ApiId"), logical_id):
            continue
        if res.get("Type") == NAMESPACE_TYPE:
            namespaces.append(_namespace(lid, res, configured, default_publish, default_subscribe))
        elif res.get("Type") == API_KEY_TYPE:
            keys.append(_api_key(lid, _dict(res.get("Properties"))))
    return LocalApiSpec(
        name=name,
        logical_id=logical_id,
        region=_region(template, providers),
        providers=providers,
        connection_modes=connection,
        default_publish_modes=default_publish,
        default_subscribe_modes=default_subscribe,
        namespaces=tuple(sorted(namespaces, key=lambda ns: ns.name)),
        api_keys=tuple(keys),
        data_sources=read_data_sources(template, logical_id),
    )


def _the_api(resources: Mapping[str, Any], api_logical_id: str | None) -> tuple[str, dict[str, Any]]:
    """The one Event API of the template (or the one named `api_logical_id`): its logical id and resource."""
    apis = {lid: res for lid, res in resources.items() if isinstance(res, dict) and res.get("Type") == API_TYPE}
    if api_logical_id is not None:
        if api_logical_id not in apis:
            raise TemplateError(f"the template has no {API_TYPE} named {api_logical_id!r}; it has {sorted(apis)}")
        apis = {api_logical_id: apis[api_logical_id]}
    if not apis:
        raise TemplateError(f"the template has no {API_TYPE} resource (an Event API); synthesize a stage stack")
    if len(apis) > 1:
        raise TemplateError(f"the template has {len(apis)} Event APIs ({', '.join(sorted(apis))}); choose one")
    return next(iter(apis.items()))


def _api_modes(
    logical_id: str, event_config: Mapping[str, Any], configured: tuple[AuthMode, ...]
) -> tuple[tuple[AuthMode, ...], tuple[AuthMode, ...], tuple[AuthMode, ...]]:
    """The API's connection, default publish and default subscribe modes, with AppSync's defaults for unset ones."""
    connection = _modes(f"{logical_id}.ConnectionAuthModes", event_config.get("ConnectionAuthModes"), configured)
    default_publish = _modes(
        f"{logical_id}.DefaultPublishAuthModes", event_config.get("DefaultPublishAuthModes"), configured
    )
    default_subscribe = _modes(
        f"{logical_id}.DefaultSubscribeAuthModes", event_config.get("DefaultSubscribeAuthModes"), configured
    )
    # Unset modes default like AppSync's: connection -> every provider; publish/subscribe -> the connection modes.
    connection = connection or configured
    return connection, default_publish or connection, default_subscribe or connection


def _namespace(
    lid: str,
    res: Mapping[str, Any],
    configured: tuple[AuthMode, ...],
    default_publish: tuple[AuthMode, ...],
    default_subscribe: tuple[AuthMode, ...],
) -> NamespaceSpec:
    """A channel namespace resource, its unset modes being the API's defaults."""
    rprops = _dict(res.get("Properties"))
    ns_name = rprops.get("Name")
    if not isinstance(ns_name, str):
        raise TemplateError(f"{lid}: the channel namespace has no literal Name")
    own_publish = _modes(f"{lid}.PublishAuthModes", rprops.get("PublishAuthModes"), configured)
    own_subscribe = _modes(f"{lid}.SubscribeAuthModes", rprops.get("SubscribeAuthModes"), configured)
    code = rprops.get("CodeHandlers")
    code_path = _dict(res.get("Metadata")).get(CODE_METADATA)
    return NamespaceSpec(
        name=ns_name,
        publish_modes=own_publish or default_publish,
        subscribe_modes=own_subscribe or default_subscribe,
        handler_code=code if isinstance(code, str) and code.strip() else None,
        handler_configs=_dict(rprops.get("HandlerConfigs")),
        code_path=code_path if isinstance(code_path, str) else None,
    )


def _api_key(lid: str, rprops: Mapping[str, Any]) -> ApiKeySpec:
    expires = rprops.get("Expires")
    description = rprops.get("Description")
    return ApiKeySpec(
        logical_id=lid,
        description=description if isinstance(description, str) else None,
        expires=expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    return None


def _refers_to(value: Any, logical_id: str) -> bool:
    """`{"Fn::GetAtt": [id, "ApiId"]}`, `{"Fn::GetAtt": "id.ApiId"}` or `{"Ref": id}` naming `logical_id`."""
    if not isinstance(value, dict):
        return False
    getatt = value.get("Fn::GetAtt")
    if isinstance(getatt, list) and getatt:
        return bool(getatt[0] == logical_id)
    if isinstance(getatt, str):
        return getatt.split(".", 1)[0] == logical_id
    return bool(value.get("Ref") == logical_id)


def _mode(path: str, raw: Any) -> AuthMode:
    auth_type = raw.get("AuthType") if isinstance(raw, dict) else None
    try:
        return AuthMode(str(auth_type))
    except ValueError:
        names = ", ".join(m.value for m in AuthMode)
        raise TemplateError(f"{path}: {auth_type!r} is not an auth mode; expected one of {names}") from None


def _modes(path: str, raw: Any, configured: tuple[AuthMode, ...]) -> tuple[AuthMode, ...]:
    if not isinstance(raw, list):
        return ()
    modes = tuple(_mode(path, item) for item in raw)
    for mode in modes:
        if mode not in configured:
            raise TemplateError(f"{path}: {mode} has no auth provider in the API's AuthProviders")
    return modes


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _providers(logical_id: str, raw: Any) -> AuthProviders:
    if not isinstance(raw, list) or not raw:
        raise TemplateError(f"{logical_id}.EventConfig.AuthProviders: missing; an Event API needs at least one")
    api_key = iam = False
    cognito: CognitoSpec | None = None
    oidc: OidcSpec | None = None
    lam: LambdaSpec | None = None
    for item in raw:
        mode = _mode(f"{logical_id}.EventConfig.AuthProviders", item)
        if mode is AuthMode.API_KEY:
            api_key = True
        elif mode is AuthMode.AWS_IAM:
            iam = True
        elif mode is AuthMode.AMAZON_COGNITO_USER_POOLS:
            conf = _dict(item.get("CognitoConfig"))
            cognito = CognitoSpec(
                user_pool_id=_literal(conf.get("UserPoolId")),
                aws_region=_literal(conf.get("AwsRegion")),
                app_id_client_regex=_literal(conf.get("AppIdClientRegex")),
                user_pool_logical_id=_ref_target(conf.get("UserPoolId")),
            )
        elif mode is AuthMode.OPENID_CONNECT:
            conf = _dict(item.get("OpenIDConnectConfig"))
            issuer = _literal(conf.get("Issuer"))
            if issuer is None:
                raise TemplateError(f"{logical_id}: the OPENID_CONNECT provider has no literal Issuer")
            oidc = OidcSpec(
                issuer=issuer,
                client_id=_literal(conf.get("ClientId")),
                auth_ttl_ms=_int(conf.get("AuthTTL"), 0),
                iat_ttl_ms=_int(conf.get("IatTTL"), 0),
            )
        else:
            conf = _dict(item.get("LambdaAuthorizerConfig"))
            lam = LambdaSpec(
                function_arn=_literal(conf.get("AuthorizerUri")),
                result_ttl_seconds=_int(conf.get("AuthorizerResultTtlInSeconds"), 300),
                identity_validation_expression=_literal(conf.get("IdentityValidationExpression")),
            )
    return AuthProviders(api_key=api_key, iam=iam, cognito=cognito, oidc=oidc, lambda_=lam)


def _region(template: Mapping[str, Any], providers: AuthProviders) -> str | None:
    outputs = _dict(template.get("Outputs"))
    region = _literal(_dict(outputs.get(Output.REGION.value)).get("Value"))
    if region is None and providers.cognito is not None:
        region = providers.cognito.aws_region
    return region
