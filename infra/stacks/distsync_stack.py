"""``distsync-<stage>``: the whole integration stack, as specified in docs/infrastructure-contract.md.

Environment variable and output names are an interface (the handlers and the local runtime read them), so
they are spelled out here once and asserted by tests/infra.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DistsyncConfig, retention_days
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.approval_workflow import ApprovalWorkflow
from infra.constructs.data_stores import DataStores
from infra.constructs.distsync_function import DistsyncFunction
from infra.constructs.domain_pipeline import DomainPipeline
from infra.constructs.event_backbone import EventBackbone
from infra.constructs.observability import AlarmThresholds, Domain, Observability
from infra.constructs.shared_layer import SharedLayer
from infra.constructs.webhook_api import WebhookApi, WebhookSecret

API_TIMEOUT = Duration.seconds(10)
TRANSFORMER_TIMEOUT = Duration.seconds(30)
ERP_UPDATER_TIMEOUT = Duration.seconds(60)
TASK_TIMEOUT = Duration.seconds(10)

ERP_BACKOFF_SECONDS = "0.5"
ERP_TIMEOUT_SECONDS = "5"

# Every master-data event type the ERP sends (webhook /v1/webhooks/erp); one rule routes them all to the
# masterdata pipeline.
MASTERDATA_DETAIL_TYPES = (
    "ItemUpserted",
    "LocationUpserted",
    "ItemLocationUpserted",
    "SupplierUpserted",
    "CustomerUpserted",
)

# The dashboards by domain (infra/constructs/observability.py); the overview is added to these.
DOMAINS = (
    Domain(
        key="masterdata",
        title="Master data (ERP items, locations, item-locations, suppliers, customers)",
        pipelines=("MasterdataPipeline",),
        metrics=("RecordsQuarantined", "RecordsRetried", "RecordsDeadLettered"),
    ),
    Domain(
        key="planning",
        title="Planning & replenishment (recommendations, planner approvals)",
        pipelines=("PlanningPipeline",),
        functions=("approval_api", "approval_request", "approval_outcome"),
        state_machine=True,
        metrics=(
            "UpdatesAutoApproved",
            "ApprovalsStarted",
            "ApprovalsApproved",
            "ApprovalsRejected",
            "RecordsQuarantined",
            "ApprovalTurnaround",
        ),
    ),
    Domain(
        key="erp-adapter",
        title="ERP adapter (replenishment parameter updates)",
        pipelines=("ErpUpdatePipeline",),
        metrics=("ErpUpdatesApplied", "RecordsRetried", "RecordsDeadLettered", "ForecastToErpLatency"),
    ),
    Domain(
        key="warehouse",
        title="Warehouse notifications",
        pipelines=("WarehouseNotificationPipeline",),
        metrics=("RecordsRetried", "RecordsDeadLettered"),
    ),
    Domain(
        key="webhook-api",
        title="Webhook API (ERP and planning intake)",
        functions=("webhook_api",),
        api=True,
        metrics=("WebhooksAccepted",),
    ),
)


class DistsyncStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DistsyncConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", "distsync")
        Tags.of(self).add("stage", config.stage)

        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        log_retention = retention_days(config.log_retention_days)

        layer = SharedLayer(self, "SharedLayer").layer
        backbone = EventBackbone(
            self, "EventBackbone", stage=config.stage, archive_retention_days=config.archive_retention_days
        )
        bus = backbone.bus
        tables = DataStores(self, "DataStores", removal_policy=removal)
        self.backbone, self.tables = backbone, tables
        alarms = AlarmTopic(self, "Alarms", stage=config.stage, removal_policy=removal)
        secret = WebhookSecret(self, "WebhookSecret", stage=config.stage, removal_policy=removal).secret

        common_environment = {
            "POWERTOOLS_SERVICE_NAME": "distsync",
            "POWERTOOLS_METRICS_NAMESPACE": "Distsync",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "STAGE": config.stage,
            "TRACE_TABLE_NAME": tables.trace.table_name,
        }
        max_receive_count = str(config.max_receive_count)
        # folder -> function, for the pipelines below and for tests/infra
        self.functions: dict[str, lambda_.Function] = {}

        def function(construct_id: str, folder: str, timeout: Duration, description: str, **env: str):
            fn = DistsyncFunction(
                self,
                construct_id,
                folder=folder,
                timeout=timeout,
                layer=layer,
                common_environment=common_environment,
                environment=env,
                log_retention=log_retention,
                removal_policy=removal,
                description=description,
            ).function
            tables.grant_trace_write(fn)  # every function records its hop
            self.functions[folder] = fn
            return fn

        # --- approval workflow (its functions first: the definition embeds their ARNs) ---
        approval_request = function(
            "ApprovalRequestFunction",
            "approval_request",
            TASK_TIMEOUT,
            "Stores a pending approval with its task token and notifies the planner",
            APPROVALS_TABLE_NAME=tables.approvals.table_name,
        )
        tables.approvals.grant_write_data(approval_request)

        approval_outcome = function(
            "ApprovalOutcomeFunction",
            "approval_outcome",
            TASK_TIMEOUT,
            "Records the approval decision and publishes the ERP update when approved",
            APPROVALS_TABLE_NAME=tables.approvals.table_name,
            EVENT_BUS_NAME=bus.event_bus_name,
        )
        tables.approvals.grant_read_write_data(approval_outcome)
        bus.grant_put_events_to(approval_outcome)

        workflow = ApprovalWorkflow(
            self,
            "ApprovalWorkflow",
            request_function=approval_request,
            outcome_function=approval_outcome,
            timeout_seconds=config.approval_timeout_seconds,
            log_retention=log_retention,
            removal_policy=removal,
        )
        state_machine = workflow.state_machine
        self.state_machine = state_machine

        # --- API functions ---
        webhook_api = function(
            "WebhookApiFunction",
            "webhook_api",
            API_TIMEOUT,
            "Verifies signed ERP/planning webhooks and publishes them to the bus",
            EVENT_BUS_NAME=bus.event_bus_name,
            WEBHOOK_SECRET_ARN=secret.secret_arn,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
        )
        bus.grant_put_events_to(webhook_api)
        secret.grant_read(webhook_api)
        tables.idempotency.grant_read_write_data(webhook_api)

        approval_api = function(
            "ApprovalApiFunction",
            "approval_api",
            API_TIMEOUT,
            "Accepts signed planner decisions and completes the waiting approval task",
            APPROVALS_TABLE_NAME=tables.approvals.table_name,
            WEBHOOK_SECRET_ARN=secret.secret_arn,
        )
        tables.approvals.grant_read_write_data(approval_api)
        state_machine.grant_task_response(approval_api)
        secret.grant_read(approval_api)

        # --- pipeline consumers ---
        masterdata_transformer = function(
            "MasterdataTransformerFunction",
            "masterdata_transformer",
            TRANSFORMER_TIMEOUT,
            "Validates ERP master data, stores the governed record and releases events waiting for it",
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            EVENT_BUS_NAME=bus.event_bus_name,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.masterdata.grant_read_write_data(masterdata_transformer)
        tables.grant_quarantine_release(masterdata_transformer)
        bus.grant_put_events_to(masterdata_transformer)  # republishes the events it releases
        tables.idempotency.grant_read_write_data(masterdata_transformer)

        planning_transformer = function(
            "PlanningTransformerFunction",
            "planning_transformer",
            TRANSFORMER_TIMEOUT,
            "Turns planning recommendations into ERP updates, or starts an approval above the threshold",
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            EVENT_BUS_NAME=bus.event_bus_name,
            APPROVAL_STATE_MACHINE_ARN=state_machine.state_machine_arn,
            APPROVAL_THRESHOLD_PERCENT=str(config.approval_threshold_percent),
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.masterdata.grant_read_data(planning_transformer)
        tables.grant_quarantine_write(planning_transformer)
        tables.idempotency.grant_read_write_data(planning_transformer)
        bus.grant_put_events_to(planning_transformer)
        state_machine.grant_start_execution(planning_transformer)

        erp_updater = function(
            "ErpUpdaterFunction",
            "erp_updater",
            ERP_UPDATER_TIMEOUT,
            "Applies replenishment parameter updates through the ERP REST API",
            ERP_BASE_URL=config.erp_base_url,
            ERP_MAX_ATTEMPTS=str(config.erp_max_attempts),
            ERP_BACKOFF_SECONDS=ERP_BACKOFF_SECONDS,
            ERP_TIMEOUT_SECONDS=ERP_TIMEOUT_SECONDS,
            EVENT_BUS_NAME=bus.event_bus_name,
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        bus.grant_put_events_to(erp_updater)
        tables.masterdata.grant_read_write_data(erp_updater)
        tables.idempotency.grant_read_write_data(erp_updater)

        warehouse_notifier = function(
            "WarehouseNotifierFunction",
            "warehouse_notifier",
            TRANSFORMER_TIMEOUT,
            "Notifies the warehouse system of changed replenishment parameters",
            WMS_BASE_URL=config.wms_base_url,
            MAX_RECEIVE_COUNT=max_receive_count,
        )

        # --- the four domain pipelines: (id, source, detail-types, consumer, batch size) ---
        pipelines: list[tuple[str, str, tuple[str, ...], lambda_.Function, int]] = [
            ("MasterdataPipeline", "distsync.erp", MASTERDATA_DETAIL_TYPES, masterdata_transformer, 10),
            (
                "PlanningPipeline",
                "distsync.planning",
                ("ReplenishmentRecommended",),
                planning_transformer,
                10,
            ),
            (
                "ErpUpdatePipeline",
                "distsync.replenishment",
                ("ReplenishmentUpdateRequested",),
                erp_updater,
                5,
            ),
            (
                "WarehouseNotificationPipeline",
                "distsync.erp-adapter",
                ("ReplenishmentParametersUpdated",),
                warehouse_notifier,
                10,
            ),
        ]
        self.pipelines = {
            pipeline_id: DomainPipeline(
                self,
                pipeline_id,
                bus=bus,
                sources=[source],
                detail_types=list(detail_types),
                function=consumer,
                batch_size=batch_size,
                max_receive_count=config.max_receive_count,
                alarm_topic=alarms.topic,
                removal_policy=removal,
            )
            for pipeline_id, source, detail_types, consumer, batch_size in pipelines
        }

        webhook = WebhookApi(
            self,
            "WebhookApi",
            stage=config.stage,
            webhook_function=webhook_api,
            approval_function=approval_api,
            log_retention=log_retention,
            removal_policy=removal,
            webhook_rate_limit=config.webhook_rate_limit,
            webhook_burst_limit=config.webhook_burst_limit,
            waf_rate_limit_per_5_min=config.waf_rate_limit_per_5_min,
        )
        api = webhook.api
        self.api = api
        self.web_acl = webhook.web_acl

        # --- dashboards (one per domain + overview) and business-threshold alarms ---
        # A pipeline no domain names gets a dashboard of its own; a function on no domain fails the synth.
        self.observability = Observability(
            self,
            "Observability",
            stage=config.stage,
            alarm_topic=alarms.topic,
            thresholds=AlarmThresholds(
                dlq_max_age_minutes=config.dlq_max_age_minutes,
                error_rate_percent=config.error_rate_percent,
                forecast_to_erp_sla_seconds=config.forecast_to_erp_sla_seconds,
                approval_turnaround_sla_hours=config.approval_turnaround_sla_hours,
            ),
            domains=DOMAINS,
            pipelines=self.pipelines,
            functions=self.functions,
            state_machine=state_machine,
            api=api,
        )

        # Output ids are read by the local runtime and the ops CLI: keep them stable.
        outputs = {
            "ApiUrl": api.url,
            "EventBusName": bus.event_bus_name,
            "MasterDataTableName": tables.masterdata.table_name,
            "QuarantineTableName": tables.quarantine.table_name,
            "ApprovalsTableName": tables.approvals.table_name,
            "TraceTableName": tables.trace.table_name,
            "ApprovalStateMachineArn": state_machine.state_machine_arn,
            "WebhookSecretArn": secret.secret_arn,
            "AlarmTopicArn": alarms.topic.topic_arn,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
