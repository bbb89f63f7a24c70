"""Outbound extract for planning (EventBridge Scheduler, context ``planningExtractSchedule``; or
``distsync extracts run`` on demand): the master data's current item-location parameters as
``outbound/planning/extracts/<date>/item-locations.csv`` in the landing bucket, where file-based planning
platforms collect it (over SFTP too, when their home prefix covers it).

Input ``{"date": "YYYY-MM-DD"}`` or the schedule's ``{"scheduledTime": ...}``; returns the key and row count.
The table is scanned page by page into a file in /tmp, which is then uploaded (multipart when large), so the
memory used does not grow with the number of item-locations.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.planning.extracts import ITEM_LOCATION_PREFIX, CsvWriter, extract_date, extract_key
from distsync_core.platform.aws import client
from distsync_core.platform.config import env
from distsync_core.platform.dynamo import from_wire
from distsync_core.platform.observability import instrument, logger


def scan_item_locations(table_name: str) -> Any:
    pages = client("dynamodb").get_paginator("scan").paginate(
        TableName=table_name,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": ITEM_LOCATION_PREFIX}},
    )
    for page in pages:
        yield [from_wire(raw) for raw in page.get("Items", [])]


def run(day_event: dict[str, Any]) -> dict[str, Any]:
    day = extract_date(day_event, datetime.now(UTC))
    bucket, key = env("LANDING_BUCKET_NAME"), extract_key(day)
    with tempfile.TemporaryFile("w+b") as spool:
        text = open(spool.fileno(), "w", encoding="utf-8", newline="", closefd=False)  # noqa: SIM115
        writer = CsvWriter(text)
        for items in scan_item_locations(env("MASTERDATA_TABLE_NAME")):
            writer.write(items)
        text.flush()
        spool.seek(0)
        client("s3").upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"})
    result = {"bucket": bucket, "key": key, "date": day.isoformat(), "rows": writer.rows}
    logger.info("planning extract written", extra=result)
    return result


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run(event or {})
