"""Run reports in the landing bucket, as the daily and on-demand runs write them (inventory accuracy, parameter
drift): ``<prefix><date>/<HHMMSS.mmm>Z-<name>.json`` (the whole report) and ``...-<name>.csv`` beside it, then
a copy of the JSON as ``<prefix>latest.json``, which the CLI and the console read with one GET (no listing of
the history). Each run keeps its own pair (milliseconds: an on-demand run in the same second as another), and
the prefix has no expiry rule, so the history stays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .aws import client


def latest_key(prefix: str) -> str:
    return f"{prefix}latest.json"


def dated_keys(prefix: str, at: datetime, json_name: str, csv_name: str) -> tuple[str, str]:
    stem = f"{prefix}{at:%Y-%m-%d}/{at:%H%M%S}.{at.microsecond // 1000:03d}Z"
    return f"{stem}-{json_name}.json", f"{stem}-{csv_name}.csv"


def write_run_report(bucket: str, keys: tuple[str, str], latest: str, report_json: bytes, csv_text: str) -> dict[str, str]:
    json_key, csv_key = keys
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=json_key, Body=report_json, ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=csv_text.encode(), ContentType="text/csv; charset=utf-8")
    # last: a reader of latest.json finds the dated pair already there
    s3.put_object(Bucket=bucket, Key=latest, Body=report_json, ContentType="application/json")
    return {"bucket": bucket, "reportKey": json_key, "csvKey": csv_key}


def read_object(bucket: str, key: str) -> Any | None:
    """The object's bytes; None when there is none (no run yet)."""
    s3 = client("s3")
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
