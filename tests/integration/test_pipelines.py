"""The pipeline consumers against moto (and the ERP simulator over real HTTP)."""

import json
import os
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync.sim.erp import ErpSimulator
from distsync_core import partners
from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, ReplenishmentRecommended, new_envelope
from distsync_core.masterdata.records import ItemLocationRecord
from distsync_core.planning.replenishment import decide
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event

ITEM = dict(item_id="SKU-1", location_id="DC-1")


def envelope(event_type, data, cid="corr-1", source="erp"):
    return new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source,
                        occurred_at=datetime(2026, 11, 27, tzinfo=UTC))


def master(ss=100, rop=200):
    return envelope("ItemLocationUpserted", ItemLocationUpserted(
        **ITEM, unit_of_measure="EA", safety_stock=ss, reorder_point=rop, supplier_id="SUP-1", lead_time_days=4))


def recommendation(ss, rop, cid="corr-1", cycle="c-1"):
    return envelope("ReplenishmentRecommended", ReplenishmentRecommended(
        **ITEM, recommended_safety_stock=ss, recommended_reorder_point=rop, planning_cycle_id=cycle), cid, "planning")


def run(folder, *events, receive_count=1):
    module = load_handler(folder)
    return module.lambda_handler(sqs_event(*events, receive_count=receive_count), FakeLambdaContext(folder))


