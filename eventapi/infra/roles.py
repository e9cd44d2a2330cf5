"""IAM roles for AWS_IAM callers: a publisher and a subscriber, each granted only what it needs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_iam as iam
from constructs import Construct


def _principal(arn: str | None) -> iam.IPrincipal:
    # No principal configured: trust the deploying account, whose own IAM policies then decide who may assume.
    return iam.ArnPrincipal(arn) if arn else iam.AccountRootPrincipal()


class EventApiRoles(Construct):
    """`publisher` may connect and publish, `subscriber` may connect and subscribe, on the given namespaces.

    A role with no namespace to act on is not created (its attribute is None).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api: appsync.EventApi,
        publish_namespaces: Sequence[appsync.ChannelNamespace],
        subscribe_namespaces: Sequence[appsync.ChannelNamespace],
        publisher_principal: str | None,
        subscriber_principal: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self.publisher: iam.Role | None = None
        self.subscriber: iam.Role | None = None
        if publish_namespaces:
            self.publisher = iam.Role(
                self,
                "Publisher",
                assumed_by=_principal(publisher_principal),
                description="Connects to this stack's Event API and publishes where AWS_IAM may publish",
            )
            api.grant_connect(self.publisher)
            for ns in publish_namespaces:
                ns.grant_publish(self.publisher)
        if subscribe_namespaces:
            self.subscriber = iam.Role(
                self,
                "Subscriber",
                assumed_by=_principal(subscriber_principal),
                description="Connects to this stack's Event API and subscribes where AWS_IAM may subscribe",
            )
            api.grant_connect(self.subscriber)
            for ns in subscribe_namespaces:
                ns.grant_subscribe(self.subscriber)
