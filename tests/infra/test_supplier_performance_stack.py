"""The supplier performance part of the supplier slice (infra/domains/supplier.py): the weekly schedule and its
invoke-only role, the window from context, the facts table, the supplier pipeline's extra rules, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra


def _schedule(s: Synth) -> dict[str, Any]:
    (schedule_id,) = [lid for lid, r in s.of_type("AWS::Scheduler::Schedule").items()
                      if r["Properties"]["Name"].endswith("-supplier-performance")]
    return s.props(schedule_id)


def _fn_arn(s: Synth) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.function_ids["supplier_performance"], "Arn"]}


def test_the_schedule_runs_the_measurement_weekly_with_an_invoke_only_role(dev: Synth) -> None:
    p = _schedule(dev)
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(0 6 ? * MON *)", "UTC")
    assert p["Target"]["Arn"] == _fn_arn(dev)
    assert json.loads(p["Target"]["Input"]) == {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}
    role_id = p["Target"]["RoleArn"]["Fn::GetAtt"][0]
    (trust,) = dev.props(role_id)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1][-1] == (
        ":schedule/default/distsync-dev-supplier-performance")
    assert dev.role_statements(role_id) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _fn_arn(dev)}]
    env = dev.props(dev.function_ids["supplier_performance"])["Environment"]["Variables"]
    assert env["SUPPLIER_PERFORMANCE_WINDOW_DAYS"] == "90"
    assert env["SUPPLIER_PERFORMANCE_TABLE_NAME"] == {"Ref": dev.table_ids["supplier_performance"]}
    outputs = dev.tpl["Outputs"]
    assert outputs["SupplierPerformanceFunctionName"]["Value"] == {"Ref": dev.function_ids["supplier_performance"]}
    assert outputs["SupplierPerformanceTableName"]["Value"] == {"Ref": dev.table_ids["supplier_performance"]}


def test_schedule_and_window_come_from_context(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT
    assert _schedule(prod)["ScheduleExpression"] == "cron(0 7 ? * SUN *)"
    env = prod.props(prod.function_ids["supplier_performance"])["Environment"]["Variables"]
    assert env["SUPPLIER_PERFORMANCE_WINDOW_DAYS"] == "180"


def test_the_facts_table_is_kept_in_prod(prod: Synth) -> None:
    table = prod.resources[prod.table_ids["supplier_performance"]]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_supplier_dashboard_shows_the_measuring_function_and_its_metric(dev: Synth) -> None:
    body = json.dumps(dev.props(dev.logical_id(dev.stack.observability.dashboards["supplier"]))["DashboardBody"])
    assert "SupplierPerformanceMeasured" in body


def test_a_bad_schedule_or_window_fails_the_synth() -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    for bad, message in (({"supplierPerformanceSchedule": "at(2026-12-07T06:00:00)"}, "supplierPerformanceSchedule"),
                         ({"supplierPerformanceWindowDays": "0"}, "supplier_performance_window_days"),
                         ({"supplierPerformanceWindowDays": "3651"}, "supplierPerformanceWindowDays")):
        with pytest.raises(ValueError, match=message):
            DistsyncConfig.from_node(cdk.App(context=bad).node)
