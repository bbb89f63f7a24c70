"""Fuzz the running API from the OpenAPI document distsync publishes (schemathesis: schema-valid and
schema-breaking requests). Properties: never a 5xx; every rejection is a problem body that says why;
nothing invalid is accepted."""

from __future__ import annotations

import json

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from distsync.sim.clients import caller_of, send
from distsync_core.platform.signing import signed_headers
from tests.conftest import ROOT, fresh_timestamp
from tests.e2e.conftest import SECRET

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def openapi_schema() -> schemathesis.schemas.BaseSchema:
    fuzzed = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
    fuzzed.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], deterministic=True)
    return fuzzed


# Loaded when the test runs, on the one worker that runs it (one test, a subtest per operation): built at
# collection, the strategies cost every pytest-xdist worker 2.6 s of CPU.
schema = schemathesis.pytest.from_fixture("openapi_schema")
DATA_SCHEMAS = {
    (p.stem.rsplit("-v", 1)[0], p.stem.rsplit("-v", 1)[1]): json.loads(p.read_text())["properties"]["data"]
    for p in (ROOT / "schemas").glob("*.json")
}


def _serialize(body: object) -> bytes:
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body).encode()


def _check(status: int, headers: dict[str, str], body: object) -> None:
    assert status < 500, body
    if status >= 400:
        assert headers.get("Content-Type") == "application/problem+json", (status, body)
        assert isinstance(body, dict) and body["status"] == status and body["detail"], body


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_are_answered_and_never_accept_invalid_events(case, stack):
    raw = _serialize(case.body)
    url = stack.url + case.formatted_path
    as_generated = {k: v for k, v in (case.headers or {}).items()}
    as_generated.setdefault("Content-Type", "application/json")
    try:
        plain = send(url, case.method.upper(), raw or None, as_generated)
    except (UnicodeEncodeError, ValueError):
        plain = None  # the HTTP client refused to send a header it cannot encode: not a server answer
    if plain is not None:
        _check(plain.status, plain.headers, plain.body)

    # The same request signed correctly, so the contract checks behind the signature are fuzzed too.
    # (and with the caller's API key, or API Gateway's 403 would answer before any check of ours)
    signed = {k: v for k, v in as_generated.items() if not k.lower().startswith(("x-distsync-", "x-api-key"))}
    signed.update(signed_headers(SECRET, raw, fresh_timestamp(raw)))
    caller = caller_of(case.formatted_path)
    if caller in stack.api_keys:
        signed["x-api-key"] = stack.api_keys[caller]
    try:
        result = send(url, case.method.upper(), raw or None, signed)
    except (UnicodeEncodeError, ValueError):
        return
    _check(result.status, result.headers, result.body)
    if result.status == 202:
        body = case.body
        key = (body["eventType"], body["eventVersion"])
        jsonschema.Draft4Validator(DATA_SCHEMAS[key]).validate(body["data"])
        assert result.body["eventId"] and result.body["correlationId"]


@pytest.mark.parametrize(
    ("name", "raw", "status"),
    [
        ("deep nesting", b'{"eventType": "ReplenishmentRecommended", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        ("huge number", b'{"eventType": "ReplenishmentRecommended", "eventVersion": "1", "occurredAt": '
                        b'"2026-11-27T08:00:00Z", "data": {"itemId": "A", "locationId": "B", "recommendedSafetyStock": '
                        + b"9" * 5000 + b', "recommendedReorderPoint": 1e999, "planningCycleId": "c"}}', 400),
        ("latin-1 bytes", '{"eventType": "Réplenishment"}'.encode("latin-1"), 400),
        ("NUL and bidi in ids", json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                                            "occurredAt": "2026-11-27T08:00:00Z",
                                            "data": {"itemId": "A\u0000\u202e", "locationId": "B",
                                                     "recommendedSafetyStock": 1, "recommendedReorderPoint": 1,
                                                     "planningCycleId": "c"}}).encode(), 400),
        ("not an object", b"[1, 2, 3]", 400),
        ("empty body", b"", 400),
    ],
)
def test_hostile_bodies_are_rejected_with_a_reason(stack, name, raw, status):
    headers = {"Content-Type": "application/json", "x-api-key": stack.api_keys["planning"],
               **signed_headers(SECRET, raw, fresh_timestamp(raw))}
    result = send(stack.url + "/v1/webhooks/planning", "POST", raw or None, headers)
    assert result.status == status, (name, result.body)
    _check(result.status, result.headers, result.body)
