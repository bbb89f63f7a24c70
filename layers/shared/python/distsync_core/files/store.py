"""The landing bucket and the file registry, as the file intake (:mod:`.intake`) uses them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..masterdata.records import item_location_key
from ..platform.aws import client, table
from ..platform.dynamo import from_item, scan_all, to_item

# A claim older than this is an attempt that died (the function timeout is far below it): take it over.
STALE_CLAIM_SECONDS = 15 * 60


class BucketObjects:
    def __init__(self, bucket: str):
        self.bucket = bucket
        self._s3 = client("s3")

    def size(self, key: str) -> int | None:
        """None when the object is gone (an earlier attempt already moved it)."""
        from botocore.exceptions import ClientError

        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def get(self, key: str, max_bytes: int) -> bytes:
        """The object's first max_bytes + 1 bytes (a ranged GET): more than max_bytes says it is too big."""
        return self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")["Body"].read()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def move(self, source: str, target: str) -> None:
        """Copy, then delete (the bucket is versioned: the deleted inbound object stays recoverable)."""
        self._s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})
        self._s3.delete_object(Bucket=self.bucket, Key=source)


class FileRegistry:
    """pk ``checksum`` (sha256 of the file's bytes): PROCESSING while an attempt runs, then COMPLETED."""

    def __init__(self, table_name: str):
        self._table = table(table_name)

    def claim(self, checksum: str, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        now = datetime.now(UTC)
        try:
            self._table.put_item(
                Item=to_item({"checksum": checksum, "key": key, "status": "PROCESSING",
                              "claimedAt": now.isoformat(), "claimedAtEpoch": int(now.timestamp())}),
                ConditionExpression="attribute_not_exists(checksum) OR (#s = :processing AND claimedAtEpoch < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":processing": "PROCESSING",
                                           ":stale": int(now.timestamp()) - STALE_CLAIM_SECONDS},
            )
            return None
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing = from_item(self._table.get_item(Key={"checksum": checksum}, ConsistentRead=True).get("Item", {}))
        if existing.get("status") == "PROCESSING" and existing.get("key") == key:
            return None  # the same file's earlier attempt (an SQS retry): carry on, the event ids repeat
        return existing

    def complete(self, checksum: str, outcome: dict[str, Any]) -> None:
        self._table.update_item(
            Key={"checksum": checksum},
            UpdateExpression="SET #s = :done, outcome = :o, completedAt = :at",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_item({":done": "COMPLETED", ":o": outcome,
                                               ":at": datetime.now(UTC).isoformat()}),
        )

    def list(self) -> list[dict[str, Any]]:
        return [from_item(i) for i in scan_all(self._table)]


def known_item_locations(masterdata_table: str, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (item, location) pairs that exist in master data (BatchGetItem, 100 keys per call)."""
    dynamodb = client("dynamodb")
    wanted = {item_location_key(i, loc): (i, loc) for i, loc in keys}
    found: set[tuple[str, str]] = set()
    pending = [{"pk": {"S": k}} for k in wanted]
    while pending:
        batch, pending = pending[:100], pending[100:]
        request: dict[str, Any] = {masterdata_table: {"Keys": batch, "ProjectionExpression": "pk"}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            found |= {wanted[i["pk"]["S"]] for i in answer["Responses"].get(masterdata_table, [])}
            request = answer.get("UnprocessedKeys") or {}
    return found
