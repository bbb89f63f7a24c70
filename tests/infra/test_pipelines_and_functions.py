"""Domain pipelines and the eight functions: the properties the runtime and operations rely on."""

from __future__ import annotations

import pytest
from synth_support import FOLDERS, Synth, allowed_actions

pytestmark = pytest.mark.infra

MASTERDATA_DETAIL_TYPES = [
    "ItemUpserted",
    "LocationUpserted",
    "ItemLocationUpserted",
    "SupplierUpserted",
    "CustomerUpserted",
]
# (source, detail-types, consumer folder, batch size) from the contract
PIPELINES = [
    ("distsync.erp", MASTERDATA_DETAIL_TYPES, "masterdata_transformer", 10),
    ("distsync.planning", ["ReplenishmentRecommended"], "planning_transformer", 10),
    ("distsync.replenishment", ["ReplenishmentUpdateRequested"], "erp_updater", 5),
    ("distsync.erp-adapter", ["ReplenishmentParametersUpdated"], "warehouse_notifier", 10),
]

TIMEOUTS = {
    "webhook_api": 10,
    "approval_api": 10,
    "masterdata_transformer": 30,
    "planning_transformer": 30,
    "erp_updater": 60,
    "warehouse_notifier": 30,
    "approval_request": 10,
    "approval_outcome": 10,
}

COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "STAGE"}
COMMON_ENV |= {"TRACE_TABLE_NAME"}
EXTRA_ENV = {
    "webhook_api": {"EVENT_BUS_NAME", "WEBHOOK_SECRET_ARN", "IDEMPOTENCY_TABLE_NAME"},
    "approval_api": {"APPROVALS_TABLE_NAME", "WEBHOOK_SECRET_ARN"},
    "masterdata_transformer": {
        "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EVENT_BUS_NAME",
        "MAX_RECEIVE_COUNT",
    },
    "planning_transformer": {
        "MASTERDATA_TABLE_NAME", "QUARANTINE_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EVENT_BUS_NAME",
        "APPROVAL_STATE_MACHINE_ARN", "APPROVAL_THRESHOLD_PERCENT", "MAX_RECEIVE_COUNT",
    },
    "erp_updater": {
        "ERP_BASE_URL", "ERP_MAX_ATTEMPTS", "ERP_BACKOFF_SECONDS", "ERP_TIMEOUT_SECONDS", "EVENT_BUS_NAME",
        "MASTERDATA_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "MAX_RECEIVE_COUNT",
    },
    "warehouse_notifier": {"WMS_BASE_URL", "MAX_RECEIVE_COUNT"},
    "approval_request": {"APPROVALS_TABLE_NAME"},
    "approval_outcome": {"APPROVALS_TABLE_NAME", "EVENT_BUS_NAME"},
}  # fmt: skip


def _queue_of_rule(dev: Synth, source: str, detail_types: list[str]) -> str:
    rules = [
        r["Properties"]
        for r in dev.of_type("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"] == {"source": [source], "detail-type": detail_types}
    ]
    assert len(rules) == 1, f"expected one rule for {source}/{detail_types}"
    rule = rules[0]
    assert rule["EventBusName"] == {"Ref": dev.logical_id(dev.stack.backbone.bus)}
    (target,) = rule["Targets"]
    return target["Arn"]["Fn::GetAtt"][0]


@pytest.mark.parametrize(("source", "detail_types", "folder", "batch_size"), PIPELINES)
def test_pipeline_wiring(
    dev: Synth, source: str, detail_types: list[str], folder: str, batch_size: int
) -> None:
    queue_id = _queue_of_rule(dev, source, detail_types)
    queue = dev.props(queue_id)
    assert queue["VisibilityTimeout"] == 6 * TIMEOUTS[folder]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3

    mappings = [
        m["Properties"]
        for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert len(mappings) == 1
    assert mappings[0]["FunctionName"] == {"Ref": dev.function_ids[folder]}
    assert mappings[0]["BatchSize"] == batch_size
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_consumer_queue_has_redrive_sse_and_ssl(dev: Synth) -> None:
    queues = dev.of_type("AWS::SQS::Queue")
    consumer_queues = {k: q["Properties"] for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    dlq_ids = {q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in consumer_queues.values()}
    assert len(consumer_queues) == 4 and len(dlq_ids) == 4
    # every queue is either a consumer queue or one of their DLQs: no queue without a DLQ
    assert set(queues) == set(consumer_queues) | dlq_ids
    for props in consumer_queues.values():
        assert props["RedrivePolicy"]["maxReceiveCount"] == 3
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
    assert len(mappings) == 4
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
    for folder, fn_id in dev.function_ids.items():
        env = dev.props(fn_id)["Environment"]["Variables"]
        assert set(env) == COMMON_ENV | EXTRA_ENV[folder], folder
        assert env["POWERTOOLS_SERVICE_NAME"] == "distsync"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Distsync"
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert env["STAGE"] == "dev"
        assert env["TRACE_TABLE_NAME"] == {"Ref": dev.table_ids["trace"]}
        for name, table in (
            ("MASTERDATA_TABLE_NAME", "masterdata"),
            ("QUARANTINE_TABLE_NAME", "quarantine"),
            ("APPROVALS_TABLE_NAME", "approvals"),
            ("IDEMPOTENCY_TABLE_NAME", "idempotency"),
        ):
            if name in env:
                assert env[name] == {"Ref": dev.table_ids[table]}, (folder, name)
        if "EVENT_BUS_NAME" in env:
            assert env["EVENT_BUS_NAME"] == {"Ref": dev.logical_id(dev.stack.backbone.bus)}
        if "MAX_RECEIVE_COUNT" in env:
            assert env["MAX_RECEIVE_COUNT"] == "3"

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
    assert planning["APPROVAL_STATE_MACHINE_ARN"] == {"Ref": dev.logical_id(dev.stack.state_machine)}
    secret_id = dev.logical_id(dev.stack.node.find_child("WebhookSecret").secret)
    for folder in ("webhook_api", "approval_api"):
        env = dev.props(dev.function_ids[folder])["Environment"]["Variables"]
        assert env["WEBHOOK_SECRET_ARN"] == {"Ref": secret_id}
