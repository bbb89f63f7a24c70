"""Where inventory accuracy reports live: ``reports/inventory-accuracy/<date>/<HHMMSS.mmm>Z-accuracy.json`` (the whole
report) and ``...-disagreeing.csv`` (the disagreeing item-locations) in the landing bucket. Each run writes
its own pair, so the daily history stays (``reports/`` has no expiry rule), and a copy of the JSON as
``latest.json``, which ``distsync kpis`` and the ops console read (one GET, no listing of the history)."""

from __future__ import annotations

from typing import Any

from ..platform.aws import client
from .accuracy import AccuracyReport, disagreements_csv

REPORT_PREFIX = "reports/inventory-accuracy/"  # infra/domains/inventory.py grants writes below it only
LATEST_KEY = f"{REPORT_PREFIX}latest.json"


def report_keys(report: AccuracyReport) -> tuple[str, str]:
    at = report.computed_at
    # milliseconds: an on-demand run in the same second as another keeps its own pair
    stem = f"{REPORT_PREFIX}{at:%Y-%m-%d}/{at:%H%M%S}.{at.microsecond // 1000:03d}Z"
    return f"{stem}-accuracy.json", f"{stem}-disagreeing.csv"


def write_report(bucket: str, report: AccuracyReport) -> dict[str, str]:
    json_key, csv_key = report_keys(report)
    s3, body = client("s3"), report.model_dump_json(by_alias=True).encode()
    s3.put_object(Bucket=bucket, Key=json_key, Body=body, ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=disagreements_csv(report).encode(),
                  ContentType="text/csv; charset=utf-8")
    # last: a reader of latest.json finds the dated pair already there
    s3.put_object(Bucket=bucket, Key=LATEST_KEY, Body=body, ContentType="application/json")
    return {"bucket": bucket, "reportKey": json_key, "csvKey": csv_key}


def read_report(bucket: str, key: str) -> AccuracyReport:
    body: Any = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return AccuracyReport.model_validate_json(body)


def latest_report(bucket: str) -> AccuracyReport | None:
    """The newest run's report; None before the first run."""
    s3 = client("s3")
    try:
        body: Any = s3.get_object(Bucket=bucket, Key=LATEST_KEY)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return AccuracyReport.model_validate_json(body)
