"""The reconciliation slice (infra/domains/finance.py): the EventBridge Scheduler schedule from
context, its invoke-only role, the mismatch alarm, the postings table and its index, the outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra


def _schedule(s: Synth) -> tuple[str, dict[str, Any]]:
    (schedule_id,) = [lid for lid, r in s.of_type("AWS::Scheduler::Schedule").items()
                      if r["Properties"]["Name"].endswith("-reconciliation")]
    return schedule_id, s.props(schedule_id)


def _fn_arn(s: Synth, folder: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.function_ids[folder], "Arn"]}


def test_the_schedule_runs_the_reconciliation_daily_by_default(dev: Synth) -> None:
    _, p = _schedule(dev)
    assert p["Name"] == "distsync-dev-reconciliation"
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(30 2 * * ? *)", "UTC")
    assert p["FlexibleTimeWindow"] == {"Mode": "OFF"} and p["State"] == "ENABLED"
    target = p["Target"]
    assert target["Arn"] == _fn_arn(dev, "reconciliation")
    # the scheduled time travels with the invocation: "yesterday" is counted from it, not from a late retry
    assert json.loads(target["Input"]) == {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    env = dev.props(dev.function_ids["reconciliation"])["Environment"]["Variables"]
    assert env["RECONCILIATION_TIME_ZONE"] == "UTC"


def test_schedule_expression_and_time_zone_come_from_context(prod: Synth) -> None:
    # synth_support.PROD_CONTEXT
    _, p = _schedule(prod)
    assert p["Name"] == "distsync-prod-reconciliation"
    assert (p["ScheduleExpression"], p["ScheduleExpressionTimezone"]) == ("cron(0 6 ? * MON-FRI *)", "Europe/Berlin")
    # the function counts "yesterday" in the schedule's time zone
    env = prod.props(prod.function_ids["reconciliation"])["Environment"]["Variables"]
    assert env["RECONCILIATION_TIME_ZONE"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "bad",
    [
        {"reconciliationSchedule": "at(2026-01-01T00:00:00)"},  # one-off, not recurring
        {"reconciliationSchedule": "every day"},
        {"reconciliationSchedule": "rate(0 days)"},
        {"reconciliationTimeZone": "Mars/Olympus_Mons"},
        {"reconciliationTimeZone": "/etc/localtime"},
    ],
)
def test_invalid_schedule_context_fails_synth_early(bad: dict[str, str]) -> None:
    import aws_cdk as cdk

    from infra.config import DistsyncConfig

    with pytest.raises(ValueError, match="reconciliation"):
        DistsyncConfig.from_node(cdk.App(context=bad).node)


def test_the_schedule_role_may_only_invoke_the_reconciliation_function(dev: Synth) -> None:
    _, p = _schedule(dev)
    role_id = p["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = dev.props(role_id)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    # confused deputy: only this account's schedule of this name
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = trust["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1]
    assert source_arn[-1] == ":schedule/default/distsync-dev-reconciliation"
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    assert dev.role_statements(role_id) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _fn_arn(dev, "reconciliation")}
    ]
    # no other role (and no resource policy) lets anything invoke the reconciliation function
    assert not [
        perm for perm in dev.of_type("AWS::Lambda::Permission").values()
        if perm["Properties"]["FunctionName"] in (_fn_arn(dev, "reconciliation"),
                                                  {"Ref": dev.function_ids["reconciliation"]})
    ]


def test_an_alarm_fires_when_a_reconciliation_has_mismatches(dev: Synth) -> None:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in dev.of_type("AWS::CloudWatch::Alarm").values()}
    p = alarms["distsync-dev-reconciliation-mismatches"]
    assert (p["Namespace"], p["MetricName"]) == ("Distsync", "ReconciliationMismatches")
    assert p["Dimensions"] == [{"Name": "service", "Value": "distsync"}]
    assert (p["Statistic"], p["Period"], p["Threshold"]) == ("Maximum", 3600, 0)
    assert p["ComparisonOperator"] == "GreaterThanThreshold"
    assert (p["EvaluationPeriods"], p["DatapointsToAlarm"], p["TreatMissingData"]) == (1, 1, "notBreaching")
    assert p["AlarmActions"] == [{"Ref": dev.logical_id(dev.stack.node.find_child("Alarms").topic)}]
    # on the finance dashboard and the overview, by name
    names = dev.stack.observability.alarm_names
    assert names["alarm:distsync-dev-reconciliation-mismatches"] == "distsync-dev-reconciliation-mismatches"
    for key in ("finance", "overview"):
        body = json.dumps(dev.props(dev.logical_id(dev.stack.observability.dashboards[key]))["DashboardBody"])
        assert "alarm:distsync-dev-reconciliation-mismatches" in body, key


def test_postings_table_is_keyed_by_posting_id_and_queryable_by_period(dev: Synth) -> None:
    p = dev.props(dev.table_ids["postings"])
    assert p["KeySchema"] == [{"AttributeName": "postingId", "KeyType": "HASH"}]
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byPeriod"
    assert index["KeySchema"] == [
        {"AttributeName": "period", "KeyType": "HASH"},
        {"AttributeName": "postingId", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_postings_reach_the_recorder_through_their_pipeline(dev: Synth) -> None:
    pipeline = dev.stack.platform.pipelines["PostingRecorderPipeline"]
    queue_id = dev.logical_id(pipeline.queue)
    rules = [r["Properties"] for r in dev.of_type("AWS::Events::Rule").values()
             if any(t["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for t in r["Properties"].get("Targets", []))]
    assert [r["EventPattern"] for r in rules] == [
        {"source": ["distsync.finance"], "detail-type": ["FinancialPostingRecorded"]}
    ]
    assert pipeline.function is dev.stack.platform.functions["posting_recorder"]


def test_outputs_name_the_table_function_and_schedule(dev: Synth) -> None:
    outputs = dev.tpl["Outputs"]
    assert outputs["PostingsTableName"]["Value"] == {"Ref": dev.table_ids["postings"]}
    assert outputs["ReconciliationFunctionName"]["Value"] == {"Ref": dev.function_ids["reconciliation"]}
    schedule_id, _ = _schedule(dev)
    assert outputs["ReconciliationScheduleName"]["Value"] == {"Ref": schedule_id}


def test_the_local_runtime_leaves_the_schedule_out_of_the_moto_deployment(dev: Synth) -> None:
    from distsync.local.moto_backend import fix_template

    schedule_id, _ = _schedule(dev)
    fixed = fix_template(dev.tpl)
    assert schedule_id not in fixed["Resources"]
    assert "ReconciliationScheduleName" not in fixed["Outputs"]
    assert dev.function_ids["reconciliation"] in fixed["Resources"]  # the function runs, on demand
    assert "ReconciliationFunctionName" in fixed["Outputs"]
