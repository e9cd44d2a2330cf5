"""The Event API's data sources (Lambda, DynamoDB, HTTP, EventBridge) through the L2 `EventApi.add_*_data_source`.

Each data source gets the L2's own service role, which AppSync assumes and which holds exactly one grant: invoke
that function, read/write that table, put events on that bus. Functions of this app are `PythonFunction`s; tables
made here are on-demand, point-in-time recoverable (unless config says not) and kept when the stack goes (RETAIN:
they hold user data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from eventapi.config import FUNCTIONS_DIR, DataSourceConfig, DataSourceKind, DynamoDbSource
from eventapi.infra.python_function import PythonFunction


class EventApiDataSources(Construct):
    """Attributes: `sources` (name -> data source), `functions` (name -> PythonFunction), `tables`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api: appsync.EventApi,
        specs: Sequence[DataSourceConfig],
        project_root: Path,
        log_retention_days: int,
        service_prefix: str,
    ) -> None:
        super().__init__(scope, id_)
        self.sources: dict[str, appsync.AppSyncBackedDataSource] = {}
        self.functions: dict[str, PythonFunction] = {}
        self.tables: dict[str, dynamodb.ITable] = {}
        for spec in specs:
            self.sources[spec.name] = self._add(api, spec, project_root, log_retention_days, service_prefix)

    def _add(
        self,
        api: appsync.EventApi,
        spec: DataSourceConfig,
        root: Path,
        retention: int,
        prefix: str,
    ) -> appsync.AppSyncBackedDataSource:
        description = f"{spec.kind} data source {spec.name}, managed by eventapi"
        if spec.kind is DataSourceKind.LAMBDA:
            assert spec.lambda_ is not None
            if spec.lambda_.function is not None:
                made = PythonFunction(
                    self,
                    f"Fn{spec.name}",
                    source=root / FUNCTIONS_DIR / spec.lambda_.function,
                    source_label=f"{FUNCTIONS_DIR}/{spec.lambda_.function}",
                    timeout_seconds=spec.lambda_.timeout_seconds,
                    memory_mb=spec.lambda_.memory_mb,
                    log_retention_days=retention,
                    service_name=f"{prefix}-{spec.lambda_.function}",
                )
                self.functions[spec.name] = made
                function: lambda_.IFunction = made.function
            else:
                assert spec.lambda_.function_arn is not None
                function = lambda_.Function.from_function_arn(self, f"Fn{spec.name}", spec.lambda_.function_arn)
            return self._lambda_source(api, spec.name, function, description)
        if spec.kind is DataSourceKind.DYNAMODB:
            assert spec.dynamodb is not None
            table = self._table(spec.name, spec.dynamodb)
            self.tables[spec.name] = table
            return api.add_dynamo_db_data_source(f"Ds{spec.name}", table, name=spec.name, description=description)
        if spec.kind is DataSourceKind.HTTP:
            assert spec.http_endpoint is not None
            return api.add_http_data_source(
                f"Ds{spec.name}", spec.http_endpoint, name=spec.name, description=description
            )
        assert spec.event_bus_arn is not None
        bus = events.EventBus.from_event_bus_arn(self, f"Bus{spec.name}", spec.event_bus_arn)
        return api.add_event_bridge_data_source(f"Ds{spec.name}", bus, name=spec.name, description=description)

    def _lambda_source(
        self, api: appsync.EventApi, name: str, function: lambda_.IFunction, description: str
    ) -> appsync.AppSyncBackedDataSource:
        # The L2's own grant also allows `<function arn>:*` (every version and alias); AppSync invokes the
        # function's unqualified ARN, so the role allows exactly that and the L2 may not add to it.
        role = iam.Role(
            self,
            f"Ds{name}Role",
            assumed_by=iam.ServicePrincipal("appsync.amazonaws.com"),
            description=f"AppSync invokes the {name} function; nothing else",
            inline_policies={
                "Invoke": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
                    ]
                )
            },
        )
        return appsync.AppSyncLambdaDataSource(
            api,
            f"Ds{name}",
            api=api,
            lambda_function=function,
            service_role=role.without_policy_updates(),
            name=name,
            description=description,
        )

    def _table(self, name: str, spec: DynamoDbSource) -> dynamodb.ITable:
        if spec.imported:
            assert spec.table_name is not None
            return dynamodb.Table.from_table_name(self, f"Table{name}", spec.table_name)
        assert spec.partition_key is not None
        string = dynamodb.AttributeType.STRING
        return dynamodb.Table(
            self,
            f"Table{name}",
            table_name=spec.table_name,
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=string) if spec.sort_key else None,
            time_to_live_attribute=spec.ttl_attribute,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=spec.point_in_time_recovery
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )


def handler_config(
    sources: Mapping[str, appsync.AppSyncBackedDataSource],
    *,
    data_source: str | None,
    direct_lambda: str | None,
    invoke_type: str,
) -> appsync.HandlerConfig | None:
    """The L2 handler config of one namespace side (None: code without a data source, AppSync's default)."""
    if direct_lambda is not None:
        return appsync.HandlerConfig(
            data_source=sources[direct_lambda], direct=True, lambda_invoke_type=appsync.LambdaInvokeType(invoke_type)
        )
    if data_source is not None:
        return appsync.HandlerConfig(data_source=sources[data_source])
    return None
