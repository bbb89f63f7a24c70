"""AWS clients and DynamoDB tables, created on first use, so tests can point them at moto (or reset them)
and cold starts only pay for what a function uses."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3  # lazy: keep module import cheap

    return boto3.client(service)


@cache
def table(name: str) -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(name)


def reset_clients() -> None:
    """Forget cached clients (tests switch moto mocks between cases)."""
    client.cache_clear()
    table.cache_clear()
