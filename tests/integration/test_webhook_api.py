import json
import time

import boto3
import pytest

from distsync_core.platform.signing import signed_headers
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import api_event

RESOURCE = "/v1/webhooks/{source}"


def recommendation(**overrides) -> bytes:
    data = {"itemId": "SKU-1", "locationId": "DC-1", "recommendedSafetyStock": 10,
            "recommendedReorderPoint": 20, "planningCycleId": "c-1", **overrides}
    return json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                       "occurredAt": "2026-11-27T08:00:00+00:00", "data": data}).encode()


@pytest.fixture
def webhook():
    module = load_handler("webhook_api")
    return lambda event: module.lambda_handler(event, FakeLambdaContext("webhook"))


def post(webhook, body, headers=None, sign=True, source="planning"):
    response = webhook(api_event("POST", f"/v1/webhooks/{source}", RESOURCE, {"source": source}, body, headers, sign))
    return response["statusCode"], json.loads(response["body"]), response


def test_signed_event_is_published_with_its_envelope_and_traced(aws, webhook):
    status, body, response = post(webhook, recommendation(), {"X-Correlation-Id": "corr-42"})
    assert status == 202 and body["correlationId"] == "corr-42"
    events = aws.probe(wait=0.5, expect=1)
    assert len(events) == 1
    event = events[0]
    assert (event["source"], event["detail-type"]) == ("distsync.planning", "ReplenishmentRecommended")
    assert event["detail"]["metadata"]["eventId"] == body["eventId"]
    assert event["detail"]["metadata"]["correlationId"] == "corr-42"
    assert [h["stage"] for h in aws.items("TRACE_TABLE_NAME")] == ["webhook"]


def test_the_webhook_hop_is_timed_before_the_publish_so_consumers_sort_after_it(aws, webhook, monkeypatch):
    """A consumer can record its hop while the publish is still returning (seen on the local stack once its
    pollers woke on arrival): the accepted hop carries the time before publishing."""
    from distsync_core.platform.events import EventPublisher
    from distsync_core.platform.times import now_iso

    publish, started = EventPublisher.publish, []

    def timed_publish(self, envelopes):
        started.append(now_iso())
        return publish(self, envelopes)

    monkeypatch.setattr(EventPublisher, "publish", timed_publish)
    status, _, _ = post(webhook, recommendation(), {"X-Correlation-Id": "corr-43"})
    assert status == 202 and len(started) == 1
    [hop] = aws.items("TRACE_TABLE_NAME")
    assert hop["at"] <= started[0]


@pytest.mark.parametrize(
    ("body", "headers", "sign", "status", "needle"),
    [
        (recommendation(), {"X-Distsync-Signature": "sha256=" + "0" * 64}, True, 401, "does not match"),
        # a non-ASCII signature made hmac.compare_digest raise TypeError: a 5xx (issue 12, finding 12)
        (recommendation(), {"X-Distsync-Signature": "sha256=" + "é" * 64}, True, 401, "sha256=<hex>"),
        (recommendation(), None, False, 401, "missing X-Distsync-Timestamp"),
        (b"{not json", None, True, 400, "not valid JSON"),
        (recommendation(recommendedSafetyStock="lots"), None, True, 400, "ReplenishmentRecommended-v1"),
        (recommendation(), {"Content-Type": "text/csv"}, True, 415, "application/json"),
        (b"{" + b" " * 300_000 + b"}", None, True, 413, "limit"),
        # an event time past distsync's clock overflowed or froze records downstream (issue 12, finding 8)
        (recommendation().replace(b"2026-11-27T08:00:00+00:00", b"9999-12-31T23:00:00-05:00"), None, True, 400,
         "occurredAt"),
    ],
)
def test_rejections_say_why_and_publish_nothing(aws, webhook, body, headers, sign, status, needle):
    got, problem, response = post(webhook, body, headers, sign)
    assert got == status
    headers = response.get("headers") or {k: v[0] for k, v in response["multiValueHeaders"].items()}
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == status and needle in json.dumps(problem)
    assert aws.probe() == []  # published inside the handler, or never
    assert aws.items("TRACE_TABLE_NAME") == []


def test_idempotency_key_replays_the_first_answer_and_publishes_once(aws, webhook):
    first = post(webhook, recommendation(), {"Idempotency-Key": "key-1"})
    second = post(webhook, recommendation(), {"Idempotency-Key": "key-1"})
    assert first[0] == second[0] == 202 and first[1] == second[1]
    assert len(aws.probe(wait=0.5, expect=1)) == 1
    reused = post(webhook, recommendation(recommendedSafetyStock=11), {"Idempotency-Key": "key-1"})
    assert reused[0] == 422 and "different body" in reused[1]["detail"]
    assert aws.probe() == []  # published inside the handler, or never


def test_health_and_unknown_routes(aws, webhook):
    health = webhook(api_event("GET", "/health", "/health", {}, None))
    assert health["statusCode"] == 200 and json.loads(health["body"]) == {"status": "ok"}
    missing = webhook(api_event("GET", "/nope", "/nope", {}, None))
    assert missing["statusCode"] == 404 and json.loads(missing["body"])["status"] == 404


