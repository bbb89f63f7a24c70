"""ERP requests per 1,000 parameter updates, per connector kind, counted where the ERP receives them.

For each kind (rest, s4hana, netsuite, businesscentral) the real connector (``distsync_core.connectors``) drives
1,000 parameter updates (100 items x 10 locations, safety stock and reorder point) against its simulator on
127.0.0.1 (``distsync/sim``). The records are created in the simulator first (not counted). Scenarios:

  a  one update per call through ``writes.apply_parameters`` (read, compare, write with the concurrency token):
     what the ERP updater does today. Its SQS batches hold 5 updates, but the connector is built once per
     connection and container (``connectors/factory.py``), so its token, CSRF session and looked-up ids live
     across invocations: one fresh connector for the 1,000 updates is one warm container doing them all.
  b  the same 1,000 updates redelivered (the ERP already holds the values): reads only, nothing written.
  c  where the kind has ``write_many``: the updates written as ``$batch`` requests of the largest size used
     (S/4HANA 100 change sets, our choice, see docs/performance.md; Business Central 100 operations, its
     documented limit), after reading every item-location. S/4HANA can read many at once (every plant of a
     product in one collection GET, ``read_item_locations``): a second row reads that way. Business Central's
     connector reads one stockkeeping unit per GET (``read_parameters``; it has no read of many).

Every request the simulator received is taken from its request log (the REST simulator keeps none: the bench
logs its requests in a subclass) and split into token fetch, CSRF fetch, read, write, batch and lookup; a
CSRF token fetched on a read (``x-csrf-token: Fetch`` on the GET itself) is counted as that read and noted. The
count is checked against the connector's own log of what it sent (plus the token fetches, which go around it).
The floor is the fewest requests the ERP's protocol allows for the scenario's shape with a concurrency token:
1 read + 1 write per update (a), 1 read per update (b), reads + ceil(1,000 / batch size) batches (c), plus one
OAuth token per connector; the REST kind has no concurrency token but an Idempotency-Key, so 1 PUT per update.

The script fails (exit 1) if any update was not applied: every simulator record must hold its target after
each writing scenario, and a redelivery must write nothing. Wall time is informational (loopback, shared
machine: the load average is printed).

Usage: python bench/connector_requests.py
"""

from __future__ import annotations

import math
import os
import platform
import socketserver
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))

from distsync.sim.businesscentral import BusinessCentralSimulator  # noqa: E402
from distsync.sim.erp import ErpSimulator  # noqa: E402
from distsync.sim.http import JsonRequest  # noqa: E402
from distsync.sim.netsuite import NetSuiteSimulator  # noqa: E402
from distsync.sim.s4 import SERVICE, S4Simulator  # noqa: E402
from distsync_core.connectors.businesscentral import BusinessCentralConnector  # noqa: E402
from distsync_core.connectors.netsuite import NetSuiteConnector  # noqa: E402
from distsync_core.connectors.port import PlanningParameters, Snapshot, WriteRequest  # noqa: E402
from distsync_core.connectors.rest import RestConnector  # noqa: E402
from distsync_core.connectors.s4hana import BATCH_LIMIT as S4_BATCH  # noqa: E402
from distsync_core.connectors.s4hana import S4HanaConnector  # noqa: E402
from distsync_core.connectors.writes import apply_parameters  # noqa: E402

ITEMS, LOCATIONS = 100, 10  # 1,000 item-locations; location ids fit an S/4HANA plant (4 characters)
UPDATES = ITEMS * LOCATIONS
BC_BATCH = 100  # Business Central: at most 100 operations per $batch (documented)
CATEGORIES = ("token", "csrf", "read", "write", "batch", "lookup", "other")
Key = tuple[str, str]


def keys() -> list[Key]:
    return [(f"ITEM-{i:03d}", f"L{j:03d}") for i in range(ITEMS) for j in range(1, LOCATIONS + 1)]


def target(n: int, round_: int) -> PlanningParameters:
    """The n-th update's parameters in a round (round 0: what the records start with); 3 decimals at most."""
    safety = 5.0 if round_ == 0 else 20 + round_ + (n % 37) * 0.25
    return PlanningParameters(safety, 2 * safety + 5)


def requests_for(round_: int) -> list[WriteRequest]:
    return [WriteRequest(item, location, target(n, round_), correlation_id=f"bench-{round_}-{n}",
                         unit_of_measure="EA", idempotency_key=f"bench-{round_}-{n}")
            for n, (item, location) in enumerate(keys())]


