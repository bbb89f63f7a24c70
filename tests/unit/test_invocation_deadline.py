"""Every handler's partner calls know the invocation's time left (so a Retry-After longer than what is left
gives the message back to its queue instead of outliving the function), and nothing outside an invocation."""

from __future__ import annotations

from distsync_core.platform.invocation import time_left
from distsync_core.platform.observability import instrument
from tests.conftest import FakeLambdaContext


def test_instrument_gives_the_handler_its_time_left_and_takes_it_back():
    @instrument
    def handler(event, context):
        return time_left()

    assert handler({}, FakeLambdaContext("f", timeout_ms=3_000)) == 3.0
    assert time_left() == float("inf")