@pytest.fixture
def erp(monkeypatch):
    sim = ErpSimulator().start()
    monkeypatch.setattr(partners, "_clients", {})  # partner clients are cached per process: use this simulator
    monkeypatch.setenv("ERP_BASE_URL", sim.base_url)
    monkeypatch.setenv("ERP_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    yield sim
    sim.stop()


def test_master_data_lands_in_the_governed_table(aws):
    assert run("masterdata_transformer", bus_event(master())) == {"batchItemFailures": []}
    [item] = aws.items("MASTERDATA_TABLE_NAME")
    assert item["pk"] == "ITEMLOC#SKU-1#DC-1" and item["supplierId"] == "SUP-1" and float(item["safetyStock"]) == 100


def test_small_change_requests_the_erp_update(aws):
    run("masterdata_transformer", bus_event(master()))
    assert run("planning_transformer", bus_event(recommendation(110, 210))) == {"batchItemFailures": []}
    [event] = aws.probe(wait=0.5, expect=1)
    assert event["detail-type"] == "ReplenishmentUpdateRequested" and event["source"] == "distsync.replenishment"
    data, meta = event["detail"]["data"], event["detail"]["metadata"]
    assert (data["safetyStock"], data["previousSafetyStock"], data["unitOfMeasure"]) == (110, 100, "EA")
    assert meta["correlationId"] == "corr-1" and meta["causationId"]


def test_redelivered_recommendation_has_no_second_effect(aws):
    run("masterdata_transformer", bus_event(master()))
    rec = bus_event(recommendation(110, 210))
    run("planning_transformer", rec)
    run("planning_transformer", rec, receive_count=2)
    assert len(aws.probe(wait=0.5, expect=1)) == 1


def test_unknown_item_location_is_quarantined_not_retried(aws):
    assert run("planning_transformer", bus_event(recommendation(1, 2, cid="corr-q"))) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "planning" and "unknown item-location SKU-1@DC-1" in q["reason"]
    assert json.loads(q["body"])["detail"]["metadata"]["correlationId"] == "corr-q"
    assert aws.probe(wait=0.3) == []
    assert [h["outcome"] for h in aws.items("TRACE_TABLE_NAME")] == ["quarantined"]


def test_a_broken_record_is_quarantined_and_the_good_ones_in_its_batch_go_on(aws):
    result = run("masterdata_transformer", "not json at all", {"detail": {"metadata": {}}}, bus_event(master()))
    assert result == {"batchItemFailures": []}
    reasons = sorted(q["reason"] for q in aws.items("QUARANTINE_TABLE_NAME"))
    assert reasons == ["envelope breaks the contract", "not an EventBridge event with a distsync envelope: "
                       "Expecting value: line 1 column 1 (char 0)"]
    assert len(aws.items("MASTERDATA_TABLE_NAME")) == 1


def test_large_change_starts_the_approval_named_after_it(aws, monkeypatch):
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="approval", roleArn="arn:aws:iam::123456789012:role/sfn",
                                   definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    monkeypatch.setenv("APPROVAL_STATE_MACHINE_ARN", arn)
    run("masterdata_transformer", bus_event(master()))
    run("planning_transformer", bus_event(recommendation(150, 200)))
    run("planning_transformer", bus_event(recommendation(150, 200, cid="corr-dup")))  # same change again
    expected = decide(recommendation(150, 200).data and ReplenishmentRecommended.model_validate(recommendation(150, 200).data),
                      ItemLocationRecord("SKU-1", "DC-1", "EA", 100, 200, "SUP-1", 4), 20)
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == [expected.approval_id]
    assert aws.probe(wait=0.3) == []


def updates_request(aws_fixture, ss=110, rop=210):
    run("masterdata_transformer", bus_event(master()))
    run("planning_transformer", bus_event(recommendation(ss, rop)))
    [event] = aws_fixture.probe(wait=0.5, expect=1)
    return event


def test_erp_update_is_applied_once_and_announced(aws, erp):
    update = updates_request(aws)
    assert run("erp_updater", update) == {"batchItemFailures": []}
    assert run("erp_updater", update, receive_count=2) == {"batchItemFailures": []}  # SQS redelivery
    [applied] = erp.snapshot()
    assert (applied["safetyStock"], applied["correlationId"]) == (110, "corr-1") and applied["idempotencyKey"]
    [announced] = aws.probe(wait=0.5, expect=1)
    assert announced["detail-type"] == "ReplenishmentParametersUpdated"
    assert announced["detail"]["data"]["erpUpdateId"] == applied["updateId"]
    [md] = aws.items("MASTERDATA_TABLE_NAME")
    assert float(md["safetyStock"]) == 110 and "erpConfirmedAt" in md


def test_erp_failing_three_times_then_recovering_is_delivered_once(aws, erp):
    update = updates_request(aws)
    erp.inject_faults(503, 3)
    assert run("erp_updater", update) == {"batchItemFailures": []}
    assert len(erp.snapshot()) == 1 and erp.calls == 4


def test_erp_down_fails_the_record_and_dead_letters_on_the_last_receive(aws, erp):
    update = updates_request(aws)
    erp.inject_faults(503, 100)
    # A batch whose every record failed is raised (Powertools), so the whole batch returns to the queue.
    with pytest.raises(BatchProcessingError):
        run("erp_updater", update)
    misrouted = bus_event(master(ss=1, rop=1))
    result = run("erp_updater", misrouted, update, receive_count=3)  # a mixed batch reports only the failure
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-1"}]
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["reason"] == "erp consumes ReplenishmentUpdateRequested, not ItemLocationUpserted"
    hops = sorted((h for h in aws.items("TRACE_TABLE_NAME") if h.get("eventId") == update["detail"]["metadata"]["eventId"]),
                  key=lambda h: h["at"])
    assert [(h["stage"], h["outcome"]) for h in hops] == [("erp", "retrying"), ("erp", "dead_lettered")]
    assert "HTTP 503" in hops[-1]["detail"] and "receive 3 of 3" in hops[-1]["detail"]
    assert erp.snapshot() == []


def test_erp_rejection_is_quarantined_with_its_answer(aws, erp):
    update = updates_request(aws)
    erp.inject_faults(422, 1)
    assert run("erp_updater", update) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "erp" and "HTTP 422" in q["reason"]


def test_a_dead_invocation_is_run_again_after_its_deadline_with_the_same_event_ids(aws):
    """An invocation that dies after publishing but before its end-of-invocation writes (its hops and its
    idempotency completion marks; a Lambda crash): its claim stays "in progress" until the invocation's
    deadline. Before that a redelivery is refused and retried; after it (on AWS the visibility timeout is
    longer than the function timeout) the record runs again and publishes the same event id, which the
    consumers downstream deduplicate, and its hops are written once."""
    import time

    from distsync_core.platform import ledger

    run("masterdata_transformer", bus_event(master()))
    event = bus_event(recommendation(110, 210, cid="corr-crash"))
    module = load_handler("planning_transformer")
    original_flush = ledger.Ledger.flush
    ledger.Ledger.flush = lambda self: (self._pending.clear(), self._other.clear())  # dies before writing
    try:
        # a deadline long enough that the redelivery below comes before it even on a loaded machine
        module.lambda_handler(sqs_event(event), FakeLambdaContext("planning", timeout_ms=1500))
    finally:
        ledger.Ledger.flush = original_flush
    assert [h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "corr-crash"] == []
    [claim] = [i for i in aws.items("IDEMPOTENCY_TABLE_NAME") if i["status"] == "INPROGRESS"]
    with pytest.raises(BatchProcessingError, match="already in progress"):  # a batch of one that failed
        module.lambda_handler(sqs_event(event, receive_count=2), FakeLambdaContext("planning"))
    deadline_ms = int(claim["in_progress_expiration"])  # the dead invocation's deadline, as stored
    time.sleep(max(0.0, deadline_ms / 1000 - time.time()) + 0.05)
    assert module.lambda_handler(sqs_event(event, receive_count=3), FakeLambdaContext("planning")) == {
        "batchItemFailures": []}
    hops = [h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "corr-crash"]
    assert sorted((h["stage"], h["outcome"]) for h in hops) == [("planning", "ok"), ("planning", "retrying")]
    published = aws.probe(wait=0.5, expect=2)
    assert len(published) == 2 and len({m["detail"]["metadata"]["eventId"] for m in published}) == 1
    [mark] = [i for i in aws.items("IDEMPOTENCY_TABLE_NAME") if i["id"] == claim["id"]]
    assert mark["status"] == "COMPLETED"


def test_delivering_a_redriven_message_reports_the_recovery_time(aws, erp, capsys):
    update = updates_request(aws)
    event = sqs_event(update)
    event["Records"][0]["messageAttributes"] = {
        "distsyncDeadLetteredAt": {"stringValue": "2026-01-01T00:00:00+00:00", "dataType": "String"}}
    module = load_handler("erp_updater")
    capsys.readouterr()
    assert module.lambda_handler(event, FakeLambdaContext("erp")) == {"batchItemFailures": []}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"FailureRecoveryTime"' in line]
    values = emf[0]["FailureRecoveryTime"] if emf else []
    values = values if isinstance(values, list) else [values]
    assert len(emf) == 1 and len(values) == 1 and values[0] > 24 * 3600


def test_master_data_versions_never_go_backwards(aws):
    from distsync_core.contracts import ItemUpserted

    def item(version, description):
        return envelope("ItemUpserted", ItemUpserted(item_id="SKU-7", description=description, unit_of_measure="EA",
                                                     status="active", record_version=version))

    run("masterdata_transformer", bus_event(item(2, "v2")))
    run("masterdata_transformer", bus_event(item(1, "v1 arriving late")))
    run("masterdata_transformer", bus_event(item(3, "v3")))
    run("masterdata_transformer", bus_event(item(3, "v3 again")))  # same version: not newer either
    [record] = [i for i in aws.items("MASTERDATA_TABLE_NAME") if i["pk"] == "ITEM#SKU-7"]
    assert (record["description"], int(record["recordVersion"]), record["entity"]) == ("v3", 3, "Item")
    details = sorted(h["detail"] for h in aws.items("TRACE_TABLE_NAME"))
    assert sum("older than the stored record" in d for d in details) == 2


def test_a_field_the_new_record_leaves_out_is_removed_but_what_distsync_added_stays(aws):
    from distsync_core.contracts import ItemUpserted
    from distsync_core.masterdata.store import MasterDataStore

    def item(version, description):
        return envelope("ItemUpserted", ItemUpserted(item_id="SKU-8", description=description, unit_of_measure="EA",
                                                     status="active", record_version=version))

    run("masterdata_transformer", bus_event(item(3, "v3")))
    boto3.resource("dynamodb").Table("masterdata").update_item(  # what distsync records beside the ERP's fields
        Key={"pk": "ITEM#SKU-8"}, UpdateExpression="SET erpConfirmedAt = :at", ExpressionAttributeValues={":at": "x"})
    run("masterdata_transformer", bus_event(item(None, "unversioned, same time: the later arrival wins")))
    record = MasterDataStore("masterdata").get_record("ITEM#SKU-8")
    assert record["description"] == "unversioned, same time: the later arrival wins"
    assert "recordVersion" not in record and record["erpConfirmedAt"] == "x"


def test_unversioned_master_data_is_ordered_by_event_time(aws):
    late = envelope("ItemLocationUpserted", ItemLocationUpserted(
        **ITEM, unit_of_measure="EA", safety_stock=1, reorder_point=1, supplier_id="S", lead_time_days=1))
    newer = master(ss=100, rop=200)  # occurred at the same time: ties go to the later arrival
    run("masterdata_transformer", bus_event(newer))
    older = late.model_copy(update={"metadata": late.metadata.model_copy(
        update={"occurred_at": datetime(2026, 11, 26, tzinfo=UTC)})})
    run("masterdata_transformer", bus_event(older))
    [record] = aws.items("MASTERDATA_TABLE_NAME")
    assert float(record["safetyStock"]) == 100


def test_a_quarantined_recommendation_is_released_when_its_master_data_arrives(aws):
    run("planning_transformer", bus_event(recommendation(110, 210, cid="corr-wait")))
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["waitingFor"] == "ITEMLOC#SKU-1#DC-1" and q["status"] == "QUARANTINED"
    aws.probe(wait=0.2)
    run("masterdata_transformer", bus_event(master()))
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["status"] == "RELEASED"
    [released] = aws.probe(wait=0.5, expect=1)  # the original event, back on the bus
    assert released["detail"]["metadata"]["correlationId"] == "corr-wait"
    assert released["detail-type"] == "ReplenishmentRecommended"
    hops = [(h["stage"], h["outcome"]) for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "corr-wait"]
    assert ("quarantine", "released") in hops


def test_master_data_event_times_compare_as_instants_not_as_text(aws):
    """12:00+01:00 is 11:00Z, so an 11:30Z record is the newer one (as text, "11:30" < "12:00" said older and
    left it out; issue 12, finding 7)."""
    from datetime import timedelta, timezone

    from distsync_core.contracts import ItemUpserted

    def item(description, at):
        data = ItemUpserted(item_id="SKU-8", description=description, unit_of_measure="EA", status="active")
        return new_envelope(CONTRACTS[("ItemUpserted", "1")], data, correlation_id=f"c-{description}",
                            source="erp", occurred_at=at)

    run("masterdata_transformer", bus_event(item("sent at 12:00+01:00",
                                                 datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=1))))))
    run("masterdata_transformer", bus_event(item("sent at 11:30Z", datetime(2026, 11, 27, 11, 30, tzinfo=UTC))))
    run("masterdata_transformer", bus_event(item("sent at 11:15Z, late",
                                                 datetime(2026, 11, 27, 11, 15, tzinfo=UTC))))
    [record] = [i for i in aws.items("MASTERDATA_TABLE_NAME") if i["pk"] == "ITEM#SKU-8"]
    assert record["description"] == "sent at 11:30Z"
    assert record["occurredAt"] == "2026-11-27T11:30:00.000000+00:00"  # UTC, fixed width: text order = time order


