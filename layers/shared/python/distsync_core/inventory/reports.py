"""Where inventory accuracy reports live: ``reports/inventory-accuracy/<date>/<time>-accuracy.json`` (the whole
report) and ``...-disagreeing.csv`` (the disagreeing item-locations) in the landing bucket. Each run writes
its own pair, so the daily history stays (the bucket is versioned; ``reports/`` has no expiry rule)."""

from __future__ import annotations

from typing import Any

from ..platform.aws import client
from .accuracy import AccuracyReport, disagreements_csv

REPORT_PREFIX = "reports/inventory-accuracy/"  # infra/domains/inventory.py grants writes below it only


def report_keys(report: AccuracyReport) -> tuple[str, str]:
    at = report.computed_at
    stem = f"{REPORT_PREFIX}{at:%Y-%m-%d}/{at:%H%M%S}Z"
    return f"{stem}-accuracy.json", f"{stem}-disagreeing.csv"


def write_report(bucket: str, report: AccuracyReport) -> dict[str, str]:
    json_key, csv_key = report_keys(report)
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=json_key, Body=report.model_dump_json(by_alias=True).encode(),
                  ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=disagreements_csv(report).encode(),
                  ContentType="text/csv; charset=utf-8")
    return {"bucket": bucket, "reportKey": json_key, "csvKey": csv_key}


def read_report(bucket: str, key: str) -> AccuracyReport:
    body: Any = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return AccuracyReport.model_validate_json(body)
