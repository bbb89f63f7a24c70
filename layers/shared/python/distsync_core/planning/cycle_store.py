"""AWS side of the forecast-cycle bulk path: master data in batches, the per-cycle counters, S3 objects.

Request counts are the point here (a cycle is millions of rows): master data is read with ``BatchGetItem``
(100 keys per call), a batch's counts are added in one ``TransactWriteItems`` (a chunk marker that makes a
retried batch count once + one atomic ``ADD`` to the cycle's totals), rejected rows go to one S3 object per
batch, and a gzip cycle file is decompressed as a stream into a multipart upload.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from ..masterdata.records import ItemLocationRecord, item_location_key
from ..platform.aws import client, table
from ..platform.dynamo import from_item
from ..platform.times import now_iso

BATCH_GET_MAX_KEYS = 100  # DynamoDB BatchGetItem limit
BATCH_GET_ATTEMPTS = 8  # unprocessed keys (throttling) are retried with backoff, then it fails loudly
RUN_SK = "RUN"
CHUNK_SK_PREFIX = "CHUNK#"
TTL_DAYS = 30
COUNTERS = ("rowsRead", "changed", "unchanged", "rejected", "approvalsRequired", "eventsEmitted")
_RECORD_ATTRIBUTES = ("pk", "itemId", "locationId", "unitOfMeasure", "safetyStock", "reorderPoint", "supplierId",
                      "leadTimeDays")


def batch_get_item_locations(
    table_name: str, keys: Iterable[tuple[str, str]], *, sleep: Any = time.sleep
) -> dict[tuple[str, str], ItemLocationRecord]:
    """The governed records (with the ERP's last applied parameters) of many item-locations, 100 keys per
    ``BatchGetItem``; keys without a record are absent from the result."""
    dynamodb = client("dynamodb")
    wanted = list(dict.fromkeys(item_location_key(item, location) for item, location in keys))
    found: dict[tuple[str, str], ItemLocationRecord] = {}
    names = {f"#a{i}": name for i, name in enumerate(_RECORD_ATTRIBUTES)}
    for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
        request: dict[str, Any] = {
            table_name: {
                "Keys": [{"pk": {"S": pk}} for pk in wanted[start : start + BATCH_GET_MAX_KEYS]],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = dynamodb.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(table_name, []):
                record = _record_from_wire(raw)
                if record is not None:
                    found[(record.item_id, record.location_id)] = record
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError(f"BatchGetItem left keys unprocessed after {BATCH_GET_ATTEMPTS} attempts")
    return found


def _record_from_wire(raw: dict[str, Any]) -> ItemLocationRecord | None:
    """Straight from DynamoDB's wire format (a third of a batch's CPU went into the generic deserializer);
    an item-location without parameters yet is no baseline (None)."""
    try:
        return ItemLocationRecord(
            item_id=raw["itemId"]["S"],
            location_id=raw["locationId"]["S"],
            unit_of_measure=raw["unitOfMeasure"]["S"],
            safety_stock=float(raw["safetyStock"]["N"]),
            reorder_point=float(raw["reorderPoint"]["N"]),
            supplier_id=raw["supplierId"]["S"],
            lead_time_days=int(Decimal(raw["leadTimeDays"]["N"])),
        )
    except KeyError:
        return None


class CycleRunStore:
    """One item per cycle (``sk = RUN``: status, times, totals) and one marker per counted batch."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    @staticmethod
    def _expires() -> int:
        return int((datetime.now(UTC) + timedelta(days=TTL_DAYS)).timestamp())

    def start(self, cycle_id: str, *, source_key: str, csv_key: str, compressed: bool) -> dict[str, Any]:
        """The cycle's run record (a retried prepare step keeps the first start time); returns it."""
        result = table(self.table_name).update_item(
            Key={"cycleId": cycle_id, "sk": RUN_SK},
            UpdateExpression="SET startedAt = if_not_exists(startedAt, :now), sourceKey = :src, csvKey = :csv, "
            "compressed = :gz, #s = :running, expiresAt = :ttl",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":now": now_iso("milliseconds"), ":src": source_key, ":csv": csv_key, ":gz": compressed,
                                       ":running": "RUNNING", ":ttl": self._expires()},
            ReturnValues="ALL_NEW",
        )
        return from_item(result["Attributes"])

    def add_chunk(self, cycle_id: str, first_index: int, counts: dict[str, int]) -> bool:
        """Add one batch's counts to the cycle's totals, once: False when this batch was counted already (a
        retried child execution), in which case nothing is added."""
        dynamodb = client("dynamodb")
        add = ", ".join(f"#{name} :{name}" for name in COUNTERS)
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                "cycleId": {"S": cycle_id},
                                "sk": {"S": f"{CHUNK_SK_PREFIX}{first_index:010d}"},
                                "counts": {"S": json.dumps(counts, sort_keys=True)},
                                "countedAt": {"S": now_iso("milliseconds")},
                                "expiresAt": {"N": str(self._expires())},
                            },
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"cycleId": {"S": cycle_id}, "sk": {"S": RUN_SK}},
                            "UpdateExpression": f"ADD {add}",
                            "ExpressionAttributeNames": {f"#{name}": name for name in COUNTERS},
                            "ExpressionAttributeValues": {f":{name}": {"N": str(int(counts.get(name, 0)))}
                                                          for name in COUNTERS},
                        }
                    },
                ]
            )
        except dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def finish(self, cycle_id: str, status: str) -> dict[str, Any]:
        """Close the run (a retried summary keeps the first finish time) and return it with its totals;
        ``closedNow`` says whether this call closed it (False for a retried summary)."""
        now = now_iso("milliseconds")
        result = table(self.table_name).update_item(
            Key={"cycleId": cycle_id, "sk": RUN_SK},
            UpdateExpression="SET finishedAt = if_not_exists(finishedAt, :now), startedAt = if_not_exists(startedAt, :now), "
            "#s = :status, expiresAt = :ttl",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":now": now, ":status": status, ":ttl": self._expires()},
            ReturnValues="ALL_OLD",
        )
        before = from_item(result.get("Attributes") or {})
        run = {**before, "cycleId": cycle_id, "status": status, "finishedAt": before.get("finishedAt", now),
               "startedAt": before.get("startedAt", now), "closedNow": "finishedAt" not in before}
        for name in COUNTERS:
            run.setdefault(name, 0)
        return run