# ------------------------------------------------------------------------------------------ per kind
class Harness:
    """A simulator with the records, a fresh connector per scenario, and the simulator's log in categories."""

    kind = ""
    batch_size = 0  # write_many's batch size (0: the kind has none)

    def connector(self) -> Any:
        raise NotImplementedError

    def log(self) -> list[dict[str, Any]]:
        """What the ERP received, oldest first (token fetches included where the simulator logs them)."""
        raise NotImplementedError

    def category(self, entry: dict[str, Any]) -> str:
        raise NotImplementedError

    def tokens(self) -> int:
        """Tokens the ERP's token endpoint issued so far (0: the kind fetches none)."""
        return 0

    def held(self) -> dict[Key, PlanningParameters]:
        raise NotImplementedError

    def csrf_on_read(self, entry: dict[str, Any]) -> bool:
        return False

    def stop(self) -> None:
        self.sim.stop()

    sim: Any


class _LoggedErp(ErpSimulator):
    """The REST ERP simulator keeps no log of its reads: this one logs every request it dispatches."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def dispatch(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        status, body, headers = super().dispatch(request)
        self.requests.append({"method": request.method, "path": request.path, "status": status})
        return status, body, headers


class Rest(Harness):
    kind = "rest"

    def __init__(self) -> None:
        self.sim = _LoggedErp().start()
        for item, location in keys():  # as if applied before (not counted)
            self.sim.parameters[(item, location)] = {"itemId": item, "locationId": location,
                                                     "safetyStock": 5.0, "reorderPoint": 15.0}

    def connector(self) -> RestConnector:
        return RestConnector("rest", self.sim.base_url)

    def log(self) -> list[dict[str, Any]]:
        return list(self.sim.requests)

    def category(self, entry: dict[str, Any]) -> str:
        return {"GET": "read", "PUT": "write"}.get(entry["method"], "other")

    def held(self) -> dict[Key, PlanningParameters]:
        return {k: PlanningParameters(float(v["safetyStock"]), float(v["reorderPoint"]))
                for k, v in self.sim.parameters.items()}


class S4(Harness):
    kind = "s4hana"
    batch_size = S4_BATCH

    def __init__(self) -> None:
        self.sim = S4Simulator(push_on_api_writes=False).start()
        for item, location in keys():
            self.sim.put_record({"itemId": item, "locationId": location, "safetyStock": 5,
                                 "reorderPoint": 15}, push=False)

    def connector(self) -> S4HanaConnector:  # OAuth client credentials (Basic would fetch no token)
        secret = {"clientId": "distsync", "clientSecret": "s4-client-secret", "tokenUrl": f"{self.sim.url}/oauth/token"}
        return S4HanaConnector("s4hana", self.sim.base_url, lambda: dict(secret), {"batchLimit": self.batch_size})

    def log(self) -> list[dict[str, Any]]:
        return self.sim.request_log()  # the token endpoint is not in it: see tokens()

    def tokens(self) -> int:
        return int(self.sim.tokens_issued)

    def category(self, entry: dict[str, Any]) -> str:
        path, method = entry["path"].split("?")[0], entry["method"]
        if method == "GET":
            return "csrf" if path in (SERVICE, f"{SERVICE}/") else "read"
        if path.endswith("/$batch"):
            return "batch"
        return "write" if method in ("PATCH", "MERGE", "POST") else "other"

    def csrf_on_read(self, entry: dict[str, Any]) -> bool:
        return (entry.get("xCsrfToken") or "").lower() == "fetch" and self.category(entry) == "read"

    def held(self) -> dict[Key, PlanningParameters]:
        return {(r["Product"], r["Plant"]): PlanningParameters(float(r["SafetyStockQuantity"]),
                                                               float(r["ReorderThresholdQuantity"]))
                for r in self.sim.snapshot()}


class NetSuite(Harness):
    kind = "netsuite"

    def __init__(self) -> None:
        self.sim = NetSuiteSimulator().start()
        for item, location in keys():
            self.sim.edit({"itemId": item, "locationId": location, "safetyStock": 5, "reorderPoint": 15})

    def connector(self) -> NetSuiteConnector:
        # items by external id (the default: no lookup); locations by name (no locationMap: one SuiteQL lookup
        # per location and container)
        return NetSuiteConnector("netsuite", self.sim.base_url, self.sim.credentials)

    def log(self) -> list[dict[str, Any]]:
        return self.sim.requests()

    def category(self, entry: dict[str, Any]) -> str:
        if "/query/v1/suiteql" in entry["path"]:
            return "lookup"
        return {"GET": "read", "PATCH": "write"}.get(entry["method"], "other")

    def held(self) -> dict[Key, PlanningParameters]:
        return {(line["itemId"], line["locationId"]): PlanningParameters(float(line["safetyStock"] or 0),
                                                                         float(line["reorderPoint"] or 0))
                for record in self.sim.records() for line in record["short"]}


class BusinessCentral(Harness):
    kind = "businesscentral"
    batch_size = BC_BATCH

    def __init__(self) -> None:
        self.sim = BusinessCentralSimulator().start()
        self.sim.put_records([{"itemId": item, "locationId": location, "safetyStock": 5, "reorderPoint": 15}
                              for item, location in keys()], notify=False)

    def connector(self) -> BusinessCentralConnector:
        secret = self.sim.credentials()
        return BusinessCentralConnector("bc", self.sim.base_url, lambda: secret, {"companyId": self.sim.company_id})

    def log(self) -> list[dict[str, Any]]:
        return self.sim.request_log()  # the token endpoint (Entra ID in BC's case) is logged too

    def category(self, entry: dict[str, Any]) -> str:
        path, method = entry["path"].split("?")[0], entry["method"]
        if path.endswith("/oauth2/v2.0/token"):
            return "token"
        if path.endswith("/$batch"):
            return "batch"
        if "/stockkeepingUnits" in path:
            return {"GET": "read", "PATCH": "write"}.get(method, "other")
        return "other"

    def held(self) -> dict[Key, PlanningParameters]:
        return {(r["itemNo"], r["locationCode"]): PlanningParameters(float(r["safetyStockQuantity"]),
                                                                     float(r["reorderPoint"]))
                for r in self.sim.records()}


# ------------------------------------------------------------------------------------------ scenarios
@dataclass
class Row:
    kind: str
    scenario: str
    counts: Counter[str]
    floor: int
    basis: str
    seconds: float
    csrf_on_read: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def measure(harness: Harness, scenario: str, floor: int, basis: str,
            run: Callable[[Any], list[str]]) -> Row:
    """Run a scenario with a fresh connector; count what the simulator received meanwhile."""
    connector = harness.connector()
    log_before, tokens_before = len(harness.log()), harness.tokens()
    started = time.perf_counter()
    problems = run(connector)
    seconds = time.perf_counter() - started
    received = harness.log()[log_before:]
    counts = Counter(harness.category(e) for e in received)
    counts["token"] += harness.tokens() - tokens_before
    sent = len(connector.http.log)  # what the connector sent through ConnectorHttp (token fetches go around it)
    if sent != counts.total() - counts["token"]:
        problems.append(f"the simulator received {counts.total() - counts['token']} API requests, the connector "
                        f"logged {sent}")
    # no retry, conflict or refusal: every answer 2xx, as the connector saw it and where the simulator logs it
    failed = [f"{m} {p} {s}" for m, p, s in connector.http.log if not 200 <= s < 300] + \
        [str(e) for e in received if "status" in e and not 200 <= int(e["status"]) < 300]
    if failed:
        problems.append(f"{len(failed)} answers outside 2xx, first: {failed[0]}")
    return Row(harness.kind, scenario, counts, floor, basis, seconds,
               sum(harness.csrf_on_read(e) for e in received), problems)


def check_held(harness: Harness, expected: Sequence[WriteRequest]) -> list[str]:
    held = harness.held()
    wrong = [f"{r.item_id}@{r.location_id} holds {held.get((r.item_id, r.location_id))}, not {r.target}"
             for r in expected if not (held.get((r.item_id, r.location_id)) or _NONE).same_as(r.target)]
    return [f"{len(wrong)} of {len(expected)} records do not hold their target, first: {wrong[0]}"] if wrong else []


_NONE = PlanningParameters(float("nan"), float("nan"))


def one_per_call(harness: Harness, updates: Sequence[WriteRequest], expect: str) -> Callable[[Any], list[str]]:
    def run(connector: Any) -> list[str]:
        outcomes = Counter(apply_parameters(connector, request).outcome for request in updates)
        problems = [] if outcomes[expect] == len(updates) else [f"outcomes {dict(outcomes)}, expected all {expect}"]
        return problems + check_held(harness, updates)

    return run


def batched(harness: Harness, updates: Sequence[WriteRequest], by_product: bool) -> Callable[[Any], list[str]]:
    def run(connector: Any) -> list[str]:
        snapshots = read_all(connector, updates, by_product)
        results = connector.write_many([(r, snapshots[(r.item_id, r.location_id)]) for r in updates],
                                       correlation_id="bench-batch")
        errors = [r for r in results if r.error is not None]
        problems = [f"{len(errors)} batched writes failed, first: {errors[0].error}"] if errors else []
        return problems + check_held(harness, updates)

    return run


def read_all(connector: Any, updates: Sequence[WriteRequest], by_product: bool) -> dict[Key, Snapshot]:
    if not by_product:
        return {(r.item_id, r.location_id): connector.read_parameters(r.item_id, r.location_id,
                                                                      correlation_id=r.correlation_id)
                for r in updates}
    snapshots: dict[Key, Snapshot] = {}
    for product in dict.fromkeys(r.item_id for r in updates):  # S/4: every plant of a product in one GET
        snapshots.update({(product, location): snapshot
                          for location, snapshot in connector.read_item_locations(product, "bench-read")})
    return snapshots


def scenarios(harness: Harness) -> Iterator[Row]:
    token = 1 if harness.kind in ("s4hana", "businesscentral") else 0
    first, second = requests_for(1), requests_for(2)
    if harness.kind == "rest":
        floor_a, basis_a = UPDATES, "1 PUT each (Idempotency-Key, no token)"
    else:
        floor_a, basis_a = token + 2 * UPDATES, "1 read + 1 write each" + (" + 1 token" if token else "")
    yield measure(harness, "a: apply_parameters, 1 per call", floor_a, basis_a,
                  one_per_call(harness, first, "written"))
    yield measure(harness, "b: redelivered (values held)", token + UPDATES,
                  "1 read each" + (" + 1 token" if token else ""), one_per_call(harness, first, "unchanged"))
    if not harness.batch_size:
        return
    batches = math.ceil(UPDATES / harness.batch_size)
    yield measure(harness, f"c: $batch {harness.batch_size}, read per item-location", token + UPDATES + batches,
                  f"1 read each + {batches} batches + 1 token", batched(harness, second, by_product=False))
    if isinstance(harness, S4):
        pages = ITEMS * math.ceil(LOCATIONS / harness.sim.page_size)
        yield measure(harness, f"c: $batch {harness.batch_size}, read per product", token + pages + batches,
                      f"{pages} product reads + {batches} batches + 1 token",
                      batched(harness, requests_for(3), by_product=True))


# ------------------------------------------------------------------------------------------ report
def print_rows(rows: Sequence[Row]) -> None:
    head = (f"{'kind':<16}{'scenario':<40}{'requests':>9}{'floor':>7}{'ratio':>7}{'token':>6}{'csrf':>6}"
            f"{'read':>6}{'write':>6}{'batch':>6}{'lookup':>7}{'wall s':>8}{'ms/upd':>7}  floor basis")
    print(head)
    print("-" * len(head))
    for row in rows:
        c = row.counts
        csrf = f"{c['csrf']}+{row.csrf_on_read}r" if row.csrf_on_read else str(c["csrf"])
        print(f"{row.kind:<16}{row.scenario:<40}{row.total:>9,}{row.floor:>7,}{row.total / row.floor:>7.2f}"
              f"{c['token']:>6}{csrf:>6}{c['read']:>6}{c['write']:>6}{c['batch']:>6}{c['lookup']:>7}"
              f"{row.seconds:>8.1f}{1000 * row.seconds / UPDATES:>7.2f}  {row.basis}"
              + (f"  (other: {c['other']})" if c["other"] else ""))


def main() -> int:
    # The simulators answer in two writes (headers, body): with Nagle's algorithm on, each call would wait
    # ~40 ms for the client's delayed ACK. Loopback latency is not what is measured here.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {load:.2f}; {UPDATES:,} updates per scenario ({ITEMS} items x {LOCATIONS} locations), "
          "each kind's simulator on 127.0.0.1, one fresh connector per scenario")
    rows: list[Row] = []
    started = time.perf_counter()
    for build in (Rest, S4, NetSuite, BusinessCentral):
        harness = build()
        try:
            rows.extend(scenarios(harness))
        finally:
            harness.stop()
    print()
    print_rows(rows)
    print("\ncsrf: dedicated CSRF fetches + fetches riding on a read ('r', counted as that read); token: OAuth "
          "tokens issued\n(S/4HANA: the simulator's /oauth/token; Business Central: Entra ID's, counted as a "
          "request); NetSuite signs\nevery request (OAuth 1.0a TBA), no token; lookup: NetSuite SuiteQL location "
          "lookups (none with options.locationMap).\n(a) is the ERP updater today: batches of 5 per invocation, "
          "one connector per connection and container, so\nthe token, the CSRF session and the lookups are paid "
          "once per warm container, not per update.")
    print(f"\nload average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; run took "
          f"{time.perf_counter() - started:.0f} s")
    problems = [f"{row.kind} {row.scenario}: {p}" for row in rows for p in row.problems]
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
