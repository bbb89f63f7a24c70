"""Least privilege, proven over the whole template: every IAM policy statement of every role is walked.

A new permission fails these tests until it is added to ``EXPECTED_FUNCTION_PERMISSIONS`` (or, for the
roles that are not functions, ``EXPECTED_OTHER_ROLES``) on purpose, naming the resource it is granted on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from synth_support import FOLDERS, Synth, as_list

pytestmark = pytest.mark.infra

# --- action sets, exactly as the CDK grants render them ---
LOG_WRITE = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})
XRAY_WRITE = frozenset({"xray:PutTelemetryRecords", "xray:PutTraceSegments"})
TABLE_WRITE = frozenset(
    {
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
)
TABLE_READ = frozenset(
    {
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:GetRecords",  # (streams: the tables have none; part of Table.grant_read_data)
        "dynamodb:GetShardIterator",
        "dynamodb:Query",
        "dynamodb:Scan",
    }
)
TABLE_READ_WRITE = TABLE_READ | TABLE_WRITE
QUEUE_CONSUME = frozenset(
    {
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
    }
)
# a router feeding a FIFO pipeline: it has the queue URL, so only SendMessage (no GetQueueUrl/Attributes)
QUEUE_SEND = frozenset({"sqs:SendMessage"})
PUT_EVENTS = frozenset({"events:PutEvents"})
# quarantine records: put (quarantine), read and conditionally update (release)
QUARANTINE_RELEASE = frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"})
INDEX_QUERY = frozenset({"dynamodb:Query"})
SECRET_READ = frozenset({"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"})
TASK_RESPONSE = frozenset({"states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"})
START_EXECUTION = frozenset({"states:StartExecution"})
# a Distributed Map's state machine: its child executions (of itself) and the CSV its ItemReader reads
CHILD_EXECUTIONS = frozenset({"states:DescribeExecution", "states:StopExecution"})
INVOKE = frozenset({"lambda:InvokeFunction"})
OBJECT_READ = frozenset({"s3:GetObject"})
OBJECT_WRITE = frozenset({"s3:PutObject"})
OBJECT_DELETE = frozenset({"s3:DeleteObject"})
MULTIPART_WRITE = frozenset({"s3:PutObject", "s3:AbortMultipartUpload"})
TABLE_UPDATE = frozenset({"dynamodb:UpdateItem"})
TABLE_COUNT = frozenset({"dynamodb:PutItem", "dynamodb:UpdateItem"})  # TransactWriteItems: Put + Update
SFN_LOG_DELIVERY = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    }
)
SFN_XRAY = XRAY_WRITE | {"xray:GetSamplingRules", "xray:GetSamplingTargets"}

# Resource "*" only for actions that have no resource-level permissions, per principal:
WILDCARD_RESOURCE_ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "lambda.amazonaws.com": (
        XRAY_WRITE,
        "active tracing: xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions",
    ),
    "states.amazonaws.com": (
        SFN_LOG_DELIVERY | SFN_XRAY,
        "state machine logging (CloudWatch Logs vended log delivery: *LogDelivery, PutResourcePolicy, "
        "Describe*) and X-Ray tracing: neither supports resource-level permissions",
    ),
}

# Resource labels: "log-group" = the function's own log group, "queue" = the queue of the pipeline that
# triggers the function, "orders-queue" = the orders FIFO queue (OrderPipeline) when it is not the
# function's own trigger, "order-gap-queue" = the order gap timer queue (OrderGapPipeline) likewise,
# "erp-update-queue" = the ERP update queue (ErpUpdatePipeline) likewise, "table:<name>", "table:<name>/index/<index>" (one named index, never "index/*"),
# "bus", "signing-key:<name>" (one source's or role's key), "webhook-secret" (the legacy shared key), "approval-state-machine", "exception-state-machine", "cycle-state-machine", "*",
# "landing:<prefix>*" (objects under one key prefix of the landing bucket, never the whole bucket),
# "self:stateMachine" / "self:execution/*" (a state machine's own ARN / its executions, by its name).
EXPECTED_FUNCTION_PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    "webhook_api": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,  # Powertools idempotency + replayed-signature records
        "bus": PUT_EVENTS,
        **{f"signing-key:{s}": SECRET_READ for s in ("erp", "planning", "wms", "tms", "supplier")},
    },
    "approval_api": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:approvals": TABLE_READ_WRITE,
        "table:idempotency": TABLE_READ_WRITE,  # the signatures it accepted (a decision is used once)
        "approval-state-machine": TASK_RESPONSE,
        "signing-key:planners": SECRET_READ,
    },
    "masterdata_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ_WRITE,
        "table:quarantine": QUARANTINE_RELEASE,
        "table:quarantine/index/byWaitingFor": INDEX_QUERY,  # events waiting for the arriving master data
        "table:idempotency": TABLE_READ_WRITE,
        "bus": PUT_EVENTS,  # republishes the events it releases
        "queue": QUEUE_CONSUME,
    },
    "planning_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ,
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "bus": PUT_EVENTS,
        "approval-state-machine": START_EXECUTION,
        "queue": QUEUE_CONSUME,
    },
    "erp_updater": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "table:freeze": frozenset({"dynamodb:Query", "dynamodb:PutItem"}),  # manual windows; the writes it holds
        "bus": PUT_EVENTS,
        "queue": QUEUE_CONSUME,
    },
    "freeze_windows": {  # lists, adds and ends freeze windows; sends held writes back when their window ends
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:freeze": frozenset({"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                   "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}),
        "erp-update-queue": QUEUE_SEND,
    },
    "warehouse_notifier": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "queue": QUEUE_CONSUME,
    },
    "approval_request": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:approvals": TABLE_WRITE,
        "table:masterdata": TABLE_READ,  # the impact: forecast, lead time, unit cost
        "table:inventory": frozenset({"dynamodb:GetItem"}),  # the impact: ATP
        "topic:planners": frozenset({"sns:Publish"}),
        "notifications-key": frozenset({"kms:Decrypt", "kms:GenerateDataKey"}),  # an encrypted topic's publisher
    },
    "alarm_notifier": {  # alarm topic -> the audiences' topics
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "topic:planners": frozenset({"sns:Publish"}),
        "topic:operations": frozenset({"sns:Publish"}),
        "notifications-key": frozenset({"kms:Decrypt", "kms:GenerateDataKey"}),
    },
    "approval_outcome": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:approvals": TABLE_READ_WRITE,
        "bus": PUT_EVENTS,
    },
    # --- issue 3 domains ---
    "inventory_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ,  # is the item-location known?
        "table:inventory": TABLE_READ_WRITE,  # newest as-of wins (conditional put)
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "bus": PUT_EVENTS,  # InventoryAvailabilityUpdated
        "queue": QUEUE_CONSUME,
    },
    "atp_api": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:inventory": TABLE_READ,  # reads the projection, never writes it
        "signing-key:channels": SECRET_READ,
    },
    "planning_sync": {  # planning deduplicates on the Idempotency-Key: no idempotency table
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:quarantine": TABLE_WRITE,
        "queue": QUEUE_CONSUME,
    },
    "order_router": {  # consumes the intake queue, may only send to the orders FIFO queue
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:quarantine": TABLE_WRITE,
        "queue": QUEUE_CONSUME,
        "orders-queue": QUEUE_SEND,
    },
    "order_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:orders": TABLE_READ_WRITE,  # sequence check and the applied update
        "table:order_holds": TABLE_READ_WRITE,  # updates ahead of their predecessor
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "queue": QUEUE_CONSUME,  # the orders FIFO queue
        "order-gap-queue": QUEUE_SEND,  # a held update's gap timer
    },
    "connector_events": {  # ERP pushes: changes in as master data (or quarantined)
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ,  # completes an ERP change with the supplier, unit of measure
        "table:quarantine": TABLE_WRITE,
        "table:connector_state": TABLE_READ_WRITE,  # a Business Central subscription pending its handshake
        "bus": PUT_EVENTS,
    },
    "connector_sync": {  # delta pulls and Business Central subscriptions
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ,
        "table:quarantine": TABLE_WRITE,
        "table:connector_state": TABLE_READ_WRITE,  # cursors and subscriptions
        "bus": PUT_EVENTS,
    },
    "order_gap": {  # a held update's timer: quarantines it if the gap is still open
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:orders": TABLE_READ,  # the transaction's condition on the applied sequence
        "table:order_holds": TABLE_READ_WRITE,
        "table:quarantine": TABLE_WRITE,
        "queue": QUEUE_CONSUME,  # the order gap queue
    },
    "shipment_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "exception-state-machine": START_EXECUTION,  # an exception milestone opens a case
        "queue": QUEUE_CONSUME,
    },
    "shipment_exception_task": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:exception_cases": TABLE_WRITE,  # put the pending case, update its outcome
        "topic:operations": frozenset({"sns:Publish"}),
        "notifications-key": frozenset({"kms:Decrypt", "kms:GenerateDataKey"}),
    },
    "exception_api": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:exception_cases": TABLE_READ_WRITE,  # read the case, claim the decision
        "table:idempotency": TABLE_READ_WRITE,  # the signatures it accepted (a resolution is used once)
        "exception-state-machine": TASK_RESPONSE,
        "signing-key:operations": SECRET_READ,
    },
    "supplier_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ_WRITE,  # records the supplier's lead time on the item-location
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "bus": PUT_EVENTS,  # PlanningException
        "queue": QUEUE_CONSUME,
        # issue 15: the PO's confirmed lines (conditional updates), ship notices and PO goods receipts (puts)
        "table:supplier_performance": frozenset({"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"}),
    },
    "forecast_transformer": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": TABLE_READ | TABLE_UPDATE,  # the latest forecast beside the item-location
        "table:quarantine": TABLE_WRITE,
        "table:idempotency": TABLE_READ_WRITE,
        "queue": QUEUE_CONSUME,
    },
    # --- issue 6: forecast cycles at planning scale ---
    "cycle_starter": {  # S3 "Object Created" from its queue -> StartExecution (named after the cycle)
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "queue": QUEUE_CONSUME,
        "cycle-state-machine": START_EXECUTION,
    },
    "cycle_prepare": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:cycle_runs": TABLE_UPDATE,  # the run record
        "landing:cycles/*": OBJECT_READ,  # the cycle file
        "landing:work/cycles/*": MULTIPART_WRITE,  # its plain copy, streamed (multipart upload)
        "landing:rejected/cycles/*": OBJECT_WRITE,  # the report of a rejected file
        "landing": frozenset({"s3:ListBucket"}),  # a manifest's cycle files (s3:prefix cycles/*; issue 14)
    },
    "cycle_chunk": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": frozenset({"dynamodb:BatchGetItem"}),  # the last applied parameters, 100 per call
        "table:cycle_runs": TABLE_COUNT,  # chunk marker + ADD to the totals, in one transaction
        "landing:rejected/cycles/*": OBJECT_WRITE,  # rejected rows
        "bus": PUT_EVENTS,  # ReplenishmentRecommended
    },
    "cycle_summary": {
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:cycle_runs": TABLE_UPDATE,  # closes the run and reads it back (ReturnValues ALL_NEW)
        "landing:work/cycles/*": OBJECT_DELETE,  # the plain copy, once read
        "bus": PUT_EVENTS,  # ForecastCycleCompleted
    },
    # --- issue 6: financial reconciliation ---
    "posting_recorder": {  # no idempotency table: the conditional put on the posting id is the once-only
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:postings": frozenset({"dynamodb:GetItem", "dynamodb:PutItem"}),  # conditional put, then compare
        "table:quarantine": TABLE_WRITE,  # a posting id recorded with other values
        "queue": QUEUE_CONSUME,
    },
    "reconciliation": {  # invoked by its schedule or `distsync reconcile`; calls the ERP's export API
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:postings/index/byPeriod": INDEX_QUERY,  # recorded postings per date and domain, nothing else
        "bus": PUT_EVENTS,  # ReconciliationCompleted
    },
    # --- issue 14: file-based planning platforms ---
    "planning_extract": {  # invoked by its schedule or `distsync extracts run`
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:masterdata": frozenset({"dynamodb:Scan"}),  # the item-locations (begins_with(pk, ITEMLOC#))
        "landing:outbound/planning/extracts/*": frozenset({"s3:PutObject", "s3:AbortMultipartUpload"}),
    },
    # --- issue 16: inventory visibility accuracy ---
    "inventory_accuracy": {  # invoked by its schedule, `distsync inventory accuracy` or `distsync kpis`
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:inventory": frozenset({"dynamodb:Scan"}),  # each source's balances (entity = SourceBalance)
        "landing:reports/inventory-accuracy/*": frozenset({"s3:PutObject"}),  # the JSON and CSV report
    },
    # --- issue 15: supplier performance ---
    "supplier_performance": {  # invoked by its schedule or `distsync suppliers performance`
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:supplier_performance": frozenset({"dynamodb:Scan"}),  # every PO's facts
        "table:masterdata": frozenset({"dynamodb:GetItem"}),  # the item-locations' master data lead times
        "bus": PUT_EVENTS,  # SupplierPerformanceMeasured
    },
    # --- issue 15: parameter drift ---
    "parameter_drift": {  # invoked by its schedule or `distsync drift`
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "table:trace/index/byBusinessKey": INDEX_QUERY,  # planning's latest recommendation per item-location
        # the item-locations; before a correction, the ERP's values seen (what planning measures it from)
        "table:masterdata": frozenset({"dynamodb:Scan", "dynamodb:UpdateItem"}),
        "landing:reports/drift/*": frozenset({"s3:PutObject"}),  # the JSON and CSV report
        "bus": PUT_EVENTS,  # ParameterDriftDetected; corrections as ReplenishmentRecommended
        "topic:planners": frozenset({"sns:Publish"}),  # drift found: the planners' message
        "notifications-key": frozenset({"kms:Decrypt", "kms:GenerateDataKey"}),
    },
    # --- issue 6: partner files (X12, EDIFACT, CSV) ---
    "file_ingest": {  # S3 "Object Created" under inbound/ from its queue, one file per invocation
        "log-group": LOG_WRITE,
        "*": XRAY_WRITE,
        "table:trace": TABLE_WRITE,
        "queue": QUEUE_CONSUME,
        "table:files": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),  # checksum claim
        "table:masterdata": frozenset({"dynamodb:BatchGetItem"}),  # are the item-locations known? 100 per call
        # read the partner's file (HeadObject is s3:GetObject) and delete it once copied away; nothing else
        "landing:inbound/*": OBJECT_READ | OBJECT_DELETE,
        "landing:archive/*": OBJECT_WRITE,  # the original, kept (copy target)
        "landing:rejected/*": OBJECT_WRITE,  # rejected originals and error reports
        "landing:outbound/*": OBJECT_WRITE,  # 997 / CONTRL for the partner to collect
        "bus": PUT_EVENTS,  # the accepted transactions' canonical events
    },
}

# Roles that belong to no function: (assumed by, statements by resource label, AWS managed policies)
API_GATEWAY_LOGS_POLICY = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
EXPECTED_OTHER_ROLES: dict[str, tuple[str, dict[str, frozenset[str]], tuple[str, ...]]] = {
    "approval state machine": (
        "states.amazonaws.com",
        {
            "*": SFN_LOG_DELIVERY | SFN_XRAY,
            "function:approval_request": frozenset({"lambda:InvokeFunction"}),
            "function:approval_outcome": frozenset({"lambda:InvokeFunction"}),
        },
        (),
    ),
    "shipment exception state machine": (
        "states.amazonaws.com",
        {
            "*": SFN_LOG_DELIVERY | SFN_XRAY,
            "function:shipment_exception_task": frozenset({"lambda:InvokeFunction"}),
        },
        (),
    ),
    "forecast cycle state machine": (
        "states.amazonaws.com",
        {
            "*": SFN_LOG_DELIVERY | SFN_XRAY,
            "function:cycle_prepare": INVOKE,
            "function:cycle_chunk": INVOKE,
            "function:cycle_summary": INVOKE,
            "landing:cycles/*": OBJECT_READ,  # the Distributed Map's ItemReader
            "landing:work/cycles/*": OBJECT_READ,
            "self:stateMachine": START_EXECUTION,  # the Distributed Map's child executions
            "self:execution/*": CHILD_EXECUTIONS,
        },
        (),
    ),
    # EventBridge Scheduler's role for the daily reconciliation: invoke that one function (assumable only by
    # this account's schedule of that name)
    "reconciliation schedule": (
        "scheduler.amazonaws.com",
        {"function:reconciliation": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # ... and for the daily planning extract (issue 14)
    "planning extract schedule": (
        "scheduler.amazonaws.com",
        {"function:planning_extract": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # ... and for the daily inventory accuracy (issue 16)
    "inventory accuracy schedule": (
        "scheduler.amazonaws.com",
        {"function:inventory_accuracy": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # ... and for releasing the ERP writes freeze windows held, every minute (issue 15)
    "freeze release schedule": (
        "scheduler.amazonaws.com",
        {"function:freeze_windows": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # ... and for the weekly supplier performance (issue 15)
    "supplier performance schedule": (
        "scheduler.amazonaws.com",
        {"function:supplier_performance": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # ... and for the daily parameter drift (issue 15)
    "parameter drift schedule": (
        "scheduler.amazonaws.com",
        {"function:parameter_drift": frozenset({"lambda:InvokeFunction"})},
        (),
    ),
    # the account-level role API Gateway writes execution logs with (acknowledged AwsSolutions-IAM4)
    "API Gateway CloudWatch": ("apigateway.amazonaws.com", {}, (API_GATEWAY_LOGS_POLICY,)),
}

# A statement on these services must name resources of this stack, of these types, by Ref/GetAtt.
OWN_RESOURCE_TYPES = {
    "dynamodb": "AWS::DynamoDB::Table",
    "sqs": "AWS::SQS::Queue",
    "events": "AWS::Events::EventBus",
    "states": "AWS::StepFunctions::StateMachine",
    "secretsmanager": "AWS::SecretsManager::Secret",
    "lambda": "AWS::Lambda::Function",
    "logs": "AWS::Logs::LogGroup",
    "s3": "AWS::S3::Bucket",  # ListBucket (s3:prefix condition); objects under a key prefix only (_bucket_objects)
    "sns": "AWS::SNS::Topic",  # the notification topics
    "kms": "AWS::KMS::Key",  # their key (publishing to an encrypted topic)
}


def _statements(s: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every identity policy statement in the template."""
    roles = s.of_type("AWS::IAM::Role")
    for role_id, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield role_id, statement
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy_id, policy in s.of_type(policy_type).items():
            attached = [r["Ref"] for r in policy["Properties"].get("Roles", [])]
            assert attached, f"{policy_id} is attached to no role of this stack"
            assert not policy["Properties"].get("Users") and not policy["Properties"].get("Groups")
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                for role_id in attached:
                    assert role_id in roles, (policy_id, role_id)
                    yield role_id, statement


