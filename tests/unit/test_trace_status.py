import pytest

from distsync.trace import status_of, trace_document


def hops(*outcomes):
    return [{"at": f"2026-11-27T10:00:{i:02d}", "stage": "s", "outcome": o, "detail": ""} for i, o in enumerate(outcomes)]


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (["ok"], "in_flight"),
        (["ok", "retrying"], "in_flight"),
        (["ok", "ok", "delivered", "delivered"], "delivered"),
        (["ok", "pending_approval"], "pending_approval"),
        (["ok", "pending_approval", "approved"], "in_flight"),
        (["ok", "pending_approval", "approved", "delivered"], "delivered"),
        (["ok", "pending_approval", "rejected"], "rejected"),
        (["ok", "quarantined"], "quarantined"),
        (["ok", "retrying", "dead_lettered"], "dead_lettered"),
        (["ok", "dead_lettered", "delivered"], "delivered"),
        (["ok", "retrying", "dead_lettered", "redriven"], "in_flight"),
        (["ok", "dead_lettered", "redriven", "delivered", "delivered"], "delivered"),
        (["ok", "pending_approval", "approved", "superseded"], "superseded"),
        (["ok", "dead_lettered", "redriven", "superseded"], "superseded"),
        (["ok", "delivered", "replayed", "superseded"], "delivered"),  # a replay cannot undo what was delivered
    ],
)
def test_status_follows_the_terminal_outcomes(outcomes, status):
    assert status_of(hops(*outcomes)) == status


def test_document_orders_hops_by_time():
    doc = trace_document("c-1", list(reversed(hops("ok", "delivered"))))
    assert doc["status"] == "delivered" and [h["outcome"] for h in doc["hops"]] == ["ok", "delivered"]
    assert set(doc) == {"correlationId", "status", "hops"} and set(doc["hops"][0]) == {"at", "stage", "outcome", "detail"}
