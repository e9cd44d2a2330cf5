"""Template assertions for the production parts: monitoring, WAF, custom domain; absent where not configured."""

from __future__ import annotations

from typing import Any

from eventapi.infra.monitoring import (
    API_DIMENSION,
    CLIENT_ERROR_METRICS,
    METRIC_NAMESPACE,
    NAMESPACE_DIMENSION,
    SERVER_ERROR_METRICS,
)
from eventapi.outputs import Output

from .conftest import EDGE_STAGE, only, resources

# The AppSync Events "CloudWatch metrics" page (https://docs.aws.amazon.com/appsync/latest/eventapi/cw-metrics.html):
# the metrics by EventAPIId alone, and those by EventAPIId + ChannelNamespaceName.
DOCUMENTED_BY_API = {"4XXError", "5XXError", "Latency", "Requests", "TokensConsumed"}
DOCUMENTED_BY_NAMESPACE = {
    "DroppedEvents",
    "FailedEvents",
    "SuccessfulEvents",
    "PublishedHandlerInvocations",
    "ConnectRequests",
    "ConnectSuccess",
    "ConnectClientError",
    "ConnectServerError",
    "DisconnectSuccess",
    "DisconnectClientError",
    "DisconnectServerError",
    "SubscribeSuccess",
    "SubscribeClientError",
    "SubscribeServerError",
    "UnsubscribeSuccess",
    "UnsubscribeClientError",
    "UnsubscribeServerError",
    "BroadcastEventSuccess",
    "BroadcastEventClientError",
    "BroadcastEventServerError",
    "BroadcastEventSize",
    "ActiveConnections",
    "ActiveSubscriptions",
    "ConnectionDuration",
    "InboundMessages",
    "OutboundMessages",
    "InboundMessageDelayed",
    "InboundMessageDropped",
    "SubscribeHandlerInvocations",
    "PublishSuccess",
    "PublishClientError",
    "PublishServerError",
}
PRODUCTION_TYPES = (
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Topic",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::AppSync::DomainName",
)


