"""Domain pipelines and the functions: the properties the runtime and operations rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import FOLDERS, PROD_CONTEXT, Synth, allowed_actions, as_list, cdk_json_context

pytestmark = pytest.mark.infra

MASTERDATA_DETAIL_TYPES = [
    "ItemUpserted",
    "LocationUpserted",
    "ItemLocationUpserted",
    "SupplierUpserted",
    "CustomerUpserted",
]
# (pipeline id, rules as {source: detail-types} (one rule each), consumer folder, batch size) from the contract
PIPELINES = [
    ("MasterdataPipeline", {"distsync.erp": MASTERDATA_DETAIL_TYPES}, "masterdata_transformer", 10),
    ("PlanningPipeline", {"distsync.planning": ["ReplenishmentRecommended"]}, "planning_transformer", 10),
    ("ErpUpdatePipeline", {"distsync.replenishment": ["ReplenishmentUpdateRequested"]}, "erp_updater", 5),
    (
        "WarehouseNotificationPipeline",
        {"distsync.erp-adapter": ["ReplenishmentParametersUpdated"]},
        "warehouse_notifier",
        10,
    ),
    ("InventoryPipeline", {"distsync.inventory": ["InventoryBalanceChanged"]}, "inventory_transformer", 10),
    # two sources, each with its own type: one rule per source (no source x type cross product)
    (
        "PlanningSyncPipeline",
        {
            "distsync.atp": ["InventoryAvailabilityUpdated"],
            "distsync.planning-exceptions": ["PlanningException"],
            "distsync.supplier-performance": ["SupplierPerformanceMeasured"],
        },
        "planning_sync",
        10,
    ),
    ("OrderIntakePipeline", {"distsync.orders": ["OrderStatusChanged"]}, "order_router", 10),
    ("ShipmentPipeline", {"distsync.fulfillment": ["ShipmentMilestone"]}, "shipment_transformer", 5),
    (
        "SupplierPipeline",
        {
            "distsync.supplier": ["SupplierLeadTimeChanged", "PurchaseOrderConfirmed"],
            # issue 15: a supplier's ship notices and PO goods receipts, for supplier performance
            "distsync.fulfillment": ["ShipmentMilestone"],
            "distsync.finance": ["FinancialPostingRecorded"],
        },
        "supplier_transformer",
        5,
    ),
    ("ForecastPipeline", {"distsync.forecast": ["DemandForecastPublished"]}, "forecast_transformer", 5),
    # issue 6: financial postings into the postings table (infra/domains/finance.py)
    ("PostingRecorderPipeline", {"distsync.finance": ["FinancialPostingRecorded"]}, "posting_recorder", 10),
]
# fed by the order router, not by a rule: (pipeline id, consumer folder, batch size)
FIFO_PIPELINES = [("OrderPipeline", "order_transformer", 10)]
# fed by a function with delayed messages (no rule): (pipeline id, consumer folder, batch size, sender folder)
TIMER_PIPELINES = [("OrderGapPipeline", "order_gap", 10, "order_transformer")]
# fed by S3 "Object Created" on the account's default bus (the landing bucket, one key prefix each):
# (pipeline id, consumer folder, batch size); wiring asserted in tests/infra/test_forecast_cycles.py
FILE_PIPELINES = [("CycleFilePipeline", "cycle_starter", 10), ("FileIntakePipeline", "file_ingest", 1)]
# pipelines whose redrive count is not maxReceiveCount: pipeline id -> its own context key
OWN_RECEIVE_COUNT = {"PlanningSyncPipeline": "planningSyncMaxReceiveCount"}

TIMEOUTS = {
    "webhook_api": 10,
    "approval_api": 10,
    "masterdata_transformer": 30,
    "planning_transformer": 30,
    "erp_updater": 60,
    "warehouse_notifier": 30,
    "approval_request": 10,
    "approval_outcome": 10,
    "inventory_transformer": 30,
    "atp_api": 10,
    "planning_sync": 30,
    "order_router": 30,
    "order_transformer": 30,
    "order_gap": 30,
    "shipment_transformer": 60,  # ERP calls, like erp_updater
    "shipment_exception_task": 10,
    "exception_api": 10,
    "supplier_transformer": 60,
    "forecast_transformer": 60,
    "cycle_starter": 30,
    "cycle_prepare": 300,  # streams a gzip cycle file into a plain copy
    "cycle_chunk": 60,
    "cycle_summary": 30,
    "posting_recorder": 30,
    "reconciliation": 60,
    "planning_extract": 300,  # a scan of the master data table and one upload  # one ERP export call (with retries) and a query per domain
    "inventory_accuracy": 300,  # a scan of the inventory projection and two uploads
    "parameter_drift": 300,  # a scan, a ledger query and an ERP read per item-location
    "file_ingest": 120,  # a file up to 50 MB: read, parse, check master data, publish, archive
    "connector_events": 10,  # an ERP push: authenticate, read back (claim check), publish
    "connector_sync": 300,  # a delta pull, page by page until the cursor is current or time runs short
    "freeze_windows": 60,  # lists, adds, ends windows; releases held writes (a query and a send each)
    "supplier_performance": 300,  # a scan of the PO facts, master data reads, the publish
    "alarm_notifier": 10,  # an alarm -> one or two SNS publishes
}

COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "STAGE"}
COMMON_ENV |= {"TRACE_TABLE_NAME", "POWERTOOLS_TRACE_DISABLED", "MAX_FUTURE_SKEW_MINUTES"}
ERP_ENV = {"ERP_BASE_URL", "ERP_MAX_ATTEMPTS", "ERP_BACKOFF_SECONDS", "ERP_TIMEOUT_SECONDS"}
EXTRA_ENV = {
    "webhook_api": {"EVENT_BUS_NAME", "SIGNING_KEY_ARNS", "IDEMPOTENCY_TABLE_NAME", "CONTRACT_LIFECYCLE"},
    "approval_api": {"APPROVALS_TABLE_NAME", "SIGNING_KEY_ARNS", "IDEMPOTENCY_TABLE_NAME"},
    "masterdata_transformer": {
        "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EVENT_BUS_NAME",
        "MAX_RECEIVE_COUNT",
    },
    "planning_transformer": {
        "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EVENT_BUS_NAME",
        "APPROVAL_STATE_MACHINE_ARN", "APPROVAL_THRESHOLD_PERCENT", "MAX_RECEIVE_COUNT", "ERP_CONNECTIONS",
    },
    "erp_updater": {
        "ERP_BASE_URL", "ERP_MAX_ATTEMPTS", "ERP_BACKOFF_SECONDS", "ERP_TIMEOUT_SECONDS", "EVENT_BUS_NAME",
        "MASTERDATA_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "MAX_RECEIVE_COUNT", "ERP_CONNECTIONS",
        "FREEZE_TABLE_NAME", "FREEZE_WINDOWS",  # freeze windows: the manual ones, the writes it holds; the configured
    },
    "freeze_windows": {"FREEZE_TABLE_NAME", "FREEZE_WINDOWS", "ERP_CONNECTIONS", "ERP_UPDATE_QUEUES"},
    "warehouse_notifier": {"WMS_BASE_URL", "MAX_RECEIVE_COUNT"},
    "approval_request": {  # + the impact's sources, the planners' topic and the console the message links to
        "APPROVALS_TABLE_NAME", "MASTERDATA_TABLE_NAME", "INVENTORY_TABLE_NAME", "ATP_HORIZON_DAYS",
        "PLANNERS_TOPIC_ARN", "CONSOLE_URL",
    },
    "approval_outcome": {"APPROVALS_TABLE_NAME", "EVENT_BUS_NAME"},
    "inventory_transformer": {
        "MASTERDATA_TABLE_NAME", "INVENTORY_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME",
        "EVENT_BUS_NAME", "ATP_HORIZON_DAYS", "MAX_RECEIVE_COUNT",
    },
    "atp_api": {"INVENTORY_TABLE_NAME", "SIGNING_KEY_ARNS", "ATP_HORIZON_DAYS"},
    "planning_sync": {"PLANNING_BASE_URL", "QUARANTINE_TABLE_NAME", "MAX_RECEIVE_COUNT"},
    "order_router": {"QUARANTINE_TABLE_NAME", "ORDERS_QUEUE_URL", "MAX_RECEIVE_COUNT"},
    "order_transformer": {
        "ORDERS_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "WMS_BASE_URL",
        "CHANNELS_BASE_URL", "MAX_RECEIVE_COUNT", "ORDER_HOLDS_TABLE_NAME", "ORDER_GAP_TIMEOUT_SECONDS",
        "ORDER_GAP_QUEUE_URL",
    },
    "order_gap": {
        "ORDERS_TABLE_NAME", "ORDER_HOLDS_TABLE_NAME", "ORDER_GAP_TIMEOUT_SECONDS", "QUARANTINE_TABLE_NAME",
        "MAX_RECEIVE_COUNT",
    },
    "shipment_transformer": ERP_ENV | {
        "CHANNELS_BASE_URL", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EXCEPTION_STATE_MACHINE_ARN",
        "MAX_RECEIVE_COUNT",
    },
    "shipment_exception_task": {"EXCEPTIONS_TABLE_NAME", "CHANNELS_BASE_URL", "OPERATIONS_TOPIC_ARN", "CONSOLE_URL"},
    "exception_api": {"EXCEPTIONS_TABLE_NAME", "SIGNING_KEY_ARNS", "IDEMPOTENCY_TABLE_NAME"},
    "supplier_transformer": ERP_ENV | {
        "PLANNING_BASE_URL", "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME",
        "EVENT_BUS_NAME", "LEAD_TIME_EXCEPTION_PERCENT", "MAX_RECEIVE_COUNT", "SUPPLIER_PERFORMANCE_TABLE_NAME",
    },
    "forecast_transformer": ERP_ENV | {
        "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "MAX_RECEIVE_COUNT",
    },
    "cycle_starter": {"CYCLE_STATE_MACHINE_ARN", "CYCLE_MANIFEST_REQUIRED"},
    "cycle_prepare": {"CYCLE_RUNS_TABLE_NAME", "LANDING_BUCKET_NAME", "CYCLE_MAX_UNZIPPED_BYTES", "CYCLE_MAX_ROWS"},
    "cycle_chunk": {
        "CYCLE_RUNS_TABLE_NAME", "LANDING_BUCKET_NAME", "MASTERDATA_TABLE_NAME", "EVENT_BUS_NAME",
        "CYCLE_TOLERANCE_PERCENT", "APPROVAL_THRESHOLD_PERCENT",
    },
    "cycle_summary": {"CYCLE_RUNS_TABLE_NAME", "LANDING_BUCKET_NAME", "EVENT_BUS_NAME", "CYCLE_TOLERANCE_PERCENT"},
    "posting_recorder": {"POSTINGS_TABLE_NAME", "QUARANTINE_TABLE_NAME", "MAX_RECEIVE_COUNT"},
    "reconciliation": ERP_ENV | {"POSTINGS_TABLE_NAME", "EVENT_BUS_NAME", "RECONCILIATION_TIME_ZONE"},
    "planning_extract": {"MASTERDATA_TABLE_NAME", "LANDING_BUCKET_NAME"},
    "inventory_accuracy": {
        "INVENTORY_TABLE_NAME", "LANDING_BUCKET_NAME", "ACCURACY_AS_OF_TOLERANCE_MINUTES",
        "ACCURACY_QUANTITY_TOLERANCE", "ACCURACY_QUANTITY_TOLERANCE_PERCENT", "ACCURACY_TARGET_PERCENT",
    },
    "supplier_performance": {
        "SUPPLIER_PERFORMANCE_TABLE_NAME", "MASTERDATA_TABLE_NAME", "EVENT_BUS_NAME",
        "SUPPLIER_PERFORMANCE_WINDOW_DAYS",
    },
    "parameter_drift": ERP_ENV | {"MASTERDATA_TABLE_NAME", "LANDING_BUCKET_NAME", "EVENT_BUS_NAME",
                                  "PLANNERS_TOPIC_ARN", "CONSOLE_URL",
                                  "APPROVAL_THRESHOLD_PERCENT", "ERP_CONNECTIONS"},
    "file_ingest": {
        "LANDING_BUCKET_NAME", "FILES_TABLE_NAME", "MASTERDATA_TABLE_NAME", "EVENT_BUS_NAME", "FILE_PARTNERS",
        "FILE_MAX_RECORDS",
    },
    "connector_events": {
        "ERP_CONNECTIONS", "EVENT_BUS_NAME", "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME",
        "CONNECTOR_STATE_TABLE_NAME",
    },
    "connector_sync": {
        "ERP_CONNECTIONS", "EVENT_BUS_NAME", "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME",
        "CONNECTOR_STATE_TABLE_NAME", "CONNECTOR_EVENTS_URL",
    },
    "alarm_notifier": {"OPERATIONS_TOPIC_ARN", "PLANNERS_TOPIC_ARN", "CONSOLE_URL"},
}  # fmt: skip


def _rules_targeting(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for t in r["Properties"]["Targets"])
    ]


def _queue_of_rule(dev: Synth, source: str, detail_types: list[str], queue_id: str) -> str:
    """The queue of the one rule for ``source``/``detail_types`` that feeds ``queue_id`` (other pipelines may
    take the same events with rules of their own: the supplier pipeline does)."""
    rules = [
        r["Properties"]
        for r in dev.of_type("AWS::Events::Rule").values()
        if {k: v for k, v in r["Properties"]["EventPattern"].items() if k != "detail"}
        == {"source": [source], "detail-type": detail_types}
        and any(t["Arn"]["Fn::GetAtt"][0] == queue_id for t in r["Properties"]["Targets"])
    ]
    assert len(rules) == 1, f"expected one rule for {source}/{detail_types}"
    rule = rules[0]
    assert rule["EventBusName"] == {"Ref": dev.logical_id(dev.stack.platform.bus)}
    (target,) = rule["Targets"]
    return target["Arn"]["Fn::GetAtt"][0]


def _mappings_of(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    return [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]


def _dlq_depth_alarms(synth: Synth, dlq_id: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}
    ]


@pytest.mark.parametrize(("pipeline_id", "routes", "folder", "batch_size"), PIPELINES)
def test_pipeline_wiring(
    dev: Synth, pipeline_id: str, routes: dict[str, list[str]], folder: str, batch_size: int
) -> None:
    pipeline = dev.stack.platform.pipelines[pipeline_id]
    queue_id = dev.logical_id(pipeline.queue)
    for source, detail_types in routes.items():
        assert _queue_of_rule(dev, source, detail_types, queue_id) == queue_id, (source, detail_types)
    assert len(_rules_targeting(dev, queue_id)) == len(routes)  # no other rule feeds this queue
    queue = dev.props(queue_id)
    assert queue["VisibilityTimeout"] == 6 * TIMEOUTS[folder]
    assert queue["SqsManagedSseEnabled"] is True
    assert "FifoQueue" not in queue
    expected_receives = 20 if pipeline_id in OWN_RECEIVE_COUNT else 3  # cdk.json
    assert queue["RedrivePolicy"]["maxReceiveCount"] == expected_receives
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert dlq_id == dev.logical_id(pipeline.dlq)
    assert len(_dlq_depth_alarms(dev, dlq_id)) == 1, pipeline_id

    mappings = _mappings_of(dev, queue_id)
    assert len(mappings) == 1
    assert mappings[0]["FunctionName"] == {"Ref": dev.function_ids[folder]}
    assert mappings[0]["BatchSize"] == batch_size
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_pipelines_are_exactly_the_contracts(dev: Synth) -> None:
    assert set(dev.stack.platform.pipelines) == {p[0] for p in PIPELINES + FIFO_PIPELINES + FILE_PIPELINES + TIMER_PIPELINES}


def test_the_order_gap_timer_is_a_standard_queue_fed_only_by_the_order_transformer(dev: Synth) -> None:
    (pipeline_id, folder, batch_size, sender) = TIMER_PIPELINES[0]
    pipeline = dev.stack.platform.pipelines[pipeline_id]
    queue_id = dev.logical_id(pipeline.queue)
    assert "FifoQueue" not in dev.props(queue_id)  # per-message DelaySeconds: a standard queue only
    assert pipeline.rule is None and _rules_targeting(dev, queue_id) == []
    (mapping,) = _mappings_of(dev, queue_id)
    assert mapping["FunctionName"] == {"Ref": dev.function_ids[folder]} and mapping["BatchSize"] == batch_size
    sender_env = dev.props(dev.function_ids[sender])["Environment"]["Variables"]
    assert sender_env["ORDER_GAP_QUEUE_URL"] == {"Ref": queue_id}
    assert ("sqs:SendMessage", {"Fn::GetAtt": [queue_id, "Arn"]}) in list(
        allowed_actions(dev.function_statements(sender)))


def test_the_order_gap_timeout_flows_from_context_into_the_functions(dev: Synth, prod: Synth) -> None:
    # cdk.json: orderGapTimeoutSeconds=300; synth_support.PROD_CONTEXT: "600" (a string, like -c)
    for s, seconds in ((dev, "300"), (prod, "600")):
        for folder in ("order_transformer", "order_gap"):
            assert s.props(s.function_ids[folder])["Environment"]["Variables"]["ORDER_GAP_TIMEOUT_SECONDS"] == seconds


def test_orders_pipeline_is_fifo_fed_only_by_the_router(dev: Synth) -> None:
    (pipeline_id, folder, batch_size) = FIFO_PIPELINES[0]
    pipeline = dev.stack.platform.pipelines[pipeline_id]
    queue_id, dlq_id = dev.logical_id(pipeline.queue), dev.logical_id(pipeline.dlq)
    queue, dlq = dev.props(queue_id), dev.props(dlq_id)
    # a FIFO queue needs a FIFO DLQ; deduplication by the router's id (the event id), never by content
    for props in (queue, dlq):
        assert props["FifoQueue"] is True
        assert props["ContentBasedDeduplication"] is False
        assert props["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["VisibilityTimeout"] == 6 * TIMEOUTS[folder]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert len(_dlq_depth_alarms(dev, dlq_id)) == 1
    # no rule (an EventBridge rule could give a FIFO target only one fixed message group)
    assert pipeline.rule is None
    assert _rules_targeting(dev, queue_id) == [] and _rules_targeting(dev, dlq_id) == []
    # the only FIFO queues are these two
    fifo = {lid for lid, q in dev.of_type("AWS::SQS::Queue").items() if q["Properties"].get("FifoQueue")}
    assert fifo == {queue_id, dlq_id}

    # order_transformer consumes the FIFO queue, reporting partial batch failures
    (mapping,) = _mappings_of(dev, queue_id)
    assert mapping["FunctionName"] == {"Ref": dev.function_ids[folder]}
    assert mapping["BatchSize"] == batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert _mappings_of(dev, dlq_id) == []

    # order_router consumes the intake queue (the rule's target) and may only send to the FIFO queue
    intake_id = dev.logical_id(dev.stack.platform.pipelines["OrderIntakePipeline"].queue)
    (intake,) = _mappings_of(dev, intake_id)
    assert intake["FunctionName"] == {"Ref": dev.function_ids["order_router"]}
    router = list(allowed_actions(dev.function_statements("order_router")))
    assert {
        (a, r["Fn::GetAtt"][0]) for a, r in router if a.startswith("sqs:") and a != "sqs:SendMessage"
    } == {
        (a, intake_id)
        for a in (
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
        )
    }
    assert [r for a, r in router if a == "sqs:SendMessage"] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    env = dev.props(dev.function_ids["order_router"])["Environment"]["Variables"]
    assert env["ORDERS_QUEUE_URL"] == {"Ref": queue_id}


def _planning_sync(synth: Synth) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(its queue, its lag alarm, its consumer's environment)."""
    pipeline = synth.stack.platform.pipelines["PlanningSyncPipeline"]
    queue_id = synth.logical_id(pipeline.queue)
    lag = [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
        and a["Properties"]["Dimensions"]
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    ]
    assert len(lag) == 1
    env = synth.props(synth.function_ids["planning_sync"])["Environment"]["Variables"]
    return synth.props(queue_id), lag[0], env


