"""The scheduled key renewer: a Python Lambda (the package's own modules, bundled without Docker), a daily
EventBridge Scheduler schedule that invokes it, and an alarm on its errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from eventapi.infra.python_bundle import package_code
from eventapi.infra.python_function import RUNTIME

ENTRY_MODULE = "eventapi.deploy.renewer"
NAG = "AwsSolutions::"  # the cdk-nag plugin's prefix of acknowledgement ids
APPSYNC_KEYS_REASON = (
    "appsync:ListApiKeys and appsync:UpdateApiKey support no resource-level permissions (the Service "
    "Authorization Reference lists no resource type for them), so they take '*'"
)
INVOKE_REASON = (
    "the L2 Scheduler target grants lambda:InvokeFunction on the renewer and its versions (`<function ARN>:*`): "
    "this one function only"
)
KMS_ALIAS_REASON = (
    "a KMS alias names no key ARN at synth; the statement is held to the alias (kms:ResourceAliases), to use "
    "through SSM (kms:ViaService) and to the parameters under the stage's prefix (encryption context)"
)


class KeyRenewal(Construct):
    """Renews the published API key daily. Attributes: `function`, `schedule`, `alarm` (on the function's
    Errors: any failed run in a day puts it in ALARM; wire it to a topic to be told)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        environment: Mapping[str, str],
        parameter_path: str,
        written_parameters: Sequence[str],
        kms_key_id: str,
        hour_utc: int,
        log_retention_days: int,
        retain_logs: bool,
        description: str,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        kms = _kms_decrypt(stack, kms_key_id, parameter_path)
        role = self._role(stack, description, parameter_path, written_parameters, kms)
        log_group = self._log_group(role, log_retention_days, retain_logs)
        self.function = self._function(stack, role, log_group, environment, description)
        invoker = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"{description}: the schedule's role",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.cron(minute="0", hour=str(hour_utc)),
            target=targets.LambdaInvoke(self.function, role=invoker, retry_attempts=2, max_event_age=Duration.hours(6)),
            description=description,
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "Failed",
            metric=self.function.metric_errors(period=Duration.days(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{description}: a run failed; its one-line error is in the function's log group",
        )
        _acknowledge(stack, role, invoker, self.function, kms)

    def _role(
        self,
        stack: Stack,
        description: str,
        parameter_path: str,
        written_parameters: Sequence[str],
        kms: Mapping[str, Any] | None,
    ) -> iam.Role:
        """The function's role: the API keys, the parameters under the stage's prefix and their KMS key (if not the
        AWS managed one)."""
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
        role.add_to_policy(
            iam.PolicyStatement(actions=["appsync:ListApiKeys", "appsync:UpdateApiKey"], resources=["*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["ssm:GetParametersByPath"], resources=[_parameter_arn(stack, parameter_path)])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:PutParameter", "ssm:AddTagsToResource"],
                resources=[_parameter_arn(stack, name) for name in written_parameters],
            )
        )
        if kms is not None:
            role.add_to_policy(iam.PolicyStatement.from_json(kms))
        return role

    def _log_group(self, role: iam.Role, log_retention_days: int, retain_logs: bool) -> logs.LogGroup:
        log_group = logs.LogGroup(
            self, "Logs", removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY
        )
        cfn_log_group = log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = log_retention_days  # config validated the days
        log_group.grant_write(role)
        return log_group

    def _function(
        self,
        stack: Stack,
        role: iam.Role,
        log_group: logs.LogGroup,
        environment: Mapping[str, str],
        description: str,
    ) -> lambda_.Function:
        function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{ENTRY_MODULE}.handler",
            code=package_code(ENTRY_MODULE),
            role=role,
            log_group=log_group,
            environment=dict(environment),
            timeout=Duration.minutes(2),
            memory_size=256,
            retry_attempts=0,  # the schedule retries; a second Lambda-side retry would only double the alarm
            description=description,
        )
        cfn_function = function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, iam.CfnPolicy)
        # The role's permissions before the function; the role itself is already ordered by the GetAtt (cfn-lint
        # W3005 flags CDK's redundant DependsOn on it).
        cfn_function.add_override("DependsOn", [stack.get_logical_id(policy)])
        return function


def _parameter_arn(stack: Stack, name: str) -> str:
    return stack.format_arn(
        service="ssm",
        resource="parameter",
        resource_name=name.lstrip("/"),
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def _kms_decrypt(stack: Stack, kms_key_id: str, parameter_path: str) -> dict[str, Any] | None:
    """The statement letting the function decrypt the stage's parameters, or None for the AWS managed key (its key
    policy already allows it)."""
    # The policy statement shapes are the post-deploy step's (eventapi.deploy.policy); imported here so stages
    # without a renewer do not load boto3 at synth.
    from eventapi.deploy.policy import kms_statement  # noqa: PLC0415

    return kms_statement(
        kms_key_id,
        region=stack.region,
        account=stack.account,
        parameters=f"{_parameter_arn(stack, parameter_path)}/*",
        actions=("kms:Decrypt",),
    )


def _acknowledge(
    stack: Stack, role: iam.Role, invoker: iam.Role, function: lambda_.Function, kms: Mapping[str, Any] | None
) -> None:
    """The cdk-nag findings on the two roles' wildcards, each with why it cannot be narrower."""
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    reason = APPSYNC_KEYS_REASON
    if kms is not None and kms["Resource"] == "*":
        reason += f"; {KMS_ALIAS_REASON}"
    Validations.of(role).acknowledge(Acknowledgment(id=f"{NAG}AwsSolutions-IAM5[Resource::*]", reason=reason))
    Validations.of(invoker).acknowledge(
        Acknowledgment(
            id=f"{NAG}AwsSolutions-IAM5[Resource::<{stack.get_logical_id(cfn_function)}.Arn>:*]",
            reason=INVOKE_REASON,
        )
    )
