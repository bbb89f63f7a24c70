"""Planning and replenishment: planning's recommendations become ERP updates (a planner approves a change
above the threshold, in a Step Functions workflow), its demand forecasts go into the ERP's planning tables, and
availability and exceptions flow back to planning."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import jsii
from aws_cdk import IStableStringProducer, Lazy, RemovalPolicy, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import REPO_ROOT
from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT, PARTNER_CALL_TIMEOUT, TASK_TIMEOUT, TRANSFORMER_TIMEOUT
from infra.platform.workflow import AslWorkflow, render_asl

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

# The approval state machine; placeholders: the two function ARNs and the approval window.
ASL_PATH = REPO_ROOT / "state_machines" / "replenishment_approval.asl.json"


def render_definition(asl: str, *, request_function_arn: str, outcome_function_arn: str, timeout_seconds: int) -> str:
    return render_asl(
        asl,
        ASL_PATH.name,
        arns={"ApprovalRequestFunctionArn": request_function_arn, "ApprovalOutcomeFunctionArn": outcome_function_arn},
        numbers={"ApprovalTimeoutSeconds": timeout_seconds},
    )


class ApprovalWorkflow(AslWorkflow):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        request_function: lambda_.IFunction,
        outcome_function: lambda_.IFunction,
        timeout_seconds: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        if Token.is_unresolved(timeout_seconds):
            raise ValueError("approvalTimeoutSeconds must be a literal integer")
        super().__init__(
            scope,
            construct_id,
            asl_path=ASL_PATH,
            comment="Planner approval of a replenishment change above the threshold",
            functions={"ApprovalRequestFunctionArn": request_function, "ApprovalOutcomeFunctionArn": outcome_function},
            numbers={"ApprovalTimeoutSeconds": timeout_seconds},
            log_retention=log_retention,
            removal_policy=removal_policy,
        )


@jsii.implements(IStableStringProducer)
class _Later:
    """A value of a construct declared after this slice, produced at synth."""

    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self) -> str:
        return self._produce()


def _inventory_table(platform: Platform) -> dynamodb.ITable:
    """The inventory slice's projection (built after this slice: resolved at synth, when it exists)."""
    table = platform.tables.node.try_find_child("InventoryTable")
    if table is None:
        raise ValueError("approval impact needs the inventory slice's InventoryTable")
    return cast(dynamodb.ITable, table)