# ------------------------------------------------------------------------------------------------- S3
def put_json(bucket: str, key: str, document: Any) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(document, indent=1).encode(),
                            ContentType="application/json")


def read_head(bucket: str, key: str, size: int = 4096) -> bytes:
    """The first ``size`` bytes of an object (one ranged GET: a cycle file's header line)."""
    from botocore.exceptions import ClientError

    try:
        body = client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidRange":  # an empty object has no byte 0
            return b""
        raise
    return body.read()


def read_small(bucket: str, key: str, limit: int) -> bytes:
    """An object of at most ``limit`` bytes (a manifest); one byte more is returned for a larger one, so the
    caller can tell it is too large without reading it all."""
    from botocore.exceptions import ClientError

    try:
        return client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit}")["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidRange":  # an empty object
            return b""
        raise


def list_sizes(bucket: str, prefix: str) -> dict[str, int]:
    """key -> size of the objects under ``prefix`` (a cycle's few files: one page)."""
    response = client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000)
    return {o["Key"]: int(o["Size"]) for o in response.get("Contents", [])}


def delete_object(bucket: str, key: str) -> None:
    client("s3").delete_object(Bucket=bucket, Key=key)


class StreamCheck(Protocol):  # planning.cycles.CycleFileCheck
    def feed_raw(self, data: bytes) -> None: ...  # the bytes as stored (before decompression)
    def feed(self, data: bytes) -> None: ...
    def finish(self) -> None: ...


PART_SIZE = 8 * 1024 * 1024  # multipart parts (S3's minimum is 5 MiB, except the last)
READ_SIZE = 1024 * 1024


def _decompressed(chunks: Iterator[bytes], gzip: bool) -> Iterator[bytes]:
    if not gzip:
        yield from chunks
        return
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    for chunk in chunks:
        while chunk:
            out = inflater.decompress(chunk, READ_SIZE * 8)
            if out:
                yield out
            chunk = inflater.unconsumed_tail
            if inflater.eof and inflater.unused_data:  # a concatenated gzip member follows
                rest = inflater.unused_data
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                chunk = rest
    tail = inflater.flush()
    if tail:
        yield tail
    if not inflater.eof:
        raise zlib.error("the gzip stream ends before its end marker (truncated file)")


def scan_object(bucket: str, key: str, check: StreamCheck) -> int:
    """Stream an object through ``check`` without keeping it (a plain cycle file); returns its size."""
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    size = 0
    for data in iter(lambda: body.read(READ_SIZE), b""):
        check.feed_raw(data)
        check.feed(data)
        size += len(data)
    check.finish()
    return size


def _raw_chunks(body: Any, check: StreamCheck | None) -> Iterator[bytes]:
    """An object's bytes as stored, shown to ``check`` (the manifest's sha256) before they are decompressed."""
    for chunk in iter(lambda: body.read(READ_SIZE), b""):
        if check is not None:
            check.feed_raw(chunk)
        yield chunk


def copy_as_plain_csv(bucket: str, source_key: str, target_key: str, *, gzip: bool, strip_bom: bool,
                      check: StreamCheck | None = None) -> tuple[bytes, int]:
    """Stream ``source_key`` (decompressing it if ``gzip``, without a leading UTF-8 BOM if ``strip_bom``)
    into ``target_key`` as one multipart upload; memory stays at about one part. Returns (the first bytes
    of the plain file, its size). A broken stream aborts the upload and raises ``zlib.error``; so does
    whatever ``check`` raises on the plain bytes (its limits stop the decompression there)."""
    s3 = client("s3")
    body = s3.get_object(Bucket=bucket, Key=source_key)["Body"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key=target_key, ContentType="text/csv")
    parts: list[dict[str, Any]] = []
    buffer = bytearray()
    head = b""
    size = 0
    first = True
    try:
        for data in _decompressed(_raw_chunks(body, check), gzip):
            if first and strip_bom and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            first = first and not data
            if check is not None:
                check.feed(data)
            if len(head) < 4096:
                head += data[: 4096 - len(head)]
            buffer += data
            size += len(data)
            while len(buffer) >= PART_SIZE:
                parts.append(_upload_part(s3, bucket, target_key, upload["UploadId"], len(parts) + 1,
                                          bytes(buffer[:PART_SIZE])))
                del buffer[:PART_SIZE]
        if check is not None:
            check.finish()
        if buffer or not parts:
            parts.append(_upload_part(s3, bucket, target_key, upload["UploadId"], len(parts) + 1, bytes(buffer)))
        s3.complete_multipart_upload(Bucket=bucket, Key=target_key, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=target_key, UploadId=upload["UploadId"])
        raise
    return head, size


def _upload_part(s3: Any, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)["ETag"]
    return {"ETag": etag, "PartNumber": number}
