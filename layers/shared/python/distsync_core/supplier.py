"""Supplier lead-time policy: is a new lead time a planning exception? Pure logic."""

from __future__ import annotations

from dataclasses import dataclass

from .masterdata.records import relative_change_percent


@dataclass(frozen=True)
class LeadTimeChange:
    previous_days: int
    new_days: int
    change_percent: float
    threshold_percent: float

    @property
    def exceptional(self) -> bool:
        return self.change_percent > self.threshold_percent

    @property
    def severity(self) -> str:
        """Twice the threshold or more is critical."""
        return "critical" if self.change_percent >= 2 * self.threshold_percent else "warning"


def assess_lead_time(previous_days: int, new_days: int, threshold_percent: float) -> LeadTimeChange:
    return LeadTimeChange(previous_days, new_days, round(relative_change_percent(previous_days, new_days), 2),
                          threshold_percent)
