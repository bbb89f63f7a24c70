"""Least privilege: each function may do what the contract's permission column says, and nothing more.

The whole-template walk (wildcards, own resources, the exact per-function action table) is
test_least_privilege.py; these tests read the same policies by contract column.
"""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import FOLDERS, Synth, allowed_actions, as_list

pytestmark = pytest.mark.infra

READ = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"}
WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

# contract: table access per function ("r", "w" or "rw")
TABLE_ACCESS = {
    "webhook_api": {"idempotency": "rw", "trace": "w"},
    "approval_api": {"approvals": "rw", "trace": "w"},
    "masterdata_transformer": {"masterdata": "rw", "quarantine": "rw", "idempotency": "rw", "trace": "w"},
    "planning_transformer": {"masterdata": "r", "quarantine": "w", "idempotency": "rw", "trace": "w"},
    "erp_updater": {"masterdata": "rw", "idempotency": "rw", "trace": "w"},
    "warehouse_notifier": {"trace": "w"},
    "approval_request": {"approvals": "w", "trace": "w"},
    "approval_outcome": {"approvals": "rw", "trace": "w"},
}


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
            assert isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"], (folder, resource)
            table = names[resource["Fn::GetAtt"][0]]
            if action in READ:
                access.setdefault(table, set()).add("r")
            if action in WRITE:
                access.setdefault(table, set()).add("w")
        actual = {table: "".join(sorted(modes, key="rw".index)) for table, modes in access.items()}
        assert actual == TABLE_ACCESS[folder], folder


def test_event_bus_put_events_only_for_publishers(dev: Synth) -> None:
    bus = {"Fn::GetAtt": [dev.logical_id(dev.stack.backbone.bus), "Arn"]}
    assert _holders(dev, "events:PutEvents") == {
        "webhook_api",
        "masterdata_transformer",
        "planning_transformer",
        "erp_updater",
        "approval_outcome",
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
    sm_ref = {"Ref": dev.logical_id(dev.stack.state_machine)}
    assert _holders(dev, "states:StartExecution") == {"planning_transformer"}
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
        assert _holders(dev, action) == {"approval_api"}
    task_actions = {
        a: r for a, r in allowed_actions(dev.function_statements("approval_api")) if a.startswith("states:")
    }
    assert {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} <= set(
        task_actions
    )
    assert all(r == sm_ref for r in task_actions.values())
    # no other role anywhere (e.g. the API Gateway or state machine role) may start the workflow
    starters = [s for s in _all_statements(dev) if "states:StartExecution" in as_list(s["Action"])]
    assert len(starters) == 1 and starters[0]["Resource"] == sm_ref


def test_only_the_api_functions_read_the_webhook_secret(dev: Synth) -> None:
    secret_ref = {"Ref": dev.logical_id(dev.stack.node.find_child("WebhookSecret").secret)}
    readers = [s for s in _all_statements(dev) if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert all(s["Resource"] == secret_ref for s in readers)
    assert _holders(dev, "secretsmanager:GetSecretValue") == {"webhook_api", "approval_api"}
    assert len(readers) == 2


def test_only_pipeline_consumers_read_queues(dev: Synth) -> None:
    assert _holders(dev, "sqs:ReceiveMessage") == {
        "masterdata_transformer",
        "planning_transformer",
        "erp_updater",
        "warehouse_notifier",
    }


def test_state_machine_role_invokes_exactly_the_two_task_functions(dev: Synth) -> None:
    role_id = dev.props(dev.logical_id(dev.stack.state_machine))["RoleArn"]["Fn::GetAtt"][0]
    invoked = [r for a, r in allowed_actions(dev.role_statements(role_id)) if a == "lambda:InvokeFunction"]
    assert sorted(r["Fn::GetAtt"][0] for r in invoked) == sorted(
        [dev.function_ids["approval_request"], dev.function_ids["approval_outcome"]]
    )
