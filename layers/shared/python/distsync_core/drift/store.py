"""The drift run's adapters: master data item-locations (with the last applied update), the ledger by
business key, the ERP through the owning connection's connector, and the report in S3.

Reports live under ``reports/drift/<date>/<HHMMSS.mmm>Z-drift.json`` and ``...-drift.csv`` in the landing
bucket, and ``reports/drift/latest.json`` (``distsync drift --latest``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..connectors.factory import connections, connector
from ..connectors.landscape import owner
from ..platform.aws import client
from ..platform.dynamo import from_wire, to_wire
from ..platform.invocation import set_deadline, time_left
from ..platform.ledger import Ledger
from ..platform.reports import dated_keys, latest_key, read_object, write_run_report
from ..platform.times import now_iso
from .classify import DriftReport, Observation, Parameters, applied_from, findings_csv, latest_recommendation

ITEM_LOCATION_PREFIX = "ITEMLOC#"
REPORT_PREFIX = "reports/drift/"  # infra/domains/drift.py grants writes below it only
LATEST_KEY = latest_key(REPORT_PREFIX)


def item_locations(table_name: str) -> Iterator[dict[str, Any]]:
    """Every governed item-location (one Scan, paged)."""
    pages = client("dynamodb").get_paginator("scan").paginate(
        TableName=table_name, FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": ITEM_LOCATION_PREFIX}})
    for page in pages:
        yield from (from_wire(raw) for raw in page.get("Items", []))


READ_WORKERS = 8  # ERP reads at once: each connector's connection pool and token cache are thread-safe


def observe_all(items: list[dict[str, Any]], ledger: Ledger, correlation_id: str) -> list[Observation]:
    """The three views of each item-location. The ledger queries run in this thread (a boto3 resource is not
    thread-safe; they take milliseconds); the ERP reads, tens of milliseconds each, run ``READ_WORKERS`` at once."""
    from concurrent.futures import ThreadPoolExecutor

    recommendations = [latest_recommendation(ledger.hops_for_business_key(f"{i['itemId']}@{i['locationId']}"))
                       for i in items]
    left = time_left()  # the invocation's deadline, which the workers' threads do not inherit
    deadline = None if left == float("inf") else time.monotonic() + left

    def read(item: dict[str, Any]) -> dict[str, Any]:
        set_deadline(None if deadline is None else (lambda: deadline - time.monotonic()))
        return _read_erp(item["itemId"], item["locationId"], correlation_id)

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        erp = list(pool.map(read, items))
    return [Observation(item_id=i["itemId"], location_id=i["locationId"], applied=applied_from(i),
                        recommendation=r, **e) for i, r, e in zip(items, recommendations, erp, strict=True)]


def _read_erp(item_id: str, location_id: str, correlation_id: str) -> dict[str, Any]:
    connection = owner(location_id, connections())
    if connection is None:
        return {"erp_error": f"no ERP connection owns location {location_id} (context erpConnections)"}
    try:
        snapshot = connector(connection).read_parameters(item_id, location_id, correlation_id=correlation_id)
    except RuntimeError as exc:  # ConnectorError, PartnerUnavailable, PartnerRejected: all RuntimeErrors
        return {"erp_connection": connection.name,
                "erp_error": f"{connection.name}: could not read the ERP ({exc.__class__.__name__}: {exc})"}
    if snapshot.parameters is None:
        return {"erp_connection": connection.name,
                "erp_error": f"{connection.name}: the ERP holds no parameters for {item_id}@{location_id}"}
    return {"erp_connection": connection.name, "erp": Parameters(safety_stock=snapshot.parameters.safety_stock,
                                                                  reorder_point=snapshot.parameters.reorder_point)}


def record_erp_values(table_name: str, item_id: str, location_id: str, erp: Parameters) -> None:
    """Master data holds the ERP's current parameters (what the planning transformer measures a change
    against): before a correction, what the ERP was seen to hold, so the correction is measured from there
    and not found to change nothing. The last applied update stays as it is."""
    client("dynamodb").update_item(
        TableName=table_name, Key={"pk": {"S": f"{ITEM_LOCATION_PREFIX}{item_id}#{location_id}"}},
        UpdateExpression="SET safetyStock = :ss, reorderPoint = :rop, erpObservedAt = :at",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=to_wire({":ss": erp.safety_stock, ":rop": erp.reorder_point, ":at": now_iso()}),
    )


def report_keys(report: DriftReport) -> tuple[str, str]:
    return dated_keys(REPORT_PREFIX, report.computed_at, "drift", "drift")


def write_report(bucket: str, report: DriftReport) -> dict[str, str]:
    return write_run_report(bucket, report_keys(report), LATEST_KEY, report.model_dump_json(by_alias=True).encode(),
                            findings_csv(report))


def read_report(bucket: str, key: str) -> DriftReport | None:
    body = read_object(bucket, key)
    return None if body is None else DriftReport.model_validate_json(body)