def requested_at(aws_fixture, ss, rop, when, cid, cycle):
    """The ReplenishmentUpdateRequested the planning transformer makes of a recommendation planning produced
    at ``when``."""
    rec = new_envelope(CONTRACTS[("ReplenishmentRecommended", "1")], ReplenishmentRecommended(
        **ITEM, recommended_safety_stock=ss, recommended_reorder_point=rop, planning_cycle_id=cycle),
        correlation_id=cid, source="planning", occurred_at=when)
    assert run("planning_transformer", bus_event(rec)) == {"batchItemFailures": []}
    [event] = aws_fixture.probe(wait=0.5, expect=1)
    assert event["detail"]["data"]["recommendedAt"].startswith(when.date().isoformat())
    return event


def erp_hops(aws_fixture, cid):
    hops = sorted((h for h in aws_fixture.items("TRACE_TABLE_NAME") if h["correlationId"] == cid),
                  key=lambda h: h["at"])
    return [h for h in hops if h["stage"] == "erp"]


@pytest.mark.parametrize("how", ["redrive", "replay"])
def test_an_older_update_delivered_after_a_newer_one_is_superseded_and_sends_nothing(aws, erp, capsys, how):
    """A DLQ redrive of an old update, or an archive replay past the idempotency window, overwrote newer
    parameters in the ERP (issue 12, finding 6)."""
    from distsync.trace import status_of

    run("masterdata_transformer", bus_event(master()))
    old = requested_at(aws, 120, 220, datetime(2026, 11, 20, 6, tzinfo=UTC), "corr-old", "c-old")
    new = requested_at(aws, 110, 210, datetime(2026, 11, 27, 6, tzinfo=UTC), "corr-new", "c-new")
    assert run("erp_updater", new) == {"batchItemFailures": []}
    assert len(aws.probe(wait=0.5, expect=1)) == 1  # ReplenishmentParametersUpdated of the newer one

    event = sqs_event(old, receive_count=1)
    if how == "redrive":
        event["Records"][0]["messageAttributes"] = {
            "distsyncDeadLetteredAt": {"stringValue": "2026-11-20T07:00:00+00:00", "dataType": "String"}}
    else:
        event["Records"][0]["body"] = json.dumps({**old, "replay-name": "replay-after-outage"})
    capsys.readouterr()
    assert load_handler("erp_updater").lambda_handler(event, FakeLambdaContext("erp")) == {"batchItemFailures": []}

    assert [(a["safetyStock"], a["correlationId"]) for a in erp.snapshot()] == [(110, "corr-new")]
    assert aws.probe(wait=0.3) == []  # downstream hears nothing of the older one
    [hop] = [h for h in erp_hops(aws, "corr-old") if h["outcome"] != "replayed"]
    assert hop["outcome"] == "superseded" and hop["businessKey"] == "SKU-1@DC-1"
    assert "recommended 2026-11-20T06:00:00+00:00 (cycle c-old)" in hop["detail"]
    assert "newer recommendation of 2026-11-27T06:00:00+00:00 (cycle c-new, applied directly" in hop["detail"]
    assert "nothing sent to the ERP" in hop["detail"]
    assert status_of(erp_hops(aws, "corr-old")) == "superseded"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ErpUpdatesSuperseded"' in line]
    assert len(emf) == 1 and emf[0]["ErpUpdatesSuperseded"] in (1, [1])
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    [md] = aws.items("MASTERDATA_TABLE_NAME")
    assert float(md["safetyStock"]) == 110 and md["appliedUpdate"]["planningCycleId"] == "c-new"


