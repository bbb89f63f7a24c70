"""The connector port: what distsync asks of any ERP, in distsync's own terms. Plain Python, no AWS, no HTTP.

A connector kind implements :class:`ErpConnector`; everything above it (the ERP updater, the connector events
API, the delta pull) talks to this interface only, never to a vendor client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PlanningParameters:
    """An item-location's planning parameters as distsync compares them (quantities in the base unit)."""

    safety_stock: float
    reorder_point: float
    lead_time_days: int | None = None  # None: not read or not written by this kind

    def same_as(self, other: PlanningParameters) -> bool:
        """Equal as the ERP stores them: quantities to 3 decimals (S/4HANA's Decimal(13,3)); a lead time
        only compared when both sides have one."""
        lead = self.lead_time_days is None or other.lead_time_days is None or \
            self.lead_time_days == other.lead_time_days
        return round(self.safety_stock, 3) == round(other.safety_stock, 3) and \
            round(self.reorder_point, 3) == round(other.reorder_point, 3) and lead


@dataclass(frozen=True)
class Snapshot:
    """What a read returned: the parameters (None: the ERP has no record for the item-location) and the
    ERP's concurrency token for them (an ETag; None where the ERP has none)."""

    parameters: PlanningParameters | None
    version: str | None = None


@dataclass(frozen=True)
class WriteRequest:
    """One parameter write as distsync asks for it; a kind uses what its ERP has a place for (the REST kind
    sends the idempotency key and the planning references; S/4HANA and Business Central have no such fields)."""

    item_id: str
    location_id: str
    target: PlanningParameters
    correlation_id: str
    unit_of_measure: str | None = None
    idempotency_key: str | None = None  # distsync's key of this change (derived from the recommendation)
    planning_cycle_id: str | None = None
    approval_id: str | None = None


@dataclass(frozen=True)
class ItemLocationChange:
    """An item-location changed in the ERP (a pushed event, a notification or a delta row), with what it now
    holds when the source already carried it (None: read it, claim check)."""

    item_id: str
    location_id: str
    parameters: PlanningParameters | None = None
    unit_of_measure: str | None = None
    changed_at: str | None = None  # ISO 8601 UTC, as the ERP reported it


@dataclass(frozen=True)
class StockBalance:
    """An item's stock at a location as the ERP books it (quantities in the base unit). ``as_of``: when the ERP
    says it was true (ISO 8601 UTC), else when it was read. ``allocated``/``in_transit``: 0 where the ERP's API
    does not report them (say so in the kind's docs)."""

    item_id: str
    location_id: str
    on_hand: float
    allocated: float = 0.0
    in_transit: float = 0.0
    as_of: str | None = None
    unit_of_measure: str | None = None


@dataclass(frozen=True)
class ChangePage:
    changes: Sequence[ItemLocationChange]
    cursor: str | None  # where the next pull starts (stored per connection); None: unchanged


class ConnectorError(RuntimeError):
    """The ERP answered something distsync cannot use (a body that does not parse, an unexpected status);
    permanent for this record: it is failed with this reason, never retried blindly."""


class Conflict(RuntimeError):
    """The record changed in the ERP since it was read (HTTP 412 on If-Match): read again and decide again."""


class NotFound(ConnectorError):
    """The ERP has no such record (the item is not planned at that location)."""


class ErpConnector(Protocol):
    """One ERP connection. A kind's class is built as ``Kind(name, base_url, credentials, options)``:
    ``credentials()`` returns the connection's secret as a dict (re-read, so a rotation is picked up without a
    redeploy), ``options`` the connection's other settings from context (e.g. ``{"company": ...}``). Retryable trouble (429/503/timeouts after the in-invocation retries) raises
    :class:`distsync_core.partners.base.PartnerUnavailable` (or its :class:`RetryLater`): the message goes back
    to its queue."""

    kind: str
    name: str

    def read_parameters(self, item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        ...

    def write_parameters(self, request: WriteRequest, snapshot: Snapshot) -> str | None:
        """Write ``request.target`` over the state ``snapshot`` read (its ``version`` as If-Match where the ERP
        has one). Returns the ERP's request id (for the ledger). Raises :class:`Conflict` when the ERP refused
        the version, :class:`NotFound` when the record does not exist there."""
        ...

    def read_changes(self, cursor: str | None, *, correlation_id: str, limit: int = 500) -> ChangePage:
        """Item-locations changed since ``cursor`` (a delta pull), oldest first."""
        ...

    def read_stock(self, item_id: str, location_id: str, *, correlation_id: str) -> StockBalance | None:
        """The ERP's stock of the item at the location (None: the ERP books none there)."""
        ...
