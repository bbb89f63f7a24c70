"""Supplier pipeline: supplier collaboration into planning and the ERP.

- ``SupplierLeadTimeChanged``: checked against master data (supplier and item-location), forwarded to the
  planning platform as the lead-time parameter; a change above ``leadTimeExceptionPercent`` of the lead time
  known so far raises a ``PlanningException``.
- ``PurchaseOrderConfirmed``: the confirmed quantities (in the item's base unit: a line in the supplier's
  unit is converted by the item's governed conversions, or the confirmation is quarantined) and dates go to
  the ERP (the PO's system of record), and into the supplier performance table (what was promised, measured
  against the receipts).
- ``ShipmentMilestone`` "shipped" from a supplier (its ship notice) and ``FinancialPostingRecorded`` goods
  receipts of supplier POs: into the supplier performance table; other milestones and postings pass.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from distsync_core.contracts import (
    ContractModel,
    FinancialPostingRecorded,
    PurchaseOrderConfirmed,
    ShipmentMilestone,
    SupplierLeadTimeChanged,
    derive_id,
)
from distsync_core.masterdata.records import item_key, item_location_key, supplier_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.masterdata.units import ItemUnits, UnknownUnit, confirmation_in_base_unit
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected, segment
from distsync_core.platform.config import env, env_float
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure
from distsync_core.platform.times import utc_iso
from distsync_core.supplier.performance import is_po_receipt, is_ship_notice
from distsync_core.supplier.performance_store import PerformanceStore
from distsync_core.supplier.policy import (
    assess_lead_time,
    exception_event,
    is_stale,
    known_lead_time,
    master_data_keys,
    planning_exception,
)


def _require_supplier(masterdata: MasterDataStore, supplier_id: str) -> None:
    key = supplier_key(supplier_id)
    if masterdata.get_record(key) is None:
        raise PermanentFailure(f"unknown supplier {supplier_id}: no SupplierUpserted in master data", waiting_for=key)


def handle_supplier_event(delivery: Delivery) -> None:
    if isinstance(delivery.data, ShipmentMilestone | FinancialPostingRecorded):
        _performance_fact(delivery)
        return
    masterdata = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    _require_supplier(masterdata, delivery.data.supplier_id)
    try:
        if isinstance(delivery.data, SupplierLeadTimeChanged):
            _lead_time(delivery, masterdata)
        else:
            _po_confirmation(delivery, masterdata)
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc


def _lead_time(delivery: Delivery, masterdata: MasterDataStore) -> None:
    change: SupplierLeadTimeChanged = delivery.data
    meta = delivery.envelope.metadata
    key = item_location_key(change.item_id, change.location_id)
    record = masterdata.get_record(key)
    if record is None:
        raise PermanentFailure(f"unknown item-location {change.item_id}@{change.location_id}: no "
                               "ItemLocationUpserted in master data", waiting_for=key)
    reported_at = utc_iso(meta.occurred_at)
    last_reported = record.get("supplierLeadTimeReportedAt")
    if is_stale(reported_at, last_reported):  # it reached distsync late: keep the newer
        delivery.record("delivered", f"lead time of {change.item_id}@{change.location_id} from {change.supplier_id} "
                                     f"reported {reported_at} is older than the one recorded (reported "
                                     f"{last_reported}): left out, not sent to planning")
        metrics.add_metric(name="StaleLeadTimesIgnored", unit=MetricUnit.Count, value=1)
        return
    previous = known_lead_time(record)
    assessment = assess_lead_time(previous, change.lead_time_days, env_float("LEAD_TIME_EXCEPTION_PERCENT", 25))

    partner("planning").send(
        "PUT", f"/v1/lead-times/{segment(change.supplier_id)}/{segment(change.item_id)}/{segment(change.location_id)}",
        change.model_dump(by_alias=True, mode="json"), idempotency_key=meta.event_id,
        correlation_id=meta.correlation_id,
    )
    detail = (f"lead time of {change.item_id}@{change.location_id} from {change.supplier_id}: {previous} -> "
              f"{change.lead_time_days} days ({assessment.change_percent}%), sent to planning")
    if not assessment.exceptional:
        _record(masterdata, change, reported_at)
        delivery.record("delivered", detail)
        return
    exception = planning_exception(change, assessment, meta.event_id)
    # The hop first (its time is when it is recorded; a failed publish drops it with the record's other hops):
    # the exception's own consumer may record its hop before this function returns.
    delivery.record("ok", f"{detail}; planning exception {exception.exception_id} raised")
    # Published now, not with the batch: the lead time below is recorded only once the exception is on the
    # bus, because a retry after a failed publish must compare with the lead time known before this change,
    # or it would find no change and never raise the exception.
    EventPublisher(env("EVENT_BUS_NAME")).publish([exception_event(exception, meta)])
    _record(masterdata, change, reported_at)
    metrics.add_metric(name="PlanningExceptionsRaised", unit=MetricUnit.Count, value=1)


def _record(masterdata: MasterDataStore, change: SupplierLeadTimeChanged, reported_at: str) -> None:
    if not masterdata.record_supplier_lead_time(change.item_id, change.location_id, change.lead_time_days,
                                                reported_at):
        # A later report was recorded between the read above and this write (a concurrent batch): it stays.
        logger.warning("a later lead time was recorded meanwhile", extra={"reportedAt": reported_at})


def _po_confirmation(delivery: Delivery, masterdata: MasterDataStore) -> None:
    meta = delivery.envelope.metadata
    po = _in_base_units(delivery.data, masterdata)
    # First: what was promised, for supplier performance (a retry after a failed ERP call rewrites it).
    PerformanceStore(env("SUPPLIER_PERFORMANCE_TABLE_NAME")).confirmation(po, meta)
    result = partner("erp").put_po_confirmation(
        po.purchase_order_id, po.model_dump(by_alias=True, mode="json"),
        idempotency_key=derive_id(meta.event_id, "erp"), correlation_id=meta.correlation_id,
    )
    how = "had already recorded" if result.replayed else "recorded"
    delivery.record("delivered", f"ERP {how} the confirmation of {po.purchase_order_id} by {po.supplier_id} "
                                 f"({len(po.lines)} line(s))")


def _in_base_units(po: PurchaseOrderConfirmed, masterdata: MasterDataStore) -> PurchaseOrderConfirmed:
    """Before what was promised is recorded or sent: every line in its item's base unit. A line in a unit
    without a conversion quarantines the whole confirmation (a part of it would be a wrong promise) until
    that item's master data brings the conversion."""
    def units_of(item_id: str, location_id: str) -> ItemUnits:
        # no ItemUpserted yet: the item-location's unit is the only one known (as for balances)
        location = masterdata.get_record(item_location_key(item_id, location_id)) or {}
        return ItemUnits.from_record(item_id, masterdata.get_record(item_key(item_id)), location.get("unitOfMeasure"))

    try:
        return confirmation_in_base_unit(po, units_of)
    except UnknownUnit as exc:
        raise PermanentFailure(f"purchase order {po.purchase_order_id}: {exc}", waiting_for=item_key(exc.item_id)) from exc
    except ValidationError as exc:
        raise PermanentFailure(f"purchase order {po.purchase_order_id} in base units is out of the contract's "
                               f"bounds: {exc.errors()[0]['msg']}") from exc