def test_the_same_update_after_the_idempotency_window_is_applied_again_idempotently(aws, erp):
    """Equal is not older: the latest update delivered again is applied again, idempotently: the connector
    reads the ERP's parameters first and writes nothing when it already holds them."""
    run("masterdata_transformer", bus_event(master()))
    update = requested_at(aws, 110, 210, datetime(2026, 11, 27, 6, tzinfo=UTC), "corr-same", "c-1")
    assert run("erp_updater", update) == {"batchItemFailures": []}
    idempotency = boto3.resource("dynamodb").Table("idempotency")
    for mark in aws.items("IDEMPOTENCY_TABLE_NAME"):  # the window passed
        idempotency.delete_item(Key={"id": mark["id"]})
    assert run("erp_updater", update) == {"batchItemFailures": []}
    assert len(erp.snapshot()) == 1
    details = [h["detail"] for h in erp_hops(aws, "corr-same")]
    assert [d.split(" SKU-1")[0] for d in sorted(details)] == [
        "rest ERP updated", "rest already held these parameters"]
    assert len(aws.probe(wait=0.5, expect=2)) == 2  # announced again under the same event id (the warehouse dedupes)


def test_two_updaters_at_once_cannot_both_record_theirs(aws):
    """The last applied update is recorded conditionally: an older one recorded after a newer one loses."""
    from distsync_core.masterdata.records import AppliedUpdate
    from distsync_core.masterdata.store import MasterDataStore

    run("masterdata_transformer", bus_event(master()))
    store = MasterDataStore(os.environ["MASTERDATA_TABLE_NAME"])

    def applied(day, ss):
        return AppliedUpdate(datetime(2026, 11, day, tzinfo=UTC), f"k-{day}", f"c-{day}", ss, 200)

    assert store.record_erp_parameters("SKU-1", "DC-1", applied(27, 110)) is True
    assert store.record_erp_parameters("SKU-1", "DC-1", applied(20, 120)) is False
    assert store.record_erp_parameters("SKU-1", "DC-1", applied(27, 110)) is True  # the same again
    last = store.last_applied("SKU-1", "DC-1")
    assert last is not None and (last.erp_idempotency_key, last.safety_stock) == ("k-27", 110)
    with pytest.raises(Exception, match="ConditionalCheckFailed"):  # no item-location: not "lost", an error
        store.record_erp_parameters("SKU-2", "DC-1", applied(27, 1))