def build(platform: Platform) -> ApprovalWorkflow:
    config, tables, bus = platform.config, platform.tables, platform.bus
    approvals = platform.domain_table("ApprovalsTable", "approvalId")

    # --- the approval workflow (its functions first: the definition embeds their ARNs) ---
    request = platform.function(
        "ApprovalRequestFunction",
        "approval_request",
        TASK_TIMEOUT,
        "Stores a pending approval with its impact and task token and notifies the planners",
        APPROVALS_TABLE_NAME=approvals.table_name,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        INVENTORY_TABLE_NAME=Lazy.string(_Later(lambda: _inventory_table(platform).table_name)),
        ATP_HORIZON_DAYS=str(config.atp_horizon_days),
        PLANNERS_TOPIC_ARN=platform.notifications.topics["planners"].topic_arn,
        CONSOLE_URL=config.console_url,
    )
    approvals.grant_write_data(request)
    # the impact: ATP from the inventory projection, forecast, lead time and unit cost from master data
    tables.masterdata.grant_read_data(request)
    iam.Grant.add_to_principal(grantee=request, actions=["dynamodb:GetItem"],
                               resource_arns=[Lazy.string(_Later(lambda: _inventory_table(platform).table_arn))])
    platform.notifications.grant_publish("planners", request)
    outcome = platform.function(
        "ApprovalOutcomeFunction",
        "approval_outcome",
        TASK_TIMEOUT,
        "Records the approval decision and publishes the ERP update when approved",
        APPROVALS_TABLE_NAME=approvals.table_name,
        EVENT_BUS_NAME=bus.event_bus_name,
    )
    approvals.grant_read_write_data(outcome)
    bus.grant_put_events_to(outcome)
    workflow = ApprovalWorkflow(
        platform.scope,
        "ApprovalWorkflow",
        request_function=request,
        outcome_function=outcome,
        timeout_seconds=config.approval_timeout_seconds,
        log_retention=platform.log_retention,
        removal_policy=platform.removal,
    )
    state_machine = workflow.state_machine
    platform.state_machine("approval", state_machine, output="ApprovalStateMachineArn")

    decisions = platform.function(
        "ApprovalApiFunction",
        "approval_api",
        API_TIMEOUT,
        "Accepts signed planner decisions and completes the waiting approval task",
        APPROVALS_TABLE_NAME=approvals.table_name,
    )
    approvals.grant_read_write_data(decisions)
    state_machine.grant_task_response(decisions)
    platform.idempotency_table(decisions)  # signatures accepted, once each
    platform.signed_api("v1/approvals/{approvalId}", "POST", decisions, keys=["planners"],
                        reserved_concurrency=platform.config.decision_api_reserved_concurrency)

    # --- recommendations: straight to the ERP, or through a planner above the threshold ---
    transformer = platform.function(
        "PlanningTransformerFunction",
        "planning_transformer",
        TRANSFORMER_TIMEOUT,
        "Turns planning recommendations into ERP updates, or starts an approval above the threshold",
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        EVENT_BUS_NAME=bus.event_bus_name,
        APPROVAL_STATE_MACHINE_ARN=state_machine.state_machine_arn,
        APPROVAL_THRESHOLD_PERCENT=str(config.approval_threshold_percent),
        ERP_CONNECTIONS=config.erp_connections_environment(),  # which ERP owns a location, its threshold
    )
    tables.masterdata.grant_read_data(transformer)
    bus.grant_put_events_to(transformer)
    state_machine.grant_start_execution(transformer)
    platform.pipeline(
        "PlanningPipeline",
        function=transformer,
        batch_size=10,
        sources=("distsync.planning",),
        detail_types=("ReplenishmentRecommended",),
    )

    # --- demand forecasts into the ERP ---
    forecasts = platform.function(
        "ForecastTransformerFunction",
        "forecast_transformer",
        PARTNER_CALL_TIMEOUT,
        "Writes planning's weekly demand forecasts into the ERP's planning tables",
        **platform.partner_environment,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
    )
    tables.masterdata.grant_read_data(forecasts)
    # the latest forecast beside the item-location's master data (approvals read the daily demand from it)
    iam.Grant.add_to_principal(grantee=forecasts, actions=["dynamodb:UpdateItem"],
                               resource_arns=[tables.masterdata.table_arn])
    platform.pipeline(
        "ForecastPipeline",
        function=forecasts,
        batch_size=5,
        sources=("distsync.forecast",),
        detail_types=("DemandForecastPublished",),
    )

    # --- availability and exceptions to planning ---
    sync = platform.function(
        "PlanningSyncFunction",
        "planning_sync",
        TRANSFORMER_TIMEOUT,
        "Forwards availability and planning exceptions to the planning platform's API",
        PLANNING_BASE_URL=config.planning_base_url,
    )
    # Planning is not critical to operations: while it is down, its updates wait in the queue (more receives
    # before the DLQ) and the lag alarm fires only past the business threshold.
    platform.pipeline(
        "PlanningSyncPipeline",
        function=sync,
        batch_size=10,
        routes={
            "distsync.atp": ("InventoryAvailabilityUpdated",),
            "distsync.planning-exceptions": ("PlanningException",),
            "distsync.supplier-performance": ("SupplierPerformanceMeasured",),  # issue 15 (supplier slice)
        },
        max_receive_count=config.planning_sync_max_receive_count,
        max_lag_minutes=config.planning_sync_max_lag_minutes,
        idempotency=False,
    )

    platform.metrics.count("UpdatesAutoApproved", "ApprovalsStarted", "ApprovalsApproved", "ApprovalsRejected")
    platform.dashboard(
        Domain(
            key="planning",
            title="Planning & replenishment (recommendations, planner approvals, forecasts, planning sync)",
            pipelines=("PlanningPipeline", "ForecastPipeline", "PlanningSyncPipeline"),
            functions=("approval_api", "approval_request", "approval_outcome"),
            state_machine="approval",
            metrics=(
                "UpdatesAutoApproved",
                "ApprovalsStarted",
                "ApprovalsApproved",
                "ApprovalsRejected",
                "RecordsQuarantined",
                "ApprovalTurnaround",
            ),
        )
    )
    platform.output("ApprovalsTableName", approvals.table_name)
    return workflow
