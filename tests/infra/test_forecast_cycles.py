"""The forecast-cycle slice (infra/domains/forecast_cycles.py): the cycle file pipeline on the default bus,
the Distributed Map state machine as rendered from state_machines/forecast_cycle.asl.json, the cycle runs table,
the landing bucket's lifecycle for the plain copies, outputs, and the context keys flowing through."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from synth_support import PROD_CONTEXT, Synth

from infra.config import DistsyncConfig

pytestmark = pytest.mark.infra


def _definition(s: Synth) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the state machine's properties, its definition with each Fn::GetAtt rendered as "<LogicalId.Attr>")."""
    props = s.props(s.logical_id(s.stack.slices["forecast_cycles"].state_machine))
    text = "".join(
        part if isinstance(part, str) else "<{}.{}>".format(*part["Fn::GetAtt"])
        for part in props["DefinitionString"]["Fn::Join"][1]
    )
    return props, json.loads(text)


def _env(s: Synth, folder: str) -> dict[str, Any]:
    return s.props(s.function_ids[folder])["Environment"]["Variables"]


def test_the_state_machine_is_a_distributed_map_over_the_cycle_csv(dev: Synth) -> None:
    props, definition = _definition(dev)
    assert props["StateMachineName"] == "distsync-dev-forecast-cycle"
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL" and props["TracingConfiguration"] == {"Enabled": True}
    states = definition["States"]
    assert definition["StartAt"] == "PrepareCycleFile"
    arn = {folder: f"<{dev.function_ids[folder]}.Arn>" for folder in ("cycle_prepare", "cycle_chunk", "cycle_summary")}
    assert states["PrepareCycleFile"]["Parameters"]["FunctionName"] == arn["cycle_prepare"]
    assert states["SummarizeCycle"]["Parameters"]["FunctionName"] == arn["cycle_summary"]

    mapped = states["ProcessCycleRows"]
    assert mapped["Type"] == "Map"
    assert mapped["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert mapped["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        "Parameters": {"Bucket.$": "$.prepared.bucket", "Key.$": "$.prepared.csvKey"},
    }
    assert mapped["ItemSelector"] == {"index.$": "$$.Map.Item.Index", "row.$": "$$.Map.Item.Value"}
    assert mapped["ItemBatcher"]["MaxItemsPerBatch"] == 500  # cdk.json cycleChunkSize
    assert mapped["ItemBatcher"]["MaxInputBytesPerBatch"] == 262144
    assert mapped["ItemBatcher"]["BatchInput"] == {"cycleId.$": "$.cycleId", "startedAt.$": "$.prepared.startedAt"}
    assert mapped["MaxConcurrency"] == 10  # cdk.json cycleMaxConcurrency
    assert mapped["ToleratedFailurePercentage"] == 0
    assert mapped["ResultPath"] is None  # the summary reads the totals, never the Map's results
    (task,) = mapped["ItemProcessor"]["States"].values()
    assert task["Parameters"]["FunctionName"] == arn["cycle_chunk"]
    assert task["Retry"][0]["ErrorEquals"] == ["States.ALL"]
    # a rejected file and a failed Map are summarized before the execution fails
    for name in ("PrepareCycleFile", "ProcessCycleRows"):
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": "SummarizeCycle"}]
    assert states["PrepareCycleFile"]["Retry"][0] == {"ErrorEquals": ["CycleFileRejected"], "MaxAttempts": 0}
    assert states["CycleCompleted"]["Default"] == "CycleNotCompleted"
    assert states["CycleNotCompleted"]["Type"] == "Fail"