def _principal(s: Synth, role_id: str) -> str:
    (statement,) = s.props(role_id)["AssumeRolePolicyDocument"]["Statement"]
    return statement["Principal"]["Service"]


def _resource_id(resource: Any) -> str | None:
    """The logical id a resource ARN refers to, if it is exactly a Ref or an Fn::GetAtt .Arn."""
    if isinstance(resource, dict) and list(resource) == ["Ref"]:
        return resource["Ref"]
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"] and resource["Fn::GetAtt"][1] == "Arn":
        return resource["Fn::GetAtt"][0]
    return None


def _named_index(s: Synth, resource: Any) -> tuple[str, str] | None:
    """(table logical id, index name) if the resource is exactly "<table arn>/index/<name>" for an index
    that table of this stack has: a concrete index, never "index/*"."""
    if not (isinstance(resource, dict) and list(resource) == ["Fn::Join"]):
        return None
    separator, parts = resource["Fn::Join"]
    if separator != "" or len(parts) != 2 or not isinstance(parts[1], str):
        return None
    table_id = _resource_id(parts[0])
    prefix, _, name = parts[1].partition("/index/")
    if prefix or not name or table_id not in s.resources:
        return None
    if s.resources[table_id]["Type"] != "AWS::DynamoDB::Table":
        return None
    indexes = {i["IndexName"] for i in s.props(table_id).get("GlobalSecondaryIndexes", [])}
    return (table_id, name) if name in indexes else None


