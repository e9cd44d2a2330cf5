"""Alarms and a dashboard on an Event API's CloudWatch metrics, and the SNS topic the alarms notify.

Metric names and dimensions are those of the AppSync Events monitoring documentation ("CloudWatch metrics",
https://docs.aws.amazon.com/appsync/latest/eventapi/cw-metrics.html): namespace `AWS/AppSync`; the HTTP endpoint's
metrics by `EventAPIId`; the real-time endpoint's and the handlers' by `EventAPIId` and `ChannelNamespaceName`.

Built on `aws_cloudwatch` directly: cdk-monitoring-constructs' AppSync support takes a GraphQL API and uses the
`GraphQLAPIId` dimension, which Event APIs do not publish (docs/operations.md says more).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from eventapi.config import ANOMALY, AlarmThresholds

METRIC_NAMESPACE = "AWS/AppSync"
API_DIMENSION = "EventAPIId"
NAMESPACE_DIMENSION = "ChannelNamespaceName"
# By EventAPIId: the HTTP endpoint (publishing over HTTP).
HTTP_METRICS = ("4XXError", "5XXError", "Latency", "Requests")
# By EventAPIId + ChannelNamespaceName: the real-time endpoint and the handlers.
SERVER_ERROR_METRICS = (
    "ConnectServerError",
    "DisconnectServerError",
    "SubscribeServerError",
    "PublishServerError",
    "BroadcastEventServerError",
)
CLIENT_ERROR_METRICS = ("ConnectClientError", "SubscribeClientError", "PublishClientError")
HANDLER_FAILURE_METRIC = "FailedEvents"
DROPPED_METRIC = "InboundMessageDropped"
DELAYED_METRIC = "InboundMessageDelayed"
ANOMALY_STD_DEVS = 3


class EventApiMonitoring(Construct):
    """Alarms (thresholds per `AlarmThresholds`), the topic they notify, and a dashboard for one Event API.

    Notifications go to a topic made here with `emails` subscribed (encrypted with a key CloudWatch may use), to
    the existing `topic_arn`, or nowhere. Attributes: `topic` (or None), `alarms`, `dashboard` (or None).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api_id: str,
        title: str,
        namespaces: Sequence[str],
        handler_namespaces: Sequence[str],
        thresholds: AlarmThresholds,
        period: Duration,
        emails: Sequence[str] = (),
        topic_arn: str | None = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        self._api_id = api_id
        self._title = title
        self._period = period
        self.topic: sns.ITopic | None = None
        if topic_arn is not None:
            self.topic = sns.Topic.from_topic_arn(self, "Topic", topic_arn)
        elif emails:
            self.topic = self._make_topic(emails)
        self.alarms: list[cw.AlarmBase] = []

        self._api_alarms(thresholds)
        for ns in namespaces:
            self._namespace_alarms(ns, thresholds, handler=ns in handler_namespaces)

        self.dashboard = self._dashboard(namespaces) if dashboard else None

    def _api_alarms(self, t: AlarmThresholds) -> None:
        """The HTTP endpoint's alarms, by API."""
        if t.server_errors is not None:
            self._alarm("HttpServerErrors", "HTTP 5XX errors", self.metric("5XXError"), t.server_errors)
        if t.client_errors is not None:
            self._alarm(
                "HttpClientErrors",
                "HTTP 4XX errors (bad or expired keys, denied auth)",
                self.metric("4XXError"),
                t.client_errors,
            )

    def _namespace_alarms(self, ns: str, t: AlarmThresholds, *, handler: bool) -> None:
        """One channel namespace's alarms: the real-time endpoint's, and its handler's when it has one."""
        if t.server_errors is not None:
            self._alarm(
                f"ServerErrors{ns}",
                f"/{ns}: real-time server errors",
                self._sum(ns, SERVER_ERROR_METRICS),
                t.server_errors,
            )
        if t.client_errors is not None:
            self._alarm(
                f"ClientErrors{ns}",
                f"/{ns}: connect/subscribe/publish client errors (auth failures)",
                self._sum(ns, CLIENT_ERROR_METRICS),
                t.client_errors,
            )
        if t.dropped_messages is not None:
            self._alarm(
                f"Dropped{ns}",
                f"/{ns}: inbound messages dropped (rate quota)",
                self.metric(DROPPED_METRIC, ns),
                t.dropped_messages,
            )
        if t.delayed_messages is not None:
            self._alarm(
                f"Delayed{ns}",
                f"/{ns}: inbound messages delayed (rate quota)",
                self.metric(DELAYED_METRIC, ns),
                t.delayed_messages,
            )
        if t.handler_failures is not None and handler:
            self._alarm(
                f"HandlerFailures{ns}",
                f"/{ns}: events the handler failed on",
                self.metric(HANDLER_FAILURE_METRIC, ns),
                t.handler_failures,
            )

    def metric(self, name: str, namespace: str | None = None, statistic: str = "Sum") -> cw.Metric:
        """An Event API metric: by API (`namespace` None) or by API and channel namespace."""
        dimensions = {API_DIMENSION: self._api_id}
        if namespace is not None:
            dimensions[NAMESPACE_DIMENSION] = namespace
        label = f"{name} /{namespace}" if namespace else name
        return cw.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=self._period,
            label=label,
        )

    def _sum(self, namespace: str, names: Sequence[str]) -> cw.MathExpression:
        using = {f"e{i}": self.metric(name, namespace) for i, name in enumerate(names)}
        return cw.MathExpression(
            expression=" + ".join(f"FILL({key}, 0)" for key in using),
            using_metrics=using,
            label=f"{'/'.join(names)} /{namespace}",
            period=self._period,
        )

    def _alarm(self, id_: str, what: str, metric: cw.IMetric, threshold: int | str) -> None:
        name = f"{self._title} {what}"
        if threshold == ANOMALY:
            alarm: cw.AlarmBase = cw.AnomalyDetectionAlarm(
                self,
                id_,
                alarm_name=name[:255],
                alarm_description=f"{what}: above the anomaly-detection band ({ANOMALY_STD_DEVS} standard deviations)",
                metric=metric,
                std_devs=ANOMALY_STD_DEVS,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        else:
            alarm = cw.Alarm(
                self,
                id_,
                alarm_name=name[:255],
                alarm_description=f"{what}: {threshold} or more in {self._period.to_minutes()} minute(s)",
                metric=metric,
                threshold=int(threshold),
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.alarms.append(alarm)

    def _make_topic(self, emails: Sequence[str]) -> sns.Topic:
        # A customer managed key: CloudWatch cannot publish to a topic under the AWS managed SNS key.
        key = kms.Key(self, "TopicKey", enable_key_rotation=True, description=f"{self._title} alarm topic")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Topic", display_name=f"{self._title} alarms"[:100], master_key=key, enforce_ssl=True)
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _per_namespace(self, names: Sequence[str], namespaces: Sequence[str]) -> list[cw.IMetric]:
        return [self.metric(name, ns) for name in names for ns in namespaces]

    def _dashboard(self, namespaces: Sequence[str]) -> cw.Dashboard:
        def graph(title: str, metrics: list[cw.IMetric], width: int = 8) -> cw.GraphWidget:
            return cw.GraphWidget(title=title, left=metrics, width=width, height=6)

        board = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"{self._title}-events", default_interval=Duration.hours(3)
        )
        board.add_widgets(
            graph("Connections (ActiveConnections)", self._per_namespace(["ActiveConnections"], namespaces)),
            graph("Subscriptions (ActiveSubscriptions)", self._per_namespace(["ActiveSubscriptions"], namespaces)),
            graph(
                "Connects (success / client / server errors)",
                self._per_namespace(["ConnectSuccess", "ConnectClientError", "ConnectServerError"], namespaces),
            ),
        )
        board.add_widgets(
            graph(
                "Inbound / outbound messages (5 kB units)",
                self._per_namespace(["InboundMessages", "OutboundMessages"], namespaces),
            ),
            graph(
                "Inbound messages delayed / dropped", self._per_namespace([DELAYED_METRIC, DROPPED_METRIC], namespaces)
            ),
            graph(
                "Broadcast (success / errors)",
                self._per_namespace(
                    ["BroadcastEventSuccess", "BroadcastEventClientError", "BroadcastEventServerError"], namespaces
                ),
            ),
        )
        board.add_widgets(
            graph(
                "Publish / subscribe errors",
                self._per_namespace(
                    [*CLIENT_ERROR_METRICS[1:], "PublishServerError", "SubscribeServerError"], namespaces
                ),
            ),
            graph(
                "Handlers (failed / dropped events)",
                self._per_namespace([HANDLER_FAILURE_METRIC, "DroppedEvents"], namespaces),
            ),
            graph(
                "HTTP publish (requests, 4XX, 5XX)",
                [self.metric("Requests"), self.metric("4XXError"), self.metric("5XXError")],
            ),
        )
        latency = graph(
            "HTTP latency (p50 / p99, ms)",
            [self.metric("Latency", statistic="p50"), self.metric("Latency", statistic="p99")],
            width=12,
        )
        alarms = (
            [cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=12, height=6)] if self.alarms else []
        )
        board.add_widgets(latency, *alarms)
        return board
