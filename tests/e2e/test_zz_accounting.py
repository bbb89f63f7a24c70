"""Runs last (file order): the in = out accounting over every event the e2e session accepted."""

import pytest

pytestmark = pytest.mark.e2e


def test_zz_nothing_accepted_was_lost(stack):
    """Count in vs out over every event this session accepted: each ends delivered, dead-lettered,
    quarantined or rejected, exactly as its test expected; none is still in flight."""
    stack.wait_idle()
    finals = {cid: stack.trace(cid)["status"] for cid in stack.accepted}
    assert finals == stack.accepted
    counts = {s: list(finals.values()).count(s) for s in sorted(set(finals.values()))}
    print(f"accepted {len(finals)} transactions -> {counts}")
    assert sum(counts.values()) == len(stack.accepted) and "in_flight" not in counts
