"""The webhook intake applies the contract lifecycle (distsync_core/platform/lifecycle.py) on moto: headers on
a deprecated version's 202, its use counted once per published event, 410 past the sunset."""

import json
import os

import pytest

from distsync_core.contracts import utcnow
from distsync_core.platform import contract_usage
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import api_event

RESOURCE = "/v1/webhooks/{source}"


def balance(version: str = "1") -> bytes:
    data = {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 5, "allocated": 0, "inTransit": 0,
            "asOf": "2026-11-27T08:00:00+00:00", "sourceSystem": "wms", **({"lots": []} if version == "2" else {})}
    return json.dumps({"eventType": "InventoryBalanceChanged", "eventVersion": version,
                       "occurredAt": "2026-11-27T08:00:00+00:00", "data": data}).encode()


@pytest.fixture
def webhook(monkeypatch):
    def start(lifecycle: dict):
        monkeypatch.setenv("CONTRACT_LIFECYCLE", json.dumps(lifecycle))
        module = load_handler("webhook_api")

        def post(body: bytes, headers=None):
            event = api_event("POST", "/v1/webhooks/wms", RESOURCE, {"source": "wms"}, body, headers)
            response = module.lambda_handler(event, FakeLambdaContext("webhook"))
            headers = {**{k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()},
                       **(response.get("headers") or {})}
            return response["statusCode"], json.loads(response["body"]), headers
        return post
    return start


def test_deprecated_version_gets_headers_and_is_counted_once_per_published_event(aws, webhook):
    post = webhook({"InventoryBalanceChanged/1": {"deprecated": "2020-01-01", "sunset": "2099-12-31"}})
    first = post(balance(), {"Idempotency-Key": "k-1"})
    repeat = post(balance(), {"Idempotency-Key": "k-1"})  # the first answer again; nothing published twice
    other = post(balance())
    for status, _, headers in (first, repeat, other):
        assert status == 202
        assert headers["Deprecation"] == "@1577836800" and headers["Sunset"] == "Thu, 31 Dec 2099 00:00:00 GMT"
        assert 'InventoryBalanceChanged-v2.json>; rel="successor-version"' in headers["Link"]
    rows = contract_usage.read(os.environ["IDEMPOTENCY_TABLE_NAME"], [utcnow().date()])
    assert rows == [{"day": utcnow().date().isoformat(), "source": "wms", "eventType": "InventoryBalanceChanged",
                     "version": "1", "count": 2}]


def test_current_version_gets_no_lifecycle_headers_and_no_count(aws, webhook):
    post = webhook({"InventoryBalanceChanged/1": {"deprecated": "2020-01-01"}})
    status, _, headers = post(balance("2"))
    assert status == 202 and not {"Deprecation", "Sunset", "Link"} & set(headers)
    assert contract_usage.read(os.environ["IDEMPOTENCY_TABLE_NAME"], [utcnow().date()]) == []


def test_sunset_version_is_410_and_publishes_nothing(aws, webhook):
    post = webhook({"InventoryBalanceChanged/1": {"deprecated": "2020-01-01", "sunset": "2021-01-01"}})
    status, problem, _ = post(balance())
    assert status == 410 and problem["successorVersion"] == "2"
    assert problem["successorSchema"].endswith("/schemas/InventoryBalanceChanged-v2.json")
    assert aws.items("TRACE_TABLE_NAME") == []
    assert contract_usage.read(os.environ["IDEMPOTENCY_TABLE_NAME"], [utcnow().date()]) == []


def test_a_failed_count_does_not_fail_the_published_event(aws, webhook, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "UpdateItem")

    post = webhook({"InventoryBalanceChanged/1": {"deprecated": "2020-01-01"}})
    monkeypatch.setattr(contract_usage, "record", throttled)
    status, body, headers = post(balance())
    assert status == 202 and "Deprecation" in headers
    assert [e["detail"]["metadata"]["eventId"] for e in aws.probe()] == [body["eventId"]]
