"""A partner's concurrency cap end to end (issue 12, finding 9): the ERP updater's event source carries
``erpMaxConcurrency`` as its maximum concurrency, and the local runtime runs that many batches at once, no
more, even with more execution environments free. An ERP that throttles beyond that many requests at once
(429) is never throttled, nothing is dead-lettered and every update is applied once.

A stack of its own, from the session stack's synth (``erpMaxConcurrency=2``), with 4 environments per function
(the session stack runs 2)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from distsync.local import process
from distsync.sim.clients import ErpClientSim, PlanningClient, send
from tests.e2e.conftest import FUNCTIONAL_CONTEXT, START_TIMEOUT

pytestmark = pytest.mark.e2e

SECRET = "partner-concurrency-secret"
UPDATES = 60  # 12 batches of 5 for 4 environments: far more than the cap could run at once
CAP = 2


@pytest.fixture(scope="module")
def capped_stack():
    # The session stack's context (its synth, cached): the updates are posted as fast as one thread can, so
    # with limits well above that, and erpMaxConcurrency=CAP; here with 4 environments per function.
    assert f"erpMaxConcurrency={CAP}" in FUNCTIONAL_CONTEXT
    proc, url, info = process.start(*FUNCTIONAL_CONTEXT, "--concurrency", "4", secret=SECRET, timeout=START_TIMEOUT)
    yield url, info
    process.stop(proc)


def test_the_erp_never_sees_more_than_its_cap_of_updates_at_once(capped_stack):
    url, info = capped_stack
    keys = process.api_keys(info)
    erp, planning = ErpClientSim(url, SECRET, keys), PlanningClient(url, SECRET, keys)
    run = uuid.uuid4().hex[:6]
    skus = [f"CAP-{run}-{i}" for i in range(UPDATES)]
    for sku in skus:
        assert erp.upsert_item_location(sku, "DC-1", safety_stock=100, reorder_point=200).status == 202
    assert process.wait_idle(url, timeout=120, settle=0.5)

    # The ERP takes at most CAP writes at once (more get 429 + Retry-After) and each takes 50 ms.
    limits = json.dumps({"maxInFlight": CAP, "latencySeconds": 0.05}).encode()
    assert send(url + "/_sim/erp/limits", "POST", limits, {"Content-Type": "application/json"}).status == 200
    cids = [f"cap-{run}-{i}" for i in range(UPDATES)]
    for sku, cid in zip(skus, cids, strict=True):  # +10 %: under the approval threshold, straight to the ERP
        assert planning.recommend(sku, "DC-1", safety_stock=110, reorder_point=220, planning_cycle_id=f"c-{run}",
                                  correlation_id=cid).status == 202
    assert process.wait_idle(url, timeout=240, settle=1.0)

    stats = send(url + "/_sim/erp/stats").body
    assert stats["maxInFlight"] == CAP  # the runtime ran CAP batches at once: no fewer, no more
    assert stats["throttled"] == 0
    updates = [u for u in send(url + "/_sim/erp/updates").body["updates"] if u["correlationId"] in set(cids)]
    assert sorted(u["correlationId"] for u in updates) == sorted(cids)  # every update applied, once
    sqs = boto3.client("sqs", endpoint_url=info["awsEndpoint"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for dlq in info["deadLetterQueues"]:
        depth = sqs.get_queue_attributes(QueueUrl=info["queues"][dlq], AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0", dlq
