"""A whole planning cycle through the bulk path, on this machine: rows per second, memory, events, AWS requests.

What runs (in-process, against moto, no Lambda emulation in between):
  1. a generated cycle file of N rows (default 1,000,000; ``itemId,locationId,safetyStock,reorderPoint``), put
     into the landing bucket, gzip by default (``--plain`` for a plain CSV);
  2. ``cycle_prepare``: the gzip file streamed into its plain copy (multipart upload);
  3. the Distributed Map's part, as the local runtime's chunked runner does it (distsync/local/distributed_map.py):
     the copy streamed row by row from S3, ``ItemSelector`` (index, row), ``ItemBatcher`` of ``--chunk`` rows with
     the ``BatchInput``; every batch to ``cycle_chunk``'s real handler, one after another on one core;
  4. ``cycle_summary``: ForecastCycleCompleted from the totals, checked against what was generated.

The mix of rows (``--mix``): unchanged (equal or within the 2 % tolerance), material changes up to the 20 %
threshold, material changes above it (a planner decides), item-locations unknown to master data, malformed rows.

The AWS side: moto, except for the chunk handler's high-volume calls, which in-memory stand-ins answer at
botocore's ``before-call`` (after the request is built and serialized, as on AWS), because moto's cost there
would be what the run measures: ``BatchGetItem`` on master data (moto spends ~0.9 s serializing each 100-item
response), ``BatchWriteItem`` of the trace hops, ``PutEvents``, and ``TransactWriteItems`` (moto deep-copies
every table a transaction touches, for its rollback: O(table) per call, so a cycle would slow down batch by
batch); the stand-in keeps the chunk markers (the ``attribute_not_exists`` condition) and forwards the ``ADD``
to the totals to moto's table as an ``UpdateItem``, so the summary reads totals moto added up. The stand-ins
enforce the service limits (100 keys, 25 items, 10 entries of at most 256 KB, 100 actions) and answer like
the services (no unprocessed keys, no failed entries); master data for every known item-location is loaded
into the stand-in before the run (on AWS it is in the table already). The run record (``UpdateItem``) and S3
go to moto. ``--moto-only`` sends everything to moto (slow; for checking the request counts on a small file).

Every botocore call is counted per stage and operation (a ``before-call`` hook on the default session, which
every client the layer creates uses; the stand-ins count the calls they answer). Printed: wall time and rows per second (overall, the chunk handler
alone, the reader/batcher alone), per-batch handler time p50/p95, peak memory (the process' max RSS, moto's
tables included, and tracemalloc's peak during sampled batches: what a chunk invocation allocates, moto's
server side of its calls included), events emitted, AWS requests per 1,000 rows by operation.

Usage: python bench/forecast_cycle.py [--rows N] [--chunk 500] [--plain] [--samples 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import gzip
import io
import json
import math
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
warnings.filterwarnings("ignore", "No application metrics to publish")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

import tests.conftest as tc  # noqa: E402  (test credentials + region, the layer on sys.path)
from distsync.local.distributed_map import batches, read_items, render  # noqa: E402
from distsync_core.platform.aws import reset_clients  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET, BUS = "landing", "distsync-bench"
TABLES = {"masterdata": [("pk", "HASH")], "trace": [("correlationId", "HASH"), ("sk", "RANGE")],
          "cycle-runs": [("cycleId", "HASH"), ("sk", "RANGE")]}
ASL = json.loads((ROOT / "state_machines" / "forecast_cycle.asl.json").read_text())
MAP = ASL["States"]["ProcessCycleRows"]
DEFAULT_MIX = "unchanged=0.80,direct=0.12,approval=0.03,unknown=0.03,malformed=0.02"
SS, ROP = 100, 200
ROW_VALUES = {  # kind -> (safety stock, reorder point) against SS/ROP
    "unchanged": [(SS, ROP), (101, 201), (102, 200)],  # equal, 1 %, exactly the 2 % tolerance
    "direct": [(110, 220), (120, 200), (95, 190)],  # 10 %, 20 % (the threshold itself), -5 %
    "approval": [(150, 300), (40, 200)],  # 50 %, -60 %
}
MALFORMED = [("{item}", "DC-001", "abc", "20"), ("{item}", "DC-001", "-1", "2"), ("", "DC-001", "1", "2"),
             ("{item}", "DC-001", "", "")]


class Calls:
    """botocore calls by stage and operation; with stand-ins, the high-volume calls answered in memory."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.by_stage: dict[str, Counter[str]] = {}
        self.masterdata: dict[str, tuple[str, str]] = {}  # pk -> (item, location), when standing in
        self.markers: set[tuple[str, str, str]] = set()  # (table, cycleId, sk) of the chunk markers
        self.stand_in = False
        self.forwarding = False  # a stand-in's own call to moto (not counted again)
        self.entries = 0  # PutEvents entries answered
        self.hops = 0  # trace items written

    def count(self, name: str) -> None:
        if self.stage:
            self.by_stage.setdefault(self.stage, Counter())[name] += 1

    def hook(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        if self.forwarding:
            return None
        self.count(model.name)
        if not self.stand_in or model.name not in {"BatchGetItem", "BatchWriteItem", "PutEvents", "TransactWriteItems"}:
            return None  # to moto
        from botocore.awsrequest import AWSResponse

        body = json.loads(params["body"])
        if model.name == "TransactWriteItems":
            return self._transact(body["TransactItems"])
        if model.name == "BatchGetItem":
            ((table, request),) = body["RequestItems"].items()
            assert table == "masterdata" and len(request["Keys"]) <= 100, (table, len(request["Keys"]))
            found = [_wire_record(*self.masterdata[k["pk"]["S"]]) for k in request["Keys"]
                     if k["pk"]["S"] in self.masterdata]
            parsed: dict[str, Any] = {"Responses": {table: found}, "UnprocessedKeys": {}}
        elif model.name == "BatchWriteItem":
            ((table, writes),) = body["RequestItems"].items()
            assert table == "trace" and len(writes) <= 25, (table, len(writes))
            self.hops += len(writes)
            parsed = {"UnprocessedItems": {}}
        else:
            entries = body["Entries"]
            assert len(entries) <= 10 and all(len(e["Detail"]) <= 256 * 1024 for e in entries)
            self.entries += len(entries)
            parsed = {"FailedEntryCount": 0, "Entries": [{"EventId": f"ev-{self.entries}-{i}"} for i in range(len(entries))]}
        return AWSResponse("https://stand-in", 200, {}, None), parsed

    def _transact(self, actions: list[dict[str, Any]]) -> Any:
        """Conditional puts of chunk markers (kept here) + updates (forwarded to moto), all or nothing."""
        from botocore.awsrequest import AWSResponse

        assert len(actions) <= 100
        reasons, markers = [], []
        for action in actions:
            ((kind, op),) = action.items()
            if kind == "Put":
                assert op.get("ConditionExpression") == "attribute_not_exists(sk)", op
                marker = (op["TableName"], op["Item"]["cycleId"]["S"], op["Item"]["sk"]["S"])
                reasons.append({"Code": "ConditionalCheckFailed" if marker in self.markers else "None"})
                markers.append(marker)
            else:
                assert kind == "Update", kind
                reasons.append({"Code": "None"})
        if any(r["Code"] != "None" for r in reasons):
            parsed = {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                      "CancellationReasons": reasons, "ResponseMetadata": {"HTTPStatusCode": 400}}
            return AWSResponse("https://stand-in", 400, {}, None), parsed
        self.markers.update(markers)
        self.forwarding = True
        try:
            for action in actions:
                if "Update" in action:
                    boto3.client("dynamodb").update_item(**action["Update"])
        finally:
            self.forwarding = False
        return AWSResponse("https://stand-in", 200, {}, None), {}


    @contextlib.contextmanager
    def counting(self, stage: str):
        previous, self.stage = self.stage, stage
        try:
            yield
        finally:
            self.stage = previous


CALLS = Calls()


def _wire_record(item: str, location: str) -> dict[str, Any]:
    return {"pk": {"S": f"ITEMLOC#{item}#{location}"}, "itemId": {"S": item}, "locationId": {"S": location},
            "unitOfMeasure": {"S": "EA"}, "safetyStock": {"N": str(SS)}, "reorderPoint": {"N": str(ROP)},
            "supplierId": {"S": "SUP-1"}, "leadTimeDays": {"N": "7"}, "entity": {"S": "ItemLocation"}}


def parse_mix(text: str) -> dict[str, float]:
    mix = {k: float(v) for k, v in (part.split("=") for part in text.split(","))}
    if abs(sum(mix.values()) - 1) > 1e-9 or set(mix) - {"unchanged", "direct", "approval", "unknown", "malformed"}:
        raise SystemExit(f"--mix must give fractions of unchanged/direct/approval/unknown/malformed summing to 1: {text}")
    return mix


def generate(rows: int, mix: dict[str, float], path: Path, gz: bool) -> tuple[list[str], Counter[str]]:
    """The cycle file, and the item ids master data must know (known rows first, then shuffled kinds)."""
    rng = random.Random(48)
    kinds = [k for k, share in mix.items() for _ in range(round(share * rows))]
    kinds = (kinds + ["unchanged"] * rows)[:rows]
    rng.shuffle(kinds)
    expected: Counter[str] = Counter(kinds)
    known: list[str] = []
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("itemId", "locationId", "safetyStock", "reorderPoint"))
        for n, kind in enumerate(kinds):
            item = f"SKU-{n:07d}"
            if kind == "malformed":
                writer.writerow([v.replace("{item}", item) for v in MALFORMED[n % len(MALFORMED)]])
            elif kind == "unknown":
                writer.writerow((item, "DC-999", 5, 10))
            else:
                known.append(item)
                ss, rop = ROW_VALUES[kind][n % len(ROW_VALUES[kind])]
                writer.writerow((item, "DC-001", ss, rop))
    return known, expected


