"""A custom domain for an Event API: `https://<name>/event` and `wss://<name>/event/realtime` on one name.

AppSync serves a custom domain only with an ACM certificate in us-east-1, whatever the API's region. Either the
stage gives one (`certificateArn`), or `CertificateStack` makes one in us-east-1, DNS-validated in the stage's hosted
zone, and the API's stack reads its ARN through a cross-region reference.

L1 resources (`AWS::AppSync::DomainName` + `AWS::AppSync::DomainNameApiAssociation`) rather than the EventApi L2's
`domain_name` option: the alias record needs the domain's CloudFront hosted zone id, which the L2 does not expose.
"""

from __future__ import annotations

import jsii
from aws_cdk import Environment, Stack
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from constructs import Construct

from eventapi.config import CERTIFICATE_REGION


def _zone(scope: Construct, zone_id: str) -> route53.IHostedZone:
    # By id only: synth never calls AWS, so the zone's name stays unknown and record names are fully qualified.
    return route53.HostedZone.from_hosted_zone_id(scope, "Zone", zone_id)


class CertificateStack(Stack):
    """A stack in us-east-1 holding the custom domain's certificate, DNS-validated in `hosted_zone_id`."""

    def __init__(
        self, scope: Construct, id_: str, *, domain_name: str, hosted_zone_id: str, account: str | None
    ) -> None:
        super().__init__(
            scope,
            id_,
            env=Environment(account=account, region=CERTIFICATE_REGION),
            cross_region_references=True,
            description=f"ACM certificate for {domain_name} in {CERTIFICATE_REGION} as AppSync requires (eventapi)",
        )
        self.certificate = make_certificate(self, domain_name=domain_name, hosted_zone_id=hosted_zone_id)


def make_certificate(scope: Construct, *, domain_name: str, hosted_zone_id: str) -> acm.Certificate:
    """A certificate for `domain_name`, DNS-validated in the zone (CloudFormation writes the validation record).
    `scope` must be in us-east-1: AppSync takes no other."""
    return acm.Certificate(
        scope,
        "Certificate",
        domain_name=domain_name,
        validation=acm.CertificateValidation.from_dns(_zone(scope, hosted_zone_id)),
    )


@jsii.implements(route53.IAliasRecordTarget)
class _AppSyncDomainTarget:
    """An alias record target: the CloudFront distribution AppSync runs the custom domain on."""

    def __init__(self, domain: appsync.CfnDomainName) -> None:
        self._domain = domain

    def bind(
        self, _record: route53.IRecordSet, _zone: route53.IHostedZone | None = None
    ) -> route53.AliasRecordTargetConfig:
        return route53.AliasRecordTargetConfig(
            dns_name=self._domain.attr_app_sync_domain_name, hosted_zone_id=self._domain.attr_hosted_zone_id
        )


class EventApiDomain(Construct):
    """Serves `api_id` on `domain_name` with `certificate_arn` (a us-east-1 certificate), and points the name at it
    in `hosted_zone_id` when given (an alias A record).

    Attributes: `domain` (the CfnDomainName), `target` (the host a CNAME must name when DNS is elsewhere).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api_id: str,
        domain_name: str,
        certificate_arn: str,
        hosted_zone_id: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.domain = appsync.CfnDomainName(
            self,
            "DomainName",
            domain_name=domain_name,
            certificate_arn=certificate_arn,
            description="Event API (eventapi)",
        )
        association = appsync.CfnDomainNameApiAssociation(self, "Association", api_id=api_id, domain_name=domain_name)
        association.node.add_dependency(self.domain)
        self.target = self.domain.attr_app_sync_domain_name
        if hosted_zone_id is not None:
            route53.ARecord(
                self,
                "Record",
                zone=_zone(self, hosted_zone_id),
                record_name=f"{domain_name}.",
                target=route53.RecordTarget.from_alias(_AppSyncDomainTarget(self.domain)),
            )