def _bucket_objects(s: Synth, resource: Any) -> tuple[str, str] | None:
    """(bucket logical id, "<prefix>*") if the resource is exactly "<bucket arn>/<prefix>*" for a bucket of
    this stack and a non-empty key prefix: objects under one prefix, never "<bucket arn>/*"."""
    if not (isinstance(resource, dict) and list(resource) == ["Fn::Join"]):
        return None
    separator, parts = resource["Fn::Join"]
    if separator != "" or len(parts) != 2 or not isinstance(parts[1], str):
        return None
    bucket_id = _resource_id(parts[0])
    if bucket_id not in s.resources or s.resources[bucket_id]["Type"] != "AWS::S3::Bucket":
        return None
    prefix = parts[1].removeprefix("/")
    if not parts[1].startswith("/") or not prefix.endswith("/*") or "*" in prefix[:-1]:
        return None
    return bucket_id, prefix


_OWN_ARN_HEAD = ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}]


def _own_state_machine(s: Synth, resource: Any) -> tuple[str, str] | None:
    """(state machine logical id, "stateMachine" | "execution/*") if the resource is that state machine's own
    ARN or the ARN of its executions, built from its fixed StateMachineName (a Distributed Map's role must name
    its own state machine, which a Ref from the role would make circular)."""
    if not (isinstance(resource, dict) and list(resource) == ["Fn::Join"]):
        return None
    separator, parts = resource["Fn::Join"]
    if separator != "" or len(parts) != 7 or parts[:6] != _OWN_ARN_HEAD or not isinstance(parts[6], str):
        return None
    names = {r["Properties"].get("StateMachineName"): lid
             for lid, r in s.of_type("AWS::StepFunctions::StateMachine").items()}
    kind, _, name = parts[6].removeprefix(":").partition(":")
    if kind == "stateMachine" and name in names:
        return names[name], "stateMachine"
    if kind == "execution" and name.endswith("/*") and name[:-2] in names:
        return names[name[:-2]], "execution/*"
    return None


