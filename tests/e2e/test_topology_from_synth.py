"""A new domain is a new room: one slice file under infra/domains/, one layer package and its handler, and
nothing else edited. In a copy of the repository, the walkthrough of docs/architecture.md ("add a domain in
15 minutes") is followed to the letter; the copy synthesizes, the local stack derived from that synth has the
new queue, DLQ, rule and poller, and an ERP webhook reaches both the existing master data pipeline and the new
domain's table."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import boto3
import pytest

from distsync.local import process
from distsync.sim.clients import ErpClientSim, send
from tests.conftest import ROOT
from tests.e2e.conftest import start_local_stack, stop_local_stack

pytestmark = pytest.mark.e2e

# What the walkthrough in docs/architecture.md writes, file by file (a test keeps the two equal).
NEW_DOMAIN = {
    "infra/domains/masterdata_audit.py": '''
        """Master data audit: every item-location change the ERP sends, kept for auditors."""

        from __future__ import annotations

        from infra.platform import Domain, Platform
        from infra.platform.platform import TRANSFORMER_TIMEOUT

        OWNER = "masterdata"  # the team its alarms name


        def build(platform: Platform) -> None:
            changes = platform.table("MasterDataAuditTable", "pk", sort_key="eventId")
            recorder = platform.function(
                "MasterDataAuditFunction",
                "masterdata_audit",
                TRANSFORMER_TIMEOUT,
                "Keeps every item-location change the ERP sends, for auditors",
                AUDIT_TABLE_NAME=changes.table_name,
            )
            changes.grant_write_data(recorder)
            platform.pipeline(
                "MasterDataAuditPipeline",
                function=recorder,
                batch_size=10,
                sources=("distsync.erp",),
                detail_types=("ItemLocationUpserted",),
            )
            platform.dashboard(
                Domain(key="masterdata-audit", title="Master data audit", pipelines=("MasterDataAuditPipeline",))
            )
            platform.output("MasterDataAuditTableName", changes.table_name)
    ''',
    "layers/shared/python/distsync_core/masterdata_audit/__init__.py": '''
        """Master data audit: what an auditor sees of an item-location change."""

        from __future__ import annotations

        from typing import Any

        from distsync_core.contracts import ItemLocationUpserted, Metadata


        def audit_entry(change: ItemLocationUpserted, metadata: Metadata) -> dict[str, Any]:
            return {
                "pk": f"{change.item_id}#{change.location_id}",
                "eventId": metadata.event_id,
                "correlationId": metadata.correlation_id,
                "safetyStock": f"{change.safety_stock:g}",
                "reorderPoint": f"{change.reorder_point:g}",
            }
    ''',
    "functions/masterdata_audit/handler.py": '''
        """Master data audit: every ItemLocationUpserted into the audit table."""

        from __future__ import annotations

        from distsync_core.contracts import ItemLocationUpserted
        from distsync_core.masterdata_audit import audit_entry
        from distsync_core.platform.aws import table
        from distsync_core.platform.config import env
        from distsync_core.platform.observability import instrument
        from distsync_core.platform.pipeline import Consumer, Delivery


        def keep(delivery: Delivery) -> None:
            table(env("AUDIT_TABLE_NAME")).put_item(Item=audit_entry(delivery.data, delivery.envelope.metadata))
            delivery.record("delivered", "kept for the audit")


        consumer = Consumer("masterdata-audit", ItemLocationUpserted, keep)


        @instrument
        def lambda_handler(event, context):
            return consumer(event, context)
    ''',
}
COPIED = ("app.py", "cdk.json", "infra", "functions", "layers", "state_machines", "schemas", ".build")


def copy_with_new_domain(target: Path) -> None:
    target.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, target / name)
    for path, text in NEW_DOMAIN.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text(textwrap.dedent(text).lstrip())


def synthesize(repo: Path, outdir: Path) -> None:
    """The copy's own CDK app, in a process of its own (the copy's ``infra``, not this checkout's)."""
    script = (
        "import json, aws_cdk as cdk\n"
        "from infra.application import build\n"
        "context = json.load(open('cdk.json'))['context']\n"
        f"app = cdk.App(outdir={str(outdir)!r}, context=context)\n"
        "build(app, nag=False)\n"
        "app.synth()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=repo, check=True, capture_output=True, timeout=300)


def test_the_walkthrough_is_what_this_test_writes():
    walkthrough = (ROOT / "docs" / "architecture.md").read_text()
    for path, text in NEW_DOMAIN.items():
        assert f"`{path}`" in walkthrough, path
        assert textwrap.dedent(text).strip() in walkthrough, path


def test_a_domain_added_as_one_slice_and_one_package_synthesizes_deploys_locally_and_runs(tmp_path):
    repo, assembly = tmp_path / "repo", tmp_path / "cdk.out"
    copy_with_new_domain(repo)
    synthesize(repo, assembly)
    proc, url, info = start_local_stack("--cloud-assembly", str(assembly), secret="topology-secret")
    try:
        new_queues = sorted(q for q in info["queues"] if q.startswith("MasterDataAuditPipeline"))
        assert [q.split("Pipeline")[1][:5] for q in new_queues] == ["DeadL", "Queue"]
        assert any(q.startswith("MasterDataAuditPipeline") for q in info["deadLetterQueues"])
        audit_table = info["outputs"]["MasterDataAuditTableName"]

        cid = f"topology-{uuid.uuid4().hex[:6]}"
        erp = ErpClientSim(url, "topology-secret", process.api_keys(info))
        assert erp.upsert_item_location("SKU-T", "DC-T", safety_stock=1, reorder_point=2, correlation_id=cid).status == 202
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=info["awsEndpoint"], region_name=info["region"],
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        deadline = time.monotonic() + 60
        entries: list = []
        while time.monotonic() < deadline:
            entries = dynamodb.query(
                TableName=audit_table, KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "SKU-T#DC-T"}},
            )["Items"]
            if entries and send(url + "/_local/idle").body["idle"]:
                break
            time.sleep(0.2)
        assert [(e["correlationId"]["S"], e["safetyStock"]["S"], e["reorderPoint"]["S"]) for e in entries] == [
            (cid, "1", "2")
        ]
        # The existing master data pipeline took the same event as before.
        stats = send(url + "/_local/info").body["functions"]
        assert next(v["invocations"] for k, v in stats.items() if k.startswith("MasterdataTransformer")) >= 1
    finally:
        stop_local_stack(proc)
