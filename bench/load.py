"""Steady-rate load on the local stack (loopback only; bounded in count and time; stops by itself).

Starts `distsync local up --no-demo` on a free port (or uses --url), loads master data, then posts signed
ReplenishmentRecommended webhooks at a fixed rate for a fixed time, waits until the stack is idle and
prints: sustained events/s, webhook latency p50/p95, end-to-end latency (webhook accepted -> ERP updated,
from the ledger) p50/p95, and the in = out accounting (accepted = delivered + quarantined + dead-lettered
+ pending/rejected). Usage: python bench/load.py [--rate 20] [--seconds 30] [--items 50] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared" / "python")]

from distsync.kpis import percentile  # noqa: E402
from distsync.local import process  # noqa: E402
from distsync.sim.clients import ErpClientSim, PlanningClient, send  # noqa: E402
from distsync_core.platform.dynamo import scan_all  # noqa: E402

SECRET = "bench-load-secret"
MAX_EVENTS = 20_000  # hard bound whatever the arguments
# The bench offers up to 50 recommendations/s as one partner after a burst of master data from the ERP: give
# planning and the ERP that much of the webhook method's 100/s instead of their default share (a fifth each),
# or the usage plans, not the stack, would be measured.
LIMITS = ("-c", 'partnerLimits={"planning": {"ratePerSecond": 70, "burst": 140}, '
                '"erp": {"ratePerSecond": 20, "burst": 50}}')


def pct(values: list[float], q: float) -> float:
    found = percentile(values, q)
    return float("nan") if found is None else found


def ledger_hops(table: Any, cids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The ledger's hops of ``cids``, in one scan instead of a query per transaction: moto sorts the whole table
    for every query, so after a few thousand events the queries alone took minutes."""
    hops: dict[str, list[dict[str, Any]]] = {}
    for hop in scan_all(table):
        if hop["correlationId"] in cids:
            hops.setdefault(hop["correlationId"], []).append(hop)
    return hops


def run(url: str, rate: float, seconds: float, items: int) -> dict[str, Any]:
    """Offer ``rate`` webhooks/s for ``seconds`` to the stack at ``url``; the figures once it is idle again."""
    total = min(MAX_EVENTS, int(rate * seconds))
    keys = process.api_keys(send(url + "/_local/info").body)
    erp = ErpClientSim(url, SECRET, keys)
    run_id = uuid.uuid4().hex[:6]
    skus = [f"LOAD-{run_id}-{i}" for i in range(items)]
    for sku in skus:
        erp.upsert_item_location(sku, "DC-1", safety_stock=100, reorder_point=200)
    process.wait_idle(url, timeout=600, settle=1.0, poll=0.2)

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cids: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        cid = f"load-{run_id}-{i}"
        started = time.perf_counter()
        result = PlanningClient(url, SECRET, keys).recommend(
            skus[i % len(skus)], "DC-1", safety_stock=100 + (i % 15), reorder_point=200,
            planning_cycle_id=f"cycle-{i}", correlation_id=cid)
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses[result.status] = statuses.get(result.status, 0) + 1
            if result.status == 202:
                cids.append(cid)

    del erp
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            target = began + i / rate
            time.sleep(max(0.0, target - time.perf_counter()))
            pool.submit(post, i)
    sent_for = time.perf_counter() - began
    process.wait_idle(url, timeout=600, settle=1.0, poll=0.2)
    drained_for = time.perf_counter() - began

    info = send(url + "/_local/info").body
    import boto3

    from distsync.trace import status_of

    table = boto3.resource("dynamodb", endpoint_url=info["awsEndpoint"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing"
                           ).Table(info["outputs"]["TraceTableName"])
    by_cid = ledger_hops(table, set(cids))
    finals: dict[str, int] = {}
    e2e: list[float] = []
    for cid in cids:
        hops = sorted(by_cid.get(cid, []), key=lambda h: h["at"])
        finals[status_of(hops)] = finals.get(status_of(hops), 0) + 1
        erp_hop = next((h for h in hops if h["stage"] == "erp" and h["outcome"] == "delivered"), None)
        if hops and erp_hop:
            e2e.append((datetime.fromisoformat(erp_hop["at"]) - datetime.fromisoformat(hops[0]["at"])).total_seconds())
    accounted = sum(finals.values())
    return {"rate": rate, "seconds": seconds, "items": len(skus), "offered": total, "sent_for": sent_for,
            "drained_for": drained_for, "accepted": len(cids), "statuses": dict(sorted(statuses.items())),
            "webhook_p50_ms": pct(latencies, 50) * 1000, "webhook_p95_ms": pct(latencies, 95) * 1000,
            "e2e_p50_s": pct(e2e, 50), "e2e_p95_s": pct(e2e, 95), "erp_updates": len(e2e),
            "finals": dict(sorted(finals.items())),
            "in_equals_out": accounted == len(cids) and "in_flight" not in finals,
            "load_average": os.getloadavg()[0]}


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--url", help="an already running local stack (its secret must be " + SECRET + ")")
    args = parser.parse_args()

    proc, url = (None, args.url) if args.url else process.start(*LIMITS, secret=SECRET)[:2]
    try:
        r = run(url, args.rate, args.seconds, args.items)
        print(f"machine: {machine()} before the end")
        print(f"offered: {r['offered']} webhooks at {r['rate']:g}/s for {r['seconds']:g} s over {r['items']} item-locations")
        print(f"sent in {r['sent_for']:.1f} s -> {r['offered'] / r['sent_for']:.1f} webhooks/s accepted by the API; "
              f"all processed after {r['drained_for']:.1f} s -> {r['accepted'] / r['drained_for']:.1f} events/s end to end")
        print(f"HTTP answers: {r['statuses']}")
        print(f"webhook latency: p50 {r['webhook_p50_ms']:.0f} ms, p95 {r['webhook_p95_ms']:.0f} ms")
        print(f"end-to-end (accepted -> ERP updated): p50 {r['e2e_p50_s']:.2f} s, p95 {r['e2e_p95_s']:.2f} s "
              f"({r['erp_updates']} updates)")
        print(f"in = out: accepted {r['accepted']} = {sum(r['finals'].values())} accounted {r['finals']}; "
              f"{'OK' if r['in_equals_out'] else 'MISMATCH'}")
    finally:
        if proc:
            process.stop(proc)


if __name__ == "__main__":
    main()