def test_every_statement_is_allow_with_named_actions_and_no_wildcard_action(dev: Synth) -> None:
    statements = list(_statements(dev))
    assert len(statements) > 40  # the walk sees the function policies, not an empty list
    for role_id, statement in statements:
        assert statement["Effect"] == "Allow", (role_id, statement)
        assert "NotAction" not in statement and "NotResource" not in statement, role_id
        for action in as_list(statement["Action"]):
            service, _, name = action.partition(":")
            assert action != "*" and name and "*" not in name, (role_id, action)
            assert service in {*OWN_RESOURCE_TYPES, "xray"}, (role_id, action)


def test_resource_star_only_for_the_documented_actions(dev: Synth) -> None:
    for role_id, statement in _statements(dev):
        if "*" not in as_list(statement["Resource"]):
            continue
        assert as_list(statement["Resource"]) == ["*"], role_id
        allowed, _reason = WILDCARD_RESOURCE_ALLOWED[_principal(dev, role_id)]
        assert set(as_list(statement["Action"])) <= allowed, (role_id, statement["Action"])


def test_every_resource_is_an_arn_of_this_stacks_own_resources(dev: Synth) -> None:
    for role_id, statement in _statements(dev):
        resources = as_list(statement["Resource"])
        if resources == ["*"]:
            continue  # test_resource_star_only_for_the_documented_actions
        services = {action.split(":")[0] for action in as_list(statement["Action"])}
        assert len(services) == 1, (role_id, statement["Action"])
        (service,) = services
        for resource in resources:
            index = _named_index(dev, resource)
            if index is not None:
                assert service == "dynamodb", (role_id, resource)
                continue  # a named index of one of this stack's tables
            if _bucket_objects(dev, resource) is not None:
                assert service == "s3", (role_id, resource)
                continue  # objects under one key prefix of one of this stack's buckets
            own = _own_state_machine(dev, resource)
            if own is not None:  # only a state machine's own role may name its own ARN
                assert service == "states", (role_id, resource)
                assert dev.props(own[0])["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}, (role_id, resource)
                continue
            logical_id = _resource_id(resource)
            assert logical_id in dev.resources, (role_id, resource)  # no ARN strings, no "/index/*"
            assert dev.resources[logical_id]["Type"] == OWN_RESOURCE_TYPES[service], (role_id, resource)


def _labels(s: Synth, folder: str | None) -> dict[str, str]:
    """logical id -> resource label, for the labels of the permission tables."""
    labels = {table_id: f"table:{name}" for name, table_id in s.table_ids.items()}
    labels[s.logical_id(s.stack.platform.bus)] = "bus"
    labels[s.logical_id(s.stack.node.find_child("WebhookSecret").secret)] = "webhook-secret"
    labels.update({s.logical_id(secret): f"signing-key:{name}"
                   for name, secret in s.stack.platform.signing_keys.secrets.items()})
    labels[s.logical_id(s.stack.platform.state_machines["approval"])] = "approval-state-machine"
    labels[s.logical_id(s.stack.platform.state_machines["shipment-exception"])] = "exception-state-machine"
    labels[s.logical_id(s.stack.slices["forecast_cycles"].state_machine)] = "cycle-state-machine"
    labels[s.logical_id(s.stack.platform.pipelines["OrderPipeline"].queue)] = "orders-queue"
    labels[s.logical_id(s.stack.platform.pipelines["OrderGapPipeline"].queue)] = "order-gap-queue"
    labels[s.logical_id(s.stack.platform.pipelines["ErpUpdatePipeline"].queue)] = "erp-update-queue"
    labels.update({fn_id: f"function:{name}" for name, fn_id in s.function_ids.items()})
    notifications = s.stack.platform.notifications
    labels.update({s.logical_id(topic): f"topic:{name}" for name, topic in notifications.topics.items()})
    labels[s.logical_id(notifications.key)] = "notifications-key"
    labels[s.logical_id(s.stack.platform.landing.bucket)] = "landing"  # ListBucket (with an s3:prefix condition)
    if folder is not None:
        function = s.props(s.function_ids[folder])
        labels[function["LoggingConfig"]["LogGroup"]["Ref"]] = "log-group"
        for mapping in s.of_type("AWS::Lambda::EventSourceMapping").values():
            if mapping["Properties"]["FunctionName"] == {"Ref": s.function_ids[folder]}:
                labels[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]] = "queue"
    return labels


