"""``distsync-<stage>``: the whole integration stack, as specified in docs/infrastructure-contract.md.

Environment variable and output names are an interface (the handlers and the local runtime read them), so
they are spelled out here once and asserted by tests/infra.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import REPO_ROOT
from infra.config import DistsyncConfig, retention_days
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.approval_workflow import ApprovalWorkflow
from infra.constructs.data_stores import DataStores
from infra.constructs.distsync_function import DistsyncFunction
from infra.constructs.domain_pipeline import DomainPipeline
from infra.constructs.event_backbone import EventBackbone
from infra.constructs.file_intake import FileIntake
from infra.constructs.file_landing import FileLanding
from infra.constructs.forecast_cycles import ForecastCycles
from infra.constructs.observability import AlarmThresholds, Domain, Observability
from infra.constructs.reconciliation import Reconciliation
from infra.constructs.shared_layer import SharedLayer
from infra.constructs.webhook_api import WebhookApi, WebhookSecret
from infra.constructs.workflow import AslWorkflow

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

EXCEPTION_ASL_PATH = REPO_ROOT / "state_machines" / "shipment_exception.asl.json"

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
        key="inventory",
        title="Inventory availability (balances, available to promise)",
        pipelines=("InventoryPipeline",),
        functions=("atp_api",),
        metrics=("StaleBalancesIgnored", "RecordsQuarantined", "InventoryFreshness"),
    ),
    Domain(
        key="orders",
        title="Orders (ERP order status to warehouse and customer channels, in order)",
        pipelines=("OrderIntakePipeline", "OrderPipeline"),
        metrics=("OrderUpdatesOutOfOrder", "RecordsQuarantined", "OrderStatusPropagation"),
    ),
    Domain(
        key="fulfillment",
        title="Shipments and fulfillment (milestones, exceptions)",
        pipelines=("ShipmentPipeline",),
        functions=("shipment_exception_task", "exception_api"),
        state_machine="shipment-exception",
        metrics=("ShipmentExceptionsOpened", "RecordsRetried", "RecordsDeadLettered"),
    ),
    Domain(
        key="supplier",
        title="Supplier collaboration (lead times, purchase order confirmations)",
        pipelines=("SupplierPipeline",),
        metrics=("PlanningExceptionsRaised", "StaleLeadTimesIgnored", "RecordsQuarantined"),
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
            # Lambda's active tracing records every invocation either way; the X-Ray SDK (per-call
            # subsegments, ~0.3-0.5 s more import per cold start) only on request (docs/performance.md).
            "POWERTOOLS_TRACE_DISABLED": "false" if config.xray_sdk_subsegments else "true",
            "STAGE": config.stage,
            "TRACE_TABLE_NAME": tables.trace.table_name,
        }
        max_receive_count = str(config.max_receive_count)
        # folder -> function, for the pipelines below and for tests/infra
        self.functions: dict[str, lambda_.Function] = {}
        # What the slices below (and infra/constructs for issue 6) add to: dashboards, workflows, outputs.
        self.domains: list[Domain] = list(DOMAINS)
        self.state_machines: dict[str, Any] = {}
        self.extra_outputs: dict[str, str] = {}
        self.bus, self.alarm_topic, self.removal, self.log_retention = bus, alarms.topic, removal, log_retention
        self.layer, self.webhook_secret = layer, secret

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

        self.make_function = function  # (construct id, folder, timeout, description, **environment)

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

        erp_environment = {
            "ERP_BASE_URL": config.erp_base_url,
            "ERP_MAX_ATTEMPTS": str(config.erp_max_attempts),
            "ERP_BACKOFF_SECONDS": ERP_BACKOFF_SECONDS,
            "ERP_TIMEOUT_SECONDS": ERP_TIMEOUT_SECONDS,
        }

        # --- inventory availability ---
        inventory_transformer = function(
            "InventoryTransformerFunction",
            "inventory_transformer",
            TRANSFORMER_TIMEOUT,
            "Keeps the available-to-promise projection from ERP/WMS balances (newest as-of wins)",
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            INVENTORY_TABLE_NAME=tables.inventory.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            EVENT_BUS_NAME=bus.event_bus_name,
            ATP_HORIZON_DAYS=str(config.atp_horizon_days),
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.masterdata.grant_read_data(inventory_transformer)
        tables.inventory.grant_read_write_data(inventory_transformer)
        tables.grant_quarantine_write(inventory_transformer)
        tables.idempotency.grant_read_write_data(inventory_transformer)
        bus.grant_put_events_to(inventory_transformer)

        atp_api = function(
            "AtpApiFunction",
            "atp_api",
            API_TIMEOUT,
            "Serves available to promise per item-location from the inventory projection",
            INVENTORY_TABLE_NAME=tables.inventory.table_name,
            WEBHOOK_SECRET_ARN=secret.secret_arn,
            ATP_HORIZON_DAYS=str(config.atp_horizon_days),
        )
        tables.inventory.grant_read_data(atp_api)
        secret.grant_read(atp_api)

        planning_sync = function(
            "PlanningSyncFunction",
            "planning_sync",
            TRANSFORMER_TIMEOUT,
            "Forwards availability and planning exceptions to the planning platform's API",
            PLANNING_BASE_URL=config.planning_base_url,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            MAX_RECEIVE_COUNT=str(config.planning_sync_max_receive_count),
        )
        tables.grant_quarantine_write(planning_sync)

        # --- orders: router into the FIFO queue (one message group per order), then the in-order consumer ---
        order_router = function(
            "OrderRouterFunction",
            "order_router",
            TRANSFORMER_TIMEOUT,
            "Routes ERP order updates into the orders FIFO queue, grouped by order id",
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.grant_quarantine_write(order_router)

        order_transformer = function(
            "OrderTransformerFunction",
            "order_transformer",
            TRANSFORMER_TIMEOUT,
            "Applies order updates in sequence and informs the warehouse and customer channels",
            ORDERS_TABLE_NAME=tables.orders.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            WMS_BASE_URL=config.wms_base_url,
            CHANNELS_BASE_URL=config.channels_base_url,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.orders.grant_read_write_data(order_transformer)
        tables.grant_quarantine_write(order_transformer)
        tables.idempotency.grant_read_write_data(order_transformer)

        # --- shipments and the exception workflow ---
        exception_task = function(
            "ShipmentExceptionTaskFunction",
            "shipment_exception_task",
            TASK_TIMEOUT,
            "Opens and closes shipment exception cases (workflow tasks) and tells customer channels",
            EXCEPTIONS_TABLE_NAME=tables.exception_cases.table_name,
            CHANNELS_BASE_URL=config.channels_base_url,
        )
        tables.exception_cases.grant_write_data(exception_task)
        exception_workflow = AslWorkflow(
            self,
            "ShipmentExceptionWorkflow",
            asl_path=EXCEPTION_ASL_PATH,
            comment="Shipment exception: notify, wait for a resolution, escalate when the window closes",
            functions={"ExceptionTaskFunctionArn": exception_task},
            numbers={"ExceptionTimeoutSeconds": config.shipment_exception_timeout_seconds},
            log_retention=log_retention,
            removal_policy=removal,
        )
        self.exception_state_machine = exception_workflow.state_machine

        shipment_transformer = function(
            "ShipmentTransformerFunction",
            "shipment_transformer",
            ERP_UPDATER_TIMEOUT,
            "Sends shipment milestones to the ERP and customer channels; exceptions open a case",
            **erp_environment,
            CHANNELS_BASE_URL=config.channels_base_url,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            EXCEPTION_STATE_MACHINE_ARN=self.exception_state_machine.state_machine_arn,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.grant_quarantine_write(shipment_transformer)
        tables.idempotency.grant_read_write_data(shipment_transformer)
        self.exception_state_machine.grant_start_execution(shipment_transformer)

        exception_api = function(
            "ExceptionApiFunction",
            "exception_api",
            API_TIMEOUT,
            "Accepts signed shipment exception resolutions and resumes the waiting workflow",
            EXCEPTIONS_TABLE_NAME=tables.exception_cases.table_name,
            WEBHOOK_SECRET_ARN=secret.secret_arn,
        )
        tables.exception_cases.grant_read_write_data(exception_api)
        self.exception_state_machine.grant_task_response(exception_api)
        secret.grant_read(exception_api)

        # --- supplier collaboration ---
        supplier_transformer = function(
            "SupplierTransformerFunction",
            "supplier_transformer",
            ERP_UPDATER_TIMEOUT,
            "Lead times to planning (exceptions above the threshold), PO confirmations to the ERP",
            **erp_environment,
            PLANNING_BASE_URL=config.planning_base_url,
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            EVENT_BUS_NAME=bus.event_bus_name,
            LEAD_TIME_EXCEPTION_PERCENT=str(config.lead_time_exception_percent),
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.masterdata.grant_read_write_data(supplier_transformer)  # records the supplier's lead time
        tables.grant_quarantine_write(supplier_transformer)
        tables.idempotency.grant_read_write_data(supplier_transformer)
        bus.grant_put_events_to(supplier_transformer)

        # --- demand forecasts into the ERP ---
        forecast_transformer = function(
            "ForecastTransformerFunction",
            "forecast_transformer",
            ERP_UPDATER_TIMEOUT,
            "Writes planning's weekly demand forecasts into the ERP's planning tables",
            **erp_environment,
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            QUARANTINE_TABLE_NAME=tables.quarantine.table_name,
            IDEMPOTENCY_TABLE_NAME=tables.idempotency.table_name,
            MAX_RECEIVE_COUNT=max_receive_count,
        )
        tables.masterdata.grant_read_data(forecast_transformer)
        tables.grant_quarantine_write(forecast_transformer)
        tables.idempotency.grant_read_write_data(forecast_transformer)

        # --- the domain pipelines, one DomainPipeline each ---
        # id -> (bus sources, detail types, consumer, batch size, extra DomainPipeline options)
        pipelines: dict[str, tuple[tuple[str, ...], tuple[str, ...], lambda_.Function, int, dict[str, Any]]] = {
            "MasterdataPipeline": (("distsync.erp",), MASTERDATA_DETAIL_TYPES, masterdata_transformer, 10, {}),
            "PlanningPipeline": (("distsync.planning",), ("ReplenishmentRecommended",), planning_transformer, 10, {}),
            "ErpUpdatePipeline": (("distsync.replenishment",), ("ReplenishmentUpdateRequested",), erp_updater, 5, {}),
            "WarehouseNotificationPipeline": (
                ("distsync.erp-adapter",), ("ReplenishmentParametersUpdated",), warehouse_notifier, 10, {}
            ),
            "InventoryPipeline": (("distsync.inventory",), ("InventoryBalanceChanged",), inventory_transformer, 10, {}),
            # Planning is not critical to operations: while it is down, its updates wait in the queue (more
            # receives before the DLQ) and the lag alarm fires only past the business threshold.
            "PlanningSyncPipeline": (
                (),
                (),
                planning_sync,
                10,
                {
                    "routes": {
                        "distsync.atp": ("InventoryAvailabilityUpdated",),
                        "distsync.planning-exceptions": ("PlanningException",),
                    },
                    "max_receive_count": config.planning_sync_max_receive_count,
                    "max_lag_minutes": config.planning_sync_max_lag_minutes,
                },
            ),
            "OrderIntakePipeline": (("distsync.orders",), ("OrderStatusChanged",), order_router, 10, {}),
            "OrderPipeline": ((), (), order_transformer, 10, {"fifo": True}),
            "ShipmentPipeline": (("distsync.fulfillment",), ("ShipmentMilestone",), shipment_transformer, 5, {}),
            "SupplierPipeline": (
                ("distsync.supplier",), ("SupplierLeadTimeChanged", "PurchaseOrderConfirmed"), supplier_transformer, 5, {}
            ),
            "ForecastPipeline": (("distsync.forecast",), ("DemandForecastPublished",), forecast_transformer, 5, {}),
        }
        self.pipelines = {
            pipeline_id: DomainPipeline(
                self,
                pipeline_id,
                bus=None if options.get("fifo") else bus,
                sources=sources,
                detail_types=detail_types,
                function=consumer,
                batch_size=batch_size,
                **{"max_receive_count": config.max_receive_count, **options},
                alarm_topic=alarms.topic,
                removal_policy=removal,
            )
            for pipeline_id, (sources, detail_types, consumer, batch_size, options) in pipelines.items()
        }
        self.pipelines["OrderPipeline"].grant_send_to(order_router, "ORDERS_QUEUE_URL")

        # --- issue 6 slices: partner files, forecast cycles, reconciliation (one construct each, in
        # infra/constructs; each adds its functions with self.make_function, its pipelines with
        # self.add_pipeline, and its domain, state machines and outputs to the collections above) ---
        self.landing = FileLanding(
            self,
            "FileLanding",
            removal_policy=removal,
            archive_transition_days=config.file_archive_transition_days,
            rejected_expiry_days=config.file_rejected_expiry_days,
        )
        self.extra_outputs["LandingBucketName"] = self.landing.bucket.bucket_name
        self.forecast_cycles = ForecastCycles(self, "ForecastCycles", landing=self.landing)
        self.file_intake = FileIntake(self, "FileIntake", landing=self.landing)
        self.reconciliation = Reconciliation(self, "Reconciliation")

        webhook = WebhookApi(
            self,
            "WebhookApi",
            stage=config.stage,
            webhook_function=webhook_api,
            approval_function=approval_api,
            atp_function=atp_api,
            exception_function=exception_api,
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
            domains=self.domains,
            pipelines=self.pipelines,
            functions=self.functions,
            state_machines={
                "approval": state_machine,
                "shipment-exception": self.exception_state_machine,
                **self.state_machines,
            },
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
            "ExceptionStateMachineArn": self.exception_state_machine.state_machine_arn,
            "InventoryTableName": tables.inventory.table_name,
            "OrdersTableName": tables.orders.table_name,
            "ExceptionCasesTableName": tables.exception_cases.table_name,
            "WebhookSecretArn": secret.secret_arn,
            "AlarmTopicArn": alarms.topic.topic_arn,
            **self.extra_outputs,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)

    def add_pipeline(self, pipeline_id: str, *, function: lambda_.Function, batch_size: int, **options: Any) -> DomainPipeline:
        """A DomainPipeline on the distsync bus with the stack's defaults (max receive count, alarm topic,
        removal policy); ``options`` as DomainPipeline takes them (``bus``, ``routes``, ``detail``, ``fifo``...)."""
        options.setdefault("bus", self.bus)
        options.setdefault("max_receive_count", self.config.max_receive_count)
        options.setdefault("sources", ())
        options.setdefault("detail_types", ())
        pipeline = DomainPipeline(
            self, pipeline_id, function=function, batch_size=batch_size, alarm_topic=self.alarm_topic,
            removal_policy=self.removal, **options,
        )
        self.pipelines[pipeline_id] = pipeline
        return pipeline