@pytest.mark.parametrize(
    ("context", "receives", "lag_minutes", "stage"),
    [
        ({}, 20, 60, "dev"),  # cdk.json
        (
            PROD_CONTEXT,
            int(PROD_CONTEXT["planningSyncMaxReceiveCount"]),
            int(PROD_CONTEXT["planningSyncMaxLagMinutes"]),
            "prod",
        ),
    ],
    ids=["cdk-json", "string-context"],
)
def test_planning_sync_redrive_and_lag_alarm_follow_context(
    synth: Any, context: dict[str, str], receives: int, lag_minutes: int, stage: str
) -> None:
    s: Synth = synth(**context)
    queue, lag, env = _planning_sync(s)
    # planning may be down for a while: its own receive count, not maxReceiveCount (5 in PROD_CONTEXT)
    assert queue["RedrivePolicy"]["maxReceiveCount"] == receives
    assert env["MAX_RECEIVE_COUNT"] == str(receives)  # the consumer counts receives the same way
    assert lag["AlarmName"] == f"distsync-{stage}-PlanningSyncPipeline-lag"
    assert lag["Namespace"] == "AWS/SQS"
    assert (lag["Statistic"], lag["Period"]) == ("Maximum", 300)
    assert lag["Threshold"] == lag_minutes * 60
    assert lag["ComparisonOperator"] == "GreaterThanThreshold"
    assert lag["EvaluationPeriods"] == 1 and lag["TreatMissingData"] == "notBreaching"
    assert lag["AlarmActions"] == [{"Ref": s.logical_id(s.stack.node.find_child("Alarms").topic)}]


