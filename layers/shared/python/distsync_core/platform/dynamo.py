"""DynamoDB value conversion (floats in, Decimals stored, plain numbers out) and the two request patterns
every store repeats: a conditional write that may be refused, and a scan of every page."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any


def to_item(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


def from_item(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dict):
        return {k: from_item(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_item(v) for v in value]
    return value


def from_wire(item: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire format (low-level client) as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    return from_item({k: deserialize(v) for k, v in item.items()})


def to_wire(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values as an item in DynamoDB's wire format."""
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    return {k: serialize(v) for k, v in to_item(item).items()}


def conditional(fn: Callable[..., Any], **kwargs: Any) -> bool:
    """Call ``fn(**kwargs)`` (a write with a ``ConditionExpression``); False when the condition refused it."""
    from botocore.exceptions import ClientError

    try:
        fn(**kwargs)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def scan_all(tbl: Any) -> list[dict[str, Any]]:
    """Every item of a table (all pages), as DynamoDB returns them."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = tbl.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
