"""Canonical events: the envelope, the data contracts and the registry of (type, version).

Every event on the bus is an EventBridge event whose ``detail`` is an :class:`Envelope`:
``{"metadata": {...}, "data": {...}}``. A contract names its event type, version, the sources that may
produce it and the pydantic model of its ``data``. Unknown types or versions are rejected by name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

# Identifiers travel into ERP URLs and DynamoDB keys: keep them to a safe, bounded alphabet.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")]
# Strict: a number must be a JSON number ("5" and true are refused), as the exported JSON Schema says.
Quantity = Annotated[float, Field(ge=0, le=1_000_000_000, allow_inf_nan=False, strict=True)]
ChangePercent = Annotated[float, Field(ge=0, le=1_000_000_000, allow_inf_nan=False, strict=True)]
Days = Annotated[int, Field(ge=0, le=730, strict=True)]
# Change counters (record versions, order sequences): a huge one would freeze its record (nothing newer could
# follow), and DynamoDB numbers take 38 digits.
MAX_COUNTER = 10**15

# Namespace for ids derived from other ids, so a redelivered message derives the same ids again.
_DERIVED_ID_NAMESPACE = uuid.UUID("6f1c2f0e-3b1a-4d7e-9a53-1d0c7f5b9e21")


def derive_id(*parts: str) -> str:
    """A deterministic id for an event caused by another one (same cause -> same id)."""
    return str(uuid.uuid5(_DERIVED_ID_NAMESPACE, "|".join(parts)))


def utcnow() -> datetime:
    return datetime.now(UTC)


# Times of business events: not before 2000, and not ahead of distsync's clock by more than the stack's
# maxFutureSkewMinutes (a balance "as of 9999-12-31" would win over every later one and freeze ATP).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DUE_TIME = datetime(2100, 1, 1, tzinfo=UTC)  # due dates may lie ahead, not past this
DEFAULT_MAX_FUTURE_SKEW_MINUTES = 15.0


def max_future_skew_minutes() -> float:
    """Context ``maxFutureSkewMinutes``, which the stack gives every function as MAX_FUTURE_SKEW_MINUTES."""
    return float(os.environ.get("MAX_FUTURE_SKEW_MINUTES") or DEFAULT_MAX_FUTURE_SKEW_MINUTES)


def _business_time(value: datetime) -> datetime:
    if value < EARLIEST_TIME:
        raise ValueError(f"is before {EARLIEST_TIME:%Y-%m-%d}")
    minutes = max_future_skew_minutes()
    if value > utcnow() + timedelta(minutes=minutes):
        raise ValueError(f"is more than {minutes:g} minutes ahead of distsync's clock (maxFutureSkewMinutes)")
    return value


def _due_time(value: datetime) -> datetime:
    if not EARLIEST_TIME <= value < LATEST_DUE_TIME:
        raise ValueError(f"is not between {EARLIEST_TIME:%Y-%m-%d} and {LATEST_DUE_TIME:%Y-%m-%d}")
    return value


def _text(value: Any) -> Any:
    """Dates and times travel as ISO 8601 text, as the exported schemas say; pydantic would also read a number
    as a Unix timestamp (0 as 1970-01-01), which no partner means."""
    if isinstance(value, int | float):  # bool is an int too
        raise ValueError("must be an ISO 8601 string, not a number")
    return value


BusinessTime = Annotated[AwareDatetime, BeforeValidator(_text), AfterValidator(_business_time)]
DueTime = Annotated[AwareDatetime, BeforeValidator(_text), AfterValidator(_due_time)]
CalendarDate = Annotated[date, BeforeValidator(_text)]


class ContractModel(BaseModel):
    """camelCase on the wire, snake_case in Python, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
        defer_build=True,  # validators are built on first use: a handler pays only for the contracts it uses
    )

    def business_key(self) -> str | None:
        """The business object this event is about (ledger lookups by item-location, order, ...)."""
        item, location = getattr(self, "item_id", None), getattr(self, "location_id", None)
        return f"{item}@{location}" if item and location else None


class Metadata(ContractModel):
    event_id: str = Field(description="Unique id of this event")
    event_type: str
    event_version: str
    source: str = Field(description="Producing system, e.g. erp, planning, or a distsync component")
    occurred_at: BusinessTime = Field(description="When it happened in the producing system")
    received_at: AwareDatetime = Field(description="When distsync accepted or produced it")
    correlation_id: str = Field(description="Id shared by every event of one business transaction")
    causation_id: str | None = Field(default=None, description="Event id of the event that caused this one")
    origin_received_at: AwareDatetime | None = Field(
        default=None, description="When distsync received the first event of this transaction (for SLAs)"
    )
    idempotency_key: str | None = None

    @property
    def origin(self) -> datetime:
        return self.origin_received_at or self.received_at


