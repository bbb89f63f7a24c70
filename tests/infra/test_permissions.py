"""Least privilege: each function may do what the contract's permission column says, and nothing more.

The whole-template walk (wildcards, own resources, the exact per-function action table) is
test_least_privilege.py; these tests read the same policies by contract column.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import FOLDERS, Synth, allowed_actions, as_list

pytestmark = pytest.mark.infra

READ = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"}
WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

# contract: table access per function ("r", "w" or "rw")
TABLE_ACCESS = {
    "webhook_api": {"idempotency": "rw", "trace": "w"},
    "approval_api": {"approvals": "rw", "idempotency": "rw", "trace": "w"},  # + signatures accepted
    "masterdata_transformer": {"masterdata": "rw", "quarantine": "rw", "idempotency": "rw", "trace": "w"},
    "planning_transformer": {"masterdata": "r", "quarantine": "w", "idempotency": "rw", "trace": "w"},
    "erp_updater": {"masterdata": "rw", "idempotency": "rw", "freeze": "rw", "trace": "w"},  # freeze: windows, holds
    "warehouse_notifier": {"trace": "w"},
    "approval_request": {"approvals": "w", "masterdata": "r", "inventory": "r", "trace": "w"},  # + its impact
    "approval_outcome": {"approvals": "rw", "trace": "w"},
    "inventory_transformer": {
        "masterdata": "r", "inventory": "rw", "quarantine": "w", "idempotency": "rw", "trace": "w",
    },
    "atp_api": {"inventory": "r", "trace": "w"},
    "planning_sync": {"quarantine": "w", "trace": "w"},
    "order_router": {"quarantine": "w", "trace": "w"},
    "order_transformer": {"orders": "rw", "order_holds": "rw", "quarantine": "w", "idempotency": "rw", "trace": "w"},
    # its transaction checks the applied sequence, moves a hold into the quarantine; no idempotency table
    "order_gap": {"orders": "r", "order_holds": "rw", "quarantine": "w", "trace": "w"},
    # ERP connectors: changes in as master data (read to complete them), cursor and subscription state
    "connector_events": {"masterdata": "r", "quarantine": "w", "connector_state": "rw", "trace": "w"},
    "connector_sync": {"masterdata": "r", "quarantine": "w", "connector_state": "rw", "trace": "w"},
    "shipment_transformer": {"quarantine": "w", "idempotency": "rw", "trace": "w"},
    "shipment_exception_task": {"exception_cases": "w", "trace": "w"},
    "exception_api": {"exception_cases": "rw", "idempotency": "rw", "trace": "w"},  # + signatures accepted
    # ... and the PO facts supplier performance measures (confirmations, ship notices, receipts)
    "supplier_transformer": {"masterdata": "rw", "quarantine": "w", "idempotency": "rw", "trace": "w",
                             "supplier_performance": "w"},
    "forecast_transformer": {"masterdata": "rw", "quarantine": "w", "idempotency": "rw", "trace": "w"},  # + latest
    "cycle_starter": {"trace": "w"},
    "alarm_notifier": {"trace": "w"},
    "cycle_prepare": {"cycle_runs": "w", "trace": "w"},  # the run record (UpdateItem)
    "cycle_chunk": {"masterdata": "r", "cycle_runs": "w", "trace": "w"},  # BatchGetItem; counts (Put + Update)
    "cycle_summary": {"cycle_runs": "w", "trace": "w"},  # closes the run, reads it back (ALL_NEW)
    "posting_recorder": {"postings": "rw", "quarantine": "w", "trace": "w"},  # conditional put + compare
    "reconciliation": {"postings": "r", "trace": "w"},  # the byPeriod index only
    "file_ingest": {"files": "rw", "masterdata": "r", "trace": "w"},  # checksum claim; BatchGetItem only
    "planning_extract": {"masterdata": "r", "trace": "w"},  # one Scan of the item-locations
    "inventory_accuracy": {"inventory": "r", "trace": "w"},  # one Scan of the per-source balances
    "freeze_windows": {"freeze": "rw", "trace": "w"},  # manual windows; held writes read and removed
    # a Scan of the item-locations, UpdateItem of the ERP's values seen before a correction; the ledger's index
    "parameter_drift": {"masterdata": "rw", "trace": "rw"},
    "supplier_performance": {"supplier_performance": "r", "masterdata": "r", "trace": "w"},  # facts, lead times
}  # fmt: skip


def INDEX_ARN(dev: Synth, table: str, index: str) -> dict[str, Any]:  # noqa: N802
    """How the template renders "<table arn>/index/<index>"."""
    return {"Fn::Join": ["", [{"Fn::GetAtt": [dev.table_ids[table], "Arn"]}, f"/index/{index}"]]}


def _holders(dev: Synth, action: str) -> set[str]:
    return {f for f in FOLDERS if any(a == action for a, _ in allowed_actions(dev.function_statements(f)))}


def _all_statements(dev: Synth) -> list[dict[str, Any]]:
    statements = []
    for policy in dev.of_type("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in dev.of_type("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def test_function_roles_use_no_managed_policies(dev: Synth) -> None:
    for folder in FOLDERS:
        role_id = dev.props(dev.function_ids[folder])["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in dev.props(role_id), folder


def test_table_access_matches_the_contract(dev: Synth) -> None:
    names = {logical_id: name for name, logical_id in dev.table_ids.items()}
    for folder in FOLDERS:
        access: dict[str, set[str]] = {}
        for action, resource in allowed_actions(dev.function_statements(folder)):
            if not action.startswith("dynamodb:"):
                continue
            if resource == INDEX_ARN(dev, "quarantine", "byWaitingFor"):
                assert (folder, action) == ("masterdata_transformer", "dynamodb:Query"), (folder, action)
                resource = resource["Fn::Join"][1][0]  # counts as reading the quarantine table
            if resource == INDEX_ARN(dev, "postings", "byPeriod"):
                assert (folder, action) == ("reconciliation", "dynamodb:Query"), (folder, action)
                resource = resource["Fn::Join"][1][0]  # counts as reading the postings table
            if resource == INDEX_ARN(dev, "trace", "byBusinessKey"):
                assert (folder, action) == ("parameter_drift", "dynamodb:Query"), (folder, action)
                resource = resource["Fn::Join"][1][0]  # counts as reading the trace table
            assert isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"], (folder, resource)
            table = names[resource["Fn::GetAtt"][0]]
            if action in READ:
                access.setdefault(table, set()).add("r")
            if action in WRITE:
                access.setdefault(table, set()).add("w")
        actual = {table: "".join(sorted(modes, key="rw".index)) for table, modes in access.items()}
        assert actual == TABLE_ACCESS[folder], folder


def test_event_bus_put_events_only_for_publishers(dev: Synth) -> None:
    bus = {"Fn::GetAtt": [dev.logical_id(dev.stack.platform.bus), "Arn"]}
    assert _holders(dev, "events:PutEvents") == {
        "webhook_api",
        "masterdata_transformer",
        "planning_transformer",
        "erp_updater",
        "approval_outcome",
        "inventory_transformer",  # InventoryAvailabilityUpdated
        "supplier_transformer",  # PlanningException
        "cycle_chunk",  # ReplenishmentRecommended (material changes of a forecast cycle)
        "cycle_summary",  # ForecastCycleCompleted
        "reconciliation",  # ReconciliationCompleted
        "file_ingest",  # the canonical events of a partner file's accepted transactions
        "connector_events",  # ItemLocationUpserted from an ERP's pushed change
        "connector_sync",  # ItemLocationUpserted from a delta pull
        "parameter_drift",  # ParameterDriftDetected; its corrections as ReplenishmentRecommended
        "supplier_performance",  # SupplierPerformanceMeasured
    }
    for folder in _holders(dev, "events:PutEvents"):
        resources = [
            r for a, r in allowed_actions(dev.function_statements(folder)) if a == "events:PutEvents"
        ]
        assert resources == [bus]


def test_warehouse_notifier_is_confined_to_its_queue_and_the_trace_table(dev: Synth) -> None:
    actions = {a for a, _ in allowed_actions(dev.function_statements("warehouse_notifier"))}
    assert "events:PutEvents" not in actions
    masterdata = {"Fn::GetAtt": [dev.table_ids["masterdata"], "Arn"]}
    assert all(r != masterdata for _, r in allowed_actions(dev.function_statements("warehouse_notifier")))
    assert {a.split(":")[0] for a in actions} == {"logs", "xray", "dynamodb", "sqs"}


def test_state_machine_permissions(dev: Synth) -> None:
    sm_ref = {"Ref": dev.logical_id(dev.stack.platform.state_machines["approval"])}
    exception_ref = {"Ref": dev.logical_id(dev.stack.platform.state_machines["shipment-exception"])}
    # (starter, decider) of each workflow, each on its own state machine only
    cycle_ref = {"Ref": dev.logical_id(dev.stack.slices["forecast_cycles"].state_machine)}
    workflows = {"planning_transformer": sm_ref, "shipment_transformer": exception_ref, "cycle_starter": cycle_ref}
    deciders = {"approval_api": sm_ref, "exception_api": exception_ref}
    assert _holders(dev, "states:StartExecution") == set(workflows)
    for folder, ref in workflows.items():
        states = [
            (a, r) for a, r in allowed_actions(dev.function_statements(folder)) if a.startswith("states:")
        ]
        assert states == [("states:StartExecution", ref)], folder
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
        assert _holders(dev, action) == set(deciders)
    for folder, ref in deciders.items():
        task_actions = {
            a: r for a, r in allowed_actions(dev.function_statements(folder)) if a.startswith("states:")
        }
        assert {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} <= set(
            task_actions
        ), folder
        assert all(r == ref for r in task_actions.values()), folder
    # no other role anywhere (e.g. the API Gateway or state machine role) may start a workflow, except the
    # forecast cycle state machine its own Distributed Map's child executions (its own ARN, by its name)
    starters = [s for s in _all_statements(dev) if "states:StartExecution" in as_list(s["Action"])]
    cycle_name = dev.props(dev.logical_id(dev.stack.slices["forecast_cycles"].state_machine))["StateMachineName"]
    own = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":",
                             {"Ref": "AWS::AccountId"}, f":stateMachine:{cycle_name}"]]}
    assert sorted(json.dumps(s["Resource"]) for s in starters) == sorted(
        json.dumps(ref) for ref in [*workflows.values(), own]
    )


# API function -> the signing keys it may read (issue 12, finding 1: a sales channel's key reads ATP only)
SIGNING_KEY_READERS = {
    "webhook_api": {"erp", "planning", "wms", "tms", "supplier"},
    "approval_api": {"planners"},
    "exception_api": {"operations"},
    "atp_api": {"channels"},
}


def test_each_api_reads_only_the_signing_keys_of_its_own_callers(dev: Synth) -> None:
    keys = dev.stack.platform.signing_keys.secrets
    name_of = {dev.logical_id(secret): name for name, secret in keys.items()}
    assert _holders(dev, "secretsmanager:GetSecretValue") == set(SIGNING_KEY_READERS)
    for folder, names in SIGNING_KEY_READERS.items():
        readable = set()
        for statement in dev.function_statements(folder):
            if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    readable.add(name_of[resource["Ref"]])  # a signing key secret, by Ref: never "*"
        assert readable == names, folder
        env = dev.props(dev.function_ids[folder])["Environment"]["Variables"]["SIGNING_KEY_ARNS"]
        joined = "".join(p if isinstance(p, str) else p["Ref"] for p in env["Fn::Join"][1])
        assert {name: name_of[ref] for name, ref in json.loads(joined).items()} == {n: n for n in names}, folder


def test_the_legacy_shared_key_is_read_only_when_allowed_and_only_by_the_webhook_intake(dev: Synth, prod: Synth) -> None:
    legacy = {"Ref": dev.logical_id(dev.stack.node.find_child("WebhookSecret").secret)}
    readers = [s for s in _all_statements(dev) if legacy in as_list(s["Resource"])]
    assert readers == []
    allowed = prod  # acceptLegacyWebhookSecret=true
    legacy = {"Ref": allowed.logical_id(allowed.stack.node.find_child("WebhookSecret").secret)}
    holders = {f for f in FOLDERS
               if any(legacy in as_list(s["Resource"]) for s in allowed.function_statements(f))}
    assert holders == {"webhook_api"}
    env = allowed.props(allowed.function_ids["webhook_api"])["Environment"]["Variables"]
    assert env["LEGACY_WEBHOOK_SECRET_ARN"] == legacy


def test_only_pipeline_consumers_read_queues(dev: Synth) -> None:
    consumers = {folder for folder, fn_id in dev.function_ids.items() if _consumed_queue(dev, fn_id)}
    assert consumers == {
        "masterdata_transformer",
        "planning_transformer",
        "erp_updater",
        "warehouse_notifier",
        "inventory_transformer",
        "planning_sync",
        "order_router",
        "order_transformer",
        "order_gap",
        "shipment_transformer",
        "supplier_transformer",
        "forecast_transformer",
        "cycle_starter",
        "posting_recorder",
        "file_ingest",
    }
    assert _holders(dev, "sqs:ReceiveMessage") == consumers
    for folder in consumers:  # each one reads its own queue and no other
        received = [
            r for a, r in allowed_actions(dev.function_statements(folder)) if a == "sqs:ReceiveMessage"
        ]
        assert received == [{"Fn::GetAtt": [_consumed_queue(dev, dev.function_ids[folder]), "Arn"]}], folder


def _consumed_queue(dev: Synth, fn_id: str) -> str | None:
    """The queue an event source mapping feeds the function from, if any."""
    (queue_id,) = [
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fn_id}
    ] or [None]
    return queue_id


def test_only_the_order_router_and_transformer_send_to_a_queue_each_to_its_own(dev: Synth) -> None:
    """The router to the orders FIFO queue; the transformer its gap timers to the order gap queue; the freeze
    function the writes it held back to the ERP update queue."""
    orders_queue = {"Fn::GetAtt": [dev.logical_id(dev.stack.platform.pipelines["OrderPipeline"].queue), "Arn"]}
    gap_queue = {"Fn::GetAtt": [dev.logical_id(dev.stack.platform.pipelines["OrderGapPipeline"].queue), "Arn"]}
    erp_queue = {"Fn::GetAtt": [dev.logical_id(dev.stack.platform.pipelines["ErpUpdatePipeline"].queue), "Arn"]}
    sends = [
        (a, r) for s in _all_statements(dev) if s["Effect"] == "Allow"
        for a in as_list(s["Action"]) if a == "sqs:SendMessage" for r in as_list(s["Resource"])
    ]  # fmt: skip
    assert sorted(map(str, sends)) == sorted(map(str, [("sqs:SendMessage", q) for q in (orders_queue, gap_queue, erp_queue)]))
    assert _holders(dev, "sqs:SendMessage") == {"order_router", "order_transformer", "freeze_windows"}
    expected = {"order_router": orders_queue, "order_transformer": gap_queue, "freeze_windows": erp_queue}
    for folder, queue in expected.items():
        sent_to = [r for a, r in allowed_actions(dev.function_statements(folder)) if a == "sqs:SendMessage"]
        assert sent_to == [queue], folder
    router = dev.props(dev.function_ids["order_router"])["Environment"]["Variables"]
    assert router["ORDERS_QUEUE_URL"] == {"Ref": orders_queue["Fn::GetAtt"][0]}


def test_state_machine_role_invokes_exactly_the_two_task_functions(dev: Synth) -> None:
    role_id = dev.props(dev.logical_id(dev.stack.platform.state_machines["approval"]))["RoleArn"]["Fn::GetAtt"][0]
    invoked = [r for a, r in allowed_actions(dev.role_statements(role_id)) if a == "lambda:InvokeFunction"]
    assert sorted(r["Fn::GetAtt"][0] for r in invoked) == sorted(
        [dev.function_ids["approval_request"], dev.function_ids["approval_outcome"]]
    )


def test_exception_state_machine_role_invokes_only_its_task_function(dev: Synth) -> None:
    role_id = dev.props(dev.logical_id(dev.stack.platform.state_machines["shipment-exception"]))["RoleArn"]["Fn::GetAtt"][0]
    lambda_actions = [
        (a, r) for a, r in allowed_actions(dev.role_statements(role_id)) if a.startswith("lambda:")
    ]
    task = {"Fn::GetAtt": [dev.function_ids["shipment_exception_task"], "Arn"]}
    assert lambda_actions == [("lambda:InvokeFunction", task)]  # the unqualified ARN, no "<arn>:*"