def _performance_fact(delivery: Delivery) -> None:
    """A supplier's ship notice or a goods receipt of its PO, kept for supplier performance. Every milestone
    and posting reaches this pipeline (its rules match by type): the others are not the supplier's and pass
    without a hop, their own pipelines handle them."""
    data, source = delivery.data, delivery.envelope.metadata.source
    store = PerformanceStore(env("SUPPLIER_PERFORMANCE_TABLE_NAME"))
    if isinstance(data, ShipmentMilestone) and is_ship_notice(data, source):
        store.shipment(data)
        delivery.record("delivered", f"ship notice {data.shipment_id} of PO(s) {', '.join(data.order_ids)} "
                                     "recorded for supplier performance")
    elif isinstance(data, FinancialPostingRecorded) and is_po_receipt(data):
        store.receipt(data)
        said = f"{len(data.lines)} line(s)" if data.lines else "no quantities (lead time only)"
        delivery.record("delivered", f"goods receipt {data.posting_id} of PO {data.reference} on "
                                     f"{data.posting_date.isoformat()} ({said}) recorded for supplier performance")


def read_master_data(events: list[ContractModel]) -> None:
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).prefetch(master_data_keys(events))


consumer = Consumer(
    "supplier",
    (SupplierLeadTimeChanged, PurchaseOrderConfirmed, ShipmentMilestone, FinancialPostingRecorded),
    handle_supplier_event,
    prefetch=read_master_data,
)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
