"""Contract tests: the rest kind's stock read against ErpSimulator over real sockets on 127.0.0.1
(``GET /v1/items/{item}/locations/{location}/stock``, stock booked through ``POST /_sim/erp/stock``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from distsync.sim.erp import ErpSimulator
from distsync_core.connectors.port import StockBalance
from distsync_core.connectors.rest import RestConnector
from distsync_core.partners.base import PartnerUnavailable


@pytest.fixture
def erp() -> Iterator[ErpSimulator]:
    sim = ErpSimulator().start()
    yield sim
    sim.stop()


def connector(sim: ErpSimulator) -> RestConnector:
    return RestConnector("rest", sim.base_url, None, {"http": {"backoff_seconds": 0.01, "max_attempts": 2}})


def post(sim: ErpSimulator, path: str, body: Any) -> tuple[int, Any]:
    resp = urllib3.PoolManager().request("POST", f"{sim.url}{path}", body=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
    return resp.status, json.loads(resp.data)


def test_stock_booked_in_the_erp_is_read_with_its_as_of_and_unit(erp):
    status, booked = post(erp, "/_sim/erp/stock", {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 120,
                                                   "allocated": 20, "inTransit": 35.5, "unitOfMeasure": "CS"})
    assert status == 200
    balance = connector(erp).read_stock("SKU-1", "DC-1", correlation_id="c-1")
    assert balance == StockBalance("SKU-1", "DC-1", 120, 20, 35.5, booked["stock"][0]["asOf"], "CS")


def test_no_stock_booked_reads_as_none_and_ids_travel_as_one_path_segment(erp):
    post(erp, "/_sim/erp/stock", {"stock": [{"itemId": "SKU/2 A", "locationId": "DC 1", "onHand": 3}]})
    conn = connector(erp)
    assert conn.read_stock("SKU-1", "DC-1", correlation_id="c-1") is None
    balance = conn.read_stock("SKU/2 A", "DC 1", correlation_id="c-1")
    assert balance is not None and (balance.on_hand, balance.allocated, balance.in_transit) == (3, 0, 0)


def test_stock_reads_leave_the_parameter_calls_and_updates_alone(erp):
    post(erp, "/_sim/erp/stock", {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 1})
    connector(erp).read_stock("SKU-1", "DC-1", correlation_id="c-1")
    assert erp.calls == 0 and erp.snapshot() == []  # the fault counter and the update log see only writes


def test_the_control_refuses_what_is_not_stock_and_an_unreachable_erp_is_unavailable(erp):
    assert post(erp, "/_sim/erp/stock", {"itemId": "SKU-1", "locationId": "DC-1", "onHand": "many"})[0] == 400
    assert post(erp, "/_sim/erp/stock", {"locationId": "DC-1", "onHand": 1})[0] == 400
    stopped = ErpSimulator().start()
    stopped.stop()  # nothing listens on its port any more
    gone = RestConnector("rest", stopped.base_url, None, {"http": {"backoff_seconds": 0.01, "max_attempts": 1}})
    with pytest.raises(PartnerUnavailable):
        gone.read_stock("SKU-1", "DC-1", correlation_id="c-1")
