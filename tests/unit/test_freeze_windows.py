"""Freeze window math (distsync_core.connectors.freeze): the EventBridge cron subset, occurrences with a
duration, scopes, chained overlapping windows, and the validation messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from distsync_core.connectors.freeze import (
    Cron,
    Scope,
    WindowError,
    describe,
    freeze_for,
    manual,
    parse_window,
    parse_windows,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


MRP = {"name": "mrp-run", "schedule": "cron(0 1 * * ? *)", "durationMinutes": 90,
       "scope": {"connections": ["s4"], "locations": ["DC-*"]}}


def test_daily_window_covers_its_duration_only() -> None:
    window = parse_window(MRP)
    assert window.occurrence(at("2026-12-05T00:59:59")) is None
    assert window.occurrence(at("2026-12-05T01:00:00")) == (at("2026-12-05T01:00"), at("2026-12-05T02:30"))
    assert window.occurrence(at("2026-12-05T02:29:59")) == (at("2026-12-05T01:00"), at("2026-12-05T02:30"))
    assert window.occurrence(at("2026-12-05T02:30:00")) is None  # the end is exclusive
    assert window.next_start(at("2026-12-05T01:30")) == at("2026-12-06T01:00")


def test_window_spanning_midnight_and_weekday_names() -> None:
    # Saturdays 23:00 for 3 h (period close): covers Sunday 01:30, not Sunday 02:00.
    window = parse_window({"name": "close", "schedule": "cron(0 23 ? * SAT *)", "durationMinutes": 180})
    assert at("2026-12-05T00:00").isoweekday() == 6  # a Saturday
    assert window.occurrence(at("2026-12-06T01:30"))[0] == at("2026-12-05T23:00")
    assert window.occurrence(at("2026-12-06T02:00")) is None
    assert window.occurrence(at("2026-12-05T01:30")) is None  # Saturday morning: Friday never fires
    assert window.next_start(at("2026-12-06T02:00")) == at("2026-12-12T23:00")


def test_lists_ranges_steps_months_and_years() -> None:
    cron = Cron.parse("0/15 8-10,14 1 JAN-MAR ? 2027")
    assert cron.minutes == frozenset({0, 15, 30, 45}) and cron.hours == frozenset({8, 9, 10, 14})
    assert cron.months == frozenset({1, 2, 3}) and cron.years == frozenset({2027})
    window = parse_window({"name": "q1", "schedule": "cron(0/15 8-10,14 1 JAN-MAR ? 2027)", "durationMinutes": 5})
    assert window.occurrence(at("2027-02-01T14:47")) == (at("2027-02-01T14:45"), at("2027-02-01T14:50"))
    assert window.occurrence(at("2027-02-02T14:47")) is None
    assert window.occurrence(at("2026-02-01T14:47")) is None
    assert window.next_start(at("2027-01-01T08:00")) == at("2027-01-01T08:15")
    assert window.next_start(at("2027-03-01T14:50")) is None  # no later firing: the year field is 2027 only


def test_one_time_window() -> None:
    window = parse_window({"name": "year-end", "schedule": "at(2026-12-31T18:00:00)", "durationMinutes": 720})
    assert window.occurrence(at("2027-01-01T05:59")) == (at("2026-12-31T18:00"), at("2027-01-01T06:00"))
    assert window.occurrence(at("2027-01-01T06:00")) is None
    assert window.next_start(at("2026-12-01T00:00")) == at("2026-12-31T18:00")


def test_scope_by_connection_and_location_glob() -> None:
    scope = parse_window(MRP).scope
    assert scope.covers("s4", "DC-EAST")
    assert not scope.covers("rest", "DC-EAST")
    assert not scope.covers("s4", "STORE-1")
    assert not scope.covers("s4", "dc-east")  # globs are case-sensitive, as location ids are
    assert Scope().covers("anything", "anywhere")
    assert Scope(locations=("FRZ-*",)).covers("rest", "FRZ-A1")


def test_freeze_for_chains_overlapping_windows_of_the_scope() -> None:
    windows = parse_windows([
        MRP,
        {"name": "close", "schedule": "cron(0 2 * * ? *)", "durationMinutes": 60, "scope": {"locations": ["DC-*"]}},
        {"name": "other-erp", "schedule": "cron(0 2 * * ? *)", "durationMinutes": 600,
         "scope": {"connections": ["netsuite"]}},
    ])
    freeze = freeze_for(windows, "s4", "DC-EAST", at("2026-12-05T01:10"))
    assert freeze is not None and freeze.windows == ("mrp-run", "close") and freeze.until == at("2026-12-05T03:00")
    assert freeze_for(windows, "rest", "DC-EAST", at("2026-12-05T01:10")) is None  # close starts at 02:00
    assert freeze_for(windows, "rest", "DC-EAST", at("2026-12-05T02:10")).until == at("2026-12-05T03:00")
    assert freeze_for(windows, "s4", "DC-EAST", at("2026-12-05T03:00")) is None


def test_manual_window_and_listing() -> None:
    now = at("2026-12-05T08:00")
    window = manual("ad-hoc", now, now + timedelta(minutes=30), Scope(locations=("FRZ-*",)))
    assert freeze_for([window], "rest", "FRZ-1", now + timedelta(minutes=29)).until == now + timedelta(minutes=30)
    assert freeze_for([window], "rest", "FRZ-1", now + timedelta(minutes=30)) is None
    shown = describe(parse_window(MRP), at("2026-12-05T01:30"))
    assert shown["active"] and shown["activeUntil"] == "2026-12-05T02:30:00+00:00"
    assert shown["nextStart"] == "2026-12-06T01:00:00+00:00"


@pytest.mark.parametrize(("spec", "message"), [
    ({**MRP, "schedule": "cron(0 1 * * *)"}, "needs 6 fields"),
    ({**MRP, "schedule": "cron(0 1 * * MON *)"}, "exactly one of day-of-month and day-of-week"),
    ({**MRP, "schedule": "cron(0 25 * * ? *)"}, "hours field: 25 is outside 0..23"),
    ({**MRP, "schedule": "cron(0 1 L * ? *)"}, "L, W and # are not supported"),
    ({**MRP, "schedule": "cron(0 1 ? * 2#1 *)"}, "not supported"),
    ({**MRP, "schedule": "rate(1 hour)"}, "schedule must be cron(...) or at("),
    ({**MRP, "schedule": "at(2026-13-01T00:00:00)"}, "at(yyyy-mm-ddThh:mm:ss)"),
    ({**MRP, "durationMinutes": 0}, "durationMinutes must be a whole number in 1..10080"),
    ({**MRP, "durationMinutes": "90"}, "durationMinutes"),
    ({**MRP, "name": "MRP Run"}, "name must match"),
    ({**MRP, "scope": {"plants": ["1000"]}}, "'connections' and/or 'locations'"),
    ({**MRP, "scope": {"locations": []}}, "non-empty list"),
    ({**MRP, "window": 1}, "unknown keys"),
])
def test_invalid_windows_say_why(spec: dict, message: str) -> None:
    with pytest.raises(WindowError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_window(spec)


def test_window_names_are_unique() -> None:
    with pytest.raises(WindowError, match="unique"):
        parse_windows([MRP, MRP])


SCHEDULES = ["cron(0 1 * * ? *)", "cron(0/15 8-10,14 1 JAN-MAR ? 2027)", "cron(30 23 ? * SAT-SUN *)",
             "at(2026-12-31T18:00:00)", "cron(0 1 * * *)", "cron(0 1 * * MON *)", "cron(0 25 * * ? *)",
             "cron(0 1 L * ? *)", "cron(0 1 ? * 2#1 *)", "cron(0 1 ? * 8 *)", "cron(0 1 1W * ? *)", "rate(1 hour)",
             "at(2026-13-01T00:00:00)", "cron(0 1 * FOO ? *)"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_synth_accepts_exactly_what_the_updater_can_evaluate(schedule: str) -> None:
    """infra/config.py checks freezeWindows without importing the layer: both must agree."""
    from infra.config import _freeze_windows

    spec = {**MRP, "schedule": schedule}
    try:
        parse_window(spec)
        layer_ok = True
    except WindowError:
        layer_ok = False
    try:
        _freeze_windows([spec], {"s4"})
        synth_ok = True
    except ValueError as exc:
        synth_ok = False
        assert "freezeWindows: mrp-run:" in str(exc)
    assert synth_ok == layer_ok


def test_synth_refuses_a_scope_naming_an_unknown_connection() -> None:
    from infra.config import _freeze_windows

    with pytest.raises(ValueError, match="no ERP connection named s4"):
        _freeze_windows([MRP], {"rest"})
    with pytest.raises(ValueError, match="unique name"):
        _freeze_windows([MRP, MRP], {"s4"})
    assert _freeze_windows(json.dumps([MRP]), {"s4"}) == [MRP]  # -c freezeWindows='[...]' arrives as a string
