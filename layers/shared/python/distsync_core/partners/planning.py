"""The planning platform's REST API (balances, lead times, exceptions)."""

from __future__ import annotations

from .base import PartnerClient, PartnerUnavailable


class PlanningUnavailable(PartnerUnavailable):
    pass


class PlanningApiClient(PartnerClient):
    """The planning platform's REST API (balances, lead times, exceptions)."""

    name = "planning"
    unavailable = PlanningUnavailable