def setup_aws() -> None:
    ddb = boto3.client("dynamodb")
    for name, keys in TABLES.items():
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
                         AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys])
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("events").create_event_bus(Name=BUS)
    os.environ.update({
        "MASTERDATA_TABLE_NAME": "masterdata", "TRACE_TABLE_NAME": "trace", "CYCLE_RUNS_TABLE_NAME": "cycle-runs",
        "LANDING_BUCKET_NAME": BUCKET, "EVENT_BUS_NAME": BUS, "CYCLE_TOLERANCE_PERCENT": "2",
        "APPROVAL_THRESHOLD_PERCENT": "20",
    })


def seed_master_data(items: list[str], moto_only: bool) -> None:
    """The state the cycle compares against (not part of the measured path): into the stand-in, or moto's table."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[ACCOUNT][REGION].get_table("masterdata")
    for item in items:
        if moto_only:
            table.put_item(_wire_record(item, "DC-001"))
        else:
            CALLS.masterdata[f"ITEMLOC#{item}#DC-001"] = (item, "DC-001")
    gc.collect()
    gc.freeze()  # the loaded state is permanent: keep the collector from walking it after every batch


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(args: argparse.Namespace) -> dict[str, Any]:
    mix = parse_mix(args.mix)
    cycle_id = "bench-w48"
    key = f"cycles/{cycle_id}.csv" + ("" if args.plain else ".gz")
    report: dict[str, Any] = {"rows": args.rows, "chunk": args.chunk, "gzip": not args.plain, "mix": mix,
                              "standIns": not args.moto_only}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cycle.csv"
        t0 = time.perf_counter()
        known, expected = generate(args.rows, mix, path, gz=not args.plain)
        report["generateSeconds"] = round(time.perf_counter() - t0, 1)
        report["fileMiB"] = round(path.stat().st_size / 2**20, 1)
        print(f"generated {args.rows:,} rows ({report['fileMiB']} MiB{' gzip' if not args.plain else ''}) "
              f"in {report['generateSeconds']} s: {dict(expected)}", flush=True)

        with mock_aws():
            reset_clients()
            boto3.DEFAULT_SESSION = None
            boto3._get_default_session().events.register("before-call.*.*", CALLS.hook)
            setup_aws()
            t0 = time.perf_counter()
            seed_master_data(known, args.moto_only)
            CALLS.stand_in = not args.moto_only
            report["seedSeconds"] = round(time.perf_counter() - t0, 1)
            boto3.client("s3").upload_file(str(path), BUCKET, key)
            report["rssAfterSeedMiB"] = round(rss_mib())
            print(f"master data for {len(known):,} item-locations loaded: {report['seedSeconds']} s; "
                  f"max RSS {report['rssAfterSeedMiB']} MiB", flush=True)
            handlers = {name: tc.load_handler(name) for name in ("cycle_prepare", "cycle_chunk", "cycle_summary")}
            context = {name: tc.FakeLambdaContext(name) for name in handlers}
            state: dict[str, Any] = {"cycleId": cycle_id, "bucket": BUCKET, "key": key}

            started = time.perf_counter()
            with CALLS.counting("prepare"):
                t0 = time.perf_counter()
                state["prepared"] = handlers["cycle_prepare"].lambda_handler(dict(state), context["cycle_prepare"])
                report["prepareSeconds"] = round(time.perf_counter() - t0, 1)
            if state["prepared"].get("plainBytes"):
                report["plainMiB"] = round(state["prepared"]["plainBytes"] / 2**20, 1)
            print(f"prepare: {report['prepareSeconds']} s -> {state['prepared']['csvKey']}", flush=True)

            s3 = boto3.client("s3")
            reader_seconds, handler_times, samples = 0.0, [], []
            sampled_times: list[float] = []  # batches run under tracemalloc (slower): out of the timings
            every = max(1, math.ceil(args.rows / args.chunk / max(1, args.samples)))
            batch_input = render(MAP["ItemBatcher"]["BatchInput"], state, {})
            with CALLS.counting("itemReader"):
                items = read_items(s3, MAP["ItemReader"], state, {})

                def selected():
                    for index, value in enumerate(items):
                        yield render(MAP["ItemSelector"], state, {"Map": {"Item": {"Index": index, "Value": value}}})

                stream = batches(selected(), {**MAP["ItemBatcher"], "MaxItemsPerBatch": args.chunk}, batch_input)
                totals: Counter[str] = Counter()
                while True:
                    t0 = time.perf_counter()
                    batch = next(stream, None)
                    reader_seconds += time.perf_counter() - t0
                    if batch is None:
                        break
                    sample = args.samples > 0 and (len(handler_times) + len(sampled_times)) % every == 0
                    if sample:
                        tracemalloc.start()
                    with CALLS.counting("chunk"), contextlib.redirect_stdout(io.StringIO()):
                        t0 = time.perf_counter()
                        out = handlers["cycle_chunk"].lambda_handler(batch, context["cycle_chunk"])
                        (sampled_times if sample else handler_times).append(time.perf_counter() - t0)
                    if sample:
                        samples.append(tracemalloc.get_traced_memory()[1])
                        tracemalloc.stop()
                    totals.update({k: v for k, v in out.items() if isinstance(v, int) and not isinstance(v, bool)})
                    if (len(handler_times) + len(sampled_times)) % 200 == 0:
                        done = totals["rowsRead"]
                        print(f"  {done:,} rows, {done / (time.perf_counter() - started):,.0f} rows/s", flush=True)
            with CALLS.counting("summary"), contextlib.redirect_stdout(io.StringIO()):
                summary = handlers["cycle_summary"].lambda_handler(dict(state), context["cycle_summary"])
            wall = time.perf_counter() - started
            reset_clients()

    changed = expected["direct"] + expected["approval"]
    want = {"rows_read": args.rows, "changed": changed, "unchanged": expected["unchanged"],
            "rejected": expected["unknown"] + expected["malformed"], "approvals_required": expected["approval"],
            "events_emitted": changed}
    camel = {"rows_read": "rowsRead", "changed": "changed", "unchanged": "unchanged", "rejected": "rejected",
             "approvals_required": "approvalsRequired", "events_emitted": "eventsEmitted"}
    got = {k: summary[camel[k]] for k in want}
    assert got == want, (got, want)
    if not args.moto_only:
        assert CALLS.entries == changed + 1, (CALLS.entries, changed)  # the recommendations + the summary
    handler_seconds = sum(handler_times)
    timed_rows = args.rows * len(handler_times) / (len(handler_times) + len(sampled_times))
    per_1000 = {stage: {op: round(n * 1000 / args.rows, 2) for op, n in sorted(ops.items())}
                for stage, ops in CALLS.by_stage.items()}
    lambda_requests = sum(n for stage, ops in CALLS.by_stage.items() if stage != "itemReader" for n in ops.values())
    report.update({
        "summary": got,
        "wallSeconds": round(wall, 1),
        "rowsPerSecond": round(args.rows / wall),
        "chunkHandlerSeconds": round(handler_seconds, 1),
        "chunkHandlerRowsPerSecond": round(timed_rows / handler_seconds),
        "readerBatcherRowsPerSecond": round(args.rows / reader_seconds) if reader_seconds else None,
        "batches": len(handler_times) + len(sampled_times),
        "batchMsP50": round(statistics.median(handler_times) * 1000, 1),
        "batchMsP95": round(statistics.quantiles(handler_times, n=20)[18] * 1000, 1) if len(handler_times) > 1 else None,
        "chunkPeakTracemallocMiB": round(max(samples) / 2**20, 1) if samples else None,
        "maxRssMiB": round(rss_mib()),
        "eventsEmitted": summary["eventsEmitted"],
        "requestsPer1000Rows": per_1000,
        "lambdaRequestsPer1000Rows": round(lambda_requests * 1000 / args.rows, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
    })
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=500, help="rows per batch (cdk.json cycleChunkSize)")
    parser.add_argument("--plain", action="store_true", help="a plain CSV (no prepare copy) instead of gzip")
    parser.add_argument("--mix", default=DEFAULT_MIX)
    parser.add_argument("--samples", type=int, default=5, help="batches measured with tracemalloc")
    parser.add_argument("--moto-only", action="store_true", help="no stand-ins: every call to moto (slow)")
    parser.add_argument("--json", type=Path, help="write the figures to this file too")
    args = parser.parse_args()
    report = run(args)
    print()
    print(f"{report['rows']:,} rows, batches of {report['chunk']} ({report['batches']} batches), "
          f"{'gzip' if report['gzip'] else 'plain'} file of {report['fileMiB']} MiB"
          + (f" ({report['plainMiB']} MiB plain)" if report.get("plainMiB") else ""))
    print(f"  wall (prepare + read/batch + chunk handler + summary): {report['wallSeconds']} s = "
          f"{report['rowsPerSecond']:,} rows/s on one core")
    print(f"  prepare (gzip -> plain copy): {report['prepareSeconds']} s")
    print(f"  chunk handler alone: {report['chunkHandlerRowsPerSecond']:,} rows/s; per batch p50 "
          f"{report['batchMsP50']} ms, p95 {report['batchMsP95']} ms")
    print(f"  reader + ItemSelector + batcher alone: {report['readerBatcherRowsPerSecond']:,} rows/s")
    print(f"  memory: max RSS {report['maxRssMiB']} MiB (after seeding moto: {report['rssAfterSeedMiB']} MiB); "
          f"peak traced during a batch {report['chunkPeakTracemallocMiB']} MiB")
    print(f"  summary: {report['summary']}")
    print(f"  events emitted: {report['eventsEmitted']:,}")
    print(f"  AWS requests per 1,000 rows by the functions: {report['lambdaRequestsPer1000Rows']}")
    for stage, ops in report["requestsPer1000Rows"].items():
        print(f"    {stage:<11} {ops}")
    print(f"  machine: {report['machine']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