def _permissions(s: Synth, role_id: str, folder: str | None) -> dict[str, set[str]]:
    labels = _labels(s, folder)
    granted: dict[str, set[str]] = {}
    for owner, statement in _statements(s):
        if owner != role_id:
            continue
        for resource in as_list(statement["Resource"]):
            index = _named_index(s, resource)
            objects = _bucket_objects(s, resource)
            own = _own_state_machine(s, resource)
            if resource == "*":
                label = "*"
            elif index is not None:
                label = f"{labels[index[0]]}/index/{index[1]}"
            elif objects is not None:
                bucket = "landing" if objects[0] == s.logical_id(s.stack.platform.landing.bucket) else objects[0]
                label = f"{bucket}:{objects[1]}"
            elif own is not None:
                label = f"self:{own[1]}"
            else:
                label = labels.get(_resource_id(resource) or "", f"other:{resource}")
            granted.setdefault(label, set()).update(as_list(statement["Action"]))
    return granted


def test_function_permissions_are_exactly_the_table(dev: Synth) -> None:
    assert set(EXPECTED_FUNCTION_PERMISSIONS) == set(FOLDERS) == set(dev.function_ids)
    for folder, expected in EXPECTED_FUNCTION_PERMISSIONS.items():
        role_id = dev.props(dev.function_ids[folder])["Role"]["Fn::GetAtt"][0]
        assert _principal(dev, role_id) == "lambda.amazonaws.com"
        assert "ManagedPolicyArns" not in dev.props(role_id), folder
        actual = _permissions(dev, role_id, folder)
        assert actual == {label: set(actions) for label, actions in expected.items()}, folder