def api_alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The Event API's alarms (not the key renewer's, on its Lambda function)."""
    return [a for n, a in resources(template, "AWS::CloudWatch::Alarm").items() if not n.startswith("KeyRenewal")]


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metric stats an alarm reads (single metric or metric math)."""
    if "MetricName" in alarm:
        return [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}]
    return [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def test_dev_has_no_production_parts(shipped: dict[str, Any]) -> None:
    """A stage that configures none of the parts gets none of their resources."""
    dev = shipped["Social-dev"]
    assert {r["Type"] for r in dev["Resources"].values()}.isdisjoint(PRODUCTION_TYPES)


def test_alarm_metrics_are_documented_ones(shipped: dict[str, Any], full_all: dict[str, Any]) -> None:
    """Every alarm reads an AWS/AppSync metric the docs list, with exactly the dimensions the docs give it."""
    for template in (shipped["Social-prod"], full_all["Social-full"], full_all["Social-edge"]):
        (api_id,) = resources(template, "AWS::AppSync::Api")
        for alarm in api_alarms(template):
            for metric in alarm_metrics(alarm["Properties"]):
                dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
                assert metric["Namespace"] == METRIC_NAMESPACE
                assert dimensions.pop(API_DIMENSION) == {"Fn::GetAtt": [api_id, "ApiId"]}
                if not dimensions:
                    assert metric["MetricName"] in DOCUMENTED_BY_API
                else:
                    assert list(dimensions) == [NAMESPACE_DIMENSION]
                    assert metric["MetricName"] in DOCUMENTED_BY_NAMESPACE


def test_prod_alarms_notify_a_topic_the_stack_makes(shipped: dict[str, Any]) -> None:
    """prod: each alarm notifies (and clears on) the stack's encrypted topic, which mails ops; namespaces with a
    handler (code or a direct Lambda) also alarm on its failures."""
    prod = shipped["Social-prod"]
    (topic_id,) = resources(prod, "AWS::SNS::Topic")
    alarms = resources(prod, "AWS::CloudWatch::Alarm").values()
    names = sorted(a["Properties"]["AlarmName"] for a in alarms)
    assert names == sorted(
        [
            "social-prod HTTP 5XX errors",
            "social-prod HTTP 4XX errors (bad or expired keys, denied auth)",
            *(
                f"social-prod /{ns}: {what}"
                for ns in ("default", "comments", "users")
                for what in (
                    "real-time server errors",
                    "connect/subscribe/publish client errors (auth failures)",
                    "inbound messages dropped (rate quota)",
                    "inbound messages delayed (rate quota)",
                )
            ),
            "social-prod /comments: events the handler failed on",
            "social-prod /users: events the handler failed on",
        ]
    )
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"
    topic = only(prod, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic
    assert only(prod, "AWS::SNS::Subscription") == {
        "Endpoint": "ops@example.com",
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }


def test_server_error_alarm_sums_every_server_error(shipped: dict[str, Any]) -> None:
    """A namespace's server-error alarm adds up its Connect/Disconnect/Subscribe/Publish/Broadcast server errors."""
    prod = shipped["Social-prod"]
    (alarm,) = [
        a["Properties"]
        for a in resources(prod, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "social-prod /default: real-time server errors"
    ]
    assert sorted(m["MetricName"] for m in alarm_metrics(alarm)) == sorted(SERVER_ERROR_METRICS)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"] == " + ".join(f"FILL(e{i}, 0)" for i in range(len(SERVER_ERROR_METRICS)))


def test_full_thresholds_anomaly_and_existing_topic(full: dict[str, Any]) -> None:
    """full: client errors alarm on an anomaly band, delayed messages are off, alarms notify the existing topic."""
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in api_alarms(full)}
    assert not [name for name in alarms if "delayed" in name]
    client = alarms["social-full /comments: connect/subscribe/publish client errors (auth failures)"]
    assert client["ComparisonOperator"] == "GreaterThanUpperThreshold"
    assert any("ANOMALY_DETECTION_BAND" in m.get("Expression", "") for m in client["Metrics"])
    assert sorted(m["MetricName"] for m in alarm_metrics(client)) == sorted(CLIENT_ERROR_METRICS)
    assert alarms["social-full HTTP 5XX errors"]["Threshold"] == 5
    (stat,) = [m["MetricStat"] for m in alarms["social-full HTTP 5XX errors"]["Metrics"]]
    assert (stat["Metric"]["MetricName"], stat["Period"], stat["Stat"]) == ("5XXError", 60, "Sum")
    for props in alarms.values():
        assert props["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
    assert not resources(full, "AWS::SNS::Topic")


def test_dashboard_per_stage(shipped: dict[str, Any], full_all: dict[str, Any]) -> None:
    """A dashboard named after the stage's API shows each namespace; `dashboard: false` leaves it out."""
    dashboard = only(shipped["Social-prod"], "AWS::CloudWatch::Dashboard")
    assert dashboard["DashboardName"] == "social-prod-events"
    body = str(dashboard["DashboardBody"])
    for text in ("ActiveConnections", "ActiveSubscriptions", "InboundMessages", "OutboundMessages", "FailedEvents"):
        assert text in body
    assert '\\"ChannelNamespaceName\\",\\"comments\\"' in body or "comments" in body
    assert not resources(full_all["Social-edge"], "AWS::CloudWatch::Dashboard")


def test_prod_web_acl(shipped: dict[str, Any]) -> None:
    """prod: a regional web ACL (rate per IP, the common and known-bad-inputs groups, metrics on) guards the API."""
    prod = shipped["Social-prod"]
    (api_id,) = resources(prod, "AWS::AppSync::Api")
    (acl_id,) = resources(prod, "AWS::WAFv2::WebACL")
    acl = only(prod, "AWS::WAFv2::WebACL")
    assert (acl["Scope"], acl["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert list(rules) == ["RatePerIp", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
    rate = rules["RatePerIp"]["Statement"]["RateBasedStatement"]
    assert (rate["AggregateKeyType"], rate["Limit"], rules["RatePerIp"]["Action"]) == ("IP", 2000, {"Block": {}})
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    for rule in [*acl["Rules"], acl]:
        config = rule["VisibilityConfig"]
        assert config["CloudWatchMetricsEnabled"] and config["SampledRequestsEnabled"]
    assert only(prod, "AWS::WAFv2::WebACLAssociation") == {
        "ResourceArn": {"Fn::GetAtt": [api_id, "ApiArn"]},
        "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]},
    }


def test_edge_ip_sets_and_existing_acl(full_all: dict[str, Any]) -> None:
    """edge: denied IPs are blocked first, allowed IPs (v4 and v6 sets) skip the rest; full uses an existing ACL."""
    edge = full_all["Social-edge"]
    acl = only(edge, "AWS::WAFv2::WebACL")
    assert [(r["Name"], r["Priority"]) for r in acl["Rules"]][:3] == [
        ("DeniedIps", 0),
        ("AllowedIps", 1),
        ("RatePerIp", 2),
    ]
    sets = sorted(
        (s["Properties"]["IPAddressVersion"], s["Properties"]["Addresses"])
        for s in resources(edge, "AWS::WAFv2::IPSet").values()
    )
    assert sets == [("IPV4", ["198.51.100.7/32"]), ("IPV4", ["203.0.113.0/24"]), ("IPV6", ["2001:db8::/32"])]
    assert "OrStatement" in acl["Rules"][1]["Statement"]
    full = full_all["Social-full"]
    assert not resources(full, "AWS::WAFv2::WebACL")
    assert only(full, "AWS::WAFv2::WebACLAssociation")["WebACLArn"].startswith("arn:aws:wafv2:us-east-1:")


def test_domain_in_us_east_1_stage(full_all: dict[str, Any]) -> None:
    """full (us-east-1): the certificate is made in the same stack, DNS-validated in the zone; outputs use the name."""
    full = full_all["Social-full"]
    (cert_id,) = resources(full, "AWS::CertificateManager::Certificate")
    assert only(full, "AWS::CertificateManager::Certificate")["DomainValidationOptions"] == [
        {"DomainName": "events.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}
    ]
    domain = only(full, "AWS::AppSync::DomainName")
    assert (domain["DomainName"], domain["CertificateArn"]) == ("events.example.com", {"Ref": cert_id})
    outputs = {key: value["Value"] for key, value in full["Outputs"].items()}
    assert outputs[Output.HTTP_ENDPOINT] == "https://events.example.com/event"
    assert outputs[Output.REALTIME_ENDPOINT] == "wss://events.example.com/event/realtime"
    assert outputs[Output.HTTP_HOST] == outputs[Output.REALTIME_HOST] == "events.example.com"
    (domain_id,) = resources(full, "AWS::AppSync::DomainName")
    assert outputs[Output.DOMAIN_TARGET] == {"Fn::GetAtt": [domain_id, "AppSyncDomainName"]}


def test_domain_certificate_made_in_us_east_1(full_all: dict[str, Any]) -> None:
    """edge (eu-west-1): a us-east-1 stack makes the certificate; the API's stack reads it across regions, associates
    the API and points an alias record at the AppSync domain name."""
    certificate_stack = full_all["Social-edge-certificate"]
    assert only(certificate_stack, "AWS::CertificateManager::Certificate")["DomainName"] == "realtime.example.org"
    edge = full_all["Social-edge"]
    (api_id,) = resources(edge, "AWS::AppSync::Api")
    (domain_id,) = resources(edge, "AWS::AppSync::DomainName")
    domain = only(edge, "AWS::AppSync::DomainName")
    assert domain["DomainName"] == EDGE_STAGE["domain"]["name"]
    assert next(iter(domain["CertificateArn"]["Fn::GetAtt"][1:])).startswith("/cdk/exports/Social-edge/")
    assert only(edge, "AWS::AppSync::DomainNameApiAssociation") == {
        "ApiId": {"Fn::GetAtt": [api_id, "ApiId"]},
        "DomainName": "realtime.example.org",
    }
    assert only(edge, "AWS::Route53::RecordSet") == {
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": [domain_id, "AppSyncDomainName"]},
            "HostedZoneId": {"Fn::GetAtt": [domain_id, "HostedZoneId"]},
        },
        "HostedZoneId": "Z9876543210ZYXWVUTSRQ",
        "Name": "realtime.example.org.",
        "Type": "A",
    }
