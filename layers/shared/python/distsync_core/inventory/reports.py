"""Where inventory accuracy reports live: ``reports/inventory-accuracy/<date>/<HHMMSS.mmm>Z-accuracy.json`` (the whole
report) and ``...-disagreeing.csv`` (the disagreeing item-locations) in the landing bucket. Each run writes
its own pair, so the daily history stays (``reports/`` has no expiry rule), and a copy of the JSON as
``latest.json``, which ``distsync kpis`` and the ops console read (one GET, no listing of the history)."""

from __future__ import annotations

from typing import Any

from ..platform.aws import client
from ..platform.reports import dated_keys, latest_key, read_object, write_run_report
from .accuracy import AccuracyReport, disagreements_csv

REPORT_PREFIX = "reports/inventory-accuracy/"  # infra/domains/inventory.py grants writes below it only
LATEST_KEY = latest_key(REPORT_PREFIX)


def report_keys(report: AccuracyReport) -> tuple[str, str]:
    return dated_keys(REPORT_PREFIX, report.computed_at, "accuracy", "disagreeing")


def write_report(bucket: str, report: AccuracyReport) -> dict[str, str]:
    return write_run_report(bucket, report_keys(report), LATEST_KEY, report.model_dump_json(by_alias=True).encode(),
                            disagreements_csv(report))


def read_report(bucket: str, key: str) -> AccuracyReport:
    body: Any = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return AccuracyReport.model_validate_json(body)


def latest_report(bucket: str) -> AccuracyReport | None:
    """The newest run's report; None before the first run."""
    body = read_object(bucket, LATEST_KEY)
    return None if body is None else AccuracyReport.model_validate_json(body)
