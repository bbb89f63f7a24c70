"""distsync_core.files.intake over fakes of its three ports (objects, registry, publisher): keys, the partner
registry from configuration, what the intake does with the registry's answers (first attempt, retry,
duplicate), the master data check per transaction, and the accounting of every unit of a file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from distsync_core.contracts import derive_id
from distsync_core.files import Code, FileFormat, parse_file
from distsync_core.files.intake import (
    MAX_FILE_BYTES,
    FileIntake,
    FileKey,
    OutputKeys,
    ack_control_number,
    file_id,
    output_keys,
    parse_key,
    partner_profiles,
)

X12, EDIFACT = FileFormat.X12, FileFormat.EDIFACT

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
NOW = datetime(2026, 11, 27, 10, 30, 15, tzinfo=UTC)
# the partners of cdk.json (infra/config.py DEFAULT_FILE_PARTNERS), as the function receives them
PARTNERS = json.loads(json.dumps({
    "acme-3pl": {"source": "wms", "senderIds": ["ACMEWMS"], "receiverIds": ["DISTSYNC"], "formats": ["x12", "edifact"],
                 "locationMap": {"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"}, "defaultLocationId": "DC-EAST"},
    "globex-supplier": {"source": "supplier", "senderIds": ["1556150"], "formats": ["x12", "edifact"],
                        "supplierId": "SUP-1", "defaultLocationId": "DC-EAST"},
    "planning": {"source": "planning", "formats": ["csv"]},
    "erp": {"source": "erp", "formats": ["csv"]},
}))


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def segments(ack: bytes, *tags: str) -> list[str]:
    """The segments of an acknowledgment (X12 "~" / EDIFACT "'" terminated), those starting with ``tags``."""
    text = ack.decode()
    terminator = "'" if text.startswith(("UNA", "UNB")) else "~"
    found = [s.strip() for s in text.split(terminator) if s.strip()]
    return [s for s in found if s.startswith(tags)] if tags else found


# ------------------------------------------------------------------------------------------------ fakes
class FakeObjects:
    """The landing bucket: a dict of key -> bytes; ``fail_move`` makes the next move raise (a crash)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}
        self.types: dict[str, str] = {}
        self.fail_move = False

    def size(self, key: str) -> int | None:
        return len(self.store[key]) if key in self.store else None

    def get(self, key: str, max_bytes: int) -> bytes:
        return self.store[key][: max_bytes + 1]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.store[key], self.types[key] = body, content_type

    def move(self, source: str, target: str) -> None:
        if self.fail_move:
            self.fail_move = False
            raise RuntimeError("the function was killed between publish and archive")
        self.store[target] = self.store.pop(source)

    def under(self, prefix: str) -> dict[str, bytes]:
        return {k: v for k, v in self.store.items() if k.startswith(prefix)}


