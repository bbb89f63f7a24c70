"""The parameter drift slice (infra/domains/drift.py): the daily schedule and its invoke-only role, the
function's grants (the ledger's business key index, not the table; the report prefix, not the bucket), the
dashboard with a metric per class, the outputs; the local runtime runs it without the schedule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synth, as_list

pytestmark = pytest.mark.infra


def _schedule(s: Synth) -> tuple[str, dict[str, Any]]:
    (schedule_id,) = [lid for lid, r in s.of_type("AWS::Scheduler::Schedule").items()
                      if r["Properties"]["Name"].endswith("-parameter-drift")]
    return schedule_id, s.props(schedule_id)


def _fn_arn(s: Synth) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.function_ids["parameter_drift"], "Arn"]}


def test_the_schedule_runs_the_drift_daily_with_an_invoke_only_role(dev: Synth) -> None:
    _, p = _schedule(dev)
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(0 6 * * ? *)", "UTC")
    assert p["Target"]["Arn"] == _fn_arn(dev) and json.loads(p["Target"]["Input"])["trigger"] == "schedule"
    assert "fix" not in json.loads(p["Target"]["Input"])  # the daily run reports; corrections are asked for
    role_id = p["Target"]["RoleArn"]["Fn::GetAtt"][0]
    (trust,) = dev.props(role_id)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1][-1] == (
        ":schedule/default/distsync-dev-parameter-drift")
    assert dev.role_statements(role_id) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _fn_arn(dev)}]


def test_the_schedule_comes_from_context_and_a_bad_one_fails_synth(prod: Synth) -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    assert _schedule(prod)[1]["ScheduleExpression"] == "cron(15 7 ? * MON-FRI *)"  # synth_support.PROD_CONTEXT
    with pytest.raises(ValueError, match="parameterDriftSchedule"):
        DistsyncConfig.from_node(cdk.App(context={"parameterDriftSchedule": "at(2026-12-24T06:00:00)"}).node)


def test_the_ledger_is_read_through_its_business_key_index_only(dev: Synth) -> None:
    trace = dev.logical_id(dev.stack.platform.tables.trace)
    queries = [s["Resource"] for s in dev.function_statements("parameter_drift")
               if "dynamodb:Query" in as_list(s["Action"])]
    assert queries == [{"Fn::Join": ["", [{"Fn::GetAtt": [trace, "Arn"]}, "/index/byBusinessKey"]]}]


def test_the_dashboard_charts_a_metric_per_class_and_the_outputs_name_the_function(dev: Synth) -> None:
    from distsync.local.moto_backend import fix_template

    body = json.dumps(dev.props(dev.logical_id(dev.stack.observability.dashboards["drift"]))["DashboardBody"])
    for metric in ("DriftChangedByHand", "DriftAppliedButLost", "DriftNeverApplied", "DriftInSync"):
        assert metric in body
    schedule_id, _ = _schedule(dev)
    outputs = dev.tpl["Outputs"]
    assert outputs["ParameterDriftFunctionName"]["Value"] == {"Ref": dev.function_ids["parameter_drift"]}
    fixed = fix_template(dev.tpl)
    assert schedule_id not in fixed["Resources"] and "ParameterDriftFunctionName" in fixed["Outputs"]
