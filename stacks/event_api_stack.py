"""One stage's Event API stack: composes the constructs, grants, tags and outputs.

cdk-nag (wired in app.py) passes it with no acknowledgement; one, if ever needed, goes here with
`Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))` and its written reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from aws_cdk import Annotations, CfnOutput, Environment, Stack, Tags
from constructs import Construct

from eventapi.config import (
    DEPLOYABLE_WARN_DAYS,
    AuthMode,
    StageConfig,
    api_key_deployable_days,
    api_key_expiry,
)
from eventapi.infra.cognito import EventApiUserPool
from eventapi.infra.event_api import ApiKeySpec, EventApi, LambdaAuthSpec, NamespaceSpec, OidcSpec
from eventapi.infra.roles import EventApiRoles
from eventapi.outputs import Output


class EventApiStack(Stack):
    """Attributes: `event_api` (the construct), `user_pool` (or None), `roles` (or None)."""

    def __init__(
        self,
        scope: Construct,
        *,
        stage: StageConfig,
        today: date,
        project_root: Path = Path(),
        bundled_code: Mapping[str, str] | None = None,
    ) -> None:
        """`bundled_code`: namespace -> its code as bundled by the synth checks (default: the file as read)."""
        env = Environment(account=stage.account, region=stage.region) if stage.account or stage.region else None
        super().__init__(
            scope,
            stage.stack_name,
            env=env,
            description=f"AppSync Event API '{stage.api_name}' (stage {stage.name}), managed by eventapi",
        )
        auth = stage.auth
        self.user_pool = (
            EventApiUserPool(
                self,
                "Cognito",
                user_pool_id=auth.cognito.user_pool_id,
                user_pool_region=auth.cognito.user_pool_region,
            )
            if auth.cognito
            else None
        )
        self.event_api = EventApi(
            self,
            "EventApi",
            api_name=stage.api_name,
            connect=auth.connect,
            publish=auth.publish,
            subscribe=auth.subscribe,
            namespaces=[
                NamespaceSpec(
                    name=ns.name,
                    publish=ns.publish,
                    subscribe=ns.subscribe,
                    code=(bundled_code or {}).get(ns.name, ns.handler_code),
                    code_path=ns.handler,
                    on_publish=ns.on_publish,
                    on_subscribe=ns.on_subscribe,
                )
                for ns in stage.namespaces
            ],
            log_level=stage.logging.level,
            log_retention_days=stage.logging.retention_days,
            api_key=ApiKeySpec(
                auth.api_key.stack_key_description,
                api_key_expiry(auth.api_key.valid_days, today),
                auth.api_key.generation,
            )
            if auth.api_key
            else None,
            iam_auth=auth.iam is not None,
            user_pool=self.user_pool.user_pool if self.user_pool else None,
            user_pool_client_regex=auth.cognito.app_id_client_regex if auth.cognito else None,
            oidc=OidcSpec(auth.oidc.issuer, auth.oidc.client_id, auth.oidc.auth_ttl_seconds, auth.oidc.iat_ttl_seconds)
            if auth.oidc
            else None,
            lambda_auth=LambdaAuthSpec(
                auth.lambda_.function_arn,
                auth.lambda_.result_ttl_seconds,
                auth.lambda_.identity_validation_regex,
            )
            if auth.lambda_
            else None,
            data_sources=stage.data_sources,
            project_root=project_root,
        )
        self.roles = None
        if auth.iam is not None:
            namespaces = self.event_api.namespaces
            self.roles = EventApiRoles(
                self,
                "Roles",
                api=self.event_api.api,
                publish_namespaces=[
                    namespaces[ns.name] for ns in stage.namespaces if AuthMode.AWS_IAM in stage.namespace_modes(ns)[0]
                ],
                subscribe_namespaces=[
                    namespaces[ns.name] for ns in stage.namespaces if AuthMode.AWS_IAM in stage.namespace_modes(ns)[1]
                ],
                publisher_principal=auth.iam.publisher_principal,
                subscriber_principal=auth.iam.subscriber_principal,
            )

        if auth.api_key and (days := api_key_deployable_days(auth.api_key.valid_days)) < DEPLOYABLE_WARN_DAYS:
            Annotations.of(self).add_warning_v2(
                "eventapi:shortKeyWindow",
                f"auth.providers.apiKey.validDays {auth.api_key.valid_days}: this assembly stays deployable for "
                f"{days} day(s) after synth (AppSync refuses a key with a day or less left); deploy it within that "
                "or synthesize again",
            )
        for key, value in (("app", stage.app), ("stage", stage.name), *stage.tags):
            Tags.of(self).add(key, value)
        self._outputs()

    def _output(self, key: Output, value: str, description: str) -> None:
        CfnOutput(self, key.value, value=value, description=description).override_logical_id(key.value)

    def _outputs(self) -> None:
        api = self.event_api.api
        self._output(Output.API_ID, api.api_id, "Event API id")
        self._output(Output.API_ARN, api.api_arn, "Event API ARN")
        self._output(Output.HTTP_HOST, api.http_dns, "HTTP host: the `host` every auth object names")
        self._output(Output.REALTIME_HOST, api.realtime_dns, "Realtime (WebSocket) host")
        self._output(Output.HTTP_ENDPOINT, f"https://{api.http_dns}/event", "POST endpoint for publishing")
        self._output(Output.REALTIME_ENDPOINT, f"wss://{api.realtime_dns}/event/realtime", "WebSocket endpoint")
        self._output(Output.REGION, self.region, "Region of the Event API (SigV4 signing region)")
        if self.user_pool is not None:
            self._output(Output.USER_POOL_ID, self.user_pool.user_pool.user_pool_id, "Cognito user pool id")
            if self.user_pool.client is not None:
                self._output(
                    Output.USER_POOL_CLIENT_ID,
                    self.user_pool.client.user_pool_client_id,
                    "Cognito app client id for web sign-in",
                )
        if self.roles is not None and self.roles.publisher is not None:
            self._output(Output.PUBLISHER_ROLE_ARN, self.roles.publisher.role_arn, "Role that may connect and publish")
        if self.roles is not None and self.roles.subscriber is not None:
            self._output(
                Output.SUBSCRIBER_ROLE_ARN,
                self.roles.subscriber.role_arn,
                "Role that may connect and subscribe",
            )
