"""End to end: `distsync local up --no-demo` in its own process, driven over HTTP like a partner would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from distsync.local import process as local_process
from distsync.sim.clients import (
    ErpClientSim,
    HttpResult,
    PlanningClient,
    SignedClient,
    SupplierClientSim,
    WmsClientSim,
    send,
)
from distsync.trace import trace_document
from distsync_core.platform.dynamo import scan_all
from tests.conftest import ROOT

SECRET = "e2e-webhook-secret"
# The shared stack's context. The functional scenarios post as fast as one thread can: each partner gets a fifth
# of 1000/s instead of 100/s, so a usage plan's 429 never stands in for a behaviour under test
# (test_governance.py tests the limits). InventoryBalanceChanged v1 is deprecated, as a deployment moving its
# partners to v2 would have it: v1 is still taken, with Deprecation/Sunset/Link (test_contract_lifecycle.py).
DEPRECATED_V1 = {"InventoryBalanceChanged/1": {"deprecated": "2020-01-01", "sunset": "2099-12-31"}}
# erpMaxConcurrency=2 changes nothing on the session stack (2 environments per function run at most 2
# batches anyway); it lets test_partner_concurrency.py run the same synth with 4 environments.
FUNCTIONAL_CONTEXT = ("-c", "webhookRateLimit=1000", "-c", "webhookBurstLimit=2000", "-c", "erpMaxConcurrency=2",
                      "-c", f"contractLifecycle={json.dumps(DEPRECATED_V1)}")
START_TIMEOUT = 600  # a clean checkout synthesizes first, which builds the layer from PyPI


@dataclass
class LocalStackProcess:
    url: str
    info: dict[str, Any]
    proc: subprocess.Popen
    accepted: dict[str, str] = field(default_factory=dict)  # correlation id -> expected final status

    def __post_init__(self) -> None:
        kw = dict(endpoint_url=self.info["awsEndpoint"], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
        self.api_keys = local_process.api_keys(self.info)
        self.erp = ErpClientSim(self.url, SECRET, self.api_keys)
        self.planning = PlanningClient(self.url, SECRET, self.api_keys)
        self.api = SignedClient(self.url, SECRET, self.api_keys)
        self.wms = WmsClientSim(self.url, SECRET, self.api_keys)  # also the TMS (source="tms")
        self.supplier = SupplierClientSim(self.url, SECRET, self.api_keys)
        self.sqs = boto3.client("sqs", **kw)
        self.events = boto3.client("events", **kw)
        self.dynamodb = boto3.resource("dynamodb", **kw)
        self.probe_url = self._probe()

    def _probe(self) -> str:
        """A catch-all rule on the stack's bus into a queue of the test's own: what reached the bus."""
        bus = self.info["outputs"]["EventBusName"]
        url = self.sqs.create_queue(QueueName=f"e2e-probe-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name="e2e-probe", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        self.events.put_targets(Rule="e2e-probe", EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
        self.bus_events: list[dict[str, Any]] = []
        return url

    def drain_probe(self) -> list[dict[str, Any]]:
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.probe_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return self.bus_events
            for m in msgs:
                self.bus_events.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.probe_url, ReceiptHandle=m["ReceiptHandle"])

    def bus_events_for(self, cid: str) -> list[dict[str, Any]]:
        return [e for e in self.drain_probe() if e["detail"]["metadata"]["correlationId"] == cid]

    def wait_idle(self, timeout: float = 90, settle: float = 0.6) -> None:
        if not local_process.wait_idle(self.url, timeout, settle):
            raise AssertionError("the local stack did not settle")

    def trace(self, cid: str) -> dict[str, Any]:
        from boto3.dynamodb.conditions import Key

        table = self.dynamodb.Table(self.info["outputs"]["TraceTableName"])
        hops = table.query(KeyConditionExpression=Key("correlationId").eq(cid))["Items"]
        return trace_document(cid, hops)

    def erp_updates(self, cid: str | None = None) -> list[dict[str, Any]]:
        updates = send(self.url + "/_sim/erp/updates").body["updates"]
        return [u for u in updates if cid is None or u["correlationId"] == cid]

    def expect(self, result: HttpResult, cid: str, final_status: str) -> str:
        """Assert a webhook was accepted under ``cid`` and register the status its transaction must end in
        (checked for every accepted event by test_zz_accounting.py)."""
        assert result.status == 202, result.body
        assert result.body["correlationId"] == cid
        self.accepted[cid] = final_status
        return cid

    def sim_records(self, simulator: str, kind: str | None = None, cid: str | None = None) -> list[dict[str, Any]]:
        """Calls a partner simulator recorded (``planning``, ``channels``, ``erp``), once per idempotency key."""
        records = send(f"{self.url}/_sim/{simulator}/records").body["records"]
        return [r for r in records if (kind is None or r["kind"] == kind) and (cid is None or r["correlationId"] == cid)]

    def wms_notifications(self, cid: str) -> list[dict[str, Any]]:
        return [n for n in send(self.url + "/_sim/wms/notifications").body["notifications"] if n["correlationId"] == cid]

    def faults(self, status: int, count: int) -> None:
        assert self.api.post("/_sim/erp/faults", {"status": status, "count": count}).status == 200

    def master_data(self, item: str, loc: str = "DC-1", ss: float = 100, rop: float = 200) -> None:
        cid = f"md-{item}-{uuid.uuid4().hex[:6]}"
        assert self.erp.upsert_item_location(item, loc, safety_stock=ss, reorder_point=rop, correlation_id=cid).status == 202
        self.accepted[cid] = "delivered"

    def new_item(self, ss: float = 100, rop: float = 200) -> str:
        """A fresh item-location (DC-1) with master data in place."""
        sku = f"SKU-{uuid.uuid4().hex[:8]}"
        self.master_data(sku, ss=ss, rop=rop)
        self.wait_idle()
        return sku

    def dead_letter_update(self, expect: str) -> tuple[str, str]:
        """A small ERP update that ends in the ERP adapter's DLQ (the ERP fails every attempt): (item, cid)."""
        sku = self.new_item()
        self.faults(503, 1000)
        try:
            cid = self.recommend(sku, 101, 200, expect=expect)
            self.wait_idle(timeout=120)
        finally:
            self.faults(503, 0)
        return sku, cid

    def recommend(self, item: str, ss: float, rop: float, expect: str, loc: str = "DC-1", **kw: Any) -> str:
        cid = kw.pop("correlation_id", None) or f"{item}-{uuid.uuid4().hex[:8]}"
        result = self.planning.recommend(item, loc, safety_stock=ss, reorder_point=rop,
                                         planning_cycle_id=kw.pop("cycle", "cycle-1"), correlation_id=cid, **kw)
        assert result.status == 202, result.body
        assert result.body["correlationId"] == cid
        self.accepted[cid] = expect
        return cid

    def assert_nothing_lost(self) -> None:
        """In = out over every event accepted on this stack: each ends delivered, dead-lettered, quarantined or
        rejected, exactly as its test expected; none is still in flight."""
        self.wait_idle()
        table = self.dynamodb.Table(self.info["outputs"]["TraceTableName"])
        hops: dict[str, list[dict[str, Any]]] = {}
        for hop in scan_all(table):  # one scan of the ledger, not a query per transaction
            hops.setdefault(hop["correlationId"], []).append(hop)
        finals = {cid: trace_document(cid, hops.get(cid, []))["status"] for cid in self.accepted}
        lost = {cid: (want, finals[cid]) for cid, want in self.accepted.items() if finals[cid] != want}
        assert not lost, f"accepted events that did not end as expected (wanted, found): {lost}"
        print(f"in = out: accepted {len(finals)} transactions -> {dict(sorted(Counter(finals.values()).items()))}")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, DISTSYNC_WEBHOOK_SECRET=SECRET, COLUMNS="220")  # rich: no wrapped cells
        return subprocess.run([sys.executable, "-m", "distsync.cli", *args, "--local", self.url],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def start_local_stack(*extra_args: str, secret: str = SECRET, output: Any = None,
                      ) -> tuple[subprocess.Popen, str, dict[str, Any]]:
    return local_process.start(*extra_args, secret=secret, output=output, timeout=START_TIMEOUT)


stop_local_stack = local_process.stop


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    log = tmp_path_factory.mktemp("local-stack") / "local-up.log"
    with log.open("w") as out:
        try:
            proc, url, info = start_local_stack(*FUNCTIONAL_CONTEXT, output=out)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text()[-5000:]}") from exc
    local = LocalStackProcess(url, info, proc)
    try:
        yield local
        # The accounting runs last on each test worker's stack (a test module cannot be ordered last across
        # parallel workers): a failure here is reported as an error at the session's teardown.
        local.assert_nothing_lost()
    finally:
        stop_local_stack(proc)
