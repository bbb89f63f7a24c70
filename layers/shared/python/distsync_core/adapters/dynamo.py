"""DynamoDB value conversion: floats in, Decimals stored, plain numbers out."""

from __future__ import annotations

import json
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
