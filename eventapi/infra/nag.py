"""`EventApiChecks`: the Event API rule pack (`eventapi.infra.rules`) as a cdk-nag v3 `NagPack`.

Use it in any CDK app, next to AwsSolutions:

    from eventapi.infra.nag import EventApiChecks
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), EventApiChecks(app))

A finding fails synth and lands in `cdk.out/validation-report.json` like any cdk-nag finding; acknowledge one with
`Validations.of(construct).acknowledge(Acknowledgment(id="EventApi-NS1", reason="..."))`.

The rules read each stack's synthesized template (cdk-nag validates after synthesis), so they see raw overrides
too, which construct properties would hide.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, Stack, Stage
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from eventapi.infra.rules import PACK_NAME, Rule, StackView, rules_for


@jsii.implements(IApplyRule)
class _Finding:
    """One rule applied to one resource, in the shape cdk-nag's `applyRule` reads."""

    def __init__(self, node: CfnResource, rule: Rule, finding: str) -> None:
        self._node = node
        self._rule = rule
        self._finding = finding

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.suffix

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def info(self) -> str:
        return f"{self._finding} — {self._rule.explanation}"

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        return NagRuleCompliance.NON_COMPLIANT


class EventApiChecks(NagPack):
    """Checks AppSync Event APIs, their namespaces and keys against the rules in `eventapi.infra.rules`.

    `today` is the day the key-lifetime rule measures from (default: the real date; inject one for tests).
    """

    def __init__(self, scope: IConstruct | None = None, *, today: date | None = None, verbose: bool = False) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._today = today or datetime.now(UTC).date()
        self._views: dict[str, StackView] = {}

    @property
    def name(self) -> str:
        """The plugin name in the validation report."""
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        rules = rules_for(node.cfn_resource_type)
        if not rules:
            return
        stack = Stack.of(node)
        view = self._view(stack)
        logical_id = stack.resolve(node.logical_id)
        for rule in rules:
            # Only findings go back to cdk-nag: every call across jsii costs milliseconds, and a compliant result
            # changes neither the verdict nor the report.
            finding = rule.check(view, logical_id)
            if finding is not None:
                self._apply_rule(cast(IApplyRule, _Finding(node, rule, finding)))

    def _view(self, stack: Stack) -> StackView:
        key = stack.node.path
        if key not in self._views:
            path = Path(Stage.of(stack).outdir) / stack.template_file  # type: ignore[union-attr]
            try:
                template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise RuntimeError(
                    f"{PACK_NAME} checks read the synthesized template {path}; register the pack with "
                    "Validations.of(app).add_plugins(...) so it runs after synthesis"
                ) from None
            self._views[key] = StackView(template, stack.stack_name, stack.tags.tag_values(), self._today)
        return self._views[key]
