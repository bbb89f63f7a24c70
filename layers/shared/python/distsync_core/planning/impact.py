"""What a replenishment change would do, for the planner who approves it (plain Python, no AWS).

- daily demand: the mean of the latest forecast's weekly buckets from the current week on (up to four weeks),
  divided by 7;
- days of cover: available to promise / daily demand (today), and safety stock / daily demand under the
  current and the recommended parameters (how many days of demand the buffer covers);
- projected stockout date under each set of parameters, in the reorder-point model: stock runs down at the
  daily demand; when it reaches the reorder point (at once if already below) an order is placed that arrives
  after the lead time; a stockout is projected if the stock left at the reorder point does not last the lead
  time;
- working capital: safety-stock delta x unit cost, when master data has a unit cost.

Whatever cannot be computed (no forecast, no ATP, zero demand, no cost) is ``None`` with the reason in
``unknown``: never a division by zero, never a guessed figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

DEMAND_WEEKS = 4  # the near-term weeks the daily demand is averaged over


@dataclass(frozen=True)
class Parameters:
    safety_stock: float
    reorder_point: float


@dataclass(frozen=True)
class Impact:
    daily_demand: float | None
    atp: float | None
    atp_cover_days: float | None
    cover_days_before: float | None  # safety stock / daily demand, current parameters
    cover_days_after: float | None  # recommended parameters
    stockout_before: date | None  # None with a known demand: no stockout projected
    stockout_after: date | None
    working_capital_change: float | None
    currency: str | None
    unknown: dict[str, str] = field(default_factory=dict)  # figure -> why it is unknown

    def score(self) -> float | None:
        """How much the change moves the buffer, in days of cover (what `approvals list --sort impact` orders
        by): days are comparable across items, a working capital in different currencies is not."""
        if self.cover_days_before is None or self.cover_days_after is None:
            return None
        return round(abs(self.cover_days_after - self.cover_days_before), 1)

    def as_dict(self) -> dict[str, Any]:
        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "dailyDemand": _round(self.daily_demand),
            "availableToPromise": _round(self.atp),
            "atpCoverDays": _round(self.atp_cover_days),
            "coverDaysBefore": _round(self.cover_days_before),
            "coverDaysAfter": _round(self.cover_days_after),
            "stockoutBefore": iso(self.stockout_before),
            "stockoutAfter": iso(self.stockout_after),
            "workingCapitalChange": _round(self.working_capital_change, 2),
            "currency": self.currency,
            "score": self.score(),
            "unknown": dict(self.unknown),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def daily_demand(buckets: Sequence[tuple[date, float]] | None, today: date) -> tuple[float | None, str | None]:
    """Mean daily demand of the forecast weeks from the current one on; (None, reason) when there is none."""
    if not buckets:
        return None, "no demand forecast for this item-location"
    ahead = [q for start, q in sorted(buckets) if start + timedelta(days=7) > today][:DEMAND_WEEKS]
    if not ahead:
        return None, "the latest demand forecast ends before today"
    demand = sum(ahead) / len(ahead) / 7
    if demand <= 0:
        return None, "the forecast demand is zero"
    return demand, None


def stockout_date(atp: float, demand: float, params: Parameters, lead_time_days: int, today: date) -> date | None:
    """The day stock runs out in the reorder-point model, or None when the order at the reorder point arrives
    in time. ``demand`` > 0."""
    if atp <= 0:
        return today
    to_reorder = max(0.0, (atp - params.reorder_point) / demand)  # days until stock reaches the reorder point
    at_reorder = min(atp, params.reorder_point)
    if at_reorder >= demand * lead_time_days:
        return None
    return today + timedelta(days=int(to_reorder + at_reorder / demand))


def compute(
    *,
    before: Parameters,
    after: Parameters,
    atp: float | None,
    buckets: Sequence[tuple[date, float]] | None,
    lead_time_days: int | None,
    unit_cost: float | None,
    currency: str | None,
    today: date,
) -> Impact:
    unknown: dict[str, str] = {}
    demand, why = daily_demand(buckets, today)
    if why:
        for name in ("coverDays", "atpCoverDays", "stockout"):
            unknown[name] = why
    if atp is None:
        unknown.setdefault("atpCoverDays", "no inventory balance (ATP) for this item-location")
        unknown.setdefault("stockout", "no inventory balance (ATP) for this item-location")
    if lead_time_days is None:
        unknown.setdefault("stockout", "no lead time in master data")

    cover_before = cover_after = atp_cover = None
    stock_before = stock_after = None
    if demand is not None:
        cover_before, cover_after = before.safety_stock / demand, after.safety_stock / demand
        if atp is not None:
            atp_cover = max(atp, 0.0) / demand
            if lead_time_days is not None:
                stock_before = stockout_date(atp, demand, before, lead_time_days, today)
                stock_after = stockout_date(atp, demand, after, lead_time_days, today)

    capital = None
    if unit_cost is None:
        unknown["workingCapital"] = "no unit cost in master data"
    else:
        capital = (after.safety_stock - before.safety_stock) * unit_cost
    return Impact(demand, atp, atp_cover, cover_before, cover_after, stock_before, stock_after, capital,
                  currency if unit_cost is not None else None, unknown)


def summary(impact: dict[str, Any]) -> str:
    """One line for people (the notification, the CLI): the figures known, the reason for those that are not."""
    unknown = impact.get("unknown", {})
    parts = []
    if impact.get("coverDaysBefore") is not None:
        parts.append(f"safety stock cover {impact['coverDaysBefore']:g} -> {impact['coverDaysAfter']:g} days "
                     f"(demand {impact['dailyDemand']:g}/day)")
    else:
        parts.append(f"days of cover unknown ({unknown.get('coverDays', 'no demand')})")
    if impact.get("atpCoverDays") is not None:
        parts.append(f"ATP {impact['availableToPromise']:g} covers {impact['atpCoverDays']:g} days")
    if "stockout" in unknown:
        parts.append(f"stockout unknown ({unknown['stockout']})")
    else:
        parts.append(f"stockout {impact.get('stockoutBefore') or 'none projected'} -> "
                     f"{impact.get('stockoutAfter') or 'none projected'}")
    if impact.get("workingCapitalChange") is not None:
        parts.append(f"working capital {impact['workingCapitalChange']:+,.2f} {impact.get('currency') or ''}".rstrip())
    else:
        parts.append(f"working capital unknown ({unknown.get('workingCapital', 'no unit cost')})")
    return "; ".join(parts)