def test_only_planning_sync_has_a_queue_lag_alarm(dev: Synth) -> None:
    with_lag = {pid for pid, p in dev.stack.platform.pipelines.items() if p.lag_alarm is not None}
    assert with_lag == {"PlanningSyncPipeline"}
    dlqs = {dev.logical_id(p.dlq) for p in dev.stack.platform.pipelines.values()}
    queue_age = [
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in dev.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
    ]
    assert [q for q in queue_age if q not in dlqs] == [
        dev.logical_id(dev.stack.platform.pipelines["PlanningSyncPipeline"].queue)
    ]


def test_every_consumer_queue_has_redrive_sse_and_ssl(dev: Synth) -> None:
    queues = dev.of_type("AWS::SQS::Queue")
    consumer_queues = {k: q["Properties"] for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    dlq_ids = {q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in consumer_queues.values()}
    pipelines = len(PIPELINES) + len(FIFO_PIPELINES) + len(FILE_PIPELINES) + len(TIMER_PIPELINES)
    assert len(consumer_queues) == pipelines and len(dlq_ids) == pipelines
    # every queue is either a consumer queue or one of their DLQs: no queue without a DLQ
    assert set(queues) == set(consumer_queues) | dlq_ids
    own_count = {dev.logical_id(dev.stack.platform.pipelines[pid].queue) for pid in OWN_RECEIVE_COUNT}
    for lid, props in consumer_queues.items():
        assert props["RedrivePolicy"]["maxReceiveCount"] == (20 if lid in own_count else 3)
        assert props["SqsManagedSseEnabled"] is True
    for dlq_id in dlq_ids:
        assert dev.props(dlq_id)["SqsManagedSseEnabled"] is True
        assert dev.props(dlq_id)["MessageRetentionPeriod"] == 14 * 24 * 3600

    ssl_enforced = set()
    for policy in dev.of_type("AWS::SQS::QueuePolicy").values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                ssl_enforced.update(
                    q["Fn::GetAtt"][0] for q in policy["Properties"]["Queues"] if "Fn::GetAtt" in q
                )
                ssl_enforced.update(q["Ref"] for q in policy["Properties"]["Queues"] if "Ref" in q)
    assert ssl_enforced == set(queues)


def test_every_dlq_alarms_to_the_alarm_topic(dev: Synth) -> None:
    queues = dev.of_type("AWS::SQS::Queue")
    dlq_ids = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    topic_id = dev.logical_id(dev.stack.node.find_child("Alarms").topic)
    alarmed = {}
    depth_alarms = [
        a["Properties"]
        for a in dev.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    for p in depth_alarms:
        assert p["Namespace"] == "AWS/SQS"
        assert p["Statistic"] == "Maximum"
        assert p["TreatMissingData"] == "notBreaching"
        assert p["Threshold"] == 0
        assert p["AlarmName"].startswith("distsync-dev-") and p["AlarmName"].endswith("Pipeline-dlq-depth")
        assert p["ComparisonOperator"] == "GreaterThanThreshold"
        assert p["AlarmActions"] == [{"Ref": topic_id}]
        (dimension,) = p["Dimensions"]
        assert dimension["Name"] == "QueueName"
        alarmed[dimension["Value"]["Fn::GetAtt"][0]] = p
    assert set(alarmed) == dlq_ids


def test_every_event_source_mapping_reports_batch_item_failures(dev: Synth) -> None:
    mappings = dev.of_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == len(PIPELINES) + len(FIFO_PIPELINES) + len(FILE_PIPELINES) + len(TIMER_PIPELINES)
    for m in mappings.values():
        assert m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_functions_share_runtime_layer_tracing_and_logging(dev: Synth) -> None:
    assert set(dev.function_ids) == set(FOLDERS)
    assert len(dev.of_type("AWS::Lambda::Function")) == len(FOLDERS)
    (layer_id,) = dev.of_type("AWS::Lambda::LayerVersion")
    assert dev.props(layer_id)["CompatibleRuntimes"] == ["python3.13"]
    for folder, fn_id in dev.function_ids.items():
        p = dev.props(fn_id)
        assert p["Runtime"] == "python3.13", folder
        assert p["Architectures"] == ["x86_64"]
        assert p["Handler"] == "handler.lambda_handler"
        assert p["MemorySize"] == 512
        assert p["Timeout"] == TIMEOUTS[folder], folder
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert p["Layers"] == [{"Ref": layer_id}]
        log_group_id = p["LoggingConfig"]["LogGroup"]["Ref"]
        assert dev.props(log_group_id)["RetentionInDays"] == 30
        # the role comes with its own log permissions instead of AWSLambdaBasicExecutionRole
        role_id = p["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in dev.props(role_id)
        assert any(
            action == "logs:PutLogEvents" and resource == {"Fn::GetAtt": [log_group_id, "Arn"]}
            for action, resource in allowed_actions(dev.function_statements(folder))
        ), folder


def test_function_environment_names_follow_the_contract(dev: Synth) -> None:
    # variables several functions have, with the same value wherever they appear (cdk.json defaults)
    tables = {
        "MASTERDATA_TABLE_NAME": "masterdata",
        "QUARANTINE_TABLE_NAME": "quarantine",
        "APPROVALS_TABLE_NAME": "approvals",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "INVENTORY_TABLE_NAME": "inventory",
        "ORDERS_TABLE_NAME": "orders",
        "EXCEPTIONS_TABLE_NAME": "exception_cases",
        "CYCLE_RUNS_TABLE_NAME": "cycle_runs",
        "POSTINGS_TABLE_NAME": "postings",
        "FILES_TABLE_NAME": "files",
        "SUPPLIER_PERFORMANCE_TABLE_NAME": "supplier_performance",
    }
    shared: dict[str, Any] = {name: {"Ref": dev.table_ids[table]} for name, table in tables.items()}
    shared["EVENT_BUS_NAME"] = {"Ref": dev.logical_id(dev.stack.platform.bus)}
    erp_env = dev.props(dev.function_ids["erp_updater"])["Environment"]["Variables"]
    shared.update({name: erp_env[name] for name in ERP_ENV})  # one ERP client configuration
    shared.update(
        {
            "WMS_BASE_URL": "https://wms.example.invalid/api",
            "PLANNING_BASE_URL": "https://planning.example.invalid/api",
            "CHANNELS_BASE_URL": "https://channels.example.invalid/api",
            "ATP_HORIZON_DAYS": "14",
            "APPROVAL_THRESHOLD_PERCENT": "20",
            "CYCLE_TOLERANCE_PERCENT": "2.0",
            "LANDING_BUCKET_NAME": {"Ref": dev.logical_id(dev.stack.platform.landing.bucket)},
            "RECONCILIATION_TIME_ZONE": "UTC",
        }
    )
    for folder, fn_id in dev.function_ids.items():
        env = dev.props(fn_id)["Environment"]["Variables"]
        assert set(env) == COMMON_ENV | EXTRA_ENV[folder], folder
        assert env["POWERTOOLS_SERVICE_NAME"] == "distsync"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Distsync"
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert env["POWERTOOLS_TRACE_DISABLED"] == "true"  # context xraySdkSubsegments=false
        assert env["STAGE"] == "dev"
        assert env["TRACE_TABLE_NAME"] == {"Ref": dev.table_ids["trace"]}
        for name in set(env) & set(shared):
            assert env[name] == shared[name], (folder, name)
        if "MAX_RECEIVE_COUNT" in env:  # planning_sync: planningSyncMaxReceiveCount, like its queue
            assert env["MAX_RECEIVE_COUNT"] == ("20" if folder == "planning_sync" else "3"), folder

    erp = dev.props(dev.function_ids["erp_updater"])["Environment"]["Variables"]
    assert erp["ERP_BASE_URL"] == "https://erp.example.invalid/api"
    assert (erp["ERP_MAX_ATTEMPTS"], erp["ERP_BACKOFF_SECONDS"], erp["ERP_TIMEOUT_SECONDS"]) == (
        "4",
        "0.5",
        "5",
    )
    wms = dev.props(dev.function_ids["warehouse_notifier"])["Environment"]["Variables"]
    assert wms["WMS_BASE_URL"] == "https://wms.example.invalid/api"
    planning = dev.props(dev.function_ids["planning_transformer"])["Environment"]["Variables"]
    assert planning["APPROVAL_THRESHOLD_PERCENT"] == "20"
    assert planning["APPROVAL_STATE_MACHINE_ARN"] == {"Ref": dev.logical_id(dev.stack.platform.state_machines["approval"])}
    planners = dev.logical_id(dev.stack.platform.signing_keys.secrets["planners"])
    env = dev.props(dev.function_ids["approval_api"])["Environment"]["Variables"]
    assert env["SIGNING_KEY_ARNS"] == {"Fn::Join": ["", ['{"planners":"', {"Ref": planners}, '"}']]}
    supplier = dev.props(dev.function_ids["supplier_transformer"])["Environment"]["Variables"]
    assert supplier["LEAD_TIME_EXCEPTION_PERCENT"] == "25"
    shipment = dev.props(dev.function_ids["shipment_transformer"])["Environment"]["Variables"]
    assert shipment["EXCEPTION_STATE_MACHINE_ARN"] == {
        "Ref": dev.logical_id(dev.stack.platform.state_machines["shipment-exception"])
    }


def test_xray_sdk_subsegments_are_opt_in_and_active_tracing_stays(dev: Synth, prod: Synth) -> None:
    # cdk.json: xraySdkSubsegments=false; synth_support.PROD_CONTEXT: "true" (a string, like -c)
    for synth, disabled in ((dev, "true"), (prod, "false")):
        assert set(synth.function_ids) == set(FOLDERS)
        for folder, fn_id in synth.function_ids.items():
            p = synth.props(fn_id)
            assert p["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == disabled, folder
            # Lambda records every invocation's segment either way: active tracing and its permission stay
            assert p["TracingConfig"] == {"Mode": "Active"}, folder
            actions = {action for action, _ in allowed_actions(synth.function_statements(folder))}
            assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, folder


def test_new_context_flows_into_the_function_environments(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT: the issue-3 keys as strings, like `cdk synth -c key=value`
    def env(folder: str) -> dict[str, Any]:
        return prod.props(prod.function_ids[folder])["Environment"]["Variables"]

    for folder in ("inventory_transformer", "atp_api"):
        assert env(folder)["ATP_HORIZON_DAYS"] == "21", folder
    for folder in ("planning_sync", "supplier_transformer"):
        assert env(folder)["PLANNING_BASE_URL"] == "https://planning.example.com/api", folder
    for folder in ("order_transformer", "shipment_transformer", "shipment_exception_task"):
        assert env(folder)["CHANNELS_BASE_URL"] == "https://channels.example.com/api", folder
    assert env("supplier_transformer")["LEAD_TIME_EXCEPTION_PERCENT"] == "40"
    for folder in ("shipment_transformer", "supplier_transformer", "forecast_transformer"):
        assert env(folder)["ERP_BASE_URL"] == "https://erp.example.com/api", folder
    for folder in ("inventory_transformer", "order_router", "order_transformer", "forecast_transformer"):
        assert env(folder)["MAX_RECEIVE_COUNT"] == "5", folder  # maxReceiveCount
    assert env("planning_sync")["MAX_RECEIVE_COUNT"] == "50"  # planningSyncMaxReceiveCount


# The partners a function calls, named by the base URL in its environment -> the context key of their cap
PARTNER_CAPS = {"ERP_BASE_URL": "erpMaxConcurrency", "WMS_BASE_URL": "wmsMaxConcurrency",
                "PLANNING_BASE_URL": "planningMaxConcurrency", "CHANNELS_BASE_URL": "channelsMaxConcurrency"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_consumer_that_calls_a_partner_runs_at_most_its_partners_cap_of_batches(request, stage) -> None:
    """Issue 12, finding 9: 0 of 14 SQS event sources set a maximum concurrency, so a million-row cycle fanned
    the ERP updater out into 429s and the DLQ."""
    synth = request.getfixturevalue(stage)
    context = {**cdk_json_context(), **(PROD_CONTEXT if stage == "prod" else {})}
    by_function = {fn_id: folder for folder, fn_id in synth.function_ids.items()}
    capped = {}
    for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        folder = by_function[props["FunctionName"]["Ref"]]
        env = synth.props(synth.function_ids[folder])["Environment"]["Variables"]
        caps = [int(context[key]) for var, key in PARTNER_CAPS.items() if var in env]
        expected = min(caps) if caps else None
        assert props.get("ScalingConfig", {}).get("MaximumConcurrency") == expected, folder
        if expected:
            capped[folder] = expected
    assert {"erp_updater", "warehouse_notifier", "planning_sync", "order_transformer"} <= set(capped)
    assert capped["erp_updater"] == int(context["erpMaxConcurrency"])


def test_the_apis_reserve_concurrency_from_context(dev, prod) -> None:
    """A webhook flood can neither take the account's concurrency nor starve the decision and ATP APIs."""
    def reserved(synth, folder):
        return synth.props(synth.function_ids[folder]).get("ReservedConcurrentExecutions")

    assert reserved(dev, "webhook_api") == 20 and reserved(prod, "webhook_api") == 50
    for folder in ("approval_api", "exception_api", "atp_api"):
        assert reserved(dev, folder) == 5
        assert reserved(prod, folder) is None  # 0 in context: unreserved
    assert all(reserved(dev, f) is None for f in dev.function_ids
               if f not in ("webhook_api", "approval_api", "exception_api", "atp_api"))


def test_one_erp_update_pipeline_per_connection_and_the_rest_one_keeps_its_queue(dev, prod) -> None:
    """Issue 14: each ERP connection has its own queue + DLQ (a slow ERP never holds back another), fed by the
    updates that name it; the first rest connection keeps the single-ERP stack's pipeline (its queue updates in
    place) and takes updates that name no connection."""
    def rule_patterns(synth):
        out = {}
        for pid, pipeline in synth.stack.platform.pipelines.items():
            if pid.startswith("ErpUpdatePipeline"):
                (rule,) = _rules_targeting(synth, synth.logical_id(pipeline.queue))
                out[pid] = rule["EventPattern"]["detail"]["data"]["erpConnection"]
        return out

    assert rule_patterns(dev) == {"ErpUpdatePipeline": ["rest", {"exists": False}]}
    assert rule_patterns(prod) == {"ErpUpdatePipeline": ["legacy", {"exists": False}], "ErpUpdatePipelineS4": ["s4"],
                                   "ErpUpdatePipelineBc": ["bc"]}
    caps = {}
    for mapping in prod.of_type("AWS::Lambda::EventSourceMapping").values():
        for pid in ("ErpUpdatePipeline", "ErpUpdatePipelineS4", "ErpUpdatePipelineBc"):
            queue = prod.logical_id(prod.stack.platform.pipelines[pid].queue)
            if mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}:
                caps[pid] = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert caps == {"ErpUpdatePipeline": 3, "ErpUpdatePipelineS4": 3, "ErpUpdatePipelineBc": 3}  # erpMaxConcurrency 3
    reads = [r for s in prod.function_statements("erp_updater") if "secretsmanager:GetSecretValue" in as_list(s["Action"])
             for r in as_list(s["Resource"])]
    assert sorted(json.dumps(r).rsplit(":secret:", 1)[1].split('"')[0] for r in reads) == [
        "distsync/prod/bc-??????", "distsync/prod/s4-??????"]  # each connection's own secret, by name
    env = prod.props(prod.function_ids["erp_updater"])["Environment"]["Variables"]
    assert [c["name"] for c in json.loads(env["ERP_CONNECTIONS"])] == ["s4", "bc", "legacy"]
    assert json.loads(env["ERP_CONNECTIONS"])[2]["baseUrl"] == "https://erp.example.com/api"  # erpBaseUrl


def test_polled_connections_are_pulled_and_business_central_subscriptions_renewed_on_a_schedule(dev, prod) -> None:
    def schedules(synth):
        out = {}
        for schedule in synth.of_type("AWS::Scheduler::Schedule").values():
            p = schedule["Properties"]
            if "-connector-" in p["Name"]:
                assert p["Target"]["Arn"] == {"Fn::GetAtt": [synth.function_ids["connector_sync"], "Arn"]}
                out[p["Name"]] = (p["ScheduleExpression"], json.loads(p["Target"]["Input"]))
        return out

    assert schedules(dev) == {}  # the default landscape: one rest ERP, which pushes signed webhooks
    assert schedules(prod) == {
        "distsync-prod-connector-bc-sync": ("rate(15 minutes)", {"connection": "bc", "action": "sync"}),
        "distsync-prod-connector-bc-subscribe": ("rate(12 hours)", {"connection": "bc", "action": "subscribe"}),
        "distsync-prod-connector-bc-stock": ("rate(120 minutes)", {"connection": "bc", "action": "stock"}),
        "distsync-prod-connector-s4-stock": ("rate(120 minutes)", {"connection": "s4", "action": "stock"}),
    }
