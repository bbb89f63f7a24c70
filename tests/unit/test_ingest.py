import json
from datetime import UTC, datetime

import pytest

from distsync_core.platform.problems import ProblemError
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import MAX_BODY_BYTES, accept

SECRET = "s3cret"
NOW = 1_800_000_000.0
RECOMMENDATION = {
    "itemId": "SKU-1",
    "locationId": "DC-1",
    "recommendedSafetyStock": 12,
    "recommendedReorderPoint": 20.5,
    "planningCycleId": "cycle-1",
}


def body(data=None, event_type="ReplenishmentRecommended", version="1", **extra) -> bytes:
    payload = {
        "eventType": event_type,
        "eventVersion": version,
        "occurredAt": datetime(2026, 11, 27, tzinfo=UTC).isoformat(),
        "data": RECOMMENDATION if data is None else data,
        **extra,
    }
    return json.dumps(payload).encode()


def headers_for(raw: bytes, **extra) -> dict[str, str]:
    return {"content-type": "application/json; charset=utf-8", **signed_headers(SECRET, raw, NOW), **extra}


def reject(source="planning", raw=None, headers=None) -> ProblemError:
    raw = body() if raw is None else raw
    with pytest.raises(ProblemError) as info:
        accept(source, headers_for(raw) if headers is None else headers, raw, [SECRET], NOW)
    return info.value


def test_accepts_a_signed_valid_event_into_a_canonical_envelope():
    raw = body()
    accepted = accept("planning", headers_for(raw, **{"X-Correlation-Id": "corr-1"}), raw, [SECRET], NOW)
    meta = accepted.envelope.metadata
    assert (meta.event_type, meta.event_version, meta.source, meta.correlation_id) == (
        "ReplenishmentRecommended", "1", "planning", "corr-1")
    assert accepted.envelope.data["recommendedReorderPoint"] == 20.5
    assert meta.occurred_at.year == 2026 and meta.received_at.tzinfo is not None


def test_generates_a_correlation_id_when_absent():
    raw = body()
    first = accept("planning", headers_for(raw), raw, [SECRET], NOW).envelope.metadata.correlation_id
    second = accept("planning", headers_for(raw), raw, [SECRET], NOW).envelope.metadata.correlation_id
    assert first and second and first != second


def test_oversize_body_is_413_before_anything_else():
    raw = b"x" * (MAX_BODY_BYTES + 1)
    problem = reject(raw=raw, headers={"content-type": "text/plain"})
    assert problem.status == 413 and str(MAX_BODY_BYTES) in problem.detail


def test_non_json_content_type_is_415():
    raw = body()
    problem = reject(raw=raw, headers={**headers_for(raw), "content-type": "text/xml"})
    assert problem.status == 415 and "text/xml" in problem.detail


@pytest.mark.parametrize("tamper", ["signature", "timestamp", "missing"])
def test_bad_or_stale_signature_is_401(tamper):
    raw = body()
    headers = headers_for(raw)
    if tamper == "signature":
        headers["X-Distsync-Signature"] = "sha256=" + "0" * 64
    elif tamper == "timestamp":
        headers.update(signed_headers(SECRET, raw, NOW - 600))
    else:
        del headers["X-Distsync-Signature"]
    assert reject(raw=raw, headers=headers).status == 401


def test_malformed_json_is_400():
    problem = reject(raw=b'{"eventType": ')
    assert problem.status == 400 and "not valid JSON" in problem.detail


def test_contract_violation_names_every_failing_field():
    bad = dict(RECOMMENDATION, recommendedSafetyStock=-1, itemId="bad id!")
    del bad["planningCycleId"]
    problem = reject(raw=body(bad))
    fields = {e["field"] for e in problem.errors}
    assert problem.status == 400
    assert fields == {"data.recommendedSafetyStock", "data.itemId", "data.planningCycleId"}
    assert problem.body()["type"].endswith("#contract-violation")


def test_unknown_fields_in_data_are_rejected():
    problem = reject(raw=body(dict(RECOMMENDATION, surprise=1)))
    assert [e["field"] for e in problem.errors] == ["data.surprise"]


@pytest.mark.parametrize(
    ("event_type", "version", "needle"),
    [("ForecastTeleported", "1", "unknown eventType 'ForecastTeleported'"),
     ("ReplenishmentRecommended", "7", "eventVersion '7' of ReplenishmentRecommended is not supported")],
)
def test_unknown_event_types_and_versions_are_rejected_by_name(event_type, version, needle):
    problem = reject(raw=body(event_type=event_type, version=version))
    assert problem.status == 400 and needle in problem.detail


def test_event_type_from_the_wrong_source_is_rejected():
    problem = reject(source="erp")
    assert problem.status == 400 and "not accepted from source 'erp'" in problem.detail


def test_internal_event_types_cannot_be_posted_by_partners():
    update = {"itemId": "SKU-1"}
    problem = reject(source="planning", raw=body(update, event_type="ReplenishmentUpdateRequested"))
    assert problem.status == 400 and "not accepted from source" in problem.detail


def test_naive_timestamps_and_extra_envelope_fields_are_rejected():
    raw = json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                      "occurredAt": "2026-11-27T10:00:00", "data": RECOMMENDATION, "x": 1}).encode()
    problem = reject(raw=raw)
    assert {e["field"] for e in problem.errors} == {"occurredAt", "x"}


def test_injected_correlation_header_is_rejected():
    raw = body()
    problem = reject(raw=raw, headers=headers_for(raw, **{"X-Correlation-Id": "abc\r\nSet-Cookie: x"}))
    assert problem.status == 400 and "X-Correlation-Id" in problem.detail
