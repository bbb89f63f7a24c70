"""The partial batch loop of every pipeline consumer (distsync_core.platform.sqs_batch): which records a response
names, FIFO message groups, and a batch that failed as a whole."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync_core.platform.sqs_batch import SqsMessage, run_batch


def message(mid: str, group: str | None = None, receive_count: int = 1) -> SqsMessage:
    attributes = {"ApproximateReceiveCount": str(receive_count)}
    if group:
        attributes["MessageGroupId"] = group
    return SqsMessage.of({"messageId": mid, "body": f"body-{mid}", "attributes": attributes,
                          "messageAttributes": {"k": {"stringValue": "v", "dataType": "String"}}})


def failing(*bad: str):
    seen: list[str] = []

    def handle(m: SqsMessage) -> None:
        seen.append(m.message_id)
        if m.message_id in bad:
            raise RuntimeError(f"{m.message_id} failed")

    return handle, seen


def test_an_sqs_record_is_read_from_the_lambda_event():
    m = message("m-1", group="order-1", receive_count=3)
    assert (m.message_id, m.body, m.receive_count, m.group_id) == ("m-1", "body-m-1", 3, "order-1")
    assert m.message_attributes["k"]["stringValue"] == "v"
    assert SqsMessage.of({"messageId": "x", "body": "b"}).receive_count == 1


def test_only_the_failed_records_are_named():
    handle, seen = failing("b", "d")
    response = run_batch([message(i) for i in "abcde"], handle, fifo=False)
    assert response == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "d"}]}
    assert seen == list("abcde")


def test_a_batch_without_failures_names_none_and_an_empty_batch_is_fine():
    handle, _ = failing()
    assert run_batch([message("a")], handle, fifo=False) == {"batchItemFailures": []}
    assert run_batch([], handle, fifo=True) == {"batchItemFailures": []}


def test_fifo_skips_the_rest_of_a_failed_group_untried_and_goes_on_with_other_groups():
    handle, seen = failing("a2")
    batch = [message("a1", "A"), message("b1", "B"), message("a2", "A"), message("b2", "B"), message("a3", "A")]
    response = run_batch(batch, handle, fifo=True)
    assert response == {"batchItemFailures": [{"itemIdentifier": "a2"}, {"itemIdentifier": "a3"}]}
    assert seen == ["a1", "b1", "a2", "b2"]  # a3 never ran: it must not overtake a2


def test_a_standard_queue_does_not_skip_by_group():
    handle, seen = failing("a1")
    assert run_batch([message("a1", "A"), message("a2", "A")], handle, fifo=False) == {
        "batchItemFailures": [{"itemIdentifier": "a1"}]}
    assert seen == ["a1", "a2"]


def test_failures_found_at_the_end_of_the_batch_are_named_once():
    handle, _ = failing("a")
    response = run_batch([message(i) for i in "abc"], handle, fifo=False, after=lambda: ["c", "a"])
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "c"}]}


def test_a_batch_whose_records_all_failed_fails_as_a_whole_with_every_reason():
    handle, _ = failing("a", "b")
    with pytest.raises(BatchProcessingError) as raised:
        run_batch([message("a"), message("b")], handle, fifo=False)
    assert "All records failed processing" in str(raised.value)
    assert "a failed" in str(raised.value) and "b failed" in str(raised.value)


def test_all_failed_also_counts_the_failures_found_at_the_end():
    handle, _ = failing("a")
    with pytest.raises(BatchProcessingError):
        run_batch([message("a"), message("b")], handle, fifo=False, after=lambda: ["b"])
