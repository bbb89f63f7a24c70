"""The warehouse management system: replenishment notifications and order releases."""

from __future__ import annotations

from typing import Any

from .base import PartnerClient, PartnerUnavailable


class WmsUnavailable(PartnerUnavailable):
    pass


class WmsClient(PartnerClient):
    """The warehouse system: replenishment notifications and order releases (a simulated WMS locally)."""

    name = "WMS"
    unavailable = WmsUnavailable

    def notify(self, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str) -> int:
        return self.send("POST", "/v1/replenishment-notifications", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id).status
