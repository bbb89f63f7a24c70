"""The file intake on moto, wired as the stack wires it: a partner's PutObject into the (versioned) landing
bucket -> S3's EventBridge notification on the default bus -> a rule with the construct's pattern -> a queue
-> functions/file_ingest/handler.py, one record per invocation. Good, mixed, duplicate and broken files; a
crash between publish and archive and the retry; a redelivery after the file was moved; a file above the size
limit; an unknown partner; and the registry and master data stores against DynamoDB."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync_core.contracts import derive_id
from distsync_core.files import intake as intake_module
from distsync_core.files.intake import ack_control_number
from distsync_core.files.store import STALE_CLAIM_SECONDS, FileRegistry, known_item_locations
from distsync_core.masterdata.records import item_location_key
from distsync_core.platform.aws import reset_clients
from infra.config import DEFAULT_FILE_PARTNERS
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import Aws

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
BUCKET, FILES = "landing", "files"
# infra/domains/files.py: the pipeline's rule on the default bus (asserted in tests/infra)
PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"],
           "detail": {"bucket": {"name": [BUCKET]}, "object": {"key": [{"prefix": "inbound/"}]}}}
KNOWN = [("SKU-100", "DC-EAST"), ("SKU-200", "DC-EAST"), ("SKU-300", "DC-WEST"), ("SKU-300", "DC-EAST"),
         ("SKU-400", "DC-WEST")]

handler = load_handler("file_ingest")


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def checksum12(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()[:12]


def segments(ack: bytes, *tags: str) -> list[str]:
    text = ack.decode()
    terminator = "'" if text.startswith(("UNA", "UNB")) else "~"
    return [s.strip() for s in text.split(terminator) if s.strip() and s.strip().startswith(tags)]


class Landing:
    """The landing bucket, its notification queue and the handler, as one partner-facing rig."""

    def __init__(self, aws: Aws, queue_url: str) -> None:
        self.aws, self.queue_url = aws, queue_url
        self.s3, self.sqs = boto3.client("s3"), boto3.client("sqs")
        self.published: list[dict[str, Any]] = []
        self.bodies: dict[tuple[str, str], bytes] = {}

    def drop(self, partner: str, name: str, body: bytes) -> str:
        key = f"inbound/{partner}/{name}"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        self.bodies[(partner, name)] = body
        return key

    def stored(self, partner: str, name: str) -> str:
        """The name the outputs of the file dropped as ``name`` carry: its file id, then the name."""
        return f"{partner}-{checksum12(self.bodies[(partner, name)])}-{name}"

    def notifications(self) -> list[dict[str, Any]]:
        """The SQS records S3 -> EventBridge -> the rule delivered (received, not yet deleted)."""
        records = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           AttributeNames=["All"]).get("Messages", [])
            if not got:
                return records
            for m in got:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                records.append(m)

    def invoke(self, message: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
        """One invocation with one record (the pipeline's batch size)."""
        record = {"messageId": message["MessageId"], "receiptHandle": "rh", "body": message["Body"],
                  "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0", "SenderId": "x",
                                 "ApproximateFirstReceiveTimestamp": "0"},
                  "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
                  "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:file-intake", "awsRegion": "us-east-1"}
        return handler.lambda_handler({"Records": [record]}, FakeLambdaContext("file_ingest"))

    def deliver(self) -> list[dict[str, Any]]:
        """Run the handler once per pending notification; returns the notifications it was given."""
        messages = self.notifications()
        for m in messages:
            assert self.invoke(m) == {"batchItemFailures": []}
        return messages

    def bus(self) -> list[dict[str, Any]]:
        """distsync events that reached the distsync bus since the last call (S3's own events left out)."""
        self.published += [e for e in self.aws.probe() if e["source"] != "aws.s3"]
        return self.published

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))

    def body(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def report(self, partner: str, name: str) -> dict[str, Any]:
        """The report of a file that was read (named with its file id) or, rejected unread, of its name."""
        unread = f"rejected/{partner}/{name}.errors.json"
        read = f"rejected/{partner}/{self.stored(partner, name)}.errors.json"
        return json.loads(self.body(read if read in self.keys("rejected/") else unread))

    def hops(self, cid: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        items = boto3.resource("dynamodb").Table("trace").query(KeyConditionExpression=Key("correlationId").eq(cid))
        return sorted(items["Items"], key=lambda h: h["at"])

    def hops_of_file(self, fid: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        items = boto3.resource("dynamodb").Table("trace").query(
            IndexName="byBusinessKey", KeyConditionExpression=Key("businessKey").eq(f"FILE#{fid}"))["Items"]
        return sorted(items, key=lambda h: h["at"])

    def registry(self) -> dict[str, dict[str, Any]]:
        return {r["checksum"]: r for r in FileRegistry(FILES).list()}


@pytest.fixture
def landing(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Landing:
    s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=BUCKET,
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    boto3.client("dynamodb").create_table(
        TableName=FILES, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "checksum", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "checksum", "AttributeType": "S"}])
    url = sqs.create_queue(QueueName="file-intake")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="file-intake", EventBusName="default", EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule="file-intake", EventBusName="default", Targets=[{"Id": "queue", "Arn": arn}])
    with boto3.resource("dynamodb").Table("masterdata").batch_writer() as batch:
        for item, loc in KNOWN:
            batch.put_item(Item={"pk": item_location_key(item, loc), "itemId": item, "locationId": loc,
                                 "entity": "ItemLocation"})
    monkeypatch.setenv("LANDING_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("FILES_TABLE_NAME", FILES)
    monkeypatch.setenv("FILE_PARTNERS", json.dumps(DEFAULT_FILE_PARTNERS))
    monkeypatch.setattr(handler, "_intake", None)  # one intake per container: a fresh one per test
    reset_clients()
    return Landing(aws, url)


def test_a_good_846_puts_its_balances_on_the_bus_acknowledges_and_archives(landing: Landing) -> None:
    body = raw("x12/846_inventory.edi")
    key = landing.drop("acme-3pl", "846-20261127.edi", body)
    (note,) = landing.deliver()
    assert json.loads(note["Body"])["detail"]["object"]["key"] == key

    fid = f"acme-3pl-{checksum12(body)}"
    cid = f"file-{fid}-1"
    published = landing.bus()
    assert [(e["source"], e["detail-type"]) for e in published] == [
        ("distsync.inventory", "InventoryBalanceChanged")] * 3
    meta = [e["detail"]["metadata"] for e in published]
    checksum = next(iter(landing.registry()))
    assert [m["eventId"] for m in meta] == [derive_id(checksum, "1", str(n)) for n in range(3)]
    assert {(m["correlationId"], m["source"], m["eventVersion"]) for m in meta} == {(cid, "wms", "2")}
    data = [e["detail"]["data"] for e in published]
    assert [(d["itemId"], d["locationId"], d["onHand"], d["allocated"], d["inTransit"]) for d in data] == [
        ("SKU-100", "DC-EAST", 500, 120, 80), ("SKU-200", "DC-EAST", 500, 0, 0), ("SKU-300", "DC-WEST", 75.5, 0, 0)]
    assert data[0]["inTransitDueAt"] == "2026-12-04T12:00:00Z" and data[0]["asOf"] == "2026-11-27T08:00:00Z"
    assert [(lot["lotNumber"], lot["quantity"], lot["expiresOn"]) for lot in data[1]["lots"]] == [
        ("LOT-A1", 300, "2027-01-31"), ("LOT-A2", 200, "2027-03-31")]

    today = datetime.now(UTC).date().isoformat()
    assert landing.keys() == [f"archive/acme-3pl/{today}/{landing.stored('acme-3pl', '846-20261127.edi')}", f"outbound/acme-3pl/{landing.stored('acme-3pl', '846-20261127.edi')}.997"]
    assert landing.body(f"archive/acme-3pl/{today}/{landing.stored('acme-3pl', '846-20261127.edi')}") == body
    ack = landing.body(f"outbound/acme-3pl/{landing.stored('acme-3pl', '846-20261127.edi')}.997")
    assert segments(ack, "AK") == ["AK1*IB*101", "AK2*846*0001", "AK5*A", "AK9*A*1*1*1"]
    assert segments(ack, "ISA")[0].split("*")[13] == f"{ack_control_number(checksum):09d}"
    # the inbound original: deleted, but a version of it is kept (the bucket is versioned)
    versions = landing.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    assert [v["Key"] for v in versions.get("Versions", [])] == [key] and versions["DeleteMarkers"]
    (record,) = landing.registry().values()
    assert (record["key"], record["status"], record["outcome"]["status"], record["outcome"]["events"]) == (
        key, "COMPLETED", "accepted", 3)
    assert [(h["stage"], h["outcome"], h.get("eventType")) for h in landing.hops(cid)] == [
        ("file", "ok", "InventoryBalanceChanged")] * 3
    assert [h["eventId"] for h in landing.hops(cid)] == [m["eventId"] for m in meta]
    (file_hop,) = landing.hops(f"file-{fid}")
    assert file_hop["outcome"] == "delivered" and f"acknowledgment outbound/acme-3pl/{landing.stored('acme-3pl', '846-20261127.edi')}.997" in \
        file_hop["detail"]
    assert len(landing.hops_of_file(fid)) == 4
    # what the intake wrote (archive/, outbound/) raised no notification the pipeline takes
    assert landing.notifications() == []


def test_a_mixed_file_publishes_the_good_sets_reports_the_bad_ones_and_acknowledges_both(landing: Landing) -> None:
    body = raw("x12/846_mixed.edi")
    landing.drop("acme-3pl", "mixed.edi", body)
    landing.deliver()
    fid = f"acme-3pl-{checksum12(body)}"
    published = landing.bus()
    assert sorted((e["detail"]["metadata"]["correlationId"], e["detail"]["data"]["itemId"]) for e in published) == [
        (f"file-{fid}-1", "SKU-100"), (f"file-{fid}-4", "SKU-400")]
    report = landing.report("acme-3pl", "mixed.edi")
    assert report["file"]["status"] == "partially_accepted" and report["file"]["fileId"] == fid
    assert report["summary"]["accounting"] | {} == {
        "unit": "transaction_set", "total": 4, "inEvents": 2, "inErrors": 2, "events": 2,
        "acceptedUnits": [1, 4], "rejectedUnits": [2, 3]}
    errors = {e["transactionIndex"]: e for e in report["errors"]}
    assert (errors[2]["code"], errors[2]["segmentId"], errors[2]["line"]) == ("unknown_segment", "ZZZ", 14)
    assert (errors[3]["code"], errors[3]["segmentId"], errors[3]["element"]) == ("set_count_mismatch", "SE", "SE01")
    assert segments(landing.body(f"outbound/acme-3pl/{landing.stored('acme-3pl', 'mixed.edi')}.997"), "AK5", "AK9") == [
        "AK5*A", "AK5*R*5", "AK5*R*4", "AK5*A", "AK9*P*4*4*2"]
    today = datetime.now(UTC).date().isoformat()
    assert landing.keys("archive/") == [f"archive/acme-3pl/{today}/{landing.stored('acme-3pl', 'mixed.edi')}"]  # something was applied
    for index in (2, 3):
        (hop,) = landing.hops(f"file-{fid}-{index}")
        assert hop["outcome"] == "rejected" and errors[index]["reason"] in hop["detail"]


def test_the_same_bytes_again_are_archived_as_a_duplicate_and_not_published(landing: Landing) -> None:
    body = raw("edifact/invrpt_d96a.edi")
    landing.drop("acme-3pl", "invrpt.edi", body)
    landing.deliver()
    first = landing.bus()[:]
    assert len(first) == 3
    registry = landing.registry()

    landing.drop("acme-3pl", "invrpt-again.edi", body)
    landing.deliver()
    assert landing.bus() == first  # nothing new on the bus
    (dup,) = landing.keys("archive/acme-3pl/duplicates/")
    assert dup.endswith("-invrpt-again.edi") and landing.body(dup) == body
    assert landing.keys("inbound/") == [] and landing.keys("outbound/") == [f"outbound/acme-3pl/{landing.stored('acme-3pl', 'invrpt.edi')}.contrl"]
    assert landing.registry() == registry  # the first file's record, untouched
    fid = f"acme-3pl-{checksum12(body)}"
    (dup_hop,) = [h for h in landing.hops_of_file(fid) if "-duplicate-" in h["correlationId"]]
    assert dup_hop["outcome"] == "rejected" and "the same bytes as inbound/acme-3pl/invrpt.edi (status COMPLETED)" \
        in dup_hop["detail"]


def test_a_retry_after_a_crash_between_publish_and_archive_republishes_the_same_ids_once_completed(
    landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = raw("x12/846_mixed.edi")
    key = landing.drop("acme-3pl", "mixed.edi", body)
    (note,) = landing.notifications()
    objects = handler.intake().objects
    move = objects.move
    calls = Counter()

    def crash_once(source: str, target: str) -> None:
        calls["move"] += 1
        if calls["move"] == 1:
            raise TimeoutError("Task timed out after 120.00 seconds")
        move(source, target)

    monkeypatch.setattr(objects, "move", crash_once)
    # first receive: published, then killed before the original was moved -> the invocation fails (its only
    # record failed), the message becomes visible again and SQS delivers it once more
    with pytest.raises(BatchProcessingError, match="All records failed"):
        landing.invoke(note)
    first = landing.bus()[:]
    assert len(first) == 2 and landing.keys("inbound/") == [key]
    (record,) = landing.registry().values()
    assert record["status"] == "PROCESSING"

    assert landing.invoke(note, receive_count=2) == {"batchItemFailures": []}
    again = landing.bus()[len(first):]
    assert [e["detail"]["metadata"]["eventId"] for e in again] == [e["detail"]["metadata"]["eventId"] for e in first]
    (record,) = landing.registry().values()
    assert record["status"] == "COMPLETED" and record["outcome"]["status"] == "partially_accepted"
    today = datetime.now(UTC).date().isoformat()
    assert landing.keys("inbound/") == [] and landing.keys("archive/") == [f"archive/acme-3pl/{today}/{landing.stored('acme-3pl', 'mixed.edi')}"]
    fid = f"acme-3pl-{checksum12(body)}"
    assert [h["outcome"] for h in landing.hops(f"file-{fid}")] == ["delivered"]  # the file completed once

    # a redelivery of the same notification after that: the object is gone, nothing happens
    assert landing.invoke(note, receive_count=3) == {"batchItemFailures": []}
    assert landing.bus()[len(first) + len(again):] == []
    assert landing.registry()[record["checksum"]] == record and landing.hops(f"file-{fid}")[-1]["outcome"] == \
        "delivered"


def test_a_redelivered_notification_for_a_moved_file_changes_nothing(landing: Landing) -> None:
    body = raw("edifact/desadv_d96a.edi")
    landing.drop("acme-3pl", "desadv.edi", body)
    (note,) = landing.notifications()
    assert landing.invoke(note) == {"batchItemFailures": []}
    (shipment,) = landing.bus()
    assert (shipment["detail-type"], shipment["detail"]["data"]["shipmentId"]) == ("ShipmentMilestone", "DN-1001")
    before = (landing.keys(), landing.registry(), len(landing.hops_of_file(f"acme-3pl-{checksum12(body)}")))
    assert landing.invoke(note, receive_count=2) == {"batchItemFailures": []}
    assert landing.bus() == [shipment]
    assert (landing.keys(), landing.registry(), len(landing.hops_of_file(f"acme-3pl-{checksum12(body)}"))) == before


def test_a_file_above_the_size_limit_is_rejected_without_being_read(
    landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "MAX_FILE_BYTES", 1024)
    body = raw("x12/846_inventory.edi") + b"\n" * 1024
    landing.drop("acme-3pl", "big.edi", body)
    objects = handler.intake().objects
    monkeypatch.setattr(objects, "get", lambda key: pytest.fail(f"{key} read although above the limit"))
    landing.deliver()
    assert landing.bus() == [] and landing.registry() == {}
    assert landing.keys() == ["rejected/acme-3pl/big.edi", "rejected/acme-3pl/big.edi.errors.json"]
    assert landing.body("rejected/acme-3pl/big.edi") == body
    report = landing.report("acme-3pl", "big.edi")
    assert report["file"] == {"key": "inbound/acme-3pl/big.edi", "partnerId": "acme-3pl", "status": "rejected"}
    assert report["errors"] == [{"code": "unreadable", "severity": "error", "reason": "file larger than 1024 bytes"}]
    (hop,) = landing.hops_of_file("acme-3pl-big.edi")
    assert hop["outcome"] == "rejected" and "moved to rejected/acme-3pl/big.edi" in hop["detail"]


def test_a_file_from_an_unknown_partner_is_rejected_with_the_reason(landing: Landing) -> None:
    body = raw("x12/846_unknown_partner.edi")
    landing.drop("initech", "846.edi", body)
    landing.drop("initech", "846-second.edi", body)  # rejected unread: no checksum, so never a "duplicate"
    landing.deliver()
    assert landing.bus() == [] and landing.registry() == {}
    assert landing.keys() == ["rejected/initech/846-second.edi", "rejected/initech/846-second.edi.errors.json",
                              "rejected/initech/846.edi", "rejected/initech/846.edi.errors.json"]
    (error,) = landing.report("initech", "846.edi")["errors"]
    assert error["reason"] == "unknown partner 'initech' (configured: acme-3pl, erp, globex-supplier, planning)"
    (hop,) = landing.hops_of_file("initech-846.edi")
    assert hop["outcome"] == "rejected" and hop["correlationId"].startswith("file-initech-846.edi-")


def test_a_known_partner_with_another_senders_envelope_is_rejected_by_segment(landing: Landing) -> None:
    body = raw("x12/846_unknown_partner.edi")
    landing.drop("acme-3pl", "846.edi", body)
    landing.deliver()
    assert landing.bus() == []
    report = landing.report("acme-3pl", "846.edi")
    codes = {e["code"] for e in report["errors"]}
    assert "unknown_sender" in codes and report["file"]["status"] == "rejected"
    assert f"rejected/acme-3pl/{landing.stored('acme-3pl', '846.edi')}" in landing.keys("rejected/")
    assert segments(landing.body(f"outbound/acme-3pl/{landing.stored('acme-3pl', '846.edi')}.997"), "TA1")[0].split("*")[4] == "R"


def test_an_item_location_unknown_to_master_data_rejects_its_transaction_only(landing: Landing) -> None:
    boto3.resource("dynamodb").Table("masterdata").delete_item(Key={"pk": item_location_key("SKU-400", "DC-WEST")})
    body = raw("edifact/invrpt_mixed.edi")
    landing.drop("acme-3pl", "invrpt-mixed.edi", body)
    landing.deliver()
    fid = f"acme-3pl-{checksum12(body)}"
    assert [(e["detail"]["metadata"]["correlationId"], e["detail"]["data"]["itemId"]) for e in landing.bus()] == [
        (f"file-{fid}-1", "SKU-100")]
    report = landing.report("acme-3pl", "invrpt-mixed.edi")
    (unknown,) = [e for e in report["errors"] if e["code"] == "unknown_master_data"]
    assert (unknown["transactionIndex"], unknown["value"]) == (5, "SKU-400@DC-WEST")
    assert report["summary"]["accounting"]["rejectedUnits"] == [2, 3, 4, 5]
    assert segments(landing.body(f"outbound/acme-3pl/{landing.stored('acme-3pl', 'invrpt-mixed.edi')}.contrl"), "UCM+M5")[0].endswith("+4")


def test_a_csv_of_item_locations_from_the_erp_becomes_master_data_events_without_an_ack(landing: Landing) -> None:
    body = raw("csv/item_locations_bad.csv")
    landing.drop("erp", "item-locations.csv", body)
    landing.deliver()
    published = landing.bus()
    assert [(e["source"], e["detail"]["data"]["itemId"]) for e in published] == [
        ("distsync.erp", "SKU-100"), ("distsync.erp", "SKU-107")]  # SKU-107 is not in master data yet: fine
    assert landing.keys("outbound/") == []
    assert {e["line"] for e in landing.report("erp", "item-locations.csv")["errors"]} == {3, 4, 5, 6, 7, 8, 10}


# ------------------------------------------------------------------------------------------------- stores
def test_the_registry_claims_once_lets_the_same_keys_retry_through_and_takes_over_stale_claims(aws: Aws) -> None:
    boto3.client("dynamodb").create_table(
        TableName=FILES, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "checksum", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "checksum", "AttributeType": "S"}])
    registry = FileRegistry(FILES)
    assert registry.claim("c1", "inbound/p/a.edi") is None  # free: claimed
    assert registry.claim("c1", "inbound/p/a.edi") is None  # the same key's unfinished attempt: a retry
    other = registry.claim("c1", "inbound/p/b.edi")  # another file with these bytes while the first runs
    assert other is not None and (other["key"], other["status"]) == ("inbound/p/a.edi", "PROCESSING")
    registry.complete("c1", {"status": "accepted", "events": 3})
    for key in ("inbound/p/a.edi", "inbound/p/b.edi"):  # completed: even the same key again is a duplicate
        done = registry.claim("c1", key)
        assert done is not None and (done["status"], done["outcome"], done["key"]) == (
            "COMPLETED", {"status": "accepted", "events": 3}, "inbound/p/a.edi")
    # an attempt that died long ago (older than any function timeout) is taken over by the next file
    table = boto3.resource("dynamodb").Table(FILES)
    stale = int(datetime.now(UTC).timestamp()) - STALE_CLAIM_SECONDS - 60
    table.put_item(Item={"checksum": "c2", "key": "inbound/p/x.edi", "status": "PROCESSING", "claimedAtEpoch": stale})
    assert registry.claim("c2", "inbound/p/y.edi") is None
    assert table.get_item(Key={"checksum": "c2"})["Item"]["key"] == "inbound/p/y.edi"
    # a fresh claim of another key is not taken over
    assert registry.claim("c2", "inbound/p/z.edi")["key"] == "inbound/p/y.edi"


def test_known_item_locations_asks_in_batches_of_100(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    table = boto3.resource("dynamodb").Table("masterdata")
    with table.batch_writer() as batch:
        for n in range(0, 250, 2):
            batch.put_item(Item={"pk": item_location_key(f"SKU-{n}", "DC-1")})
    wanted = {(f"SKU-{n}", "DC-1") for n in range(250)}
    calls: list[int] = []
    from distsync_core.files import store as files_adapter

    real = files_adapter.client

    def counting(service: str) -> Any:
        c = real(service)
        original = c.batch_get_item

        def batch_get_item(**kw: Any) -> Any:
            calls.append(len(kw["RequestItems"]["masterdata"]["Keys"]))
            return original(**kw)

        monkeypatch.setattr(c, "batch_get_item", batch_get_item)  # the client is shared: undone after the test
        return c

    monkeypatch.setattr(files_adapter, "client", counting)
    assert known_item_locations("masterdata", wanted) == {(f"SKU-{n}", "DC-1") for n in range(0, 250, 2)}
    assert sorted(calls) == [50, 100, 100]
