"""Order sequencing (distsync_core.orders.policy.check_sequence): which ERP order updates may be applied."""

import pytest

from distsync_core.orders.policy import AppliedOrder, Apply, Duplicate, OutOfOrder, check_sequence

APPLIED = AppliedOrder(sequence=5, event_id="ev-5")


def test_the_first_update_of_an_order_is_applied_whatever_its_sequence():
    assert check_sequence("SO-1", 1, "ev-1", None) == Apply(gap=0)
    # The ERP may not publish every change: the first one distsync sees can be any sequence.
    assert check_sequence("SO-1", 7, "ev-7", None) == Apply(gap=0)


def test_the_next_sequence_is_applied_without_a_gap():
    verdict = check_sequence("SO-1", 6, "ev-6", APPLIED)
    assert verdict == Apply(gap=0) and not verdict.resumed


@pytest.mark.parametrize(("sequence", "gap"), [(7, 1), (8, 2), (105, 99)])
def test_a_gap_is_allowed_and_counts_the_skipped_sequences(sequence, gap):
    assert check_sequence("SO-1", sequence, f"ev-{sequence}", APPLIED) == Apply(gap=gap)


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
    assert verdict == Apply(gap=0, resumed=True)


def test_an_event_id_alone_does_not_resume_another_sequence():
    assert isinstance(check_sequence("SO-1", 4, "ev-5", APPLIED), OutOfOrder)
    assert check_sequence("SO-1", 6, "ev-5", APPLIED) == Apply(gap=0)


def test_the_reason_names_the_order():
    verdict = check_sequence("SO-other.2", 2, "e", AppliedOrder(3, "x"))
    assert isinstance(verdict, OutOfOrder) and "order SO-other.2 " in verdict.reason
