"""Inventory visibility accuracy (the seed's fourth executive KPI): per item-location, the ERP's on-hand against
the WMS's, each source's newest balance as the projection keeps it (:meth:`.store.InventoryStore.source_balances`).

- **comparable**: both sources have a balance and their as-of times are at most ``as_of_tolerance`` apart (two
  counts of different moments would disagree by the stock that moved in between, not by an error);
- **agree**: ``|erp - wms| <= max(absolute, percent / 100 * max(erp, wms))``: the absolute tolerance covers
  small counts (a unit or two), the percent one large ones; both 0 (the default) demand equal quantities;
- **not comparable** (listed with the reason, never counted as disagreeing): only one source has a balance, or
  the two as-of times are too far apart;
- **accuracy** = agreeing / comparable, in percent; ``None`` when nothing is comparable (no figure, not 100 %).

Plain logic, no AWS: give it balances, get the report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SOURCES = ("erp", "wms")
CSV_COLUMNS = ("itemId", "locationId", "erpOnHand", "wmsOnHand", "difference", "erpAsOf", "wmsAsOf")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class SourceBalance(_Model):
    """The newest balance one source reported for an item-location."""

    item_id: str
    location_id: str
    source: Literal["erp", "wms"]
    on_hand: float
    as_of: datetime


class Tolerance(_Model):
    as_of_minutes: float = Field(ge=0)
    quantity: float = Field(default=0, ge=0)
    quantity_percent: float = Field(default=0, ge=0, le=100)

    def allowed(self, erp: float, wms: float) -> Decimal:
        # Decimal: 100 and 99.9 with a tolerance of 0.1 agree (as floats the difference is 0.1000000000000014).
        larger = max(Decimal(str(erp)), Decimal(str(wms)))
        return max(Decimal(str(self.quantity)), Decimal(str(self.quantity_percent)) / 100 * larger)


class Disagreement(_Model):
    item_id: str
    location_id: str
    erp_on_hand: float
    wms_on_hand: float
    difference: float = Field(description="ERP minus WMS")
    erp_as_of: datetime
    wms_as_of: datetime


class NotComparable(_Model):
    item_id: str
    location_id: str
    reason: str
    erp_on_hand: float | None = None
    wms_on_hand: float | None = None
    erp_as_of: datetime | None = None
    wms_as_of: datetime | None = None


class AccuracyReport(_Model):
    computed_at: datetime
    tolerance: Tolerance
    target_percent: float
    accuracy_percent: float | None = Field(description="Agreeing / compared x 100; None when none compared")
    compared: int
    agreeing: int
    disagreeing: list[Disagreement]
    not_comparable: list[NotComparable]

    @property
    def below_target(self) -> bool:
        return self.accuracy_percent is not None and self.accuracy_percent < self.target_percent

    def sentence(self) -> str:
        if self.accuracy_percent is None:
            return (f"Inventory visibility accuracy: no item-location comparable ({len(self.not_comparable)} not "
                    "comparable).")
        return (f"Inventory visibility accuracy {self.accuracy_percent:.2f} %: {self.agreeing} of {self.compared} "
                f"item-locations agree between ERP and WMS ({len(self.disagreeing)} disagree, "
                f"{len(self.not_comparable)} not comparable; target {self.target_percent:g} %).")


def compare(balances: Iterable[SourceBalance], tolerance: Tolerance, *, now: datetime,
            target_percent: float) -> AccuracyReport:
    by_key: dict[tuple[str, str], dict[str, SourceBalance]] = {}
    for b in balances:
        by_key.setdefault((b.item_id, b.location_id), {})[b.source] = b
    window = timedelta(minutes=tolerance.as_of_minutes)
    agreeing = 0
    disagreeing: list[Disagreement] = []
    not_comparable: list[NotComparable] = []
    for (item, location), sources in sorted(by_key.items()):
        erp, wms = sources.get("erp"), sources.get("wms")
        if erp is None or wms is None:
            only = erp or wms
            assert only is not None
            not_comparable.append(NotComparable.model_validate({
                "itemId": item, "locationId": location, "reason": f"only the {only.source.upper()} reported a balance",
                f"{only.source}OnHand": only.on_hand, f"{only.source}AsOf": only.as_of}))
            continue
        apart = abs(erp.as_of - wms.as_of)
        if apart > window:
            not_comparable.append(NotComparable(
                item_id=item, location_id=location,
                reason=f"as-of times {apart.total_seconds() / 60:g} min apart (more than "
                       f"{tolerance.as_of_minutes:g} min)",
                erp_on_hand=erp.on_hand, wms_on_hand=wms.on_hand, erp_as_of=erp.as_of, wms_as_of=wms.as_of))
            continue
        difference = Decimal(str(erp.on_hand)) - Decimal(str(wms.on_hand))
        if abs(difference) <= tolerance.allowed(erp.on_hand, wms.on_hand):
            agreeing += 1
        else:
            disagreeing.append(Disagreement(
                item_id=item, location_id=location, erp_on_hand=erp.on_hand, wms_on_hand=wms.on_hand,
                difference=float(difference), erp_as_of=erp.as_of, wms_as_of=wms.as_of))
    compared = agreeing + len(disagreeing)
    return AccuracyReport(
        computed_at=now, tolerance=tolerance, target_percent=target_percent,
        accuracy_percent=100 * agreeing / compared if compared else None,
        compared=compared, agreeing=agreeing, disagreeing=disagreeing, not_comparable=not_comparable)


def disagreements_csv(report: AccuracyReport) -> str:
    """The disagreeing item-locations, one row each (RFC 4180, header first)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for d in report.disagreeing:
        writer.writerow({k: v for k, v in d.model_dump(by_alias=True, mode="json").items() if k in CSV_COLUMNS})
    return out.getvalue()
