"""The inventory accuracy part of the inventory slice (infra/domains/inventory.py): the daily schedule and its
invoke-only role, the function's settings from context, the alarm below the target, the dashboard, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra


def _schedule(s: Synth) -> tuple[str, dict[str, Any]]:
    (schedule_id,) = [lid for lid, r in s.of_type("AWS::Scheduler::Schedule").items()
                      if r["Properties"]["Name"].endswith("-inventory-accuracy")]
    return schedule_id, s.props(schedule_id)


def _fn_arn(s: Synth) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.function_ids["inventory_accuracy"], "Arn"]}


def _alarm(s: Synth, stage: str) -> dict[str, Any]:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in s.of_type("AWS::CloudWatch::Alarm").values()}
    return alarms[f"distsync-{stage}-inventory-accuracy"]


def test_the_schedule_runs_the_accuracy_daily_with_an_invoke_only_role(dev: Synth) -> None:
    _, p = _schedule(dev)
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(30 5 * * ? *)", "UTC")
    assert p["Target"]["Arn"] == _fn_arn(dev) and json.loads(p["Target"]["Input"])["trigger"] == "schedule"
    role_id = p["Target"]["RoleArn"]["Fn::GetAtt"][0]
    (trust,) = dev.props(role_id)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1][-1] == (
        ":schedule/default/distsync-dev-inventory-accuracy")
    assert dev.role_statements(role_id) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _fn_arn(dev)}]


def test_defaults_tolerances_and_the_alarm_below_the_target(dev: Synth) -> None:
    env = dev.props(dev.function_ids["inventory_accuracy"])["Environment"]["Variables"]
    assert (env["ACCURACY_AS_OF_TOLERANCE_MINUTES"], env["ACCURACY_QUANTITY_TOLERANCE"],
            env["ACCURACY_QUANTITY_TOLERANCE_PERCENT"], env["ACCURACY_TARGET_PERCENT"]) == ("15", "0.0", "0.0", "98.0")
    p = _alarm(dev, "dev")
    assert (p["Namespace"], p["MetricName"], p["Statistic"], p["Period"]) == (
        "Distsync", "InventoryAccuracyPercent", "Minimum", 3600)
    assert (p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"]) == (98, "LessThanThreshold", "notBreaching")
    assert p["AlarmActions"] == [{"Ref": dev.logical_id(dev.stack.node.find_child("Alarms").topic)}]
    body = json.dumps(dev.props(dev.logical_id(dev.stack.observability.dashboards["inventory"]))["DashboardBody"])
    assert "alarm:distsync-dev-inventory-accuracy" in body and "InventoryAccuracyPercent" in body


def test_schedule_tolerances_and_target_come_from_context(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT
    _, p = _schedule(prod)
    assert p["ScheduleExpression"] == "cron(0 7 * * ? *)"
    env = prod.props(prod.function_ids["inventory_accuracy"])["Environment"]["Variables"]
    assert (env["ACCURACY_AS_OF_TOLERANCE_MINUTES"], env["ACCURACY_QUANTITY_TOLERANCE"],
            env["ACCURACY_QUANTITY_TOLERANCE_PERCENT"], env["ACCURACY_TARGET_PERCENT"]) == ("30", "1.0", "0.5", "99.5")
    assert _alarm(prod, "prod")["Threshold"] == 99.5


@pytest.mark.parametrize("bad", [
    {"inventoryAccuracySchedule": "every morning"},
    {"inventoryAccuracyQuantityTolerancePercent": "101"},
    {"inventoryAccuracyQuantityTolerance": "-1"},
    {"inventoryAccuracyTargetPercent": "0"},
    {"inventoryAccuracyTargetPercent": "100.5"},
])
def test_invalid_accuracy_context_fails_synth_early(bad: dict[str, str]) -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    with pytest.raises(ValueError, match="inventory[Aa]ccuracy|inventory_accuracy"):
        DistsyncConfig.from_node(cdk.App(context=bad).node)


def test_outputs_name_the_function_and_the_local_runtime_runs_it_without_the_schedule(dev: Synth) -> None:
    from distsync.local.moto_backend import fix_template

    schedule_id, _ = _schedule(dev)
    outputs = dev.tpl["Outputs"]
    assert outputs["InventoryAccuracyFunctionName"]["Value"] == {"Ref": dev.function_ids["inventory_accuracy"]}
    assert outputs["InventoryAccuracyScheduleName"]["Value"] == {"Ref": schedule_id}
    fixed = fix_template(dev.tpl)
    assert schedule_id not in fixed["Resources"] and "InventoryAccuracyScheduleName" not in fixed["Outputs"]
    assert "InventoryAccuracyFunctionName" in fixed["Outputs"]
