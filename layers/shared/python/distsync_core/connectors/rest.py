"""The ``rest`` kind: distsync's own REST ERP API (``PUT`` with an ``Idempotency-Key``), kept as one connector
kind among the others. It has no concurrency token (the idempotency key makes a redelivered write safe), and
it pushes its changes as signed webhooks, so there is no delta pull. Stock is ``GET
/v1/items/{item}/locations/{location}/stock`` (docs/connectors/rest.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..partners.base import segment
from .http import ConnectorHttp
from .port import ChangePage, ConnectorError, PlanningParameters, Snapshot, StockBalance, WriteRequest


class RestConnector:
    kind = "rest"

    def __init__(self, name: str, base_url: str, credentials: Callable[[], dict[str, str]] | None = None,
                 options: dict[str, Any] | None = None):
        self.name = name
        self.http = ConnectorHttp(name, base_url, None, **(options or {}).get("http", {}))

    def read_parameters(self, item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        answer = self.http.request("GET", _path(item_id, location_id), correlation_id=correlation_id)
        if answer.status == 404:
            return Snapshot(None)
        body = answer.json()
        try:
            return Snapshot(PlanningParameters(float(body["safetyStock"]), float(body["reorderPoint"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"{self.name}: parameters without safetyStock/reorderPoint: {body!r:.200}") from exc

    def write_parameters(self, request: WriteRequest, snapshot: Snapshot) -> str | None:
        payload = {"safetyStock": request.target.safety_stock, "reorderPoint": request.target.reorder_point,
                   "unitOfMeasure": request.unit_of_measure, "planningCycleId": request.planning_cycle_id,
                   "approvalId": request.approval_id}
        headers = {"Idempotency-Key": request.idempotency_key} if request.idempotency_key else {}
        answer = self.http.request("PUT", _path(request.item_id, request.location_id), body=payload,
                                   headers=headers, correlation_id=request.correlation_id)
        return str(answer.json().get("updateId") or "") or None

    def read_changes(self, cursor: str | None, *, correlation_id: str, limit: int = 500) -> ChangePage:
        raise ConnectorError(f"{self.name}: the REST ERP pushes its changes as signed webhooks; nothing to pull")

    def read_stock(self, item_id: str, location_id: str, *, correlation_id: str) -> StockBalance | None:
        """``GET /v1/items/{item}/locations/{location}/stock``; 404: the ERP books no stock there (None)."""
        answer = self.http.request("GET", f"/v1/items/{segment(item_id)}/locations/{segment(location_id)}/stock",
                                   correlation_id=correlation_id)
        if answer.status == 404:
            return None
        return parse_stock(answer.json(), item_id, location_id, name=self.name)


def parse_stock(body: Any, item_id: str, location_id: str, *, name: str = "rest") -> StockBalance:
    """The REST ERP's stock answer ``{"onHand", "allocated"?, "inTransit"?, "unitOfMeasure"?, "asOf"?}`` (numbers
    in the base unit; absent allocated/in transit are 0; without ``asOf``, the time it was read)."""
    if not isinstance(body, dict):
        raise ConnectorError(f"{name}: a stock answer that is not an object: {body!r:.200}")
    values = []
    for field in ("onHand", "allocated", "inTransit"):
        value = body.get(field, 0 if field != "onHand" else None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConnectorError(f"{name}: stock without a number in {field}: {body!r:.200}")
        values.append(float(value))
    as_of = body.get("asOf")
    if as_of is None:
        from datetime import UTC, datetime

        as_of = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    unit = body.get("unitOfMeasure")
    return StockBalance(item_id, location_id, values[0], values[1], values[2], str(as_of),
                        str(unit) if unit else None)


def _path(item_id: str, location_id: str) -> str:
    return f"/v1/items/{segment(item_id)}/locations/{segment(location_id)}/replenishment-parameters"
