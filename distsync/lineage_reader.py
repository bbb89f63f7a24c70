"""Reads what :func:`distsync.lineage.lineage` explains: the ledger's hops of one item-location (its
``byBusinessKey`` index, ``since`` as the index's sort key condition) and its master-data record."""

from __future__ import annotations

from typing import Any

from .lineage import lineage, split_key


def read_lineage(trace_table: str, masterdata_table: str, key: str, since: str | None = None) -> dict[str, Any]:
    """The lineage document of ``key`` (ITEM@LOCATION) from the stack's ledger and master data.
    ``since``: an ISO time; ValueError when the key is not ITEM@LOCATION."""
    from distsync_core.masterdata.records import item_location_key
    from distsync_core.masterdata.store import MasterDataStore
    from distsync_core.platform.ledger import Ledger

    item, location = split_key(key)
    hops = Ledger(trace_table).hops_for_business_key(key, since=since)
    record = MasterDataStore(masterdata_table).get_record(item_location_key(item, location))
    return lineage(key, hops, record, since=since)
