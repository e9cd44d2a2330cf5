"""One stage's Event API stack: composes the constructs, grants, tags and outputs.

cdk-nag (wired in app.py: AwsSolutions and the Event API rule pack) passes it with no acknowledgement in code; the
only ones are the stage's `rules.acknowledge` entries from cdk.json, each with its written reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from aws_cdk import Acknowledgment, Annotations, CfnOutput, Duration, Environment, Stack, Tags, Validations
from constructs import Construct

from eventapi.config import (
    CERTIFICATE_REGION,
    DEPLOYABLE_WARN_DAYS,
    StageConfig,
    api_key_deployable_days,
    api_key_expiry,
)
from eventapi.contract import SsmParam, ssm_name
from eventapi.infra.cognito import EventApiUserPool
from eventapi.infra.domain import CertificateStack, EventApiDomain, make_certificate
from eventapi.infra.event_api import EventApi, StackApiKey
from eventapi.infra.key_renewal import KeyRenewal
from eventapi.infra.monitoring import EventApiMonitoring
from eventapi.infra.roles import EventApiRoles
from eventapi.infra.waf import EventApiWaf
from eventapi.outputs import Output
from eventapi.protocol.modes import AuthMode


class EventApiStack(Stack):
    """Attributes: `event_api` (the construct), `user_pool`, `roles`, `domain`, `waf`, `monitoring` (each or None),
    `certificate_stack` (the us-east-1 stack holding a certificate made for the domain, or None)."""

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
        domain = stage.domain
        # A certificate made for the domain lives in us-east-1: in its own stack unless this one is there already.
        remote_certificate = (
            domain is not None and domain.certificate_arn is None and stage.region != CERTIFICATE_REGION
        )
        super().__init__(
            scope,
            stage.stack_name,
            env=env,
            description=f"AppSync Event API '{stage.api_name}' (stage {stage.name}), managed by eventapi",
            cross_region_references=remote_certificate,
        )
        auth = stage.auth
        self.user_pool = (
            EventApiUserPool(
                self,
                "Cognito",
                user_pool_id=auth.cognito.user_pool_id,
                user_pool_region=auth.cognito.user_pool_region,
                settings=auth.cognito.pool,
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
            namespaces=stage.namespaces,
            bundled_code=bundled_code,
            log_level=stage.logging.level,
            log_retention_days=stage.logging.retention_days,
            retain_logs=stage.logging.retain,
            api_key=StackApiKey(
                auth.api_key.stack_key_description,
                api_key_expiry(auth.api_key.valid_days, today),
                auth.api_key.generation,
            )
            if auth.api_key
            else None,
            iam_auth=auth.iam is not None,
            user_pool=self.user_pool.user_pool if self.user_pool else None,
            user_pool_client_regex=auth.cognito.app_id_client_regex if auth.cognito else None,
            oidc=auth.oidc,
            lambda_auth=auth.lambda_,
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
        self.certificate_stack: CertificateStack | None = None
        self.domain = self._domain(scope, stage) if stage.domain else None
        self.waf = (
            EventApiWaf(
                self,
                "Waf",
                api_arn=self.event_api.api.api_arn,
                name=stage.api_name,
                web_acl_arn=stage.waf.web_acl_arn,
                rate_limit=stage.waf.rate_limit,
                allow_ips=stage.waf.allow_ips,
                deny_ips=stage.waf.deny_ips,
            )
            if stage.waf
            else None
        )
        monitoring = stage.monitoring
        self.monitoring = (
            EventApiMonitoring(
                self,
                "Monitoring",
                api_id=self.event_api.api.api_id,
                title=stage.api_name,
                namespaces=[ns.name for ns in stage.namespaces],
                handler_namespaces=[
                    ns.name
                    for ns in stage.namespaces
                    if ns.handler is not None or ns.on_publish is not None or ns.on_subscribe is not None
                ],
                thresholds=monitoring.alarms,
                period=Duration.minutes(monitoring.period_minutes),
                emails=monitoring.emails,
                topic_arn=monitoring.topic_arn,
                dashboard=monitoring.dashboard,
            )
            if monitoring
            else None
        )
        for rule_id, reason in stage.rules.acknowledge:
            Validations.of(self).acknowledge(Acknowledgment(id=rule_id, reason=reason))

        self.key_renewal = self._key_renewal(stage)
        for key, value in (("app", stage.app), ("stage", stage.name), *stage.tags):
            Tags.of(self).add(key, value)
        self._outputs(stage)

    def _domain(self, scope: Construct, stage: StageConfig) -> EventApiDomain:
        domain = stage.domain
        assert domain is not None
        certificate_arn = domain.certificate_arn
        if certificate_arn is None:
            assert domain.hosted_zone_id is not None  # the config requires one of the two
            if stage.region == CERTIFICATE_REGION:
                certificate = make_certificate(self, domain_name=domain.name, hosted_zone_id=domain.hosted_zone_id)
            else:
                self.certificate_stack = CertificateStack(
                    scope,
                    f"{stage.stack_name}-certificate",
                    domain_name=domain.name,
                    hosted_zone_id=domain.hosted_zone_id,
                    account=stage.account,
                )
                certificate = self.certificate_stack.certificate
            certificate_arn = certificate.certificate_arn
        return EventApiDomain(
            self,
            "Domain",
            api_id=self.event_api.api.api_id,
            domain_name=domain.name,
            certificate_arn=certificate_arn,
            hosted_zone_id=domain.hosted_zone_id,
        )

    def _key_renewal(self, stage: StageConfig) -> KeyRenewal | None:
        """The daily renewer when `apiKey.autoRenew` is set (see eventapi.deploy.renewer)."""
        key = stage.auth.api_key
        if key is None or key.auto_renew is None:
            return None
        from eventapi.deploy.renewer import stage_environment  # noqa: PLC0415 - only stages with a renewer

        prefix = stage.ssm.prefix
        return KeyRenewal(
            self,
            "KeyRenewal",
            environment=stage_environment(stage),
            parameter_path=prefix,
            written_parameters=[ssm_name(prefix, SsmParam.API_KEY_EXPIRES), ssm_name(prefix, SsmParam.CONFIG)],
            kms_key_id=stage.ssm.kms_key_id,
            hour_utc=key.auto_renew.hour_utc,
            log_retention_days=stage.logging.retention_days,
            retain_logs=stage.logging.retain,
            description=f"Renews the API key of {stage.api_name} daily",
        )

    def _output(self, key: Output, value: str, description: str) -> None:
        CfnOutput(self, key.value, value=value, description=description).override_logical_id(key.value)

    def _outputs(self, stage: StageConfig) -> None:
        api = self.event_api.api
        self._output(Output.API_ID, api.api_id, "Event API id")
        self._output(Output.API_ARN, api.api_arn, "Event API ARN")
        # With a custom domain, clients use its one name for both endpoints (and in every auth object).
        http_host = stage.domain.name if stage.domain else api.http_dns
        realtime_host = stage.domain.name if stage.domain else api.realtime_dns
        self._output(Output.HTTP_HOST, http_host, "HTTP host: the `host` every auth object names")
        self._output(Output.REALTIME_HOST, realtime_host, "Realtime (WebSocket) host")
        self._output(Output.HTTP_ENDPOINT, f"https://{http_host}/event", "POST endpoint for publishing")
        self._output(Output.REALTIME_ENDPOINT, f"wss://{realtime_host}/event/realtime", "WebSocket endpoint")
        if self.domain is not None:
            self._output(
                Output.DOMAIN_TARGET, self.domain.target, "Where the custom domain's DNS record points (CNAME or alias)"
            )
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