class FakeRegistry:
    """The registry contract (files.store.FileRegistry, proven on moto in the integration tests): a free
    checksum is claimed (None); the same key's unfinished claim is a retry (None); anything else answers
    with the record of the file that has these bytes."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.claims: list[tuple[str, str]] = []

    def claim(self, checksum: str, key: str) -> dict[str, Any] | None:
        self.claims.append((checksum, key))
        record = self.records.get(checksum)
        if record is None:
            self.records[checksum] = {"checksum": checksum, "key": key, "status": "PROCESSING"}
            return None
        if record["status"] == "PROCESSING" and record["key"] == key:
            return None
        return dict(record)

    def complete(self, checksum: str, outcome: dict[str, Any]) -> None:
        self.records[checksum].update(status="COMPLETED", outcome=outcome)


class Rig:
    """A FileIntake over the fakes, recording what it published, the hops and the master data lookups."""

    def __init__(self, known: set[tuple[str, str]] | None = None, partners: dict[str, Any] | None = None) -> None:
        self.objects, self.registry = FakeObjects(), FakeRegistry()
        self.published: list[list[Any]] = []
        self.hops: list[dict[str, Any]] = []
        self.lookups: list[set[tuple[str, str]]] = []
        self.known = known  # None: every item-location is known
        self.bodies: dict[tuple[str, str], bytes] = {}

        def lookup(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
            self.lookups.append(set(keys))
            return set(keys) if self.known is None else keys & self.known

        self.intake = FileIntake(
            objects=self.objects, registry=self.registry, publish=self.published.append,
            hop=lambda cid, stage, outcome, detail="", **kw: self.hops.append(
                {"cid": cid, "stage": stage, "outcome": outcome, "detail": detail, **kw}),
            known=lookup, partners=partner_profiles(partners or PARTNERS), now=lambda: NOW,
        )

    def drop(self, partner: str, name: str, body: bytes) -> str:
        key = f"inbound/{partner}/{name}"
        self.objects.store[key] = body
        self.bodies[(partner, name)] = body
        return key

    def keys(self, partner: str, name: str) -> OutputKeys:
        """Where the intake writes the outputs of the file last dropped as ``name`` (named with its file id)."""
        return output_keys(partner, name, hashlib.sha256(self.bodies[(partner, name)]).hexdigest())

    def process(self, key: str, nonce: str = ""):
        return self.intake.process(key, nonce=nonce)

    @property
    def envelopes(self) -> list[Any]:
        return [e for batch in self.published for e in batch]

    def report(self, partner: str, name: str) -> dict[str, Any]:
        """The report of a file that was read (named with its file id) or, rejected unread, of its name."""
        unread = f"rejected/{partner}/{name}.errors.json"
        read = self.keys(partner, name).report if (partner, name) in self.bodies else unread
        return json.loads(self.objects.store[read if read in self.objects.store else unread])


# ------------------------------------------------------------------------------------------------ keys
@pytest.mark.parametrize(("key", "expected"), [
    ("inbound/acme-3pl/846.edi", FileKey("acme-3pl", "846.edi")),
    ("inbound/acme-3pl/2026/11/846.edi", FileKey("acme-3pl", "2026/11/846.edi")),  # sub-folders stay in the name
    ("inbound/acme-3pl/", None),  # a "folder" placeholder
    ("inbound/acme-3pl/sub/", None),
    ("inbound//846.edi", None),  # no partner
    ("inbound/846.edi", None),  # no partner folder
    ("archive/acme-3pl/2026-11-27/846.edi", None),  # distsync's own prefixes are not partner files
    ("Inbound/acme-3pl/846.edi", None),
    ("cycles/planning/c1.csv", None),
])
def test_parse_key(key: str, expected: FileKey | None) -> None:
    assert parse_key(key) == expected
    if expected is not None:
        assert expected.inbound == key


def test_file_ids_and_ack_control_numbers_are_derived_from_the_bytes() -> None:
    checksum = parse_file(raw("x12/846_inventory.edi"), partner_profiles(PARTNERS)["acme-3pl"]).checksum
    assert file_id("acme-3pl", checksum) == f"acme-3pl-{checksum[:12]}"
    assert ack_control_number(checksum) == ack_control_number(checksum)  # a reprocessed file answers the same
    assert all(1 <= ack_control_number(c * 64) <= 999_999_999 for c in "0123456789abcdef")


# ------------------------------------------------------------------------------------------------ partners
def test_partner_registry_from_json_takes_every_setting() -> None:
    profiles = partner_profiles(json.dumps({
        **PARTNERS,
        "initech": {"source": "wms", "senderIds": [" INITECH "], "formats": ["edifact"], "itemQualifiers": ["VP"],
                    "defaultCarrier": "UPS", "timezone": "Europe/Berlin", "defaultUnitOfMeasure": "CS"},
    }))
    assert set(profiles) == {"acme-3pl", "globex-supplier", "planning", "erp", "initech"}
    acme = profiles["acme-3pl"]
    assert (acme.partner_id, acme.source, acme.sender_ids, acme.receiver_ids) == (
        "acme-3pl", "wms", ("ACMEWMS",), ("DISTSYNC",))
    assert acme.formats == frozenset({FileFormat.X12, FileFormat.EDIFACT})
    assert (dict(acme.location_map), acme.default_location_id) == ({"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"},
                                                                   "DC-EAST")
    assert profiles["globex-supplier"].effective_supplier_id == "SUP-1"
    assert profiles["erp"].formats == frozenset({FileFormat.CSV})
    initech = profiles["initech"]
    assert (initech.sender_ids, initech.item_qualifiers, initech.default_carrier, initech.timezone,
            initech.default_unit_of_measure) == (("INITECH",), ("VP",), "UPS", "Europe/Berlin", "CS")
    # no formats: every format; nothing configured: no partner
    assert partner_profiles({"x": {"source": "erp"}})["x"].formats == frozenset(
        {FileFormat.X12, FileFormat.EDIFACT, FileFormat.CSV})
    assert partner_profiles("{}") == {} and partner_profiles("null") == {}


@pytest.mark.parametrize(("config", "needle"), [
    ({"p": {"source": "warehouse"}}, "unknown source"),
    ({"p": {"source": "wms", "formats": ["pdf"]}}, "pdf"),
    ({"p": {"source": "wms", "senderId": ["X"]}}, "senderId"),  # misspelt: refused by name, never ignored
    ({"p": {"source": "wms", "timezone": "Mars/Base"}}, "Mars/Base"),
    ({"p": {"senderIds": ["X"]}}, "source"),
])
def test_a_bad_partner_configuration_is_refused(config: dict[str, Any], needle: str) -> None:
    with pytest.raises((ValueError, KeyError)) as info:
        partner_profiles(config)
    assert needle in str(info.value)


# ------------------------------------------------------------------------------------------------ one file
def test_a_good_846_is_published_acknowledged_archived_and_completed() -> None:
    rig = Rig()
    body = raw("x12/846_inventory.edi")
    key = rig.drop("acme-3pl", "846.edi", body)
    outcome = rig.process(key)

    checksum = parse_file(body, partner_profiles(PARTNERS)["acme-3pl"]).checksum
    fid = f"acme-3pl-{checksum[:12]}"
    assert outcome.as_dict() == {
        "status": "accepted", "file_id": fid, "events": 3, "accepted": 1, "rejected": 0,
        "original": rig.keys("acme-3pl", "846.edi").archive(NOW), "acknowledgment": rig.keys("acme-3pl", "846.edi").acknowledgment(X12)}
    # one PutEvents batch: the three balances, under the transaction's correlation id, deterministic ids
    (batch,) = rig.published
    assert [(e.metadata.event_type, e.data["itemId"], e.data["locationId"]) for e in batch] == [
        ("InventoryBalanceChanged", "SKU-100", "DC-EAST"), ("InventoryBalanceChanged", "SKU-200", "DC-EAST"),
        ("InventoryBalanceChanged", "SKU-300", "DC-WEST")]
    assert {e.metadata.correlation_id for e in batch} == {f"file-{fid}-1"}
    assert [e.metadata.event_id for e in batch] == [derive_id(checksum, "1", str(n)) for n in range(3)]
    assert {e.metadata.source for e in batch} == {"wms"}
    assert [e.data["onHand"] for e in batch] == [500, 500, 75.5]
    # the objects: original archived, 997 accepting the set, no error report, nothing left in inbound/
    assert rig.objects.under("inbound/") == {}
    assert rig.objects.store[rig.keys("acme-3pl", "846.edi").archive(NOW)] == body
    ack = segments(rig.objects.store[rig.keys("acme-3pl", "846.edi").acknowledgment(X12)])
    assert segments(rig.objects.store[rig.keys("acme-3pl", "846.edi").acknowledgment(X12)], "AK") == [
        "AK1*IB*101", "AK2*846*0001", "AK5*A", "AK9*A*1*1*1"]
    assert ack[0].split("*")[13] == f"{ack_control_number(checksum):09d}"  # ISA13 of the answer
    assert ack[0].split("*")[6].strip() == "DISTSYNC" and ack[0].split("*")[8].strip() == "ACMEWMS"
    assert rig.objects.types[rig.keys("acme-3pl", "846.edi").acknowledgment(X12)] == "application/edi-x12"
    assert rig.objects.under("rejected/") == {}
    # registry: claimed once before publishing, completed with the outcome
    assert rig.registry.claims == [(checksum, key)]
    assert rig.registry.records[checksum]["status"] == "COMPLETED"
    assert rig.registry.records[checksum]["outcome"] == outcome.as_dict()
    # ledger: one hop per event of the transaction, then the file's own (delivered)
    assert [(h["cid"], h["outcome"], h.get("eventType")) for h in rig.hops] == [
        *[(f"file-{fid}-1", "ok", "InventoryBalanceChanged")] * 3, (f"file-{fid}", "delivered", None)]
    assert {h["business_key"] for h in rig.hops} == {f"FILE#{fid}"}
    assert [h["event_id"] for h in rig.hops[:3]] == [e.metadata.event_id for e in batch]
    assert "1 of 1 transaction_set(s) in 3 event(s), 0 in the error report" in rig.hops[-1]["detail"]


def test_a_mixed_file_publishes_the_good_sets_and_reports_and_rejects_the_bad_ones() -> None:
    rig = Rig()
    key = rig.drop("acme-3pl", "mixed.edi", raw("x12/846_mixed.edi"))
    outcome = rig.process(key)
    fid = outcome.file_id
    assert (outcome.status, outcome.accepted, outcome.rejected, outcome.events) == ("partially_accepted", 2, 2, 2)
    assert sorted({e.metadata.correlation_id for e in rig.envelopes}) == [f"file-{fid}-1", f"file-{fid}-4"]
    # something was accepted: the original is archived, the report names the bad sets
    assert outcome.original == rig.keys("acme-3pl", "mixed.edi").archive(NOW)
    assert outcome.report == rig.keys("acme-3pl", "mixed.edi").report
    report = rig.report("acme-3pl", "mixed.edi")
    assert report["file"]["key"] == key and report["file"]["fileId"] == fid
    assert {(e["transactionIndex"], e["code"], e.get("segmentId")) for e in report["errors"]} == {
        (2, "unknown_segment", "ZZZ"), (3, "set_count_mismatch", "SE")}
    assert segments(rig.objects.store[rig.keys("acme-3pl", "mixed.edi").acknowledgment(X12)], "AK2", "AK5", "AK9") == [
        "AK2*846*1001", "AK5*A", "AK2*846*1002", "AK5*R*5", "AK2*846*1003", "AK5*R*4", "AK2*846*1004", "AK5*A",
        "AK9*P*4*4*2"]
    rejected = [h for h in rig.hops if h["outcome"] == "rejected"]
    assert [h["cid"] for h in rejected] == [f"file-{fid}-2", f"file-{fid}-3"]
    assert "unknown segment 'ZZZ'" in rejected[0]["detail"]
    assert rig.hops[-1]["cid"] == f"file-{fid}" and rig.hops[-1]["outcome"] == "delivered"


def test_a_file_with_nothing_accepted_goes_to_rejected_with_its_report_and_a_rejecting_ack() -> None:
    rig = Rig()
    body = raw("x12/846_truncated.edi")
    outcome = rig.process(rig.drop("acme-3pl", "truncated.edi", body))
    assert (outcome.status, outcome.original) == ("rejected", rig.keys("acme-3pl", "truncated.edi").rejected)
    assert rig.objects.store[rig.keys("acme-3pl", "truncated.edi").rejected] == body and rig.objects.under("archive/") == {}
    assert rig.published == []
    report = rig.report("acme-3pl", "truncated.edi")
    assert report["file"]["status"] == "rejected"
    # the report names where the file broke off (line 7, the QTY segment) and why
    errors = {e["code"]: e for e in report["errors"]}
    for code in ("interchange_trailer_missing", "group_trailer_missing", "set_trailer_missing"):
        assert (errors[code]["line"], errors[code]["segmentPosition"], errors[code]["segmentId"]) == (7, 7, "QTY")
    assert errors["set_trailer_missing"]["reason"] == "transaction set 0001 has no SE trailer"
    # a rejecting acknowledgment: TA1 for the broken interchange, the set and the group rejected
    ack = rig.objects.store[rig.keys("acme-3pl", "truncated.edi").acknowledgment(X12)]
    assert segments(ack, "TA1")[0].split("*")[4] == "R"
    assert segments(ack, "AK5", "AK9") == ["AK5*R*2", "AK9*R*1*1*0*3"]
    assert rig.hops[-1] == {"cid": f"file-{outcome.file_id}", "stage": "file", "outcome": "rejected",
                            "detail": rig.hops[-1]["detail"], "business_key": f"FILE#{outcome.file_id}"}


def test_csv_files_get_a_report_only_when_something_was_rejected_and_never_an_ack() -> None:
    rig = Rig()
    good = rig.process(rig.drop("erp", "item_locations.csv", raw("csv/item_locations.csv")))
    assert (good.status, good.acknowledgment, good.report) == ("accepted", None, None)
    assert [e.metadata.event_type for e in rig.envelopes] == ["ItemLocationUpserted"] * 3
    assert rig.lookups == []  # master data itself is never checked against master data
    bad = rig.process(rig.drop("erp", "item_locations_bad.csv", raw("csv/item_locations_bad.csv")))
    assert (bad.status, bad.acknowledgment, bad.accepted, bad.rejected) == ("partially_accepted", None, 2, 7)
    assert rig.objects.under("outbound/") == {}
    report = rig.report("erp", "item_locations_bad.csv")
    assert {e["line"] for e in report["errors"]} == {3, 4, 5, 6, 7, 8, 10}


@pytest.mark.parametrize(("key", "partner", "name", "needle"), [
    ("inbound/initech/846.edi", "initech", "846.edi", "unknown partner 'initech' (configured: acme-3pl, erp, "
                                                      "globex-supplier, planning)"),
    ("inbound/846.edi", "_unknown", "846.edi", "is not inbound/<partner>/<file>"),
    ("upload/acme-3pl/846.edi", "_unknown", "846.edi", "is not inbound/<partner>/<file>"),
])
def test_a_file_nobody_may_send_is_rejected_unread(key: str, partner: str, name: str, needle: str) -> None:
    rig = Rig()
    rig.objects.store[key] = raw("x12/846_inventory.edi")
    outcome = rig.process(key, nonce="-n1")
    assert outcome.as_dict() == {"status": "rejected", "file_id": f"{partner}-{name}", "events": 0, "accepted": 0,
                                 "rejected": 0, "original": f"rejected/{partner}/{name}",
                                 "report": f"rejected/{partner}/{name}.errors.json"}
    assert key not in rig.objects.store and f"rejected/{partner}/{name}" in rig.objects.store
    report = rig.report(partner, name)
    assert report["file"] == {"key": key, "partnerId": partner, "status": "rejected"}
    assert [e["code"] for e in report["errors"]] == ["unreadable"] and needle in report["errors"][0]["reason"]
    assert rig.published == [] and rig.registry.claims == []  # never read, never claimed
    assert [(h["cid"], h["outcome"]) for h in rig.hops] == [(f"file-{partner}-{name}-n1", "rejected")]


def test_a_file_above_the_limit_is_rejected_without_being_read() -> None:
    rig = Rig()

    class Huge(FakeObjects):
        def size(self, key: str) -> int | None:
            return MAX_FILE_BYTES + 1 if key.startswith("inbound/") else super().size(key)

        def get(self, key: str, max_bytes: int) -> bytes:
            raise AssertionError("a file above the limit is never read")

    rig.objects.__class__ = Huge
    key = rig.drop("acme-3pl", "big.edi", b"ISA*...")
    outcome = rig.process(key)
    assert (outcome.status, outcome.original) == ("rejected", "rejected/acme-3pl/big.edi")
    assert f"larger than {MAX_FILE_BYTES} bytes" in rig.report("acme-3pl", "big.edi")["errors"][0]["reason"]
    assert rig.published == [] and rig.registry.claims == []


def test_a_file_that_is_gone_is_a_redelivery_and_does_nothing() -> None:
    rig = Rig()
    outcome = rig.process("inbound/acme-3pl/already-moved.edi")
    assert outcome.status == "gone"
    assert rig.published == rig.hops == rig.registry.claims == [] and rig.objects.store == {}


def test_a_key_notified_url_encoded_is_read_under_its_real_name() -> None:
    rig = Rig()
    rig.drop("acme-3pl", "stock 27:11.edi", raw("x12/846_inventory.edi"))
    outcome = rig.process("inbound/acme-3pl/stock+27%3A11.edi")  # how S3 notifications encode that key
    assert outcome.status == "accepted" and outcome.events == 3
    assert rig.keys("acme-3pl", "stock 27:11.edi").acknowledgment(X12) in rig.objects.store
    assert "inbound/acme-3pl/stock 27:11.edi" not in rig.objects.store


# ------------------------------------------------------------------------------------------------ registry answers
def test_the_same_bytes_again_are_a_duplicate_archived_apart_and_not_published() -> None:
    rig = Rig()
    body = raw("x12/846_inventory.edi")
    first = rig.process(rig.drop("acme-3pl", "846.edi", body))
    published, ack = len(rig.envelopes), rig.objects.store[rig.keys("acme-3pl", "846.edi").acknowledgment(X12)]
    second = rig.process(rig.drop("acme-3pl", "846-resent.edi", body), nonce="-n2")
    assert second.as_dict() == {"status": "duplicate", "file_id": first.file_id, "events": 0, "accepted": 0,
                                "rejected": 0, "original": "archive/acme-3pl/duplicates/2026-11-27T103015-846-resent.edi"}
    assert len(rig.envelopes) == published == 3  # nothing published again
    assert rig.objects.store["archive/acme-3pl/duplicates/2026-11-27T103015-846-resent.edi"] == body
    assert rig.objects.under("inbound/") == {} and rig.keys("acme-3pl", "846-resent.edi").acknowledgment(X12) not in rig.objects.store
    assert rig.objects.store[rig.keys("acme-3pl", "846.edi").acknowledgment(X12)] == ack
    hop = rig.hops[-1]
    assert (hop["cid"], hop["outcome"]) == (f"file-{first.file_id}-duplicate-n2", "rejected")
    assert "the same bytes as inbound/acme-3pl/846.edi (status COMPLETED)" in hop["detail"]
    # the first file's record is untouched
    assert rig.registry.records[parse_file(body, partner_profiles(PARTNERS)["acme-3pl"]).checksum]["outcome"] == \
        first.as_dict()
    # the same name again with the same bytes (a partner resending) is a duplicate too
    third = rig.process(rig.drop("acme-3pl", "846.edi", body))
    assert third.status == "duplicate" and len(rig.envelopes) == 3


def test_a_retry_after_a_crash_between_publish_and_archive_republishes_the_same_ids_and_completes_once() -> None:
    rig = Rig()
    body = raw("x12/846_mixed.edi")
    key = rig.drop("acme-3pl", "mixed.edi", body)
    rig.objects.fail_move = True
    with pytest.raises(RuntimeError, match="killed"):
        rig.process(key)
    checksum = rig.registry.claims[0][0]
    assert rig.registry.records[checksum]["status"] == "PROCESSING"  # not completed: the file is still inbound
    assert key in rig.objects.store and rig.objects.under("archive/") == {}
    first_ids = [e.metadata.event_id for e in rig.envelopes]

    outcome = rig.process(key)  # the SQS retry: the same key's unfinished claim
    assert outcome.status == "partially_accepted"
    assert len(rig.published) == 2
    assert [e.metadata.event_id for e in rig.published[1]] == first_ids  # consumers' idempotency absorbs them
    assert [e.metadata.correlation_id for e in rig.published[1]] == [e.metadata.correlation_id
                                                                      for e in rig.published[0]]
    assert rig.registry.records[checksum]["status"] == "COMPLETED"
    assert rig.objects.under("inbound/") == {} and list(rig.objects.under("archive/")) == [
        rig.keys("acme-3pl", "mixed.edi").archive(NOW)]
    assert [h["outcome"] for h in rig.hops if h["cid"] == f"file-{outcome.file_id}"] == ["delivered"]
    # and a redelivery of the notification after that: gone, nothing again
    assert rig.process(key).status == "gone" and len(rig.published) == 2


def test_another_key_while_the_first_attempt_still_runs_is_held_back_as_a_duplicate() -> None:
    rig = Rig()
    body = raw("edifact/desadv_d96a.edi")
    checksum = parse_file(body, partner_profiles(PARTNERS)["acme-3pl"]).checksum
    rig.registry.records[checksum] = {"checksum": checksum, "key": "inbound/acme-3pl/a.edi", "status": "PROCESSING"}
    outcome = rig.process(rig.drop("acme-3pl", "b.edi", body))
    assert outcome.status == "duplicate" and rig.published == []
    assert "(status PROCESSING)" in rig.hops[-1]["detail"]


def test_nothing_is_published_when_the_claim_fails() -> None:
    rig = Rig()

    def broken(checksum: str, key: str) -> None:
        raise ConnectionError("registry unreachable")

    rig.registry.claim = broken  # type: ignore[method-assign]
    key = rig.drop("acme-3pl", "846.edi", raw("x12/846_inventory.edi"))
    with pytest.raises(ConnectionError):
        rig.process(key)
    assert rig.published == [] and key in rig.objects.store and rig.objects.under("outbound/") == {}


# ------------------------------------------------------------------------------------------------ master data
def test_an_unknown_item_location_rejects_only_the_transactions_that_name_it() -> None:
    rig = Rig(known={("SKU-100", "DC-EAST"), ("SKU-200", "DC-EAST"), ("SKU-300", "DC-EAST")})
    outcome = rig.process(rig.drop("acme-3pl", "mixed.edi", raw("x12/846_mixed.edi")))
    # one lookup for the accepted sets' item-locations (the parser's rejects are not looked up)
    assert rig.lookups == [{("SKU-100", "DC-EAST"), ("SKU-400", "DC-WEST")}]
    assert (outcome.status, outcome.accepted, outcome.rejected, outcome.events) == ("partially_accepted", 1, 3, 1)
    assert {e.metadata.correlation_id for e in rig.envelopes} == {f"file-{outcome.file_id}-1"}
    report = rig.report("acme-3pl", "mixed.edi")
    (unknown,) = [e for e in report["errors"] if e["code"] == Code.UNKNOWN_MASTER_DATA]
    assert unknown["transactionIndex"] == 4 and unknown["value"] == "SKU-400@DC-WEST"
    assert "SKU-400@DC-WEST is unknown to master data" in unknown["reason"]
    assert unknown["line"] == 23 and unknown["segmentPosition"] == 23  # its ST
    # the acknowledgment says what was applied: set 1004 rejected, 1 of 4 accepted
    assert segments(rig.objects.store[rig.keys("acme-3pl", "mixed.edi").acknowledgment(X12)], "AK2*846*1004", "AK5", "AK9")[-3:] == [
        "AK2*846*1004", "AK5*R", "AK9*P*4*4*1"]
    assert report["summary"]["accounting"]["rejectedUnits"] == [2, 3, 4]


def test_a_transaction_with_one_unknown_item_location_is_rejected_whole() -> None:
    rig = Rig(known={("SKU-100", "DC-EAST"), ("SKU-200", "DC-EAST")})
    outcome = rig.process(rig.drop("acme-3pl", "invrpt.edi", raw("edifact/invrpt_d96a.edi")))
    assert (outcome.status, outcome.events, outcome.original) == ("rejected", 0, rig.keys("acme-3pl", "invrpt.edi").rejected)
    assert rig.published == []  # not the two known balances: nothing half-applied
    (error,) = rig.report("acme-3pl", "invrpt.edi")["errors"]
    assert (error["code"], error["value"], error["line"], error["segmentPosition"]) == (
        "unknown_master_data", "SKU-300@DC-WEST", 3, 2)  # the message's UNH
    # CONTRL: the message rejected (action 4), the interchange acknowledged (UCI action 7)
    contrl = rig.objects.store[rig.keys("acme-3pl", "invrpt.edi").acknowledgment(EDIFACT)]
    assert segments(contrl, "UCI", "UCM") == ["UCI+INV0001+ACMEWMS:ZZ+DISTSYNC:ZZ+7", "UCM+1+INVRPT:D:96A:UN+4"]


def test_po_lines_and_forecasts_are_checked_but_shipments_and_master_data_are_not() -> None:
    isbns = {("9780446360265", "DC-EAST"), ("9780767928427", "DC-EAST"), ("9780099599531", "DC-EAST"),
             ("9780446360272", "DC-EAST")}
    rig = Rig(known=isbns - {("9780099599531", "DC-EAST")})
    po = rig.process(rig.drop("globex-supplier", "855.edi", raw("third_party/node-x12_855.edi")))
    assert rig.lookups == [isbns] and po.status == "rejected"
    assert "9780099599531@DC-EAST" in rig.report("globex-supplier", "855.edi")["errors"][0]["reason"]

    rig = Rig(known=set())
    shipment = rig.process(rig.drop("acme-3pl", "desadv.edi", raw("edifact/desadv_d96a.edi")))
    assert shipment.status == "accepted" and rig.lookups == []  # a ShipmentMilestone names no item-location
    forecast = rig.process(rig.drop("planning", "forecast.csv", raw("csv/forecast.csv")))
    assert rig.lookups == [{("SKU-100", "DC-EAST"), ("SKU-200", "DC-EAST")}]
    assert (forecast.status, forecast.rejected) == ("rejected", 2)
    # a rejected forecast transaction reports the item-location on the first of its lines
    report = rig.report("planning", "forecast.csv")
    assert sorted((e["line"], e["value"]) for e in report["errors"]) == [(2, "SKU-100@DC-EAST"),
                                                                        (4, "SKU-200@DC-EAST")]


# ------------------------------------------------------------------------------------------------ accounting
ACCOUNTED_FILES = [
    ("acme-3pl", "x12/846_inventory.edi", None),
    ("acme-3pl", "x12/846_mixed.edi", {("SKU-100", "DC-EAST")}),
    ("acme-3pl", "x12/846_truncated.edi", None),
    ("acme-3pl", "x12/846_control_mismatch.edi", None),
    ("acme-3pl", "edifact/invrpt_mixed.edi", None),
    ("acme-3pl", "edifact/invrpt_d96a.edi", {("SKU-100", "DC-EAST")}),
    ("acme-3pl", "edifact/desadv_d96a.edi", None),
    ("globex-supplier", "third_party/node-x12_855.edi", None),
    ("globex-supplier", "third_party/node-x12_856.edi", None),  # another sender: rejected
    ("globex-supplier", "third_party/staedi_orders-with-group.edi", None),
    ("erp", "csv/item_locations_bad.csv", None),
    ("planning", "csv/forecast_bad.csv", {("SKU-100", "DC-EAST")}),
]


@pytest.mark.parametrize(("partner", "path", "known"), ACCOUNTED_FILES, ids=[f[1] for f in ACCOUNTED_FILES])
def test_every_unit_of_a_file_is_in_the_published_events_or_in_the_report(
    partner: str, path: str, known: set[tuple[str, str]] | None
) -> None:
    rig = Rig(known=known)
    body = raw(path)
    name = Path(path).name
    outcome = rig.process(rig.drop(partner, name, body))
    fid = outcome.file_id
    report_key = rig.keys(partner, name).report
    report = json.loads(rig.objects.store[report_key]) if report_key in rig.objects.store else None
    by_cid: dict[str, int] = {}
    for e in rig.envelopes:
        by_cid[e.metadata.correlation_id] = by_cid.get(e.metadata.correlation_id, 0) + 1
    published = {int(cid.rsplit("-", 1)[1]) for cid in by_cid}
    rejected_hops = {int(h["cid"].rsplit("-", 1)[1]) for h in rig.hops
                     if h["outcome"] == "rejected" and h["cid"] != f"file-{fid}"}
    reported = ({t["index"] for t in report["transactions"] if t["status"] == "rejected"} if report else set())
    # every transaction: published (and nowhere else) or reported (and never published)
    reparsed = parse_file(body, partner_profiles(PARTNERS)[partner])
    everything = {t.index for t in reparsed.transactions}
    assert published | reported == everything and not published & reported, (published, reported)
    assert rejected_hops == reported
    assert (outcome.accepted, outcome.rejected) == (len(published), len(reported))
    assert outcome.events == len(rig.envelopes)
    if report:  # the report's own accounting says the same, unit by unit
        accounting = report["summary"]["accounting"]
        assert accounting["total"] == accounting["inEvents"] + accounting["inErrors"]
        if accounting["unit"] != "line":
            assert set(accounting["acceptedUnits"]) == published and set(accounting["rejectedUnits"]) == reported
        assert {e["transactionIndex"] for e in report["errors"] if "transactionIndex" in e} == reported
    if reparsed.format is FileFormat.CSV:  # CSV: every data line of the file, in an event or in the report
        lines = {n for n, text in enumerate(body.decode().splitlines(), start=1) if n > 1 and text.strip()}
        in_events = {n for t in reparsed.transactions if t.index in published for n in t.lines}
        in_report = {n for t in report["transactions"] if t["status"] == "rejected" for n in t["lines"]} if report \
            else set()
        assert in_events | in_report == lines and not in_events & in_report
    # the file's own hop counts the same
    (file_hop,) = [h for h in rig.hops if h["cid"] == f"file-{fid}"]
    assert f"{len(reported)} in the error report" in file_hop["detail"] or (
        reparsed.format is FileFormat.CSV and "in the error report" in file_hop["detail"])
    assert file_hop["outcome"] == ("rejected" if not published else "delivered")


# ------------------------------------------------------------------------------------------------ keys and sizes
def test_a_file_name_too_long_for_its_archive_keys_is_rejected_under_a_stand_in_name() -> None:
    """A ~1 KB name made archive/rejected keys longer than S3's 1,024 bytes: the record dead-lettered (issue 12,
    finding 5). It is rejected unread, kept under a short stand-in name, its real key in the report."""
    rig = Rig()
    name = "x" * 1000 + ".edi"
    key = rig.drop("acme-3pl", name, raw("x12/846_inventory.edi"))
    outcome = rig.process(key)
    assert outcome.status == "rejected" and rig.published == [] and rig.registry.claims == []
    [kept] = [k for k in rig.objects.under("rejected/acme-3pl/") if not k.endswith(".errors.json")]
    stand_in = kept.removeprefix("rejected/acme-3pl/")
    assert stand_in.startswith("unusable-name-") and len(kept) < 100
    report = rig.report("acme-3pl", stand_in)
    assert report["file"]["key"] == key and "is not 1-200 characters" in report["errors"][0]["reason"]


@pytest.mark.parametrize("name", ["../846.edi", "a\nb.edi", "stock\u00a0.edi", ".hidden", ""])
def test_names_outside_the_safe_set_are_rejected(name: str) -> None:
    rig = Rig()
    key = f"inbound/acme-3pl/{name}"
    rig.objects.store[key] = raw("x12/846_inventory.edi")
    outcome = rig.process(key)
    assert outcome.status == "rejected" and rig.published == []


def test_a_file_that_grew_past_the_limit_after_its_size_was_read_is_rejected() -> None:
    rig = Rig()

    class Growing(FakeObjects):
        def size(self, key: str) -> int | None:
            return 10 if key.startswith("inbound/") else super().size(key)  # what HEAD said a moment ago

    rig.objects.__class__ = Growing
    key = rig.drop("acme-3pl", "grown.edi", b"I" * (MAX_FILE_BYTES + 10))
    outcome = rig.process(key)
    assert (outcome.status, outcome.original) == ("rejected", "rejected/acme-3pl/grown.edi")
    assert f"larger than {MAX_FILE_BYTES} bytes" in rig.report("acme-3pl", "grown.edi")["errors"][0]["reason"]


def test_one_file_name_sent_twice_on_one_day_keeps_both_acknowledgments_and_reports() -> None:
    """Issue 12, finding 17: outputs were named after the partner's file name only, so the second file of a day
    under the same name overwrote the first one's acknowledgment, report and archived original."""
    rig = Rig()
    first, second = raw("x12/846_mixed.edi"), raw("x12/846_truncated.edi")
    one = rig.process(rig.drop("acme-3pl", "daily.edi", first))
    two = rig.process(rig.drop("acme-3pl", "daily.edi", second))
    assert one.file_id != two.file_id
    acks = sorted(k for k in rig.objects.under("outbound/acme-3pl/") if k.endswith("daily.edi.997"))
    reports = sorted(k for k in rig.objects.under("rejected/acme-3pl/") if k.endswith("daily.edi.errors.json"))
    assert acks == sorted([one.acknowledgment, two.acknowledgment]) and len(set(acks)) == 2
    assert reports == sorted([one.report, two.report]) and len(set(reports)) == 2
    # each answers its own file: the first accepted two of four sets, the second rejected its interchange
    assert segments(rig.objects.store[one.acknowledgment], "AK9") == ["AK9*P*4*4*2"]
    assert segments(rig.objects.store[two.acknowledgment], "TA1")[0].split("*")[4] == "R"
    assert json.loads(rig.objects.store[one.report])["file"]["fileId"] == one.file_id
    assert json.loads(rig.objects.store[two.report])["file"]["fileId"] == two.file_id
    # and both originals are kept: the first archived (something was applied), the second rejected
    assert rig.objects.store[one.original] == first and rig.objects.store[two.original] == second
    assert one.original == f"archive/acme-3pl/2026-11-27/{one.file_id}-daily.edi"
    assert two.original == f"rejected/acme-3pl/{two.file_id}-daily.edi"
