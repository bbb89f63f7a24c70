"""Partner files end to end on the running stack: a partner drops a file into inbound/<partner>/ of the landing
bucket (S3 through the stack's moto endpoint, as `distsync files put` does), S3's EventBridge notification runs
the intake pipeline, and its canonical events go through the domain pipelines like any webhook's.

Every transaction of every file is accounted for: it ends "delivered" (the trace of ``file-<fileId>-<index>``)
or it is in the file's error report and its trace ends "rejected"; each is registered in ``stack.accepted`` so
test_zz_accounting.py checks them again at the end of the session. The hand-written files get item ids of their
own per test (the same bytes twice would be a duplicate, and the balances of other tests must not interfere)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
ATP_HORIZON_DAYS = 14  # cdk.json atpHorizonDays


def uid() -> str:
    return uuid.uuid4().hex[:8].upper()


def sku() -> str:
    return f"SKU-{uid()}"


def template(path: str, **subs: str) -> bytes:
    """A test data file with some of its values replaced (item ids, document numbers)."""
    text = (DATA / path).read_bytes().decode("latin-1")
    for old, new in subs.items():
        assert old in text, (path, old)
        text = text.replace(old, new)
    return text.encode("latin-1")


class Landing:
    """The landing bucket and the file registry of the running stack, as a partner and an operator see them."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.bucket = stack.info["outputs"]["LandingBucketName"]
        self.s3 = boto3.client("s3", endpoint_url=stack.info["awsEndpoint"], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing",
                               config=Config(s3={"addressing_style": "path"}))
        self.files = stack.dynamodb.Table(stack.info["outputs"]["FilesTableName"])
        self.trace_table = stack.dynamodb.Table(stack.info["outputs"]["TraceTableName"])

    def drop(self, partner: str, name: str, body: bytes, *, wait: bool = True) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=f"inbound/{partner}/{name}", Body=body)
        if wait:
            self.stack.wait_idle()
        return f"{partner}-{hashlib.sha256(body).hexdigest()[:12]}"

    def keys(self, prefix: str) -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", []))

    def body(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def record(self, body: bytes) -> dict[str, Any]:
        return self.files.get_item(Key={"checksum": hashlib.sha256(body).hexdigest()}, ConsistentRead=True)["Item"]

    def hops_of_file(self, fid: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return self.trace_table.query(IndexName="byBusinessKey",
                                      KeyConditionExpression=Key("businessKey").eq(f"FILE#{fid}"))["Items"]

    def account(self, partner: str, name: str, body: bytes, *, rejected: set[int]) -> dict[str, Any] | None:
        """Every transaction of the file: delivered, or in the error report and rejected; registered for the
        session's final accounting. Returns the error report (None when the file had none)."""
        fid = f"{partner}-{hashlib.sha256(body).hexdigest()[:12]}"
        record = self.record(body)
        assert record["status"] == "COMPLETED", record
        outcome = record["outcome"]
        total = int(outcome["accepted"]) + int(outcome["rejected"])
        assert total > 0, outcome
        report = json.loads(self.body(outcome["report"])) if "report" in outcome else None
        reported = {t["index"] for t in report["transactions"] if t["status"] == "rejected"} if report else set()
        assert reported == rejected, (name, reported)
        if report:  # the report's own accounting: every unit in events or in errors
            acc = report["summary"]["accounting"]
            assert acc["total"] == acc["inEvents"] + acc["inErrors"] and report["summary"]["transactions"] == total
            assert {e["transactionIndex"] for e in report["errors"] if "transactionIndex" in e} == reported
        for index in range(1, total + 1):
            cid = f"file-{fid}-{index}"
            expected = "rejected" if index in reported else "delivered"
            trace = self.stack.trace(cid)
            assert trace["status"] == expected, trace
            assert trace["hops"][0]["stage"] == "file", trace
            self.stack.accepted[cid] = expected
        file_status = "delivered" if int(outcome["accepted"]) else "rejected"
        assert self.stack.trace(f"file-{fid}")["status"] == file_status
        self.stack.accepted[f"file-{fid}"] = file_status
        return report


@pytest.fixture(scope="module")
def landing(stack) -> Landing:
    return Landing(stack)


def known(stack, *item_locations: tuple[str, str]) -> None:
    """Master data for the item-locations (ItemLocationUpserted from the ERP), in place before the file lands."""
    for item, location in item_locations:
        stack.master_data(item, location, ss=10, rop=20)
    stack.wait_idle()


def segments(ack: bytes, *tags: str) -> list[str]:
    text = ack.decode()
    terminator = "'" if text.startswith(("UNA", "UNB")) else "~"
    return [s.strip() for s in text.split(terminator) if s.strip() and s.strip().startswith(tags)]


def expected_atp(on_hand: float, allocated: float, in_transit: float, due: str | None) -> float:
    now = datetime.now(UTC)
    inbound = in_transit if due and datetime.fromisoformat(due) <= now + timedelta(days=ATP_HORIZON_DAYS) else 0
    return max(on_hand - allocated + inbound, 0)


def test_a_good_x12_846_projects_its_balances_to_atp_and_planning(stack, landing):
    a, b, c = sku(), sku(), sku()
    known(stack, (a, "DC-EAST"), (b, "DC-EAST"), (c, "DC-WEST"))
    body = template("x12/846_inventory.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c})
    name = f"846-{a}.edi"
    fid = landing.drop("acme-3pl", name, body)
    landing.account("acme-3pl", name, body, rejected=set())

    cid = f"file-{fid}-1"
    atp = stack.api.atp(a, "DC-EAST")
    assert atp.status == 200, atp.body
    assert (atp.body["onHand"], atp.body["sourceSystem"]) == (500, "wms")
    assert atp.body["availableToPromise"] == expected_atp(500, 120, 80, "2026-12-04T12:00:00+00:00")
    atp = stack.api.atp(b, "DC-EAST")
    assert [(lot["lotNumber"], lot["quantity"]) for lot in atp.body["lots"]] == [("LOT-A1", 300), ("LOT-A2", 200)]
    assert stack.api.atp(c, "DC-WEST").body["onHand"] == 75.5  # ACME-W1 -> DC-WEST, from the partner's map
    # planning got each balance once; the bus saw them under the transaction's correlation id, from the wms
    sent = stack.sim_records("planning", "inventory-balance", cid)
    assert sorted((r["itemId"], r["locationId"]) for r in sent) == sorted([(a, "DC-EAST"), (b, "DC-EAST"),
                                                                          (c, "DC-WEST")])
    on_bus = stack.bus_events_for(cid)
    balances = [e for e in on_bus if e["detail-type"] == "InventoryBalanceChanged"]
    assert [e["detail"]["data"]["itemId"] for e in balances] == [a, b, c]
    assert {e["detail"]["metadata"]["source"] for e in balances} == {"wms"}
    # and the projection's own events, caused by them, under the same correlation id
    assert sorted(e["detail-type"] for e in on_bus) == ["InventoryAvailabilityUpdated"] * 3 + [
        "InventoryBalanceChanged"] * 3
    hops = [(h["stage"], h["outcome"]) for h in stack.trace(cid)["hops"]]
    assert sorted(hops) == sorted([("file", "ok")] * 3 + [("inventory", "ok")] * 3 + [("planning-sync", "delivered")] * 3)
    # the acknowledgment and the original
    assert segments(landing.body(f"outbound/acme-3pl/{fid}-{name}.997"), "AK5", "AK9") == ["AK5*A", "AK9*A*1*1*1"]
    assert landing.keys("inbound/acme-3pl/") == []
    (archived,) = [k for k in landing.keys("archive/acme-3pl/") if k.endswith(f"/{fid}-{name}")]
    assert landing.body(archived) == body


def test_a_third_party_855_confirms_the_purchase_order_in_the_erp(stack, landing):
    """node-x12's 855 sample, unchanged, from the supplier whose EDI id (1556150) it carries."""
    cid = f"md-SUP-1-{uid()}"
    stack.expect(stack.erp.upsert("SupplierUpserted", {"supplierId": "SUP-1", "name": "Globex Books",
                                                       "defaultLeadTimeDays": 7}, correlation_id=cid), cid, "delivered")
    isbns = ["9780446360265", "9780767928427", "9780099599531", "9780446360272"]
    for isbn in isbns:  # the 855 confirms in UN (units): the ERP's items say one UN is one EA, their base unit
        md = f"md-item-{isbn}-{uid()}"
        stack.expect(stack.erp.webhook("erp", "ItemUpserted", {
            "itemId": isbn, "description": "Book", "unitOfMeasure": "EA", "status": "active",
            "unitConversions": [{"unit": "UN", "toBase": 1}]}, version="2", correlation_id=md), md, "delivered")
    known(stack, *[(isbn, "DC-EAST") for isbn in isbns])
    body = (DATA / "third_party" / "node-x12_855.edi").read_bytes()
    fid = landing.drop("globex-supplier", "node-x12_855.edi", body)
    landing.account("globex-supplier", "node-x12_855.edi", body, rejected=set())

    (confirmation,) = stack.sim_records("erp", "po-confirmation", f"file-{fid}-1")
    assert confirmation["purchaseOrderId"] == "POTEST1112" and confirmation["body"]["supplierId"] == "SUP-1"
    assert [(line["itemId"], line["confirmedQuantity"]) for line in confirmation["body"]["lines"]] == [
        ("9780446360265", 3), ("9780767928427", 0), ("9780099599531", 0), ("9780446360272", 2)]
    assert [(h["stage"], h["outcome"]) for h in stack.trace(f"file-{fid}-1")["hops"]] == [
        ("file", "ok"), ("supplier", "delivered")]
    # accepted, errors noted: its ship-to code (123MILL 0001) is not in the partner's location map, so the
    # partner's default location was used (a warning, not an error: no error report)
    assert segments(landing.body(f"outbound/globex-supplier/{fid}-node-x12_855.edi.997"), "AK1", "AK5", "AK9") == [
        "AK1*PR*5", "AK5*E", "AK9*E*1*1*1"]
    assert landing.keys(f"rejected/globex-supplier/{fid}-node-x12_855") == []


def test_an_edifact_invrpt_projects_balances_and_a_desadv_reaches_the_erp(stack, landing):
    a, b, c = sku(), sku(), sku()
    known(stack, (a, "DC-EAST"), (b, "DC-EAST"), (c, "DC-WEST"))
    invrpt = template("edifact/invrpt_d96a.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c})
    shipment, orders = f"DN-{uid()}", [f"SO-{uid()}", f"SO-{uid()}"]
    desadv = template("edifact/desadv_d96a.edi", **{"DN-1001": shipment, "SO-5001": orders[0], "SO-5002": orders[1]})
    inventory_fid = landing.drop("acme-3pl", f"invrpt-{a}.edi", invrpt, wait=False)
    shipment_fid = landing.drop("acme-3pl", f"desadv-{shipment}.edi", desadv)
    landing.account("acme-3pl", f"invrpt-{a}.edi", invrpt, rejected=set())
    landing.account("acme-3pl", f"desadv-{shipment}.edi", desadv, rejected=set())

    assert (stack.api.atp(a, "DC-EAST").body["onHand"], stack.api.atp(c, "DC-WEST").body["onHand"]) == (500, 75.5)
    assert len(stack.sim_records("planning", "inventory-balance", f"file-{inventory_fid}-1")) == 3
    statuses = stack.sim_records("erp", "delivery-status", f"file-{shipment_fid}-1")
    assert sorted(s["orderId"] for s in statuses) == sorted(orders)
    assert {(s["body"]["shipmentId"], s["body"]["milestone"], s["body"]["trackingNumber"], s["body"]["carrier"])
            for s in statuses} == {(shipment, "shipped", "JD0123456789", "DHL EXPRESS")}
    (update,) = stack.sim_records("channels", "shipment-update", f"file-{shipment_fid}-1")
    assert update["body"]["orderIds"] == orders
    for fid, name in ((inventory_fid, f"invrpt-{a}.edi"), (shipment_fid, f"desadv-{shipment}.edi")):
        assert segments(landing.body(f"outbound/acme-3pl/{fid}-{name}.contrl"), "UCI")[0].endswith("+7")  # accepted


def test_a_csv_of_item_locations_from_the_erp_becomes_master_data(stack, landing):
    a, b, c = sku(), sku(), sku()
    body = template("csv/item_locations.csv", **{"SKU-100": a, "SKU-200": b, "SKU-300": c})
    fid = landing.drop("erp", f"item-locations-{a}.csv", body)
    landing.account("erp", f"item-locations-{a}.csv", body, rejected=set())
    table = stack.dynamodb.Table(stack.info["outputs"]["MasterDataTableName"])
    record = table.get_item(Key={"pk": f"ITEMLOC#{a}#DC-EAST"})["Item"]
    assert (record["safetyStock"], record["reorderPoint"], record["supplierId"], record["leadTimeDays"]) == (
        40, 60.5, "SUP-1", 7)
    assert table.get_item(Key={"pk": f"ITEMLOC#{c}#DC-WEST"})["Item"]["unitOfMeasure"] == "EA"
    assert [(h["stage"], h["outcome"]) for h in stack.trace(f"file-{fid}-2")["hops"]] == [
        ("file", "ok"), ("masterdata", "delivered")]
    assert landing.keys(f"outbound/erp/{fid}-item-locations-{a}.csv") == []  # CSV: no functional acknowledgment
    # the items are known now: a balance for one of them in a file is applied
    balance = template("x12/846_mixed.edi", **{"SKU-100": a, "SKU-200": sku(), "SKU-300": sku(), "SKU-400": sku()})
    # (the other sets of that file name items nobody knows or are broken: only the first applies)
    name = f"846-after-csv-{a}.edi"
    landing.drop("acme-3pl", name, balance)
    landing.account("acme-3pl", name, balance, rejected={2, 3, 4})
    assert stack.api.atp(a, "DC-EAST").body["onHand"] == 480


def test_a_broken_envelope_is_rejected_with_the_segment_the_reason_and_a_rejecting_ack(stack, landing):
    item = sku()
    body = template("x12/846_truncated.edi", **{"SKU-100": item})
    name = f"truncated-{item}.edi"
    fid = landing.drop("acme-3pl", name, body)
    report = landing.account("acme-3pl", name, body, rejected={1})
    assert landing.keys(f"rejected/acme-3pl/{fid}-{name}") == [f"rejected/acme-3pl/{fid}-{name}",
                                                               f"rejected/acme-3pl/{fid}-{name}.errors.json"]
    assert landing.body(f"rejected/acme-3pl/{fid}-{name}") == body
    assert not [k for k in landing.keys("archive/acme-3pl/") if k.endswith(name)]  # nothing was applied
    assert report["file"]["status"] == "rejected" and report["file"]["key"] == f"inbound/acme-3pl/{name}"
    errors = {e["code"]: e for e in report["errors"]}
    assert (errors["set_trailer_missing"]["segmentId"], errors["set_trailer_missing"]["line"]) == ("QTY", 7)
    assert errors["set_trailer_missing"]["reason"] == "transaction set 0001 has no SE trailer"
    assert errors["interchange_trailer_missing"]["reason"] == "the interchange has no IEA trailer"
    ack = landing.body(f"outbound/acme-3pl/{fid}-{name}.997")
    assert segments(ack, "TA1")[0].split("*")[4] == "R"
    assert segments(ack, "AK5", "AK9") == ["AK5*R*2", "AK9*R*1*1*0*3"]
    assert stack.bus_events_for(f"file-{fid}-1") == [] and stack.api.atp(item, "DC-EAST").status == 404


def test_a_mixed_file_applies_the_good_sets_and_reports_the_bad_ones(stack, landing):
    a, b, c, d = sku(), sku(), sku(), sku()
    known(stack, (a, "DC-EAST"), (d, "DC-WEST"))
    body = template("x12/846_mixed.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c, "SKU-400": d})
    name = f"mixed-{a}.edi"
    fid = landing.drop("acme-3pl", name, body)
    report = landing.account("acme-3pl", name, body, rejected={2, 3})
    assert (stack.api.atp(a, "DC-EAST").body["onHand"], stack.api.atp(d, "DC-WEST").body["onHand"]) == (480, 25)
    assert stack.api.atp(b, "DC-EAST").status == 404 and stack.api.atp(c, "DC-EAST").status == 404
    errors = {e["transactionIndex"]: e for e in report["errors"]}
    assert (errors[2]["code"], errors[2]["segmentId"], errors[2]["line"]) == ("unknown_segment", "ZZZ", 14)
    assert (errors[3]["code"], errors[3]["segmentId"], errors[3]["element"]) == ("set_count_mismatch", "SE", "SE01")
    assert segments(landing.body(f"outbound/acme-3pl/{fid}-{name}.997"), "AK2", "AK5") == [
        "AK2*846*1001", "AK5*A", "AK2*846*1002", "AK5*R*5", "AK2*846*1003", "AK5*R*4", "AK2*846*1004", "AK5*A"]
    assert stack.bus_events_for(f"file-{fid}-2") == stack.bus_events_for(f"file-{fid}-3") == []


def test_the_same_file_twice_is_applied_once(stack, landing):
    a, b, c = sku(), sku(), sku()
    known(stack, (a, "DC-EAST"), (b, "DC-EAST"), (c, "DC-WEST"))
    body = template("x12/846_inventory.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c})
    fid = landing.drop("acme-3pl", f"846-{a}.edi", body)
    again = landing.drop("acme-3pl", f"846-{a}-resent.edi", body)
    assert again == fid
    landing.account("acme-3pl", f"846-{a}.edi", body, rejected=set())
    # once on the bus, once to planning; the second copy kept apart, unanswered
    assert [e["detail"]["data"]["itemId"] for e in stack.bus_events_for(f"file-{fid}-1")
            if e["detail-type"] == "InventoryBalanceChanged"] == [a, b, c]
    assert [r["itemId"] for r in stack.sim_records("planning", "inventory-balance") if r["itemId"] == a] == [a]
    (duplicate,) = [k for k in landing.keys("archive/acme-3pl/duplicates/") if k.endswith(f"-846-{a}-resent.edi")]
    assert landing.body(duplicate) == body
    assert not [k for k in landing.keys("outbound/acme-3pl/") if f"846-{a}-resent" in k]
    assert landing.record(body)["key"] == f"inbound/acme-3pl/846-{a}.edi"
    (dup_hop,) = [h for h in landing.hops_of_file(fid) if "-duplicate-" in h["correlationId"]]
    assert "the same bytes as inbound/acme-3pl/" in dup_hop["detail"] and "not applied again" in dup_hop["detail"]
    assert stack.trace(dup_hop["correlationId"])["status"] == "rejected"
    stack.accepted[dup_hop["correlationId"]] = "rejected"


def test_an_item_unknown_to_master_data_puts_its_transaction_in_the_report(stack, landing):
    a, b, c, unknown = sku(), sku(), sku(), sku()
    known(stack, (a, "DC-EAST"))
    body = template("edifact/invrpt_mixed.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c, "SKU-400": unknown})
    name = f"invrpt-mixed-{a}.edi"
    fid = landing.drop("acme-3pl", name, body)
    report = landing.account("acme-3pl", name, body, rejected={2, 3, 4, 5})
    (error,) = [e for e in report["errors"] if e["code"] == "unknown_master_data"]
    assert (error["transactionIndex"], error["value"]) == (5, f"{unknown}@DC-WEST")
    assert f"item-location {unknown}@DC-WEST is unknown to master data" in error["reason"]
    assert stack.api.atp(a, "DC-EAST").body["onHand"] == 480 and stack.api.atp(unknown, "DC-WEST").status == 404
    assert f"{unknown}@DC-WEST is unknown" in stack.trace(f"file-{fid}-5")["hops"][0]["detail"]
    assert segments(landing.body(f"outbound/acme-3pl/{fid}-{name}.contrl"), "UCM+M1", "UCM+M5") == [
        "UCM+M1+INVRPT:D:96A:UN+7", "UCM+M5+INVRPT:D:96A:UN+4"]


def test_an_operator_drops_a_file_with_the_cli_and_the_intake_applies_it(stack, landing, tmp_path):
    """`distsync files put` streams the file to inbound/<partner>/ (a progress bar while it uploads) and the intake
    takes it like any partner's drop."""
    a, b, c = sku(), sku(), sku()
    known(stack, (a, "DC-EAST"), (b, "DC-EAST"), (c, "DC-WEST"))
    body = template("x12/846_inventory.edi", **{"SKU-100": a, "SKU-200": b, "SKU-300": c})
    path = tmp_path / f"846-{a}.edi"
    path.write_bytes(body)
    result = stack.cli("files", "put", "acme-3pl", str(path))
    assert result.returncode == 0, result.stderr
    assert f"put inbound/acme-3pl/{path.name} ({len(body):,} bytes)" in result.stdout
    stack.wait_idle()
    landing.account("acme-3pl", path.name, body, rejected=set())
    assert stack.api.atp(a, "DC-EAST").body["onHand"] == 500
