"""KPIs from a scripted scenario with known timings."""

from datetime import UTC, datetime, timedelta

from distsync.kpis import compute, percentile

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def hop(cid, seconds, stage, outcome, **extra):
    return {"correlationId": cid, "at": (T0 + timedelta(seconds=seconds)).isoformat(), "stage": stage,
            "outcome": outcome, "detail": "", **extra}


def recommendation(cid, at=0):
    return hop(cid, at, "webhook", "ok", eventType="ReplenishmentRecommended")


SCENARIO = [
    # auto-applied in 4 s
    recommendation("fast"), hop("fast", 1, "planning", "ok"), hop("fast", 4, "erp", "delivered"),
    hop("fast", 5, "warehouse", "delivered"),
    # approved after 600 s, applied 2 s later: 602 s end to end
    recommendation("approved"), hop("approved", 1, "planning", "ok"), hop("approved", 2, "approval", "pending_approval"),
    hop("approved", 602, "approval", "approved"), hop("approved", 604, "erp", "delivered"),
    # rejected after 60 s
    recommendation("rejected"), hop("rejected", 2, "approval", "pending_approval"), hop("rejected", 62, "approval", "rejected"),
    # dead-lettered at 30 s, redriven, delivered at 330 s: recovery 300 s, latency 330 s
    recommendation("recovered"), hop("recovered", 10, "erp", "retrying"), hop("recovered", 30, "erp", "dead_lettered"),
    hop("recovered", 320, "redrive", "redriven"), hop("recovered", 330, "erp", "delivered"),
    # master data only: counts as a delivered transaction, not in the forecast latency
    hop("md", 0, "webhook", "ok", eventType="ItemLocationUpserted"), hop("md", 1, "masterdata", "delivered"),
    # still dead-lettered
    recommendation("stuck"), hop("stuck", 20, "erp", "dead_lettered"),
]


def test_kpis_from_known_timings():
    k = compute(SCENARIO)
    assert k["transactions"] == 6
    assert k["byStatus"] == {"dead_lettered": 1, "delivered": 4, "rejected": 1}
    assert k["forecastToErpLatency"] == {"count": 3, "p50Seconds": 330.0, "p95Seconds": 604.0, "maxSeconds": 604.0}
    assert k["approvalTurnaround"] == {"count": 2, "p50Seconds": 60.0, "p95Seconds": 600.0, "maxSeconds": 600.0}
    assert k["failureRecoveryTime"] == {"count": 1, "p50Seconds": 300.0, "p95Seconds": 300.0, "maxSeconds": 300.0}
    assert k["orderStatusPropagation"]["count"] == 0 and k["orderStatusPropagation"]["p50Seconds"] is None


def test_order_propagation_and_inventory_freshness_from_known_timings():
    hops = [
        # order update applied 3 s after the webhook; a second one after 7 s; a quarantined one not counted
        hop("o1", 0, "webhook", "ok", eventType="OrderStatusChanged"), hop("o1", 1, "order-router", "ok"),
        hop("o1", 3, "orders", "delivered"),
        hop("o2", 0, "webhook", "ok", eventType="OrderStatusChanged"), hop("o2", 7, "orders", "delivered"),
        hop("o3", 0, "webhook", "ok", eventType="OrderStatusChanged"), hop("o3", 2, "orders", "quarantined"),
        # a balance visible in planning after 12 s; the ATP projection hop alone does not count
        hop("i1", 0, "webhook", "ok", eventType="InventoryBalanceChanged"), hop("i1", 1, "inventory", "ok"),
        hop("i1", 12, "planning-sync", "delivered"),
        hop("i2", 0, "webhook", "ok", eventType="InventoryBalanceChanged"), hop("i2", 1, "inventory", "ok"),
    ]
    k = compute(hops)
    assert k["orderStatusPropagation"] == {"count": 2, "p50Seconds": 3.0, "p95Seconds": 7.0, "maxSeconds": 7.0}
    assert k["inventoryVisibilityFreshness"] == {"count": 1, "p50Seconds": 12.0, "p95Seconds": 12.0,
                                                 "maxSeconds": 12.0}
    assert k["byStatus"] == {"delivered": 3, "in_flight": 1, "quarantined": 1}


def test_nearest_rank_percentile():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)


def test_time_held_by_a_freeze_window_is_counted_apart():
    hops = [
        # held at 5 s by "mrp-run", released at 905 s, applied at 907 s: 907 s in all, 7 s of processing
        recommendation("frozen"), hop("frozen", 1, "planning", "ok"),
        hop("frozen", 5, "erp", "held", freezeWindow="mrp-run"), hop("frozen", 905, "freeze", "released"),
        hop("frozen", 907, "erp", "delivered"),
        # never held: 4 s either way
        recommendation("free"), hop("free", 4, "erp", "delivered"),
        # an order update held for its predecessor is not a freeze
        hop("o1", 0, "webhook", "ok", eventType="OrderStatusChanged"), hop("o1", 1, "orders", "held"),
    ]
    k = compute(hops)
    assert k["forecastToErpLatency"] == {"count": 2, "p50Seconds": 4.0, "p95Seconds": 907.0, "maxSeconds": 907.0}
    assert k["forecastToErpLatencyExcludingHeld"] == {"count": 2, "p50Seconds": 4.0, "p95Seconds": 7.0,
                                                      "maxSeconds": 7.0}
    assert k["erpWritesHeldTime"] == {"count": 1, "p50Seconds": 900.0, "p95Seconds": 900.0, "maxSeconds": 900.0}
    assert k["byStatus"]["delivered"] == 2
