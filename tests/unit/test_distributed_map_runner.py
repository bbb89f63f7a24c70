"""The local runtime's chunked runner for Distributed Map state machines (distsync/local/distributed_map.py):
the CSV reader's rules, batching, paths, Retry/Catch/Choice, and the refusal of what it does not interpret. The
Lambda side is a fake here; tests/e2e/test_forecast_cycles.py runs it over the real workers."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from distsync.local.distributed_map import (
    ChunkedRunner,
    Machine,
    StatesError,
    UnsupportedDefinition,
    batches,
    check_supported,
    has_distributed_map,
    path_get,
    read_items,
    render,
)
from distsync.local.lambdas import InvokeError
from tests.conftest import ROOT

ASL = json.loads((ROOT / "state_machines" / "forecast_cycle.asl.json").read_text())


class FakeS3:
    def __init__(self, body: bytes):
        self.body, self.calls = body, []

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Body": io.BytesIO(self.body)}


def csv_reader(**config: Any) -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", **config},
            "Parameters": {"Bucket.$": "$.bucket", "Key": "k.csv"}}


def test_csv_rows_as_the_item_reader_gives_them() -> None:
    body = b'a,b,c\n1,2,3\n\n4,5\n6,7,8,9\n"x,y","multi\nline",z\n10,11,12'
    s3 = FakeS3(body)
    items = list(read_items(s3, csv_reader(), {"bucket": "bkt"}, {}))
    assert s3.calls == [{"Bucket": "bkt", "Key": "k.csv"}]
    assert items == [
        {"a": "1", "b": "2", "c": "3"},
        {"a": "4", "b": "5", "c": ""},  # short row: empty strings for the missing fields
        {"a": "6", "b": "7", "c": "8"},  # long row: the extra field is dropped
        {"a": "x,y", "b": "multi\nline", "c": "z"},  # quoted commas and newlines
        {"a": "10", "b": "11", "c": "12"},  # no final newline
    ]


def test_csv_given_headers_max_items_and_json_arrays() -> None:
    reader = csv_reader(CSVHeaderLocation="GIVEN", CSVHeaders=["p", "q"], MaxItems=2)
    assert list(read_items(FakeS3(b"1,2\n3,4\n5,6\n"), reader, {"bucket": "b"}, {})) == [
        {"p": "1", "q": "2"}, {"p": "3", "q": "4"}]
    json_reader = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                   "Parameters": {"Bucket": "b", "Key": "k"}}
    assert list(read_items(FakeS3(b'[{"n": 1}, {"n": 2}]'), json_reader, {}, {})) == [{"n": 1}, {"n": 2}]


def test_batches_by_count_and_by_bytes_with_batch_input() -> None:
    items = [{"n": i} for i in range(7)]
    out = list(batches(iter(items), {"MaxItemsPerBatch": 3}, {"cycle": "c"}))
    assert [len(b["Items"]) for b in out] == [3, 3, 1]
    assert all(b["BatchInput"] == {"cycle": "c"} for b in out)
    assert [i for b in out for i in b["Items"]] == items  # order and nothing lost
    big = [{"s": "x" * 100} for _ in range(10)]
    by_bytes = list(batches(iter(big), {"MaxItemsPerBatch": 100, "MaxInputBytesPerBatch": 400}, None))
    assert all(len(json.dumps(b)) <= 400 for b in by_bytes) and sum(len(b["Items"]) for b in by_bytes) == 10
    assert "BatchInput" not in by_bytes[0]
    assert list(batches(iter(items[:2]), None, None)) == items[:2]  # no batcher: one item per child


def test_paths_and_parameters() -> None:
    doc = {"a": {"b": [10, {"c": "x"}]}}
    ctx = {"Map": {"Item": {"Index": 4, "Value": {"v": 1}}}}
    assert path_get(doc, "$.a.b[1].c", ctx) == "x"
    assert path_get(doc, "$$.Map.Item.Index", ctx) == 4
    assert render({"i.$": "$$.Map.Item.Index", "row.$": "$$.Map.Item.Value", "k": {"x.$": "$.a.b[0]"}}, doc, ctx) == {
        "i": 4, "row": {"v": 1}, "k": {"x": 10}}
    with pytest.raises(StatesError, match="could not be found"):
        path_get(doc, "$.missing", ctx)


def run(definition: dict[str, Any], document: Any, invoke: Any, s3: Any = None) -> Any:
    runner = ChunkedRunner(s3, invoke, max_threads=2, max_retry_delay=0)
    return Machine(definition, runner).run(document, {"Execution": {"Name": "e1"}})


def test_the_cycle_state_machine_end_to_end_with_fake_functions() -> None:
    """The real ASL: prepare -> Distributed Map (batches of 2, ItemSelector index/row, BatchInput) -> summary."""
    definition = json.loads(json.dumps(ASL).replace('"${CycleChunkSize}"', "2").replace('"${CycleMaxConcurrency}"', "3"))
    calls: dict[str, list[Any]] = {"prepare": [], "chunk": [], "summary": []}

    def invoke(function: str, payload: Any) -> Any:
        name = function.removeprefix("${Cycle").removesuffix("FunctionArn}").lower()
        calls[name].append(payload)
        if name == "prepare":
            return {"bucket": payload["bucket"], "csvKey": "work/cycles/c1.csv", "startedAt": "2026-11-27T06:00:00Z"}
        if name == "chunk":
            return {"rowsRead": len(payload["Items"])}
        return {"status": "completed", "eventId": "ev-1"}

    s3 = FakeS3(b"itemId,locationId,safetyStock,reorderPoint\nA,L,1,2\nB,L,3,4\nC,L,5\n")
    out = run(definition, {"cycleId": "c1", "bucket": "bkt", "key": "cycles/c1.csv.gz"}, invoke, s3)
    assert s3.calls == [{"Bucket": "bkt", "Key": "work/cycles/c1.csv"}]
    assert calls["prepare"] == [{"cycleId": "c1", "bucket": "bkt", "key": "cycles/c1.csv.gz"}]
    chunks = sorted(calls["chunk"], key=lambda p: p["Items"][0]["index"])
    assert chunks == [
        {"Items": [{"index": 0, "row": {"itemId": "A", "locationId": "L", "safetyStock": "1", "reorderPoint": "2"}},
                   {"index": 1, "row": {"itemId": "B", "locationId": "L", "safetyStock": "3", "reorderPoint": "4"}}],
         "BatchInput": {"cycleId": "c1", "startedAt": "2026-11-27T06:00:00Z"}},
        {"Items": [{"index": 2, "row": {"itemId": "C", "locationId": "L", "safetyStock": "5", "reorderPoint": ""}}],
         "BatchInput": {"cycleId": "c1", "startedAt": "2026-11-27T06:00:00Z"}},
    ]
    (summary_input,) = calls["summary"]
    assert summary_input == {"cycleId": "c1", "bucket": "bkt", "key": "cycles/c1.csv.gz",
                             "prepared": {"bucket": "bkt", "csvKey": "work/cycles/c1.csv",
                                          "startedAt": "2026-11-27T06:00:00Z"}}  # the Map's results discarded
    assert out["summary"] == {"status": "completed", "eventId": "ev-1"}


def test_a_rejected_file_is_caught_summarized_and_the_execution_fails() -> None:
    summaries = []

    def invoke(function: str, payload: Any) -> Any:
        if "Prepare" in function:
            raise InvokeError(function, {"errorType": "CycleFileRejected", "errorMessage": "header: missing itemId"})
        summaries.append(payload)
        return {"status": "rejected", "eventId": "ev"}

    definition = json.loads(json.dumps(ASL).replace('"${CycleChunkSize}"', "2").replace('"${CycleMaxConcurrency}"', "3"))
    with pytest.raises(StatesError) as failed:
        run(definition, {"cycleId": "c1", "bucket": "b", "key": "cycles/c1.csv"}, invoke)
    assert failed.value.error == "ForecastCycleNotCompleted"
    (state,) = summaries  # CycleFileRejected is never retried (MaxAttempts 0) and goes to the summary
    assert state["error"]["Error"] == "CycleFileRejected"
    assert json.loads(state["error"]["Cause"])["errorMessage"] == "header: missing itemId"


def test_a_failing_chunk_is_retried_then_fails_the_map_which_is_summarized_as_failed() -> None:
    attempts: dict[int, int] = {}

    def invoke(function: str, payload: Any) -> Any:
        if "Prepare" in function:
            return {"bucket": "b", "csvKey": "cycles/c1.csv", "startedAt": "t"}
        if "Chunk" in function:
            first = payload["Items"][0]["index"]
            attempts[first] = attempts.get(first, 0) + 1
            if first == 2 and attempts[first] < 10:
                raise InvokeError(function, {"errorType": "PublishError", "errorMessage": "1 event(s) not accepted"})
            if first == 0 and attempts[first] == 1:  # transient: the retry succeeds
                raise InvokeError(function, {"errorType": "ClientError", "errorMessage": "throttled"})
            return {}
        return {"status": payload.get("error", {}).get("Error", "completed"), "eventId": "ev"}

    definition = json.loads(json.dumps(ASL).replace('"${CycleChunkSize}"', "2").replace('"${CycleMaxConcurrency}"', "1"))
    s3 = FakeS3(b"itemId,locationId,safetyStock,reorderPoint\n" + b"A,L,1,2\n" * 6)
    with pytest.raises(StatesError, match="ForecastCycleNotCompleted"):
        run(definition, {"cycleId": "c1", "bucket": "b", "key": "cycles/c1.csv"}, invoke, s3)
    assert attempts[0] == 2  # retried once, then fine
    assert attempts[2] == 5  # 1 + MaxAttempts 4, then the child execution failed


def test_only_distributed_maps_are_taken_and_unsupported_features_are_named() -> None:
    assert has_distributed_map(ASL)
    approval = json.loads((ROOT / "state_machines" / "replenishment_approval.asl.json").read_text())
    assert not has_distributed_map(approval)
    check_supported(ASL)
    parallel = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}}
    with pytest.raises(UnsupportedDefinition, match="P: state type Parallel"):
        check_supported(parallel)
    intrinsic = {"StartAt": "T", "States": {"T": {"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a)"},
                                                  "End": True}}}
    with pytest.raises(UnsupportedDefinition, match="intrinsic functions"):
        check_supported(intrinsic)
