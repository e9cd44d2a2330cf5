"""AWS WAF in front of an Event API: a regional web ACL made here, or an existing one, associated with the API ARN.

The web ACL made here: IPs always blocked, IPs always allowed (they skip the rest), a rate-based rule per client IP,
and the AWS managed common rule set and known-bad-inputs groups; every rule publishes CloudWatch metrics and
sampled requests. WAF evaluates a request before AppSync authorizes it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# The common rule set's SizeRestrictions_BODY blocks bodies over 8 KB (all WAF sees of an AppSync body), while an
# event may be up to 240 KB: it would block every larger HTTP publish, so it only counts.
COUNT_ONLY_RULES = ("SizeRestrictions_BODY",)
MANAGED_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class EventApiWaf(Construct):
    """Associates `web_acl_arn`, or a web ACL made here, with the Event API `api_arn`.

    Attributes: `web_acl` (the CfnWebACL made here, or None), `web_acl_arn`, `association`.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api_arn: str,
        name: str,
        web_acl_arn: str | None = None,
        rate_limit: int = 1000,
        allow_ips: Sequence[str] = (),
        deny_ips: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.web_acl: wafv2.CfnWebACL | None = None
        if web_acl_arn is None:
            self.web_acl = self._web_acl(name, rate_limit, allow_ips, deny_ips)
            web_acl_arn = self.web_acl.attr_arn
        self.web_acl_arn = web_acl_arn
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=api_arn, web_acl_arn=web_acl_arn
        )

    def _ip_rule(self, name: str, priority: int, cidrs: Sequence[str], action: str) -> wafv2.CfnWebACL.RuleProperty:
        """One rule matching `cidrs` (an IP set per address family, since a WAF IP set holds one)."""
        statements = []
        for version in (4, 6):
            addresses = [c for c in cidrs if ipaddress.ip_network(c).version == version]
            if addresses:
                ip_set = wafv2.CfnIPSet(
                    self, f"{name}V{version}", addresses=addresses, ip_address_version=f"IPV{version}", scope="REGIONAL"
                )
                statements.append(
                    wafv2.CfnWebACL.StatementProperty(
                        ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=ip_set.attr_arn)
                    )
                )
        statement = (
            statements[0]
            if len(statements) == 1
            else wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements)
            )
        )
        actions = {
            "allow": wafv2.CfnWebACL.RuleActionProperty(allow={}),
            "block": wafv2.CfnWebACL.RuleActionProperty(block={}),
        }
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            statement=statement,
            action=actions[action],
            visibility_config=_visibility(name),
        )

    def _web_acl(
        self, name: str, rate_limit: int, allow_ips: Sequence[str], deny_ips: Sequence[str]
    ) -> wafv2.CfnWebACL:
        rules = []
        if deny_ips:
            rules.append(self._ip_rule("DeniedIps", 0, deny_ips, "block"))
        if allow_ips:
            rules.append(self._ip_rule("AllowedIps", 1, allow_ips, "allow"))
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=2,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=rate_limit, evaluation_window_sec=300
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility("RatePerIp"),
            )
        )
        for priority, group in enumerate(MANAGED_GROUPS, start=3):
            overrides = [
                wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                )
                for rule in COUNT_ONLY_RULES
                if group == "AWSManagedRulesCommonRuleSet"
            ]
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group, rule_action_overrides=overrides or None
                        )
                    ),
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    visibility_config=_visibility(group),
                )
            )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(name),
            description=f"Protects the Event API {name}, managed by eventapi",
        )