class Envelope(ContractModel):
    metadata: Metadata
    data: dict[str, Any]


# ---------------------------------------------------------------------------------------------------
# Data contracts (v1)
# ---------------------------------------------------------------------------------------------------
UnitOfMeasure = Annotated[str, Field(pattern=r"^[A-Z]{1,8}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
RecordVersion = Annotated[
    int, Field(ge=1, le=MAX_COUNTER, strict=True, description="The ERP's change counter of the record")
]


class MasterDataModel(ContractModel):
    """Master data from the ERP (the system of record), versioned: an older version never overwrites a
    newer one. Without ``recordVersion`` the event time orders the changes."""

    record_version: RecordVersion | None = None

    def master_key(self) -> str:
        raise NotImplementedError

    def business_key(self) -> str | None:
        return super().business_key() or self.master_key()


class ItemLocationUpserted(MasterDataModel):
    """ERP master data for one item at one location (ERP is the system of record)."""

    item_id: Identifier
    location_id: Identifier
    unit_of_measure: UnitOfMeasure
    safety_stock: Quantity
    reorder_point: Quantity
    supplier_id: Identifier
    lead_time_days: Days

    def master_key(self) -> str:
        return f"ITEMLOC#{self.item_id}#{self.location_id}"


class ItemUpserted(MasterDataModel):
    """An item (SKU) of the ERP's item master."""

    item_id: Identifier
    description: Name
    unit_of_measure: UnitOfMeasure
    status: Literal["active", "inactive", "discontinued"]
    # Optional (older producers send neither): what impact-aware approvals price the safety-stock change at.
    unit_cost: float | None = Field(default=None, ge=0, le=1_000_000_000, allow_inf_nan=False,
                                    description="Cost of one unit of measure, in major units of the currency")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")] | None = None

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ItemUpserted:
        if self.unit_cost is not None and self.currency is None:
            raise ValueError("currency is required with unitCost")
        return self

    def master_key(self) -> str:
        return f"ITEM#{self.item_id}"


class UnitConversion(ContractModel):
    """How many base units (the item's ``unitOfMeasure``) one ``unit`` holds: a case of 12 is CS -> 12."""

    unit: UnitOfMeasure
    # A JSON number like every quantity; the conversion reads it as the decimal it is written as.
    # ge, not gt: OpenAPI 3.0 has no numeric exclusiveMinimum; a millionth is the smallest factor we take.
    to_base: float = Field(ge=0.000001, le=1_000_000, allow_inf_nan=False, strict=True,
                           description="Base units in one unit (e.g. 12, or 0.5 for a half unit)")


class ItemUpsertedV2(ItemUpserted):
    """v2 adds the item's governed unit conversions to its base unit; a v1 event is upcast with none."""

    unit_conversions: list[UnitConversion] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _conversions_are_consistent(self) -> ItemUpsertedV2:
        seen: set[str] = set()
        for conversion in self.unit_conversions:
            if conversion.unit in seen:
                raise ValueError(f"unit {conversion.unit} is listed twice in unitConversions")
            seen.add(conversion.unit)
            if conversion.unit == self.unit_of_measure and conversion.to_base != 1:
                raise ValueError(f"the base unit {self.unit_of_measure} can only convert with toBase 1")
        return self


class LocationUpserted(MasterDataModel):
    """A stocking location: distribution centre, store, plant."""

    location_id: Identifier
    name: Name
    location_type: Literal["dc", "store", "plant", "3pl"]

    def master_key(self) -> str:
        return f"LOCATION#{self.location_id}"


class SupplierUpserted(MasterDataModel):
    """A supplier with its default lead time."""

    supplier_id: Identifier
    name: Name
    default_lead_time_days: Days

    def master_key(self) -> str:
        return f"SUPPLIER#{self.supplier_id}"


class CustomerUpserted(MasterDataModel):
    """A customer account."""

    customer_id: Identifier
    name: Name
    channel: Literal["b2b", "b2c", "marketplace"]

    def master_key(self) -> str:
        return f"CUSTOMER#{self.customer_id}"


class ReplenishmentRecommended(ContractModel):
    """Planning's recommended safety stock and reorder point for one item-location."""

    item_id: Identifier
    location_id: Identifier
    recommended_safety_stock: Quantity
    recommended_reorder_point: Quantity
    planning_cycle_id: Identifier


class ReplenishmentUpdateRequested(ContractModel):
    """distsync's instruction to change replenishment parameters in the ERP (auto or approved)."""

    item_id: Identifier
    location_id: Identifier
    safety_stock: Quantity
    reorder_point: Quantity
    previous_safety_stock: Quantity
    previous_reorder_point: Quantity
    unit_of_measure: str
    supplier_id: Identifier
    lead_time_days: Days
    planning_cycle_id: Identifier
    change_percent: ChangePercent
    erp_idempotency_key: str
    approval_id: str | None = None
    decided_by: str | None = None
    recommended_at: AwareDatetime | None = Field(
        default=None,
        description="When planning produced the recommendation (its event time): what orders two updates of one "
        "item-location, so an older one (a late approval, a redrive, a replay) never overwrites a newer one",
    )
    erp_connection: Identifier | None = Field(
        default=None,
        description="The ERP connection that owns the location (context erpConnections): the update's queue and "
        "connector; absent on updates from before connections, which go to the connection owning the location",
    )


class ReplenishmentParametersUpdated(ContractModel):
    """The ERP accepted new replenishment parameters (published by the ERP adapter)."""

    item_id: Identifier
    location_id: Identifier
    safety_stock: Quantity
    reorder_point: Quantity
    unit_of_measure: str
    planning_cycle_id: Identifier
    erp_update_id: str
    approval_id: str | None = None


RowCount = Annotated[int, Field(ge=0, strict=True)]


class ForecastCycleCompleted(ContractModel):
    """A whole planning cycle file (the bulk path) was processed: what it held and what distsync did with it.

    Only material changes (above ``tolerancePercent`` against the last applied parameters) became
    ``ReplenishmentRecommended`` events; rows for unknown item-locations and malformed rows are listed in
    the rejected-rows report under ``rejectedReport``."""

    cycle_id: Identifier
    status: Literal["completed", "rejected", "failed"] = Field(
        description="completed: every row was read; rejected: the file itself is unusable (see reason); "
        "failed: processing stopped after retries (counts are what was done until then)"
    )
    source_file: str = Field(description="Key of the cycle file in the landing bucket")
    rows_read: RowCount
    changed: RowCount = Field(description="Rows with a material change (a ReplenishmentRecommended each)")
    unchanged: RowCount = Field(description="Rows within the tolerance of the last applied parameters")
    rejected: RowCount = Field(description="Rows for unknown item-locations or malformed rows")
    approvals_required: RowCount = Field(description="Changes above the approval threshold (a planner decides)")
    events_emitted: RowCount
    tolerance_percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    started_at: AwareDatetime
    finished_at: AwareDatetime
    rejected_report: str | None = Field(
        default=None, description="s3://<landing bucket>/rejected/cycles/<cycleId>/: the rejected rows (JSON)"
    )
    reason: str | None = Field(default=None, description="Why the file was rejected or processing failed")

    def business_key(self) -> str | None:
        return f"CYCLE#{self.cycle_id}"


# ---------------------------------------------------------------------------------------------------
# Inventory availability
# ---------------------------------------------------------------------------------------------------
class InventoryBalanceChanged(ContractModel):
    """A stock balance of one item at one location, as of a point in time, from the ERP or the WMS (v1)."""

    item_id: Identifier
    location_id: Identifier
    on_hand: Quantity
    allocated: Quantity
    in_transit: Quantity
    in_transit_due_at: DueTime | None = Field(
        default=None, description="When the in-transit quantity is due; without it, it is not promised"
    )
    as_of: BusinessTime = Field(description="When the balance was true in the source system")
    source_system: Literal["erp", "wms"]
    unit_of_measure: UnitOfMeasure | None = Field(
        default=None, description="Unit of every quantity of the balance (lots too); without it, the item's base "
        "unit. Another unit converts to the base unit by the item's unitConversions (ItemUpserted v2)")


class Lot(ContractModel):
    lot_number: Identifier
    quantity: Quantity
    expires_on: CalendarDate | None = None
    serial_numbers: list[Identifier] = Field(default_factory=list, max_length=100)


class InventoryBalanceChangedV2(InventoryBalanceChanged):
    """v2 adds the on-hand quantity by lot (with serial numbers); a v1 event is upcast with no lots."""

    lots: list[Lot] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _lots_within_on_hand(self) -> InventoryBalanceChangedV2:
        # In decimal: as floats, lots of 0.1 and 0.2 would hold more than an onHand of 0.3.
        if sum(Decimal(str(lot.quantity)) for lot in self.lots) > Decimal(str(self.on_hand)):
            raise ValueError("the lots hold more than onHand")
        return self


class InventoryAvailabilityUpdated(ContractModel):
    """distsync applied a newer balance to the available-to-promise projection (what planning receives)."""

    item_id: Identifier
    location_id: Identifier
    on_hand: Quantity
    allocated: Quantity
    in_transit: Quantity
    in_transit_due_at: DueTime | None = None
    available_to_promise: float
    as_of: BusinessTime
    source_system: Literal["erp", "wms"]
    lot_count: int = Field(default=0, ge=0)


# ---------------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------------
class OrderLine(ContractModel):
    line_number: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    item_id: Identifier
    quantity: Quantity
    status: Literal["open", "allocated", "backordered", "picked", "shipped", "delivered", "cancelled"]
    promised_date: CalendarDate | None = None


class OrderStatusChanged(ContractModel):
    """A customer order's status from the ERP; ``sequence`` is the ERP's change counter of the order."""

    order_id: Identifier
    customer_id: Identifier
    sequence: Annotated[int, Field(ge=1, le=MAX_COUNTER, strict=True)]
    status: Literal["created", "confirmed", "allocated", "picking", "shipped", "delivered", "cancelled", "on_hold"]
    lines: list[OrderLine] = Field(min_length=1, max_length=500)

    def business_key(self) -> str | None:
        return f"ORDER#{self.order_id}"


# ---------------------------------------------------------------------------------------------------
# Shipments / fulfillment
# ---------------------------------------------------------------------------------------------------
class ShipmentExceptionDetail(ContractModel):
    kind: Literal["delayed", "damaged", "lost", "refused", "address_issue"]
    description: Name
    new_estimated_delivery: CalendarDate | None = None


class ShipmentMilestone(ContractModel):
    """A shipment reached a milestone in the WMS or TMS; ``exception`` goes with milestone "exception"."""

    shipment_id: Identifier
    order_ids: list[Identifier] = Field(min_length=1, max_length=50)
    milestone: Literal["picked", "packed", "shipped", "delivered", "exception"]
    carrier: Name
    tracking_number: Identifier | None = None
    milestone_at: BusinessTime
    exception: ShipmentExceptionDetail | None = None

    @model_validator(mode="after")
    def _exception_iff_exception_milestone(self) -> ShipmentMilestone:
        if (self.milestone == "exception") != (self.exception is not None):
            raise ValueError('"exception" is required for milestone "exception" and only for it')
        return self

    def business_key(self) -> str | None:
        return f"SHIPMENT#{self.shipment_id}"


# ---------------------------------------------------------------------------------------------------
# Supplier collaboration
# ---------------------------------------------------------------------------------------------------
class SupplierLeadTimeChanged(ContractModel):
    """A supplier's new lead time for one item delivered to one location."""

    supplier_id: Identifier
    item_id: Identifier
    location_id: Identifier
    lead_time_days: Days
    effective_from: CalendarDate


class ConfirmedLine(ContractModel):
    line_number: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    item_id: Identifier
    location_id: Identifier
    confirmed_quantity: Quantity
    confirmed_delivery_date: CalendarDate
    unit_of_measure: UnitOfMeasure | None = Field(
        default=None, description="Unit of confirmedQuantity; without it, the item's base unit. Another unit "
        "converts to the base unit by the item's unitConversions (ItemUpserted v2)")


class PurchaseOrderConfirmed(ContractModel):
    """A supplier confirmed quantities and dates of a purchase order."""

    purchase_order_id: Identifier
    supplier_id: Identifier
    lines: list[ConfirmedLine] = Field(min_length=1, max_length=500)

    def business_key(self) -> str | None:
        return f"PO#{self.purchase_order_id}"


class SupplierPerformanceMeasured(ContractModel):
    """What a supplier really did for one item-location over a window, against what it promised: lead time
    (PO confirmation -> first goods receipt, days) and fill rate (received of the confirmed quantity), for
    planning's lead-time assumptions. Counts and means over the POs confirmed in the window."""

    supplier_id: Identifier
    item_id: Identifier
    location_id: Identifier
    window_start: CalendarDate = Field(description="First day of the window (POs confirmed on or after it)")
    window_end: CalendarDate = Field(description="Last day of the window (the day it was measured)")
    purchase_orders: int = Field(ge=0, strict=True, description="POs confirmed in the window with a line for this item-location")
    received_purchase_orders: int = Field(ge=0, strict=True, description="Of those, the ones with at least one goods receipt")
    actual_lead_time_days: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Mean days from confirmation to the first goods receipt (received POs); null when none")
    promised_lead_time_days: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Mean days from confirmation to the confirmed delivery date (the same POs)")
    master_data_lead_time_days: Days | None = Field(
        default=None, description="The lead time planning works with today (master data), when known")
    on_time_percent: float | None = Field(
        default=None, ge=0, le=100, allow_inf_nan=False,
        description="Received POs whose first receipt was on or before the confirmed delivery date")
    confirmed_quantity: float = Field(ge=0, allow_inf_nan=False, description="Confirmed on the measured lines")
    received_quantity: float = Field(ge=0, allow_inf_nan=False, description="Received on the measured lines")
    fill_rate_percent: float | None = Field(
        default=None, ge=0, le=100, allow_inf_nan=False,
        description="Received of the confirmed quantity, each line capped at its confirmed quantity (over-"
                    "deliveries do not make up for short ones); null when no line was received")
    over_delivered_quantity: float = Field(default=0, ge=0, allow_inf_nan=False,
                                           description="Received beyond the confirmed quantity")
    actual_transit_days: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Mean days from the supplier's ship notice to the first goods receipt, when it sent one")

    def business_key(self) -> str | None:
        return f"SUPPLIER#{self.supplier_id}"


# ---------------------------------------------------------------------------------------------------
# Planning: forecasts and exceptions
# ---------------------------------------------------------------------------------------------------
class ForecastBucket(ContractModel):
    week_start: CalendarDate
    quantity: Quantity


class DemandForecastPublished(ContractModel):
    """Planning's weekly demand forecast for one item-location (for the ERP's planning tables)."""

    item_id: Identifier
    location_id: Identifier
    forecast_id: Identifier
    unit_of_measure: UnitOfMeasure
    buckets: list[ForecastBucket] = Field(min_length=1, max_length=104)

    @model_validator(mode="after")
    def _weeks_ascending(self) -> DemandForecastPublished:
        weeks = [b.week_start for b in self.buckets]
        if any(a >= b for a, b in zip(weeks, weeks[1:], strict=False)):
            raise ValueError("bucket weekStart dates must be strictly ascending")
        return self


class PlanningException(ContractModel):
    """Something planners must look at, raised by distsync (e.g. a supplier lead time jumped)."""

    exception_id: Identifier
    kind: Literal["lead_time_change", "forecast_deviation", "stockout_risk", "excess_stock"]
    severity: Literal["info", "warning", "critical"]
    item_id: Identifier | None = None
    location_id: Identifier | None = None
    supplier_id: Identifier | None = None
    message: Name
    current_value: float | None = None
    previous_value: float | None = None



# ---------------------------------------------------------------------------------------------------
# Financial reconciliation
# ---------------------------------------------------------------------------------------------------
PostingType = Literal["goods_receipt", "goods_issue", "invoice"]
# The distsync domain a posting belongs to (goods receipts: inventory or supplier POs; goods issues:
# inventory, orders or shipments; invoices: orders (customers) or supplier).
PostingDomain = Literal["inventory", "orders", "fulfillment", "supplier"]
POSTING_DOMAINS: tuple[PostingDomain, ...] = ("inventory", "orders", "fulfillment", "supplier")
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]
# Money is an integer number of the currency's minor units (cents for EUR/USD, yen for JPY): exact in JSON
# (every integer below 2**53 is exact even for parsers that read numbers as doubles), in DynamoDB and in sums,
# with no "12.5" vs "12.50" question. A posting is at most 10**15 - 1 minor units either way (credit notes and
# reversals are negative), so a day's totals stay exact far beyond any realistic volume.
AmountMinor = Annotated[
    int,
    Field(ge=-(10**15 - 1), le=10**15 - 1, strict=True,
          description="Amount in minor units of the currency (EUR 1234.56 is 123456); negative for reversals"),
]
Count = Annotated[int, Field(ge=0, strict=True)]
TotalMinor = Annotated[int, Field(strict=True, description="Sum of amounts in minor units of the currency")]
ReconciliationStatus = Literal["balanced", "mismatched"]


class ReceivedLine(ContractModel):
    """What a goods receipt took in of one item at one location (supplier performance measures fill rates)."""

    item_id: Identifier
    location_id: Identifier
    received_quantity: Quantity


class FinancialPostingRecorded(ContractModel):
    """The ERP booked a financial posting (goods receipt, goods issue or invoice) for a business document."""

    posting_id: Identifier
    posting_type: PostingType
    domain: PostingDomain
    amount_minor: AmountMinor
    currency: Currency
    posting_date: CalendarDate = Field(description="The accounting date the ERP booked it on")
    reference: Identifier = Field(description="The document it posts: purchase order, order or shipment id")
    # Optional (added compatibly): a goods receipt of a supplier PO says what it received, for fill rates.
    lines: list[ReceivedLine] = Field(
        default_factory=list, max_length=500,
        description="Goods receipts: the quantity received per item-location (empty when the ERP does not say)",
    )

    def business_key(self) -> str | None:
        return f"POSTING#{self.posting_id}"


class ReconciliationTotal(ContractModel):
    """ERP and distsync totals of one domain, posting type and currency on the reconciled date."""

    domain: PostingDomain
    posting_type: PostingType
    currency: Currency
    erp_amount_minor: TotalMinor
    erp_count: Count
    recorded_amount_minor: TotalMinor
    recorded_count: Count
    status: ReconciliationStatus


class ReconciliationMismatch(ContractModel):
    """A total that does not reconcile, with what kind of difference it is."""

    domain: PostingDomain
    posting_type: PostingType
    currency: Currency
    kind: Literal["missing_in_distsync", "missing_in_erp", "count_difference", "amount_difference"]
    erp_amount_minor: TotalMinor
    erp_count: Count
    recorded_amount_minor: TotalMinor
    recorded_count: Count
    difference_minor: TotalMinor = Field(description="ERP amount minus recorded amount")
    count_difference: int = Field(strict=True, description="ERP count minus recorded count")
    message: Name


class DomainReconciliation(ContractModel):
    domain: PostingDomain
    status: ReconciliationStatus
    mismatches: Count


class ReconciliationCompleted(ContractModel):
    """distsync compared the ERP's posting totals of a date with the postings it recorded, per domain."""

    reconciliation_id: Identifier
    posting_date: CalendarDate
    status: ReconciliationStatus
    domains: list[DomainReconciliation] = Field(max_length=len(POSTING_DOMAINS))
    totals: list[ReconciliationTotal] = Field(max_length=1000)
    mismatches: list[ReconciliationMismatch] = Field(max_length=1000)

    @model_validator(mode="after")
    def _status_matches_mismatches(self) -> ReconciliationCompleted:
        if (self.status == "mismatched") != bool(self.mismatches):
            raise ValueError('status is "mismatched" exactly when mismatches are listed')
        return self

    def business_key(self) -> str | None:
        return f"RECONCILIATION#{self.posting_date.isoformat()}"


# ---------------------------------------------------------------------------------------------------
# Parameter drift (issue 15): distsync_core.drift.classify
DriftClassName = Literal["changed_by_hand", "applied_but_lost", "never_applied"]
OptionalQuantity = Annotated[Quantity | None, Field(default=None)]


class ParameterDriftDetected(ContractModel):
    """An item-location's ERP parameters drifted from what distsync applied or planning recommended (one
    event per drifted item-location and drift run; in-sync ones publish nothing)."""

    item_id: Identifier
    location_id: Identifier
    drift_class: DriftClassName = Field(description="changed_by_hand: the ERP differs from the last applied; "
                                        "applied_but_lost: the ERP shows the values the last applied replaced; "
                                        "never_applied: planning's later recommendation never reached the ERP")
    reason: str = Field(max_length=1000)
    erp_connection: str | None = None
    erp_safety_stock: OptionalQuantity
    erp_reorder_point: OptionalQuantity
    applied_safety_stock: OptionalQuantity
    applied_reorder_point: OptionalQuantity
    recommended_safety_stock: OptionalQuantity
    recommended_reorder_point: OptionalQuantity
    recommendation_status: str | None = Field(default=None, description="The ledger status of planning's latest "
                                              "recommendation (rejected, quarantined, dead_lettered, ...)")
    drift_run_id: Identifier


@dataclass(frozen=True)
class Owner:
    """The team that owns an event type (its contract, its pipelines) and whom to reach. The contact is an email
    or an on-call handle, never a secret; context ``owners`` may replace it per deployment (infra/config.py)."""

    team: str
    contact: str


# One row per team (infra/config.py DEFAULT_OWNERS is the same table for the infra; a test keeps them equal).
INTEGRATION_PLATFORM = Owner("integration-platform", "integration-oncall@example.com")
MASTERDATA_TEAM = Owner("masterdata", "masterdata-oncall@example.com")
PLANNING_TEAM = Owner("planning-integration", "planning-oncall@example.com")
INVENTORY_TEAM = Owner("inventory", "inventory-oncall@example.com")
ORDERS_TEAM = Owner("orders", "orders-oncall@example.com")
FULFILLMENT_TEAM = Owner("fulfillment", "fulfillment-oncall@example.com")
SUPPLIER_TEAM = Owner("supplier-collaboration", "supplier-oncall@example.com")
FINANCE_TEAM = Owner("finance", "finance-oncall@example.com")
TEAMS: dict[str, Owner] = {o.team: o for o in (
    INTEGRATION_PLATFORM, MASTERDATA_TEAM, PLANNING_TEAM, INVENTORY_TEAM, ORDERS_TEAM, FULFILLMENT_TEAM,
    SUPPLIER_TEAM, FINANCE_TEAM,
)}

# Event type -> owning team (every version of a type has the same owner).
CONTRACT_OWNERS: dict[str, Owner] = {
    **dict.fromkeys(("ItemLocationUpserted", "ItemUpserted", "LocationUpserted", "SupplierUpserted",
                     "CustomerUpserted"), MASTERDATA_TEAM),
    **dict.fromkeys(("ReplenishmentRecommended", "ReplenishmentUpdateRequested", "ReplenishmentParametersUpdated",
                     "ForecastCycleCompleted", "DemandForecastPublished", "PlanningException"), PLANNING_TEAM),
    **dict.fromkeys(("InventoryBalanceChanged", "InventoryAvailabilityUpdated"), INVENTORY_TEAM),
    "OrderStatusChanged": ORDERS_TEAM,
    "ShipmentMilestone": FULFILLMENT_TEAM,
    **dict.fromkeys(("SupplierLeadTimeChanged", "PurchaseOrderConfirmed", "SupplierPerformanceMeasured"),
                    SUPPLIER_TEAM),
    **dict.fromkeys(("FinancialPostingRecorded", "ReconciliationCompleted"), FINANCE_TEAM),
    "ParameterDriftDetected": PLANNING_TEAM,
}


@dataclass(frozen=True)
class Contract:
    event_type: str
    version: str
    model: type[ContractModel]
    producers: frozenset[str]  # webhook sources (erp, planning) or internal components
    bus_source: str  # EventBridge `source` the event is published with
    # Versioning policy: consumers work on the latest version; an older version's data is upcast to the
    # next version by this function (and so on) before it is validated against the latest model.
    upcast: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Lifecycle policy: from ``deprecated`` on, partners posting this version are told (Deprecation, Sunset and
    # Link headers); from ``sunset`` on it is refused (410) in favour of the next version. Context
    # ``contractLifecycle`` overrides or extends these per deployment (distsync_core/platform/lifecycle.py).
    deprecated: date | None = None
    sunset: date | None = None

    @property
    def schema_name(self) -> str:
        return f"{self.event_type}-v{self.version}"

    @property
    def owner(self) -> Owner:
        return CONTRACT_OWNERS[self.event_type]


CONTRACTS: dict[tuple[str, str], Contract] = {
    (c.event_type, c.version): c
    for c in (
        Contract("ItemLocationUpserted", "1", ItemLocationUpserted, frozenset({"erp"}), "distsync.erp"),
        Contract("ItemUpserted", "1", ItemUpserted, frozenset({"erp"}), "distsync.erp",
                 upcast=lambda data: {**data, "unitConversions": []}),
        Contract("ItemUpserted", "2", ItemUpsertedV2, frozenset({"erp"}), "distsync.erp"),
        Contract("LocationUpserted", "1", LocationUpserted, frozenset({"erp"}), "distsync.erp"),
        Contract("SupplierUpserted", "1", SupplierUpserted, frozenset({"erp"}), "distsync.erp"),
        Contract("CustomerUpserted", "1", CustomerUpserted, frozenset({"erp"}), "distsync.erp"),
        Contract(
            "ReplenishmentRecommended", "1", ReplenishmentRecommended, frozenset({"planning"}), "distsync.planning"
        ),
        Contract(
            "ReplenishmentUpdateRequested",
            "1",
            ReplenishmentUpdateRequested,
            frozenset({"distsync.replenishment"}),
            "distsync.replenishment",
        ),
        Contract(
            "ReplenishmentParametersUpdated",
            "1",
            ReplenishmentParametersUpdated,
            frozenset({"distsync.erp-adapter"}),
            "distsync.erp-adapter",
        ),
        Contract(
            "ForecastCycleCompleted",
            "1",
            ForecastCycleCompleted,
            frozenset({"distsync.cycles"}),
            "distsync.cycles",
        ),
        Contract(
            "InventoryBalanceChanged",
            "1",
            InventoryBalanceChanged,
            frozenset({"erp", "wms"}),
            "distsync.inventory",
            upcast=lambda data: {**data, "lots": []},
        ),
        Contract(
            "InventoryBalanceChanged", "2", InventoryBalanceChangedV2, frozenset({"erp", "wms"}), "distsync.inventory"
        ),
        Contract(
            "InventoryAvailabilityUpdated",
            "1",
            InventoryAvailabilityUpdated,
            frozenset({"distsync.inventory"}),
            "distsync.atp",
        ),
        Contract("OrderStatusChanged", "1", OrderStatusChanged, frozenset({"erp"}), "distsync.orders"),
        # A supplier's advance ship notice (X12 856, EDIFACT DESADV) is a "shipped" milestone too.
        Contract(
            "ShipmentMilestone", "1", ShipmentMilestone, frozenset({"wms", "tms", "supplier"}), "distsync.fulfillment"
        ),
        Contract("SupplierLeadTimeChanged", "1", SupplierLeadTimeChanged, frozenset({"supplier"}), "distsync.supplier"),
        Contract("PurchaseOrderConfirmed", "1", PurchaseOrderConfirmed, frozenset({"supplier"}), "distsync.supplier"),
        Contract(
            "SupplierPerformanceMeasured",
            "1",
            SupplierPerformanceMeasured,
            frozenset({"distsync.supplier"}),
            "distsync.supplier-performance",
        ),
        Contract(
            "DemandForecastPublished", "1", DemandForecastPublished, frozenset({"planning"}), "distsync.forecast"
        ),
        Contract(
            "PlanningException",
            "1",
            PlanningException,
            frozenset({"distsync.supplier"}),
            "distsync.planning-exceptions",
        ),
        Contract("FinancialPostingRecorded", "1", FinancialPostingRecorded, frozenset({"erp"}), "distsync.finance"),
        Contract(
            "ReconciliationCompleted",
            "1",
            ReconciliationCompleted,
            frozenset({"distsync.finance"}),
            "distsync.finance",
        ),
        Contract("ParameterDriftDetected", "1", ParameterDriftDetected, frozenset({"distsync.drift"}), "distsync.drift"),
    )
}


def latest_version(event_type: str) -> Contract:
    """The newest registered version of a type (versions are integers as strings)."""
    return max((c for (t, _), c in CONTRACTS.items() if t == event_type), key=lambda c: int(c.version))


class UnknownContractError(ValueError):
    """The event type or version is not in the registry."""


def contract_for(event_type: str, version: str) -> Contract:
    contract = CONTRACTS.get((event_type, version))
    if contract is not None:
        return contract
    known = sorted({v for (t, v) in CONTRACTS if t == event_type})
    if known:
        raise UnknownContractError(
            f"eventVersion {version!r} of {event_type} is not supported (supported: {', '.join(known)})"
        )
    raise UnknownContractError(
        f"unknown eventType {event_type!r} (known: {', '.join(sorted({t for t, _ in CONTRACTS}))})"
    )


def new_envelope(
    contract: Contract,
    data: ContractModel,
    *,
    source: str,
    caused_by: Metadata | None = None,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
    idempotency_key: str | None = None,
) -> Envelope:
    """A new event; ``caused_by`` (the event that led to it) gives its correlation, causation and origin."""
    now = utcnow()
    correlation = caused_by.correlation_id if caused_by else correlation_id
    if correlation is None:
        raise ValueError("an event needs a correlation id or the event that caused it")
    return Envelope(
        metadata=Metadata(
            event_id=event_id or str(uuid.uuid4()),
            event_type=contract.event_type,
            event_version=contract.version,
            source=source,
            occurred_at=occurred_at or now,
            received_at=now,
            correlation_id=correlation,
            causation_id=caused_by.event_id if caused_by else None,
            origin_received_at=caused_by.origin if caused_by else None,
            idempotency_key=idempotency_key,
        ),
        data=data.model_dump(by_alias=True, mode="json"),
    )


def upcast_to_latest(envelope: Envelope) -> ContractModel:
    """Validate the data against its own version, then upcast it version by version to the latest model.

    Archived and replayed events keep their original version on the bus; consumers only see the latest.
    """
    contract = contract_for(envelope.metadata.event_type, envelope.metadata.event_version)
    model = contract.model.model_validate(envelope.data)
    latest = latest_version(contract.event_type)
    if contract is latest:
        return model
    data = model.model_dump(by_alias=True, mode="json")
    version = int(contract.version)
    while version < int(latest.version):
        step = contract_for(contract.event_type, str(version))
        if step.upcast is None:
            raise UnknownContractError(f"{contract.event_type} v{version} has no upcaster to v{version + 1}")
        data = step.upcast(data)
        version += 1
    return latest.model.model_validate(data)