def test_a_replayed_signed_request_is_refused(aws, webhook):
    body = recommendation()
    event = api_event("POST", "/v1/webhooks/planning", RESOURCE, {"source": "planning"}, body)
    first = webhook(event)
    replayed = webhook(event)  # byte for byte the same request, inside the time window
    assert first["statusCode"] == 202
    assert replayed["statusCode"] == 401 and "already received" in json.loads(replayed["body"])["detail"]
    assert len(aws.probe(wait=0.5, expect=1)) == 1


def test_each_source_verifies_with_its_own_keys_only_and_rotation_accepts_both(aws, webhook, monkeypatch):
    """One key per source, a list during rotation; a source without a key of its own is refused, never given
    a default (issue 12, finding 1)."""
    sm = boto3.client("secretsmanager")
    arns = {"planning": sm.create_secret(Name="k-planning", SecretString=json.dumps(["planning-new", "planning-old"]))["ARN"],
            "erp": sm.create_secret(Name="k-erp", SecretString="erp-key")["ARN"]}
    monkeypatch.setenv("SIGNING_KEY_ARNS", json.dumps(arns))  # no key for wms: this function serves none

    def post_signed(secret, source="planning", offset=0):
        body = recommendation() if source == "planning" else json.dumps({
            "eventType": "ItemLocationUpserted", "eventVersion": "1", "occurredAt": "2026-11-27T08:00:00Z",
            "data": {"itemId": "S", "locationId": "L", "unitOfMeasure": "EA", "safetyStock": 1, "reorderPoint": 1,
                     "supplierId": "X", "leadTimeDays": 1}}).encode()
        if source == "wms":
            body = body.replace(b'"ItemLocationUpserted"', b'"InventoryBalanceChanged"')
        headers = {"Content-Type": "application/json", **signed_headers(secret, body, time.time() - offset)}
        answer = webhook(api_event("POST", f"/v1/webhooks/{source}", RESOURCE, {"source": source}, body, headers,
                                   sign=False))
        return answer["statusCode"], json.loads(answer["body"]).get("detail")

    assert post_signed("planning-new", offset=1)[0] == 202
    assert post_signed("planning-old", offset=2)[0] == 202  # both keys verify during the rotation
    assert post_signed("erp-key", offset=3) == (401, "signature does not match")  # erp's key is not planning's
    assert post_signed("erp-key", source="erp", offset=4)[0] == 202
    assert post_signed("planning-new", source="erp", offset=5) == (401, "signature does not match")
    assert post_signed("erp-key", source="wms", offset=6) == (401, "no signing key is configured for this sender")
    assert post_signed("erp-key", source="planners", offset=7) == (401, "no signing key is configured for this sender")


def test_the_legacy_shared_key_verifies_partner_webhooks_only_while_allowed(aws, webhook, monkeypatch):
    """``acceptLegacyWebhookSecret``: partners keep their old shared key while they move to their own."""
    sm = boto3.client("secretsmanager")
    monkeypatch.setenv("SIGNING_KEY_ARNS", json.dumps({"planning": sm.create_secret(Name="k-p", SecretString="own")["ARN"]}))

    def post_signed(secret, offset):
        body = recommendation()
        headers = {"Content-Type": "application/json", **signed_headers(secret, body, time.time() - offset)}
        return webhook(api_event("POST", "/v1/webhooks/planning", RESOURCE, {"source": "planning"}, body, headers,
                                 sign=False))["statusCode"]

    assert post_signed("shared-old", 1) == 401
    monkeypatch.setenv("LEGACY_WEBHOOK_SECRET_ARN", sm.create_secret(Name="legacy", SecretString="shared-old")["ARN"])
    assert post_signed("shared-old", 2) == 202
    assert post_signed("own", 3) == 202


def test_a_retry_while_the_first_is_in_progress_gets_409_with_retry_after(aws):
    """The same Idempotency-Key while the first request still holds its claim: 409 and Retry-After, not a 5xx
    (issue 12, finding 14); once the first is done, a retry gets the first answer."""
    module = load_handler("webhook_api")
    handle = lambda event: module.lambda_handler(event, FakeLambdaContext("webhook"))  # noqa: E731
    first_publish, during = module._publish, []

    def publish_while_a_retry_arrives(accepted):
        if not during:  # the partner's client timed out and retries while this request is still running
            during.append(post(handle, recommendation(), {"Idempotency-Key": "key-9"}))
        return first_publish(accepted)

    module._publish = publish_while_a_retry_arrives
    first = post(handle, recommendation(), {"Idempotency-Key": "key-9"})
    [(status, problem, response)] = during
    assert status == 409 and problem["type"].endswith("#request-in-progress")
    headers = response.get("headers") or {k: v[0] for k, v in response["multiValueHeaders"].items()}
    assert headers["Retry-After"] == "1" and headers["Content-Type"] == "application/problem+json"
    assert first[0] == 202 and post(handle, recommendation(), {"Idempotency-Key": "key-9"})[1] == first[1]
    assert len(aws.probe(wait=0.5, expect=1)) == 1
