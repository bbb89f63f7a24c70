"""The parameter drift run's requests and wall time per N item-locations, on moto and the REST ERP simulator.

N governed item-locations (master data with a last applied update and its ledger hops) are planted directly
in moto's tables (not counted); the REST ERP simulator on 127.0.0.1 holds their parameters, every tenth changed
by hand. Then the real ``parameter_drift`` handler runs once (no fix). Printed: the classes found, the AWS
calls by operation (counted at botocore), the ERP reads (the simulator's updates log stays empty: reads only),
the time spent in ledger queries and in ERP reads (summed over the reader threads), and the wall time.

Wall time is informational (moto's GSI Query scans its table; loopback ERP; shared machine). What carries to
AWS is the shape: 1 Scan page per 1 MB of master data, 1 Query per item-location (in the handler's thread),
1 ERP read per item-location (READ_WORKERS at once), 3 PutObject, 1 PutEvents per 10 drifted item-locations.

Usage: python bench/drift_run.py [N]   (default 200)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT)]

import tests.conftest  # noqa: E402,F401  (no real AWS credentials, Powertools settings)


def main(n: int) -> None:
    import boto3
    import botocore.client
    from moto import mock_aws

    from distsync.sim.erp import ErpSimulator
    from distsync_core.connectors import rest
    from distsync_core.drift import store
    from distsync_core.platform.aws import reset_clients
    from tests.conftest import FakeLambdaContext, load_handler

    with mock_aws():
        reset_clients()
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName="masterdata", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.create_table(
            TableName="trace", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "correlationId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("correlationId", "sk", "businessKey", "at")],
            GlobalSecondaryIndexes=[{"IndexName": "byBusinessKey", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "businessKey", "KeyType": "HASH"},
                                                   {"AttributeName": "at", "KeyType": "RANGE"}]}])
        boto3.client("s3").create_bucket(Bucket="landing")
        boto3.client("events").create_event_bus(Name="bus")
        sim = ErpSimulator().start()
        os.environ.update(MASTERDATA_TABLE_NAME="masterdata", TRACE_TABLE_NAME="trace", LANDING_BUCKET_NAME="landing",
                          EVENT_BUS_NAME="bus", ERP_CONNECTIONS=json.dumps(
                              [{"name": "rest", "kind": "rest", "baseUrl": sim.base_url, "locations": ["*"]}]))
        masterdata, trace = boto3.resource("dynamodb").Table("masterdata"), boto3.resource("dynamodb").Table("trace")
        with masterdata.batch_writer() as md, trace.batch_writer() as tr:
            for i in range(n):
                item = f"SKU-{i}"
                md.put_item(Item={
                    "pk": f"ITEMLOC#{item}#DC-1", "itemId": item, "locationId": "DC-1", "safetyStock": 110,
                    "reorderPoint": 220, "appliedRecommendedAt": "2026-12-01T00:00:00+00:00",
                    "appliedUpdate": {"safetyStock": 110, "reorderPoint": 220, "planningCycleId": "c",
                                      "correlationId": f"c{i}", "previousSafetyStock": 100,
                                      "previousReorderPoint": 200, "erpIdempotencyKey": "k"}})
                for second, (stage, outcome) in enumerate((("webhook", "ok"), ("planning", "ok"),
                                                           ("erp", "delivered"), ("warehouse", "delivered"))):
                    at = f"2026-12-01T00:00:0{second}+00:00"
                    tr.put_item(Item={"correlationId": f"c{i}", "sk": f"{at}#{stage}", "at": at, "stage": stage,
                                      "outcome": outcome, "businessKey": f"{item}@DC-1"})
                sim.parameters[(item, "DC-1")] = {"safetyStock": 105 if i % 10 == 0 else 110, "reorderPoint": 220}

        calls: dict[str, int] = {}
        spent = {"ledger": 0.0, "erp": 0.0}
        make_api_call = botocore.client.BaseClient._make_api_call
        query, read = store.Ledger.hops_for_business_key, rest.RestConnector.read_parameters

        def counting(self, operation, params):  # type: ignore[no-untyped-def]
            calls[operation] = calls.get(operation, 0) + 1
            return make_api_call(self, operation, params)

        def timed(key, fn):  # type: ignore[no-untyped-def]
            def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                start = time.monotonic()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[key] += time.monotonic() - start
            return wrapper

        botocore.client.BaseClient._make_api_call = counting
        store.Ledger.hops_for_business_key = timed("ledger", query)
        rest.RestConnector.read_parameters = timed("erp", read)
        start = time.monotonic()
        result = load_handler("parameter_drift").lambda_handler({}, FakeLambdaContext("parameter_drift", 300_000))
        wall = time.monotonic() - start
        sim.stop()
    print(f"{n} item-locations: {result['counts']}")
    print(f"AWS calls: {dict(sorted(calls.items()))}; ERP writes: {len(sim.snapshot())}")
    print(f"ledger queries {spent['ledger']:.2f} s (serial), ERP reads {spent['erp']:.2f} s summed over "
          f"{store.READ_WORKERS} threads; wall {wall:.2f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
