"""Operators see queues by pipeline (`dlq list`, `kpis`, the console), not by CloudFormation's physical names."""

import pytest

from distsync.dlq import DeadLetterQueue, pipeline_name, select

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/"


@pytest.mark.parametrize(("logical_id", "name", "expected"), [
    ("ErpUpdatePipelineQueueCAD95F31", "distsync-dev-ErpUpdatePipelineQueueCAD95F31-1AB2CD3EF4GH", "ErpUpdate"),
    ("ErpUpdatePipelineS4Queue3DF7C76A", "distsync-dev-ErpUpdatePipelineS4Queue3DF7C76A-9ZY8XW7VU6TS", "ErpUpdate S4"),
    ("OrderPipelineQueueCA0CCF18", "distsync-dev-OrderPipelineQueueCA0CCF18-1X2Y3Z4W5V6U.fifo", "Order (FIFO)"),
    # without the logical id (an operator's own URL list): from the physical name
    (None, "distsync-dev-ErpUpdatePipelineNetsuiteQueueDE693EED-1X2Y3Z4W5V6U", "ErpUpdate Netsuite"),
    (None, "distsync-dev-OrderPipelineQueueCA0CCF18-1X2Y3Z4W5V6U.fifo", "Order (FIFO)"),
    (None, "some-other-queue", "some-other-queue"),
])
def test_a_queue_is_named_by_its_pipeline(logical_id, name, expected):
    assert pipeline_name(logical_id, URL + name) == expected


def test_a_dlq_is_selected_by_its_pipeline_before_any_part_of_a_name():
    queues = [DeadLetterQueue(f"dlq-{p}", URL + f"dlq-{p}", f"arn:{p}", URL + f"q-{p}", f"q-{p}", pipeline=p)
              for p in ("ErpUpdate", "ErpUpdate S4", "Order (FIFO)")]
    assert select(queues, "erpupdate").pipeline == "ErpUpdate"  # exact pipeline, though "ErpUpdate S4" contains it
    assert select(queues, "ErpUpdate S4").pipeline == "ErpUpdate S4"
    with pytest.raises(LookupError, match="choose one of: ErpUpdate, ErpUpdate S4, Order \\(FIFO\\)"):
        select(queues, "dlq-")
