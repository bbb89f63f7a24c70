"""Signing keys per partner source and API role (issue 12, finding 1): each API verifies only the keys of the
callers it serves, a source or role without a key is refused, and a rotation accepts both keys until it is
finished. The API handlers run in-process on moto's Secrets Manager, with the environment the stack gives
them (``SIGNING_KEY_ARNS`` naming only their own callers)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from distsync.keys import SigningKeyError, SigningKeys
from distsync_core.platform.signing import request_target, signed_headers
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import SIGNING_NAMES, api_event

# API function -> (the names its stack environment gives it, a request to it)
APIS = {
    "approval_api": (["planners"], ("POST", "/v1/approvals/apr-1", "/v1/approvals/{approvalId}", {"approvalId": "apr-1"},
                                    b'{"decision": "approve", "comment": "", "decidedBy": "p"}')),
    "exception_api": (["operations"], ("POST", "/v1/shipment-exceptions/c-1/resolution",
                                       "/v1/shipment-exceptions/{caseId}/resolution", {"caseId": "c-1"},
                                       b'{"resolution": "reshipped", "comment": "", "resolvedBy": "o"}')),
    "atp_api": (["channels"], ("GET", "/v1/atp/SKU-1/DC-1", "/v1/atp/{itemId}/{locationId}",
                               {"itemId": "SKU-1", "locationId": "DC-1"}, None)),
}


@pytest.fixture
def keys(aws, monkeypatch):
    """Every source and role with a key of its own (``key-<name>``); the stack's map of their secrets."""
    sm = boto3.client("secretsmanager")
    arns = {n: sm.create_secret(Name=f"own-{n}", SecretString=f"key-{n}")["ARN"] for n in SIGNING_NAMES}
    boto3.client("dynamodb").create_table(
        TableName="exception-cases", KeySchema=[{"AttributeName": "caseId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "caseId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    boto3.client("dynamodb").create_table(
        TableName="inventory", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("EXCEPTIONS_TABLE_NAME", "exception-cases")
    monkeypatch.setenv("INVENTORY_TABLE_NAME", "inventory")
    monkeypatch.setenv("ATP_HORIZON_DAYS", "14")
    yield arns
    parameters.clear_caches()


def call_api(folder: str, own: list[str], arns: dict[str, str], key: str, monkeypatch) -> tuple[int, str | None]:
    monkeypatch.setenv("SIGNING_KEY_ARNS", json.dumps({n: arns[n] for n in own}))
    method, path, resource, params, body = APIS[folder][1]
    target = request_target(method, path, body)
    event = api_event(method, path, resource, params, body, sign=False,
                      headers=signed_headers(key, target, time.time()))
    response = load_handler(folder).lambda_handler(event, FakeLambdaContext(folder))
    return response["statusCode"], json.loads(response["body"]).get("detail")


@pytest.mark.parametrize("folder", sorted(APIS))
def test_an_api_accepts_its_own_role_s_key_and_no_other(keys, monkeypatch, folder):
    own = APIS[folder][0]
    for name in SIGNING_NAMES:
        status, detail = call_api(folder, own, keys, f"key-{name}", monkeypatch)
        if name in own:  # past the signature: the record is unknown here
            assert status == 404, (name, status, detail)
        else:
            assert (status, detail) == (401, "signature does not match"), name


def test_a_rotation_accepts_both_keys_until_it_is_finished(keys, aws, webhook_rotation):
    signing = SigningKeys(boto3.client("secretsmanager"), keys)
    assert signing.keys("erp") == ["key-erp"]
    old = "key-erp"
    new = signing.rotate("erp")[0]
    assert new != old and signing.keys("erp") == [new, old] and signing.current("erp") == new
    with pytest.raises(SigningKeyError, match="already rotating"):
        signing.rotate("erp")
    parameters.clear_caches()  # what the functions' 5-minute cache does on its own
    assert webhook_rotation(old) == 202 and webhook_rotation(new) == 202
    assert webhook_rotation(signing.current("planning")) == 401  # another source's key stays another's
    signing.finish("erp")
    parameters.clear_caches()
    assert webhook_rotation(old) == 401 and webhook_rotation(new) == 202
    with pytest.raises(SigningKeyError, match="not rotating"):
        signing.finish("erp")
    with pytest.raises(SigningKeyError, match="no signing key named 'sales'"):
        signing.rotate("sales")


@pytest.fixture
def webhook_rotation(keys, monkeypatch):
    monkeypatch.setenv("SIGNING_KEY_ARNS", json.dumps({n: keys[n] for n in ("erp", "planning", "wms", "tms", "supplier")}))
    handler = load_handler("webhook_api")
    sent = iter(range(1, 1000))

    def post_as_erp(key: str) -> int:
        body = json.dumps({
            "eventType": "ItemLocationUpserted", "eventVersion": "1", "occurredAt": "2026-11-27T08:00:00Z",
            "data": {"itemId": "S", "locationId": "L", "unitOfMeasure": "EA", "safetyStock": 1, "reorderPoint": 1,
                     "supplierId": "X", "leadTimeDays": 1}}).encode()
        headers = signed_headers(key, body, time.time() - next(sent))  # a new signature for every request
        event = api_event("POST", "/v1/webhooks/erp", "/v1/webhooks/{source}", {"source": "erp"}, body,
                          headers, sign=False)
        return handler.lambda_handler(event, FakeLambdaContext("webhook_api"))["statusCode"]

    return post_as_erp