def test_an_update_that_raced_a_newer_one_at_the_erp_is_superseded_and_not_announced(aws, erp, monkeypatch):
    """Both passed the check; the newer one recorded itself while this one was at the ERP: the condition keeps
    the newer one recorded, and this one ends superseded (with a warning), not announced downstream."""
    from distsync_core.connectors.rest import RestConnector
    from distsync_core.masterdata.records import AppliedUpdate
    from distsync_core.masterdata.store import MasterDataStore

    run("masterdata_transformer", bus_event(master()))
    old = requested_at(aws, 120, 220, datetime(2026, 11, 20, 6, tzinfo=UTC), "corr-race", "c-old")
    put = RestConnector.write_parameters

    def newer_recorded_meanwhile(self, *args, **kwargs):
        result = put(self, *args, **kwargs)
        MasterDataStore(os.environ["MASTERDATA_TABLE_NAME"]).record_erp_parameters("SKU-1", "DC-1", AppliedUpdate(
            datetime(2026, 11, 27, 6, tzinfo=UTC), "n" * 40, "c-new", 110, 210, approval_id="apr-new"))
        return result

    monkeypatch.setattr(RestConnector, "write_parameters", newer_recorded_meanwhile)
    assert run("erp_updater", old) == {"batchItemFailures": []}
    assert len(erp.snapshot()) == 1  # it did reach the ERP: the two calls were concurrent
    assert aws.probe(wait=0.3) == []
    [hop] = erp_hops(aws, "corr-race")
    assert hop["outcome"] == "superseded" and "(cycle c-new, approval apr-new" in hop["detail"]
    assert "reached the ERP at the same time" in hop["detail"]
    [md] = aws.items("MASTERDATA_TABLE_NAME")
    assert float(md["safetyStock"]) == 110 and md["appliedUpdate"]["approvalId"] == "apr-new"
