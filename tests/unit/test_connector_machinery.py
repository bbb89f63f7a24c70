"""The connector machinery every ERP kind shares: which connection owns a location, and the idempotent
read-compare-write with its concurrency token."""

from __future__ import annotations

import pytest

from distsync_core.connectors.landscape import owner, parse
from distsync_core.connectors.port import Conflict, PlanningParameters, Snapshot, WriteRequest
from distsync_core.connectors.writes import MAX_CONFLICTS, ConflictsPersist, apply_parameters

LANDSCAPE = [
    {"name": "s4", "kind": "s4hana", "baseUrl": "https://s4.example", "locations": ["S4-*"]},
    {"name": "bc", "kind": "businesscentral", "baseUrl": "https://bc.example", "locations": ["BC-*", "WH-9"]},
    {"name": "rest", "kind": "rest", "baseUrl": "https://erp.example", "locations": ["*"]},
]


def test_the_first_connection_whose_glob_matches_owns_the_location():
    connections = parse(LANDSCAPE)
    assert owner("S4-1000", connections).name == "s4"
    assert owner("WH-9", connections).name == "bc"
    assert owner("s4-1000", connections).name == "rest"  # globs are case-sensitive
    assert owner("DC-EAST", connections).name == "rest"
    assert owner("DC-EAST", connections[:2]) is None  # no catch-all: nobody owns it


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        parse([{"name": "x", "kind": "sage", "baseUrl": "u", "locations": ["*"]}])


class FakeErp:
    """An ERP record with an ETag that a concurrent user may change between read and write."""

    kind, name = "test", "test-erp"

    def __init__(self, parameters: PlanningParameters | None, changes_under_us: int = 0):
        self.parameters, self.etag, self.changes_under_us = parameters, 1, changes_under_us
        self.writes: list[tuple[PlanningParameters, str | None]] = []

    def read_parameters(self, item_id, location_id, *, correlation_id):
        return Snapshot(self.parameters, f'W/"{self.etag}"')

    def write_parameters(self, request: WriteRequest, snapshot: Snapshot):
        if self.changes_under_us:  # someone saved the record in the ERP after our read
            self.changes_under_us -= 1
            self.etag += 1
        if snapshot.version != f'W/"{self.etag}"':
            raise Conflict("412")
        self.writes.append((request.target, snapshot.version))
        self.parameters, self.etag = request.target, self.etag + 1
        return f"req-{self.etag}"

    def read_changes(self, cursor, *, correlation_id, limit=500):
        raise NotImplementedError


def request(ss: float, rop: float) -> WriteRequest:
    return WriteRequest("SKU-1", "S4-1000", PlanningParameters(ss, rop), correlation_id="c-1")


def test_a_write_carries_the_version_it_read_and_records_the_erps_request_id():
    erp = FakeErp(PlanningParameters(100, 200))
    outcome = apply_parameters(erp, request(110, 220))
    assert (outcome.outcome, outcome.request_id, outcome.conflicts) == ("written", "req-2", 0)
    assert erp.writes == [(PlanningParameters(110, 220), 'W/"1"')]


def test_values_the_erp_already_holds_are_not_written_again():
    erp = FakeErp(PlanningParameters(110.0004, 220))  # the ERP keeps 3 decimals
    assert apply_parameters(erp, request(110, 220)).outcome == "unchanged"
    assert erp.writes == []


def test_a_conflict_reads_again_and_decides_again():
    erp = FakeErp(PlanningParameters(100, 200), changes_under_us=2)
    outcome = apply_parameters(erp, request(110, 220))
    assert (outcome.outcome, outcome.conflicts) == ("written", 2)
    assert erp.writes == [(PlanningParameters(110, 220), 'W/"3"')]


def test_a_record_that_keeps_changing_gives_the_update_back():
    erp = FakeErp(PlanningParameters(100, 200), changes_under_us=MAX_CONFLICTS + 1)
    with pytest.raises(ConflictsPersist, match="changed in the ERP 4 times"):
        apply_parameters(erp, request(110, 220))
    assert erp.writes == []


def test_a_connections_request_rate_is_kept_per_container(monkeypatch):
    """A one-second burst, then one request per 1/rate seconds (a fake clock: the limiter's sleeps move it)."""
    from distsync_core.connectors import http

    class Clock:
        now = 100.0
        slept: list[float] = []

        def monotonic(self):
            return self.now

        def sleep(self, seconds):
            self.slept.append(round(seconds, 6))
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(http, "time", clock)
    limit = http.RateLimit(5)
    for _ in range(8):
        limit.wait()
    assert clock.slept == [0.2, 0.2, 0.2]  # 5 at once, then one every 0.2 s
    assert clock.now == pytest.approx(100.6)
