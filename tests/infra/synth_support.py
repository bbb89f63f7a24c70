"""Helpers for the infrastructure tests: the synthesized stack and lookups into its template."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra.application import build  # noqa: E402
from infra.stacks import DistsyncStack  # noqa: E402

FOLDERS = (
    "webhook_api",
    "approval_api",
    "masterdata_transformer",
    "planning_transformer",
    "erp_updater",
    "warehouse_notifier",
    "approval_request",
    "approval_outcome",
    # issue 3: inventory/ATP, orders, shipments and their exception workflow, suppliers, forecasts
    "inventory_transformer",
    "atp_api",
    "planning_sync",
    "order_router",
    "order_transformer",
    "order_gap",
    "shipment_transformer",
    "shipment_exception_task",
    "exception_api",
    "supplier_transformer",
    "forecast_transformer",
    # issue 6: forecast cycles at planning scale (infra/domains/forecast_cycles.py)
    "cycle_starter",
    "cycle_prepare",
    "cycle_chunk",
    "cycle_summary",
    # issue 6: financial reconciliation (infra/domains/finance.py)
    "posting_recorder",
    "reconciliation",
    # issue 6: partner files (infra/domains/files.py)
    "file_ingest",
    # issue 14: ERP connectors' inbound side (infra/domains/connectors.py)
    "connector_events",
    "connector_sync",
    # issue 14: file-based planning platforms (infra/domains/planning_extracts.py)
    "planning_extract",
    # issue 16: inventory visibility accuracy (infra/domains/inventory.py)
    "inventory_accuracy",
    # issue 15: freeze windows of ERP writes (infra/domains/erp_adapter.py)
    "freeze_windows",
    # issue 15: supplier performance (infra/domains/supplier.py)
    "supplier_performance",
    # issue 15: parameter drift (infra/domains/drift.py)
    "parameter_drift",
    # issue 15: alarms to the notification topics (infra/domains/notifications.py)
    "alarm_notifier",
)


# One overridden context for every "context flows through" test (one extra synth for the session). Values
# from `cdk synth -c key=value` arrive as strings, hence strings here.
PROD_CONTEXT: dict[str, str] = {
    "stage": "prod",
    "approvalThresholdPercent": "35",
    "approvalTimeoutSeconds": "3600",
    "maxReceiveCount": "5",
    "logRetentionDays": "90",
    "archiveRetentionDays": "30",
    "erpBaseUrl": "https://erp.example.com/api",
    "dlqMaxAgeMinutes": "30",
    "errorRatePercent": "2.5",
    "forecastToErpSlaSeconds": "600",
    "approvalTurnaroundSlaHours": "8",
    "wafRateLimitPer5Min": "500",
    "webhookRateLimit": "50",
    "webhookBurstLimit": "80",
    "partnerLimits": '{"wms": {"ratePerSecond": 10, "burst": 20, "dailyQuota": 50000}}',
    "planningBaseUrl": "https://planning.example.com/api",
    "channelsBaseUrl": "https://channels.example.com/api",
    "atpHorizonDays": "21",
    "leadTimeExceptionPercent": "40",
    "planningSyncMaxReceiveCount": "50",
    "planningSyncMaxLagMinutes": "240",
    "shipmentExceptionTimeoutSeconds": "7200",
    "cycleTolerancePercent": "1.5",
    "cycleChunkSize": "250",
    "cycleMaxConcurrency": "40",
    "reconciliationSchedule": "cron(0 6 ? * MON-FRI *)",
    "reconciliationTimeZone": "Europe/Berlin",
    "xraySdkSubsegments": "true",
    "maxFutureSkewMinutes": "30",
    "acceptLegacyWebhookSecret": "true",
    "erpMaxConcurrency": "3",
    "wmsMaxConcurrency": "4",
    "planningMaxConcurrency": "6",
    "channelsMaxConcurrency": "8",
    "webhookReservedConcurrency": "50",
    "decisionApiReservedConcurrency": "0",
    "erpConnections": json.dumps([
        {"name": "s4", "kind": "s4hana", "baseUrl": "https://s4.example.com", "secretName": "distsync/prod/s4",
         "locations": ["S4-*"], "maxConcurrency": 3, "approvalThresholdPercent": 10},
        {"name": "bc", "kind": "businesscentral", "baseUrl": "https://api.businesscentral.dynamics.com/v2.0/t/p",
         "secretName": "distsync/prod/bc", "locations": ["BC-*"]},
        {"name": "legacy", "kind": "rest", "locations": ["*"]},
    ]),
    "connectorPullMinutes": "15",
    "connectorStockMinutes": "120",
    "orderGapTimeoutSeconds": "600",
    "inventoryAccuracySchedule": "cron(0 7 * * ? *)",
    "inventoryAccuracyAsOfToleranceMinutes": "30",
    "inventoryAccuracyQuantityTolerance": "1",
    "inventoryAccuracyQuantityTolerancePercent": "0.5",
    "inventoryAccuracyTargetPercent": "99.5",
    "parameterDriftSchedule": "cron(15 7 ? * MON-FRI *)",
    "contractLifecycle": json.dumps({"InventoryBalanceChanged/1": {"deprecated": "2027-01-01", "sunset": "2027-06-30"}}),
    "owners": json.dumps({"inventory": "@inventory-pager", "finance": "finance-escalation@example.com"}),
    "supplierPerformanceSchedule": "cron(0 7 ? * SUN *)",
    "supplierPerformanceWindowDays": "180",
    "notificationEmails": json.dumps({"planners": ["planners@example.com", "lead-planner@example.com"],
                                      "operations": ["ops@example.com"]}),
    "consoleUrl": "https://ops.example.com/",
}


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@dataclass
class Synth:
    stack: DistsyncStack
    template: Template
    tpl: dict[str, Any] = field(repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.tpl["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, construct: Any) -> str:
        cfn = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return self.stack.resolve(cfn.logical_id)

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    @cached_property
    def function_ids(self) -> dict[str, str]:
        """folder -> logical id of its AWS::Lambda::Function"""
        return {folder: self.logical_id(fn) for folder, fn in self.stack.platform.functions.items()}

    @cached_property
    def table_ids(self) -> dict[str, str]:
        t = self.stack.platform.tables
        domain_tables = {  # declared by their slices in the platform's DataStores scope (logical ids kept)
            name: t.node.find_child(construct_id)
            for name, construct_id in (
                ("approvals", "ApprovalsTable"),
                ("inventory", "InventoryTable"),
                ("orders", "OrdersTable"),
                ("exception_cases", "ExceptionCasesTable"),
            )
        }
        tables = {
            "masterdata": t.masterdata,
            "quarantine": t.quarantine,
            "trace": t.trace,
            "idempotency": t.idempotency,
            **domain_tables,
            "cycle_runs": self.stack.slices["forecast_cycles"].runs,
            "postings": self.stack.slices["finance"].postings,
            "files": self.stack.slices["files"].registry,
            "order_holds": self.stack.node.find_child("OrderHoldsTable"),
            "connector_state": self.stack.node.find_child("ConnectorStateTable"),
            "freeze": self.stack.node.find_child("FreezeTable"),
            "supplier_performance": self.stack.node.find_child("SupplierPerformanceTable"),
        }
        return {name: self.logical_id(table) for name, table in tables.items()}

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every policy statement attached to a role: inline policies and AWS::IAM::Policy resources."""
        statements = [
            s for p in self.props(role_id).get("Policies", []) for s in p["PolicyDocument"]["Statement"]
        ]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def function_statements(self, folder: str) -> list[dict[str, Any]]:
        role_ref = self.props(self.function_ids[folder])["Role"]
        return self.role_statements(role_ref["Fn::GetAtt"][0])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_actions(statements: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(action, resource) pairs of the Allow statements."""
    for s in statements:
        if s["Effect"] != "Allow":
            continue
        for action in as_list(s["Action"]):
            for resource in as_list(s["Resource"]):
                yield action, resource


def synthesize(overrides: dict[str, Any]) -> Synth:
    # Construct paths in each resource's metadata, as `cdk synth` writes them (the catalogue names by them).
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:enable-path-metadata": True, **overrides})
    # cdk-nag is run explicitly by test_nag_and_lint, so its findings fail one test, not the whole session.
    stack = build(app, nag=False)
    template = Template.from_stack(stack)
    return Synth(stack=stack, template=template, tpl=template.to_json())