def _state_machine_roles(s: Synth) -> dict[str, str]:
    """EXPECTED_OTHER_ROLES name -> role logical id, for the roles two state machines share a principal for."""
    machines = {
        "approval state machine": s.stack.platform.state_machines["approval"],
        "shipment exception state machine": s.stack.platform.state_machines["shipment-exception"],
        "forecast cycle state machine": s.stack.slices["forecast_cycles"].state_machine,
    }
    return {name: s.props(s.logical_id(sm))["RoleArn"]["Fn::GetAtt"][0] for name, sm in machines.items()}


def test_every_other_role_is_expected_and_exactly_as_listed(dev: Synth) -> None:
    function_roles = {dev.props(fn_id)["Role"]["Fn::GetAtt"][0] for fn_id in dev.function_ids.values()}
    others = {role_id for role_id in dev.of_type("AWS::IAM::Role") if role_id not in function_roles}
    owned = _state_machine_roles(dev)
    assert len(set(owned.values())) == len(owned)  # one role per state machine, none shared
    matched: set[str] = set()
    for name, (principal, expected, managed) in EXPECTED_OTHER_ROLES.items():
        candidates = [r for r in others if _principal(dev, r) == principal]
        if name in owned:
            candidates = [r for r in candidates if r == owned[name]]
        else:
            candidates = [r for r in candidates if r not in owned.values()]
        if len(candidates) > 1:  # roles of one service (the schedules') told apart by what they may do
            candidates = [r for r in candidates if _permissions(dev, r, None) == {k: set(v) for k, v in expected.items()}]
        assert len(candidates) == 1, name
        (role_id,) = candidates
        matched.add(role_id)
        assert _permissions(dev, role_id, None) == {k: set(v) for k, v in expected.items()}, name
        arns = dev.props(role_id).get("ManagedPolicyArns", [])
        assert [a["Fn::Join"][1][-1].rsplit(":", 1)[-1] for a in arns] == list(managed), name
    assert others == matched, f"roles not in EXPECTED_OTHER_ROLES: {others - matched}"


def test_resource_policies_grant_only_to_services_or_deny(dev: Synth) -> None:
    """Queue/topic/bucket/key policies: an Allow names an AWS service or this account, never anyone ("*")."""
    documents = [
        (lid, res["Properties"]["PolicyDocument"])
        for kind in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy")
        for lid, res in dev.of_type(kind).items()
    ] + [(lid, res["Properties"]["KeyPolicy"]) for lid, res in dev.of_type("AWS::KMS::Key").items()]
    assert documents
    for lid, document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] == "Deny":
                continue
            principal = statement["Principal"]
            assert principal != "*" and principal != {"AWS": "*"}, (lid, statement)
            assert set(principal) <= {"Service", "AWS"}, (lid, principal)
