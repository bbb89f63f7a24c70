"""Order sequencing (distsync_core.orders.policy): which ERP order updates may be applied, which are held for
their predecessor, which held ones apply once the gap fills, and when a held one is quarantined."""

import pytest

from distsync_core.orders.policy import (
    AppliedOrder,
    Apply,
    Duplicate,
    HeldUpdate,
    Hold,
    OutOfOrder,
    check_sequence,
    gap_timed_out,
    held_twice,
    releasable,
)

APPLIED = AppliedOrder(sequence=5, event_id="ev-5")


def test_the_first_update_of_an_order_is_applied_whatever_its_sequence():
    assert check_sequence("SO-1", 1, "ev-1", None) == Apply()
    # The first one distsync sees can be any sequence (an order older than distsync): nothing to wait for.
    assert check_sequence("SO-1", 7, "ev-7", None) == Apply()


def test_the_next_sequence_is_applied_without_a_gap():
    verdict = check_sequence("SO-1", 6, "ev-6", APPLIED)
    assert verdict == Apply() and not verdict.resumed


@pytest.mark.parametrize("sequence", [7, 8, 105])
def test_an_update_ahead_of_its_predecessor_is_held_waiting_for_the_next_sequence(sequence):
    """The intake queue is not ordered: 7 can arrive before 6. It is neither applied nor rejected."""
    verdict = check_sequence("SO-1", sequence, f"ev-{sequence}", APPLIED)
    assert verdict == Hold(6, f"held: order SO-1 update sequence {sequence} arrived before sequence 6; "
                              "it applies once 6 has")


@pytest.mark.parametrize("sequence", [1, 4])
def test_an_older_update_is_out_of_order_with_the_reason(sequence):
    verdict = check_sequence("SO-1", sequence, f"ev-{sequence}", APPLIED)
    assert isinstance(verdict, OutOfOrder)
    assert verdict.reason == (f"out of order: order SO-1 update sequence {sequence} arrived after sequence 5 "
                              "was applied")


def test_the_same_sequence_from_another_event_is_rejected():
    """The ERP sent change 5 again (a new event, e.g. a webhook retried without an Idempotency-Key):
    applying it would inform the warehouse and channels twice."""
    verdict = check_sequence("SO-1", 5, "ev-5-again", APPLIED)
    assert verdict == Duplicate("duplicate: order SO-1 update sequence 5 was applied already from event ev-5; "
                                "this copy (ev-5-again) is left out")


def test_the_very_event_applied_last_resumes_its_work():
    """A retry after a crash between storing the update and finishing the invocation."""
    verdict = check_sequence("SO-1", 5, "ev-5", APPLIED)
    assert verdict == Apply(resumed=True)


def test_an_event_id_alone_does_not_resume_another_sequence():
    assert isinstance(check_sequence("SO-1", 4, "ev-5", APPLIED), OutOfOrder)
    assert check_sequence("SO-1", 6, "ev-5", APPLIED) == Apply()


def test_the_reason_names_the_order():
    verdict = check_sequence("SO-other.2", 2, "e", AppliedOrder(3, "x"))
    assert isinstance(verdict, OutOfOrder) and "order SO-other.2 " in verdict.reason


def test_a_second_event_for_a_held_sequence_is_a_duplicate_and_the_same_event_is_not():
    held = HeldUpdate(7, "ev-7")
    assert held_twice("SO-1", 7, "ev-7", held) is None  # the same event again (a retry): hold it again
    assert held_twice("SO-1", 7, "ev-7-again", held) == Duplicate(
        "duplicate: order SO-1 update sequence 7 is held already from event ev-7; this copy (ev-7-again) is left out")


def test_held_updates_that_follow_the_applied_one_without_a_gap_are_released_in_order():
    held = [HeldUpdate(9, "ev-9"), HeldUpdate(7, "ev-7"), HeldUpdate(6, "ev-6")]
    # 5 applied: 6 and 7 follow it; 9 still waits for 8
    assert releasable(5, held) == [HeldUpdate(6, "ev-6"), HeldUpdate(7, "ev-7")]
    assert releasable(4, held) == []  # 5 itself is still missing
    assert releasable(7, held) == []  # 8 missing
    assert releasable(8, held) == [HeldUpdate(9, "ev-9")]
    assert releasable(5, []) == []


def test_a_held_update_left_over_below_the_applied_sequence_is_not_released():
    assert releasable(6, [HeldUpdate(6, "ev-6"), HeldUpdate(7, "ev-7")]) == [HeldUpdate(7, "ev-7")]


def test_a_gap_still_open_at_the_timeout_quarantines_with_the_missing_sequence():
    assert gap_timed_out("SO-1", 7, APPLIED, 300) == (
        "waiting for sequence 6: order SO-1 update sequence 7 was held 300 s and sequence 6 never arrived")
    assert gap_timed_out("SO-1", 9, AppliedOrder(6, "ev-6"), 60).startswith("waiting for sequence 7: ")


@pytest.mark.parametrize("applied", [6, 7, 8])
def test_a_gap_filled_before_the_timeout_quarantines_nothing(applied):
    """The predecessor came: the update was applied (or is being applied right after it)."""
    assert gap_timed_out("SO-1", 7, AppliedOrder(applied, f"ev-{applied}"), 300) is None
