"""What the governance reports show: `distsync contracts usage`'s window, the catalogue's status column, the
exported schemas' owner and lifecycle."""

from datetime import UTC, date, datetime

import pytest
import typer

from distsync.catalogue import _status
from distsync.contracts_cli import usage_days
from distsync.schemas import detail_schema
from distsync_core.contracts import CONTRACT_OWNERS, CONTRACTS, TEAMS, contract_for
from distsync_core.platform.lifecycle import Lifecycle

TODAY = date(2026, 12, 5)


def test_since_counts_today_as_the_last_day():
    assert usage_days("1d", TODAY) == [TODAY]
    assert usage_days("7d", TODAY)[0] == date(2026, 11, 29) and len(usage_days("7d", TODAY)) == 7
    assert usage_days("2026-12-04", TODAY) == [date(2026, 12, 4), TODAY]


@pytest.mark.parametrize("bad", ["yesterday", "7h", "2026-12-06"])
def test_a_bad_window_is_refused(bad):
    with pytest.raises(typer.BadParameter):
        usage_days(bad, TODAY)


def test_catalogue_status_shows_the_state_and_dates_at_that_moment():
    v1 = contract_for("InventoryBalanceChanged", "1")
    table = {("InventoryBalanceChanged", "1"): Lifecycle(datetime(2027, 1, 1, tzinfo=UTC),
                                                         datetime(2027, 6, 30, tzinfo=UTC))}
    assert _status(v1, {}, datetime(2027, 3, 1, tzinfo=UTC)) == "current"
    assert _status(v1, table, datetime(2026, 12, 1, tzinfo=UTC)) == "**current** (deprecated 2027-01-01, sunset 2027-06-30)"
    assert _status(v1, table, datetime(2027, 3, 1, tzinfo=UTC)).startswith("**deprecated** (")
    assert _status(v1, table, datetime(2027, 7, 1, tzinfo=UTC)).startswith("**sunset** (")


def test_every_event_type_has_an_owner_exported_with_its_schema():
    assert {c.event_type for c in CONTRACTS.values()} == set(CONTRACT_OWNERS)
    assert set(CONTRACT_OWNERS.values()) <= set(TEAMS.values())
    meta = detail_schema(contract_for("ShipmentMilestone", "1"))["x-distsync"]
    assert meta["owner"] == {"team": "fulfillment", "contact": "fulfillment-oncall@example.com"}
    assert meta["lifecycle"] == {"deprecated": None, "sunset": None}
