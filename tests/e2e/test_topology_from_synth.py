"""The local stack is derived from the synthesized template: a pipeline added in CDK (and nothing else)
appears locally, with its queue, DLQ, rule and poller, and carries events."""

from __future__ import annotations

import json
import sys
import time
import uuid

import pytest

from distsync.sim.clients import ErpClientSim, send
from tests.conftest import ROOT
from tests.e2e.conftest import start_local_stack, stop_local_stack

pytestmark = pytest.mark.e2e


def synthesize_with_extra_pipeline(outdir) -> None:
    sys.path.insert(0, str(ROOT))
    import aws_cdk as cdk
    from aws_cdk import RemovalPolicy

    from infra.application import build
    from infra.platform.domain_pipeline import DomainPipeline

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=str(outdir), context=context)
    stack = build(app, nag=False)
    # A new consumer of ERP master data (an audit feed), reusing an existing function.
    DomainPipeline(
        stack, "MasterDataAuditPipeline",
        bus=stack.platform.bus, sources=["distsync.erp"], detail_types=["ItemLocationUpserted"],
        function=stack.platform.functions["masterdata_transformer"], batch_size=2, max_receive_count=2,
        alarm_topic=stack.node.find_child("Alarms").topic, removal_policy=RemovalPolicy.DESTROY,
    )
    app.synth()


def test_a_pipeline_added_in_cdk_runs_locally_without_runtime_changes(tmp_path):
    assembly = tmp_path / "cdk.out"
    synthesize_with_extra_pipeline(assembly)
    proc, url, info = start_local_stack("--cloud-assembly", str(assembly), secret="topology-secret")
    try:
        new_queues = sorted(q for q in info["queues"] if q.startswith("MasterDataAuditPipeline"))
        assert [q.split("Pipeline")[1][:5] for q in new_queues] == ["DeadL", "Queue"]
        assert any(q.startswith("MasterDataAuditPipeline") for q in info["deadLetterQueues"])

        cid = f"topology-{uuid.uuid4().hex[:6]}"
        erp = ErpClientSim(url, "topology-secret")
        assert erp.upsert_item_location("SKU-T", "DC-T", safety_stock=1, reorder_point=2, correlation_id=cid).status == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = send(url + "/_local/info").body["functions"]
            invocations = next(v["invocations"] for k, v in stats.items() if k.startswith("MasterdataTransformer"))
            if invocations >= 2 and send(url + "/_local/idle").body["idle"]:
                break
            time.sleep(0.2)
        # The same event reached the function through both pipelines: the original and the one added in CDK.
        # A third invocation when the two copies ran at the same moment: the later one is refused "in
        # progress" by the idempotency claim of the earlier (same consumer, same event id) and retried.
        assert invocations in (2, 3)
    finally:
        stop_local_stack(proc)
