"""The rest kind's stock answer (distsync's own REST ERP API, docs/connectors/rest.md), no network."""

from __future__ import annotations

import pytest

from distsync_core.connectors.port import ConnectorError, StockBalance
from distsync_core.connectors.rest import parse_stock

SAMPLE = {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 120, "allocated": 20, "inTransit": 35.5,
          "unitOfMeasure": "CS", "asOf": "2026-11-27T08:00:00.000Z"}


def test_a_stock_answer_is_a_balance():
    assert parse_stock(SAMPLE, "SKU-1", "DC-1") == StockBalance("SKU-1", "DC-1", 120, 20, 35.5,
                                                                "2026-11-27T08:00:00.000Z", "CS")


def test_allocated_and_in_transit_may_be_left_out_and_as_of_is_then_the_read():
    balance = parse_stock({"onHand": 4}, "SKU-1", "DC-1")
    assert (balance.on_hand, balance.allocated, balance.in_transit, balance.unit_of_measure) == (4, 0, 0, None)
    assert balance.as_of and balance.as_of.endswith("Z")


@pytest.mark.parametrize("body", [{"allocated": 1}, {"onHand": "4"}, {"onHand": True}, {"onHand": 1, "inTransit": None},
                                  [SAMPLE]])
def test_an_answer_without_numbers_is_a_connector_error(body):
    with pytest.raises(ConnectorError):
        parse_stock(body, "SKU-1", "DC-1")