def test_the_cycle_file_pipeline_listens_to_the_landing_bucket_on_the_default_bus(dev: Synth) -> None:
    pipeline = dev.stack.platform.pipelines["CycleFilePipeline"]
    queue_id = dev.logical_id(pipeline.queue)
    (rule,) = [r["Properties"] for r in dev.of_type("AWS::Events::Rule").values()
               if {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}, "Id": "Target0"} in r["Properties"]["Targets"]]
    assert rule["EventBusName"] == "default"  # S3 sends to the account's default bus only
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": dev.logical_id(dev.stack.platform.landing.bucket)}]},
                   "object": {"key": [{"prefix": "cycles/"}]}},
    }
    (mapping,) = [m["Properties"] for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}]
    assert mapping["FunctionName"] == {"Ref": dev.function_ids["cycle_starter"]}
    assert (mapping["BatchSize"], mapping["FunctionResponseTypes"]) == (10, ["ReportBatchItemFailures"])
    assert dev.props(queue_id)["RedrivePolicy"]["maxReceiveCount"] == 3
    assert _env(dev, "cycle_starter")["CYCLE_STATE_MACHINE_ARN"] == {
        "Ref": dev.logical_id(dev.stack.slices["forecast_cycles"].state_machine)}
    # the bucket sends its events to EventBridge (FileLanding); the rejected and work copies never match
    bucket = dev.props(dev.logical_id(dev.stack.platform.landing.bucket))
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_plain_copies_expire_and_the_runs_table_is_keyed_per_cycle(dev: Synth) -> None:
    bucket = dev.props(dev.logical_id(dev.stack.platform.landing.bucket))
    assert {"ExpirationInDays": 7, "Id": "expire-cycle-work-copies", "Prefix": "work/cycles/",
            "Status": "Enabled"} in bucket["LifecycleConfiguration"]["Rules"]
    runs = dev.props(dev.table_ids["cycle_runs"])
    assert [(k["AttributeName"], k["KeyType"]) for k in runs["KeySchema"]] == [("cycleId", "HASH"), ("sk", "RANGE")]
    assert runs["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    outputs = dev.tpl["Outputs"]
    assert outputs["CycleStateMachineArn"]["Value"] == {"Ref": dev.logical_id(dev.stack.slices["forecast_cycles"].state_machine)}
    assert outputs["CycleRunsTableName"]["Value"] == {"Ref": dev.table_ids["cycle_runs"]}


def test_cycle_context_flows_into_the_map_and_the_functions(dev: Synth, prod: Synth) -> None:
    assert (_env(dev, "cycle_chunk")["CYCLE_TOLERANCE_PERCENT"], _env(dev, "cycle_chunk")["APPROVAL_THRESHOLD_PERCENT"]) \
        == ("2.0", "20")
    _, definition = _definition(prod)
    mapped = definition["States"]["ProcessCycleRows"]
    assert mapped["ItemBatcher"]["MaxItemsPerBatch"] == int(PROD_CONTEXT["cycleChunkSize"])
    assert mapped["MaxConcurrency"] == int(PROD_CONTEXT["cycleMaxConcurrency"])
    for folder in ("cycle_chunk", "cycle_summary"):
        assert _env(prod, folder)["CYCLE_TOLERANCE_PERCENT"] == "1.5", folder
    # the cycle file limits (cdk.json defaults)
    assert (_env(dev, "cycle_prepare")["CYCLE_MAX_UNZIPPED_BYTES"], _env(dev, "cycle_prepare")["CYCLE_MAX_ROWS"]) \
        == ("1073741824", "10000000")
    assert _env(prod, "cycle_chunk")["APPROVAL_THRESHOLD_PERCENT"] == PROD_CONTEXT["approvalThresholdPercent"]
    assert prod.props(prod.logical_id(prod.stack.slices["forecast_cycles"].state_machine))["StateMachineName"] == (
        "distsync-prod-forecast-cycle")
    assert prod.resources[prod.table_ids["cycle_runs"]]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("bad", [
    {"cycleTolerancePercent": "20"},  # not below approvalThresholdPercent (20)
    {"cycleTolerancePercent": "0"},
    {"cycleChunkSize": "0"},
    {"cycleChunkSize": "1001"},  # a batch would not fit the 256 KB a Distributed Map passes
    {"cycleMaxConcurrency": "10001"},
    {"cycleMaxConcurrency": "many"},
])
def test_invalid_cycle_context_fails_synth_early(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        DistsyncConfig.from_node(cdk.App(context=bad).node)
