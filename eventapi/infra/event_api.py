"""The Event API itself: auth providers, the API key, channel namespaces with their handlers, and logging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from eventapi.config import DataSourceConfig, LambdaProvider, NamespaceConfig, OidcProvider
from eventapi.outputs import CODE_METADATA

if TYPE_CHECKING:
    from eventapi.infra.data_sources import EventApiDataSources


@dataclass(frozen=True)
class StackApiKey:
    """The API key the stack creates: its description, its expiry (from `api_key_expiry`) and its generation."""

    description: str
    expires: datetime
    generation: int = 1  # part of the key's logical id: a new generation is a new key


# AppSync's auth mode names (as in cdk.json and the wire protocol) -> the L2 enum.
_L2_MODES = {
    "API_KEY": appsync.AppSyncAuthorizationType.API_KEY,
    "AWS_IAM": appsync.AppSyncAuthorizationType.IAM,
    "AMAZON_COGNITO_USER_POOLS": appsync.AppSyncAuthorizationType.USER_POOL,
    "OPENID_CONNECT": appsync.AppSyncAuthorizationType.OIDC,
    "AWS_LAMBDA": appsync.AppSyncAuthorizationType.LAMBDA,
}


def _modes(names: Sequence[str]) -> list[appsync.AppSyncAuthorizationType]:
    return [_L2_MODES[name] for name in names]


def _oidc_provider(oidc: OidcProvider) -> appsync.AppSyncAuthProvider:
    return appsync.AppSyncAuthProvider(
        authorization_type=appsync.AppSyncAuthorizationType.OIDC,
        open_id_connect_config=appsync.AppSyncOpenIdConnectConfig(
            oidc_provider=oidc.issuer,
            client_id=oidc.client_id,
            token_expiry_from_auth=oidc.auth_ttl_seconds * 1000 or None,
            token_expiry_from_issue=oidc.iat_ttl_seconds * 1000 or None,
        ),
    )


def api_key_logical_id(generation: int) -> str:
    return f"EventApiKeyGen{generation}"


# The API's logical id, pinned to the one CDK generated for the path EventApi/Api before it was pinned (so
# deployed stacks keep their API): a construct rename must never replace the API, which would mean new
# endpoints and new keys.
EVENT_API_LOGICAL_ID = "EventApiC062CAD3"


class EventApi(Construct):
    """An AppSync Event API. Attributes: `api`, `namespaces` (name -> ChannelNamespace), `log_group`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api_name: str,
        connect: Sequence[str],
        publish: Sequence[str],
        subscribe: Sequence[str],
        namespaces: Sequence[NamespaceConfig],
        log_level: str,
        log_retention_days: int,
        retain_logs: bool = False,
        api_key: StackApiKey | None = None,
        iam_auth: bool = False,
        user_pool: cognito.IUserPool | None = None,
        user_pool_client_regex: str | None = None,
        oidc: OidcProvider | None = None,
        lambda_auth: LambdaProvider | None = None,
        data_sources: Sequence[DataSourceConfig] = (),
        project_root: Path = Path(),
        bundled_code: Mapping[str, str] | None = None,
    ) -> None:
        """`namespaces` as configured; `bundled_code`: namespace -> the code to inline (default: its file as read)."""
        super().__init__(scope, id_)
        providers = self._auth_providers(
            api_key=api_key,
            iam_auth=iam_auth,
            user_pool=user_pool,
            user_pool_client_regex=user_pool_client_regex,
            oidc=oidc,
            lambda_auth=lambda_auth,
        )
        self.api = appsync.EventApi(
            self,
            "Api",
            api_name=api_name,
            authorization_config=appsync.EventApiAuthConfig(
                auth_providers=providers,
                connection_auth_mode_types=_modes(connect),
                default_publish_auth_mode_types=_modes(publish),
                default_subscribe_auth_mode_types=_modes(subscribe),
            ),
        )
        cfn_api = self.api.node.default_child
        assert isinstance(cfn_api, appsync.CfnApi)
        cfn_api.override_logical_id(EVENT_API_LOGICAL_ID)
        if api_key is not None:
            self._pin_api_key(api_key)
        self.log_group = self._logging(cfn_api, log_level, log_retention_days, retain_logs)
        self.data_sources = self._data_sources(data_sources, project_root, log_retention_days, api_name)
        self.namespaces: Mapping[str, appsync.ChannelNamespace] = {
            ns.name: self._namespace(ns, (bundled_code or {}).get(ns.name, ns.handler_code)) for ns in namespaces
        }

    def _auth_providers(
        self,
        *,
        api_key: StackApiKey | None,
        iam_auth: bool,
        user_pool: cognito.IUserPool | None,
        user_pool_client_regex: str | None,
        oidc: OidcProvider | None,
        lambda_auth: LambdaProvider | None,
    ) -> list[appsync.AppSyncAuthProvider]:
        """The API's auth providers, in this order: API key, IAM, Cognito, OIDC, Lambda."""
        providers: list[appsync.AppSyncAuthProvider] = []
        if api_key is not None:
            providers.append(
                appsync.AppSyncAuthProvider(
                    authorization_type=appsync.AppSyncAuthorizationType.API_KEY,
                    # No `expires` here: the L2 checks it against the real clock of jsii's Node process, so an
                    # assembly pinned to another date (eventapi:today) would stop synthesizing. Set on the L1 by
                    # _pin_api_key.
                    api_key_config=appsync.AppSyncApiKeyConfig(description=api_key.description),
                )
            )
        if iam_auth:
            providers.append(appsync.AppSyncAuthProvider(authorization_type=appsync.AppSyncAuthorizationType.IAM))
        if user_pool is not None:
            providers.append(
                appsync.AppSyncAuthProvider(
                    authorization_type=appsync.AppSyncAuthorizationType.USER_POOL,
                    cognito_config=appsync.AppSyncCognitoConfig(
                        user_pool=user_pool, app_id_client_regex=user_pool_client_regex
                    ),
                )
            )
        if oidc is not None:
            providers.append(_oidc_provider(oidc))
        if lambda_auth is not None:
            providers.append(self._lambda_provider(lambda_auth))
        return providers

    def _lambda_provider(self, lambda_auth: LambdaProvider) -> appsync.AppSyncAuthProvider:
        # Imported here: aws_lambda costs ~0.15 s of import on every synth, and few stages use Lambda auth.
        from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

        handler = lambda_.Function.from_function_arn(self, "Authorizer", lambda_auth.function_arn)
        return appsync.AppSyncAuthProvider(
            authorization_type=appsync.AppSyncAuthorizationType.LAMBDA,
            lambda_authorizer_config=appsync.AppSyncLambdaAuthorizerConfig(
                handler=handler,
                results_cache_ttl=Duration.seconds(lambda_auth.result_ttl_seconds),
                validation_regex=lambda_auth.identity_validation_regex,
            ),
        )

    def _pin_api_key(self, api_key: StackApiKey) -> None:
        # The key's logical id carries its generation, so a new generation is a new key (CloudFormation
        # creates it, then deletes the old one); one definition here, read by tests and docs.
        (cfn_key,) = self.api.api_keys.values()
        cfn_key.override_logical_id(api_key_logical_id(api_key.generation))
        cfn_key.expires = int(api_key.expires.timestamp())

    def _logging(
        self, cfn_api: appsync.CfnApi, log_level: str, log_retention_days: int, retain_logs: bool
    ) -> logs.LogGroup:
        """The API's log group, the role AppSync writes to it with, and the API's log config."""
        # Logging through the L1 property: the L2 `log_config` always adds a LogRetention custom-resource Lambda;
        # here retention lives on an explicit log group instead.
        log_role = iam.Role(self, "LogRole", assumed_by=iam.ServicePrincipal("appsync.amazonaws.com"))
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/appsync/apis/{self.api.api_id}",
            removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
        )
        cfn_log_group = log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = log_retention_days  # the L2 wants an enum; config validated the days
        log_group.grant_write(log_role)
        cfn_api.add_property_override(
            "EventConfig.LogConfig",
            {
                "CloudWatchLogsRoleArn": log_role.role_arn,
                "LogLevel": log_level,
            },
        )
        return log_group

    def _data_sources(
        self, specs: Sequence[DataSourceConfig], project_root: Path, log_retention_days: int, api_name: str
    ) -> EventApiDataSources | None:
        if not specs:
            return None
        # Imported here: Lambda, DynamoDB and EventBridge modules cost import time on every synth.
        from eventapi.infra.data_sources import EventApiDataSources  # noqa: PLC0415

        return EventApiDataSources(
            self,
            "DataSources",
            api=self.api,
            specs=specs,
            project_root=project_root,
            log_retention_days=log_retention_days,
            service_prefix=api_name,
        )

    def _namespace(self, ns: NamespaceConfig, code: str | None) -> appsync.ChannelNamespace:
        configs: dict[str, appsync.HandlerConfig | None] = {}
        for key, side in (("publish_handler_config", ns.on_publish), ("subscribe_handler_config", ns.on_subscribe)):
            configs[key] = None
            if side is not None and (side.data_source or side.lambda_) and self.data_sources is not None:
                from eventapi.infra.data_sources import handler_config  # noqa: PLC0415

                configs[key] = handler_config(
                    self.data_sources.sources,
                    data_source=side.data_source,
                    direct_lambda=side.lambda_,
                    invoke_type=side.invoke_type.value,
                )
        namespace = appsync.ChannelNamespace(
            self,
            f"Ns{ns.name}",
            api=self.api,
            channel_namespace_name=ns.name,
            code=appsync.Code.from_inline(code) if code is not None else None,
            authorization_config=appsync.NamespaceAuthConfig(
                publish_auth_mode_types=_modes(ns.publish) if ns.publish else None,
                subscribe_auth_mode_types=_modes(ns.subscribe) if ns.subscribe else None,
            ),
            publish_handler_config=configs["publish_handler_config"],
            subscribe_handler_config=configs["subscribe_handler_config"],
        )
        if ns.handler is not None:
            cfn = namespace.node.default_child
            assert isinstance(cfn, appsync.CfnChannelNamespace)
            cfn.add_metadata(CODE_METADATA, ns.handler)
        return namespace
